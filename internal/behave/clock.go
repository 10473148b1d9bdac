package behave

import (
	"context"
	"sync"
	"time"

	"github.com/decoy-dev/decoy/internal/wake"
)

// Clock tells the time and waits. Front doors use SystemClock; tests pass
// a fake that advances instantly, so paced output is checked without real
// time passing.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or until ctx ends (returning ctx.Err()).
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real clock; its Sleep is the package's Sleep.
type SystemClock struct{}

var _ Clock = SystemClock{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep calls Sleep.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error { return Sleep(ctx, d) }

var timers = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// Sleep waits for d on a runtime timer and returns nil, or returns
// ctx.Err() as soon as ctx ends. A zero or negative d returns at once.
// Timers come from a pool, so a Sleep allocates nothing.
//
// Accuracy: Sleep never returns before d has passed (unless ctx ends). It
// parks the goroutine on a Go runtime timer (no spinning, no goroutine of
// its own) and asks package wake to wake the runtime's poller when the
// timer is due, which the poller's millisecond granularity would otherwise
// make up to a millisecond late whenever decoy is idle. What remains is
// the time the goroutine waits for a CPU: with 10,000 delayed requests in
// flight on one CPU, a few hundred microseconds at p99 (see wake and
// docs/BENCHMARKS.md). BenchmarkSleepAccuracy measures it on the machine
// at hand. Meeting a tight p99 under load is then a matter of CPU
// headroom, not of the timer.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	done := ctx.Done()
	if done != nil {
		select {
		case <-done:
			return ctx.Err()
		default:
		}
	}
	t := timers.Get().(*time.Timer)
	start := time.Now()
	t.Reset(d)
	wake.After(d)
	select {
	case <-t.C:
		timers.Put(t)
		wake.Observe(start, d)
		return nil
	case <-done:
		if !t.Stop() {
			// With GODEBUG=asynctimerchan=1 a fired timer's value may still
			// be buffered; drain it so the pooled timer starts clean.
			select {
			case <-t.C:
			default:
			}
		}
		timers.Put(t)
		return ctx.Err()
	}
}
