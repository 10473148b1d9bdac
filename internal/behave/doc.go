// Package behave owns decoy's response behaviours as pure, protocol-free
// data and arithmetic: latency distributions and named latency profiles,
// faults with a probability each, bandwidth throttling and dribbled
// delivery, and the timer-based sleep the front doors wait with.
//
// Every behaviour comes in two halves. The spec half (Latency, Faults,
// Rate, Dribble) is the config model, decoded from YAML or JSON and
// validated with field paths (stub.FieldError). The compiled half
// (Sampler, FaultSet, Pacer) is built once when config loads, is
// immutable, is safe for concurrent use without locks, and does not
// allocate per request.
//
// # Determinism
//
// Every random choice is drawn from a stream derived from (global seed,
// stub ID, call number, purpose): the n-th call of a stub gets the same
// delay and the same fault decision run after run and restart after
// restart, whatever other calls run concurrently. Latency and faults use
// independent streams, so adding a fault does not change the delays. The
// derivation (FNV-1a of seed and stub ID, then a splitmix64 stream keyed by
// the call number) is part of the replay contract and pinned by tests.
//
// # YAML forms
//
// Latency:
//
//	latency: 250ms                      # fixed (a bare number is milliseconds)
//	latency: 10ms..50ms                 # uniform
//	latency: {uniform: {min: 10ms, max: 50ms}}
//	latency: {normal: {mean: 100ms, stddev: 20ms}}          # clamped at 0
//	latency: {lognormal: {median: 80ms, p99: 400ms}}
//	latency: {lognormal: {mu: 4.38, sigma: 0.69}}           # of ln(ms)
//	latency: {percentiles: {p50: 40ms, p90: 120ms, p99: 400ms, max: 2s}}
//	latency: {fixed: 20ms, perKB: 2ms}  # plus 2ms per KiB of body
//	latency: {profile: slow-3g}         # or just: latency: slow-3g
//
// Faults (one object, a list, or a bare kind meaning probability 1):
//
//	faults:
//	  - {kind: reset, probability: 0.05}
//	  - {kind: error, status: 503, after: 2s, probability: 0.1}
//	  - {kind: garbage, bytes: 64, probability: 0.01}
//	  - {kind: close-mid-body, probability: 0.01, h2: {rstStream: CANCEL}}
//
// Delivery:
//
//	throttle: 256KiB/s                  # B/s KiB/s MiB/s GiB/s kB/s MB/s GB/s Kbps Mbps Gbps
//	dribble: {chunk: 1KiB, every: 100ms}
//	stream: {chunks: ["data: a\n\n", "data: b\n\n"], repeat: 10, interval: 1s}
//
// A stream's chunks are paced by NewChunkPacer; a per-connection cap
// (the connection-rate setting) by ThrottledWriter.
package behave
