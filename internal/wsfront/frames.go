package wsfront

import "sync/atomic"

// Frames follows the headers of the frames a client sends, as the bytes
// are read from the connection, to tell whether the client is in the
// middle of a frame (Partial): a front door bounds how long a client may
// stall inside a frame, while a conversation may rest between frames as
// long as it likes.
//
// Feed must see every byte the client sends after the handshake, in
// order, from one goroutine; Closing may be called from any.
type Frames struct {
	hdr  [14]byte // the header being read
	n    int      // bytes of hdr read
	skip uint64   // payload bytes still to pass over
	// closing: Serve owns the connection's deadlines (see Closing).
	closing atomic.Bool
}

// NewFrames returns a Frames that has seen no frame.
func NewFrames() *Frames { return &Frames{} }

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
		f.hdr[f.n] = b[0]
		f.n++
		b = b[1:]
		size, length, ok := f.header()
		if !ok || f.n < size {
			continue
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
