package behave

import "github.com/decoy-dev/decoy/internal/stub"

// The spec half of each behaviour lives in package stub, next to the rest
// of the stub model, so that a stub.Response can carry it; these aliases
// let this package (and its tests) name them briefly.
type (
	Latency     = stub.Latency
	Uniform     = stub.Uniform
	Normal      = stub.Normal
	LogNormal   = stub.LogNormal
	Percentiles = stub.Percentiles
	Profiles    = stub.Profiles
	Fault       = stub.Fault
	H2Fault     = stub.H2Fault
	Faults      = stub.Faults
	Rate        = stub.Rate
	Dribble     = stub.Dribble
)

// MaxRate is the fastest rate accepted: 1 TiB/s.
const MaxRate = stub.MaxRate

// ParseRate reads a rate (see stub.ParseRate).
func ParseRate(s string) (Rate, error) { return stub.ParseRate(s) }
