package behave

import "time"

// Values pinned by TestPinnedSequence, cross-checked against an
// independent implementation of the documented derivation (FNV-1a of the
// seed's little-endian bytes and the stub ID, splitmix64 finaliser, then
// the call-th splitmix64 state of the stream): key and the first draws of
// a uniform 0..1s latency and of a 50% fault under seed 1, stub "stub".
var (
	pinnedKey    Key = 0x52bf4a7f912861fc
	pinnedDelays     = []time.Duration{413312498, 978762764, 801489578, 436330268, 593769865}
	pinnedFaults     = []bool{true, false, false, true, false, true, true, true}
)
