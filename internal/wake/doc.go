// Package wake makes runtime timers fire on time when decoy is idle.
//
// Go's runtime serves its timers from the network poller: an idle process
// sleeps in epoll_wait until the next timer is due, and epoll_wait counts
// in whole milliseconds (rounding a sub-millisecond wait up to one), so a
// timer due in 0.3 ms fires about 0.7 ms late and one due in 1.7 ms about
// 0.3 ms late: up to a millisecond. For a mock server whose injected delays
// are the point, that was most of the error: with 10,000 delayed requests
// in flight on one CPU, answers came 0.8 ms late at p50 and 2.1 ms at p99
// (bench/delay-accuracy.sh, before this package).
//
// After arms a Linux timerfd, registered with the same poller, for the
// instant a runtime timer armed for d comes due; the timerfd wakes the
// poller to the microsecond, and the runtime then runs its due timers as it
// always does. Timers themselves are unchanged (time.Timer, time.AfterFunc,
// their cancellation): a front door arms a delay with NewTimer, or calls
// After beside a timer of its own (a pooled one, time.AfterFunc), and
// Observe when it fires, which feeds the lateness histogram
// (decoy_delay_lateness_seconds). Wake-ups fall on a grid of Grid: timers due in the same interval
// share one, which bounds the cost at 1/Grid wake-ups a second and adds at
// most Grid to a timer's lateness. Each wake-up is a timer interrupt, which
// is not free in a virtual machine: 1-4 µs of CPU per delayed answer when
// 10,000 answers a second come due evenly on one CPU. BenchmarkSleepIdle
// (package behave) and bench/delay-accuracy.sh measure it; the figures are
// in docs/BENCHMARKS.md.
//
// On other systems, or when a timerfd cannot be made, After does nothing.
package wake
