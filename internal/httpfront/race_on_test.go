//go:build race

package httpfront

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// allocation counts mean nothing under it; .ci/run runs the allocation
// tests again without it.
const raceEnabled = true
