package h2serve

import (
	"sync"
	"sync/atomic"
)

// BlockCache keeps encoded header blocks by the address of what they were
// encoded from (an *engine.Response, say), for a front door whose
// responses do not carry their block: the first request for a response
// encodes it, later ones find it with one lock-free lookup and no
// allocation. A key keeps its value reachable: call Reset when the set of
// responses changes (a new snapshot), so that replaced ones can go. The
// cache also starts over by itself past Max entries. The zero value is
// ready to use.
type BlockCache[T any] struct {
	// Max is the number of entries kept before the cache starts over;
	// 0 means 1<<16.
	Max int
	m   sync.Map // *T → []byte
	n   atomic.Int64
}

// Get returns the block for key, calling encode to make it the first time.
func (c *BlockCache[T]) Get(key *T, encode func(*T) []byte) []byte {
	if v, ok := c.m.Load(key); ok {
		return v.([]byte)
	}
	b := encode(key)
	limit := c.Max
	if limit <= 0 {
		limit = 1 << 16
	}
	if c.n.Add(1) > int64(limit) {
		c.Reset()
		c.n.Add(1)
	}
	c.m.Store(key, b)
	return b
}

// Reset forgets every block.
func (c *BlockCache[T]) Reset() {
	c.m.Clear()
	c.n.Store(0)
}
