package wsfront

import "sync/atomic"

// Frames follows the headers of the frames a client sends, read from the
// connection under the WebSocket library, to tell what the library does
// not: the length of a close frame's payload, and a 64-bit length with its
// most significant bit set. The library reads a close frame of 1 byte (a
// broken close code, RFC 6455 section 5.5.1) as one without a code, and
// would answer it as such; it reads such a length as a message over the
// read limit, and sends nothing. Serve fails the connection with 1002 in
// both cases (RFC 6455 section 5.2: the bit MUST be 0).
//
// Feed must see every byte the client sends after the handshake, in
// order, from one goroutine; LastClose may be called from any.
type Frames struct {
	hdr  [14]byte // the header being read
	n    int      // bytes of hdr read
	skip uint64   // payload bytes still to pass over
	last atomic.Int64
	// closing: Serve owns the connection's deadlines (see Closing).
	closing atomic.Bool
	// badLength: a frame's 64-bit length had its most significant bit
	// set. Nothing after it is followed: the connection is failed.
	badLength atomic.Bool
}

// NewFrames returns a Frames that has seen no frame.
func NewFrames() *Frames {
	f := &Frames{}
	f.last.Store(-1)
	return f
}

// Feed follows b, the next bytes the client sent.
func (f *Frames) Feed(b []byte) {
	for len(b) > 0 {
		if f.skip > 0 {
			k := uint64(len(b))
			if k > f.skip {
				k = f.skip
			}
			f.skip -= k
			b = b[k:]
			continue
		}
		if f.badLength.Load() {
			return
		}
		f.hdr[f.n] = b[0]
		f.n++
		b = b[1:]
		size, length, ok := f.header()
		if ok && f.n == 3 && f.hdr[1]&0x7f == 127 && f.hdr[2]&0x80 != 0 {
			f.badLength.Store(true)
			return
		}
		if !ok || f.n < size {
			continue
		}
		if f.hdr[0]&0x0f == 0x8 {
			f.last.Store(int64(min(length, 1<<62)))
		}
		f.n, f.skip = 0, length
	}
}

// header returns the size of the header being read and its payload
// length, once enough of it is in to tell (ok).
func (f *Frames) header() (size int, length uint64, ok bool) {
	if f.n < 2 {
		return 0, 0, false
	}
	size = 2
	if f.hdr[1]&0x80 != 0 {
		size += 4 // the masking key
	}
	switch l := f.hdr[1] & 0x7f; l {
	case 126:
		size += 2
		if f.n < 4 {
			return size, 0, true
		}
		length = uint64(f.hdr[2])<<8 | uint64(f.hdr[3])
	case 127:
		size += 8
		if f.n < 10 {
			return size, 0, true
		}
		for _, c := range f.hdr[2:10] {
			length = length<<8 | uint64(c)
		}
	default:
		length = uint64(l)
	}
	return size, length, true
}

// Partial tells whether the client is in the middle of a frame: its
// header or payload has begun and not ended, and the conversation is not
// closing (see Closing). Feed's goroutine only.
func (f *Frames) Partial() bool { return (f.n > 0 || f.skip > 0) && !f.closing.Load() }

// Closing tells that the conversation is closing: from then on Serve sets
// the connection's deadlines itself (how long the client has to answer a
// close), and what reads it must leave them alone.
func (f *Frames) Closing() bool { return f != nil && f.closing.Load() }

// close marks the conversation closing (nil-safe).
func (f *Frames) close() {
	if f != nil {
		f.closing.Store(true)
	}
}

// LastClose returns the payload length of the last close frame the client
// sent, or -1 when it sent none.
func (f *Frames) LastClose() int64 {
	if f == nil {
		return -1
	}
	return f.last.Load()
}

// BadLength tells whether the client sent a frame whose 64-bit payload
// length has its most significant bit set (false for a nil Frames).
func (f *Frames) BadLength() bool {
	return f != nil && f.badLength.Load()
}
