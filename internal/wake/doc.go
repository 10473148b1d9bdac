// Package wake makes runtime timers fire on time when decoy is idle.
//
// Go's runtime serves its timers from the network poller: an idle process
// sleeps in epoll_wait until the next timer is due, and epoll_wait counts
// in whole milliseconds, so a timer due in 0.3 ms wakes the process about
// a millisecond later, and one due in 1.7 ms up to 2 ms later. For a mock
// server whose injected delays are the point, that is most of the error:
// with 10,000 delayed requests in flight on one CPU, answers were 0.5-0.6
// ms late at p50 and 2.3-2.4 ms at p99, measured inside the server.
//
// After arms a Linux timerfd, registered with the same poller, for the
// instant a runtime timer armed for d comes due; the timerfd wakes the
// poller to the microsecond, and the runtime then runs its due timers as it
// always does. Timers themselves are unchanged (time.Timer, time.AfterFunc,
// their cancellation), so a front door adds one call where it arms a
// delay. Wake-ups fall on a grid of Grid: timers due in the same interval
// share one, which bounds the cost at 1/Grid wake-ups a second and adds at
// most Grid to a timer's lateness. Each wake-up is a timer interrupt, which
// is not free in a virtual machine: with 10,000 delayed answers a second
// on one CPU, decoy spent about 5 µs more CPU time per delayed answer
// (20 µs instead of 15) and answered 0.2-0.45 ms late at p50 instead of
// 0.8, 1.3-1.7 ms at p99 instead of 1.8-3.9 (bench/delay-accuracy.sh).
//
// On other systems, or when a timerfd cannot be made, After does nothing.
package wake
