package wake

import (
	"sync/atomic"
	"time"
)

// LateBounds are the upper bounds of the lateness histogram's buckets; a
// last bucket counts what is later still.
var LateBounds = [...]time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond,
	50 * time.Millisecond, 100 * time.Millisecond, time.Second,
}

// NumLateBuckets is the number of buckets: one per bound and one beyond.
const NumLateBuckets = len(LateBounds) + 1

var late struct {
	counts [NumLateBuckets]atomic.Uint64
	sum    atomic.Int64
}

// Observe records that a wait due after d, which began at start, has just
// ended: how much later than due it ended is the error of decoy's timing
// (the runtime's timers, the scheduler, the CPU), with no network in it.
// Front doors call it when an injected delay ends. It costs a clock read
// and two atomic additions.
func Observe(start time.Time, d time.Duration) { ObserveLate(time.Since(start) - d) }

// ObserveLate records a wait that ended l after it was due (a negative l
// counts as 0), for a front door that times its waits itself.
func ObserveLate(l time.Duration) {
	l = max(l, 0)
	late.sum.Add(int64(l))
	i := 0
	for i < len(LateBounds) && l > LateBounds[i] {
		i++
	}
	late.counts[i].Add(1)
}

// Lateness returns the counts of the histogram's buckets (not cumulative:
// counts[i] for lateness up to LateBounds[i], the last for later) and the
// sum of every lateness observed.
func Lateness() (counts [NumLateBuckets]uint64, sum time.Duration) {
	for i := range counts {
		counts[i] = late.counts[i].Load()
	}
	return counts, time.Duration(late.sum.Load())
}
