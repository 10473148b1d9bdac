//go:build race

package openapi

// raceEnabled is true when the tests run under the race detector, which
// makes the corpus runs several times slower: they take smaller samples.
const raceEnabled = true
