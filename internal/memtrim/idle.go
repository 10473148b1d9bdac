package memtrim

import (
	"context"
	"time"
)

// Usage is what the process has used: CPU time since it started (user and
// system, every thread) and the memory resident now.
type Usage struct {
	CPU      time.Duration
	Resident int64 // bytes
}

// The idle rule, in two thresholds.
const (
	// RestShare: the process is at rest when the CPU it used during the
	// last interval is below 1/RestShare of the interval (0.5%: 300 ms in
	// a minute). An idle decoy uses 0.2 to 0.8 ms a second (0.02% to
	// 0.08%: its timers and the Go runtime's housekeeping), at least six
	// times less; an HTTP/1.1 request costs some 30 to 50 µs, so a client
	// sending more than about a hundred requests a second is not at rest
	// and a load test does not have its pages dropped under it.
	RestShare = 200
	// MinGrowth: a trim is worth doing once the resident memory is this
	// much above what it was right after the previous trim (or when the
	// loop started, right after the trim at start). The idle demo grows
	// back by 5 to 8 MiB: within a second the code its timers and network
	// poller run (about 4 MiB), then at the garbage collector's next
	// periodic cycle what that cycle reads of the executable (about 3
	// MiB), and the heap varies by under 1 MiB between two collections;
	// 10 MiB stays clear of that, so an idle decoy does not trim over and
	// over.
	// A request on each of HTTP/1.1, TLS HTTP/2 and gRPC brings back 14
	// to 15 MiB.
	MinGrowth = 10 << 20
)

// ShouldTrim is the idle rule: trim when the process used less than
// 1/RestShare of the interval every in CPU between the readings last and
// now, and its resident memory now is at least MinGrowth above trimmed,
// the resident memory right after the previous trim.
func ShouldTrim(every time.Duration, last, now Usage, trimmed int64) bool {
	return now.CPU-last.CPU < every/RestShare && now.Resident-trimmed >= MinGrowth
}

// TrimWhenIdle calls trim each time the process has been at rest for a
// whole interval of every after its resident memory grew (see
// ShouldTrim). It reads the process's own CPU time and resident size once
// per interval and nothing else, so it costs requests nothing. It returns
// when ctx ends, at once when every is 0 or less, and at once on
// platforms where it cannot read the usage.
func TrimWhenIdle(ctx context.Context, every time.Duration, trim func()) {
	if every <= 0 {
		return
	}
	if _, err := ReadUsage(); err != nil {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	idleLoop(ctx, t.C, every, ReadUsage, trim)
}

// idleLoop applies ShouldTrim at each tick, reading usage with read, until
// ctx ends or tick is closed. It returns how many times it trimmed.
func idleLoop(ctx context.Context, tick <-chan time.Time, every time.Duration, read func() (Usage, error), trim func()) int {
	last, err := read()
	if err != nil {
		return 0
	}
	trimmed, n := last.Resident, 0
	for {
		select {
		case <-ctx.Done():
			return n
		case _, ok := <-tick:
			if !ok {
				return n
			}
		}
		now, err := read()
		if err != nil {
			continue
		}
		if ShouldTrim(every, last, now, trimmed) {
			trim()
			n++
			// What trimming itself used does not count towards the next
			// interval.
			if u, err := read(); err == nil {
				now = u
			}
			trimmed = now.Resident
		}
		last = now
	}
}
