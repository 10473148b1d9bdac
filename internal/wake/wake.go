package wake

import "time"

// Grid is the spacing of wake-ups: a timer is woken for at the first
// multiple of Grid at or after its due instant.
const Grid = 250 * time.Microsecond

// deadlines is a min-heap of wake-up instants (nanoseconds on the
// monotonic clock), without the boxing container/heap would cost.
type deadlines []int64

func (h *deadlines) push(at int64) {
	*h = append(*h, at)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p] <= s[i] {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

// pop removes the earliest instant; h must not be empty.
func (h *deadlines) pop() {
	s := *h
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && s[r] < s[l] {
			m = r
		}
		if s[i] <= s[m] {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
}

// onGrid rounds the instant at up to the next multiple of Grid.
func onGrid(at int64) int64 {
	g := int64(Grid)
	if r := at % g; r != 0 {
		at += g - r
	}
	return at
}

// Goroutine names the function of the one goroutine the package runs for
// the life of the process (from the first After on), for leak checks in
// tests: goleak.IgnoreAnyFunction(wake.Goroutine).
const Goroutine = "github.com/decoy-dev/decoy/internal/wake.loop"

// Timer is a runtime timer for an injected delay: NewTimer arms it and the
// poller's wake-up for its due instant (After); Fired, called when its
// channel C delivers, records how late it came (Observe).
type Timer struct {
	*time.Timer
	start time.Time
	d     time.Duration
}

// NewTimer is time.NewTimer(d) for an injected delay (see Timer).
func NewTimer(d time.Duration) Timer {
	t := Timer{Timer: time.NewTimer(d), start: time.Now(), d: d}
	After(d)
	return t
}

// Fired records the timer's lateness; call it once C has delivered.
func (t Timer) Fired() { Observe(t.start, t.d) }
