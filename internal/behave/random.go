package behave

// Key identifies the random streams of one stub under one global seed.
// Compute it once when the stub is compiled (NewKey hashes the stub ID) and
// pass it with each call number to the *Key methods of Sampler and
// FaultSet; the seed/stubID forms hash on every call.
type Key uint64

// Stream purposes. Each behaviour draws from its own stream so that one
// does not shift another's sequence.
const (
	streamLatency uint64 = 0x6c6174656e637921 // "latency!"
	streamFault   uint64 = 0x6661756c74732121 // "faults!!"
)

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
	golden      = 0x9e3779b97f4a7c15 // 2^64 / phi, splitmix64's increment
)

// NewKey derives the key of stubID under seed: FNV-1a over the seed's eight
// bytes (little-endian) and the ID's bytes, then mixed. It never allocates.
func NewKey(seed uint64, stubID string) Key {
	h := uint64(fnvOffset64)
	for i := 0; i < 8; i++ {
		h ^= uint64(byte(seed >> (8 * i)))
		h *= fnvPrime64
	}
	for i := 0; i < len(stubID); i++ {
		h ^= uint64(stubID[i])
		h *= fnvPrime64
	}
	return Key(mix64(h))
}

// mix64 is splitmix64's finaliser: a bijection on uint64 in which every
// input bit affects every output bit.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// rng is a splitmix64 generator. It is a value: each call makes its own on
// the stack, so concurrent calls share no state.
type rng struct{ s uint64 }

// rngFor is the generator of one call of one stream of key k. The state is
// the call-th output of a splitmix64 sequence seeded by (k, stream), so
// consecutive calls start at unrelated points.
func rngFor(k Key, stream, call uint64) rng {
	return rng{s: mix64(mix64(uint64(k)^stream) + (call+1)*golden)}
}

func (r *rng) next() uint64 {
	r.s += golden
	return mix64(r.s)
}

// float returns a uniform value in the open interval (0, 1), with 53
// random bits.
func (r *rng) float() float64 {
	return (float64(r.next()>>11) + 0.5) * 0x1p-53
}
