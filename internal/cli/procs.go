package cli

import "runtime"

// minProcs is the fewest Go schedulers (Ps, GOMAXPROCS) a serving process
// runs, however few CPUs it may use.
//
// With one P (decoy pinned to one CPU by its affinity mask: taskset, a
// cpuset; under a cgroup CPU quota Go itself already runs at least two), the
// Go runtime looks for network events only when that P has run out of
// goroutines to run (or every 10 ms at most, from its monitor thread). When
// a burst of delayed answers comes due together, the P spends the burst
// writing them, and the requests that arrive meanwhile wait in their
// sockets until it is over: their delays start late, the burst repeats on
// the next round, and answers land late by up to the burst's length. A
// second P waits on the network while the first is busy, so requests are
// read (and their delays started) as they arrive; the two share the one CPU.
// Measured with bench/delay-accuracy.sh on one pinned CPU (docs/BENCHMARKS.md):
// 1,000 connections with a 100 ms delay under wrk went from 88-90% of the
// 10,000 requests/s bound to 97%, answers from 9-11 ms late at p50 to
// 1.1 ms; the CPU time per static request did not change.
const minProcs = 2

// ensureProcs raises GOMAXPROCS to minProcs when the runtime chose fewer,
// unless the environment sets GOMAXPROCS (the user's choice wins). It
// returns the GOMAXPROCS in force.
func ensureProcs(getenv func(string) string) int {
	n := runtime.GOMAXPROCS(0)
	if n >= minProcs || getenv("GOMAXPROCS") != "" {
		return n
	}
	runtime.GOMAXPROCS(minProcs)
	return minProcs
}
