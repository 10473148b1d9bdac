package wsfront

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"unicode/utf8"
)

// Opcodes (RFC 6455 section 5.2).
const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

// Close codes decoy fails a connection with (RFC 6455 section 7.4.1).
const (
	closeProtocol   = 1002 // a frame RFC 6455 does not allow
	closeNotUTF8    = 1007 // text, or a close reason, that is not UTF-8
	closeTooBig     = 1009 // a message over the limit
	readBufferBytes = 4096
	// chunkBytes is how much more room a message gets at a time: a
	// frame's announced length is not allocated before its bytes come.
	chunkBytes = 64 << 10
	// keepBytes bounds the buffer a connection keeps between messages.
	keepBytes = 64 << 10
)

// failure is a client's breach of RFC 6455: decoy fails the connection
// with code, saying why in reason (at most 123 bytes).
type failure struct {
	code   int
	reason string
	// closing: the breach is in the client's close frame, so the client
	// has closed already and no other close frame is to wait for.
	closing bool
}

func (f *failure) Error() string { return fmt.Sprintf("close %d: %s", f.code, f.reason) }

// header is a frame's header as sent.
type header struct {
	fin    bool
	rsv    byte // the three reserved bits, in place
	op     byte
	masked bool
	key    [4]byte
	n      uint64 // the payload length
}

// reader reads the frames a client sends and puts its messages together,
// holding it to every rule of RFC 6455 that a server must check: frames
// masked, no reserved bit or opcode (no extension is negotiated), control
// frames unfragmented and at most 125 bytes, continuation frames only
// inside a fragmented message and no new message inside one, a 64-bit
// length with its top bit clear, text and close reasons in UTF-8, close
// codes a peer may send, and messages at most limit bytes (when above 0).
// A breach is returned as a *failure; any other error is the
// connection's.
type reader struct {
	br    *bufio.Reader
	limit int64
	// op is the opcode of the message being put together from its
	// fragments (0 between messages), msg the message so far.
	op  byte
	msg []byte
	ctl [125]byte // a control frame's payload
	// remaining is what is left unread of the current frame's payload.
	remaining uint64
}

func newReader(r io.Reader, limit int64) *reader {
	return &reader{br: bufio.NewReaderSize(r, readBufferBytes), limit: limit}
}

// next returns the client's next message, or its next control frame: op is
// opText, opBinary, opPing, opPong or opClose, p its payload (for a data
// message, valid until the next call; for a close frame, the code and
// reason, checked). Control frames that come between the fragments of a
// message are returned as they come.
func (r *reader) next() (op byte, p []byte, err error) {
	if r.op == 0 && cap(r.msg) > keepBytes {
		r.msg = nil // a large message is not held while the client rests
	}
	for {
		h, err := r.header()
		if err != nil {
			return 0, nil, err
		}
		if f := r.check(&h); f != nil {
			return 0, nil, f
		}
		if h.op >= opClose {
			p := r.ctl[:h.n]
			if _, err := io.ReadFull(r.br, p); err != nil {
				return 0, nil, err
			}
			r.remaining = 0
			unmask(h.key, 0, p)
			if h.op == opClose {
				if f := checkClose(p); f != nil {
					return 0, nil, f
				}
			}
			return h.op, p, nil
		}
		if h.op != opCont {
			r.op, r.msg = h.op, r.msg[:0]
		}
		if err := r.payload(h.key); err != nil {
			return 0, nil, err
		}
		if !h.fin {
			continue
		}
		op := r.op
		r.op = 0
		if op == opText && !utf8.Valid(r.msg) {
			return 0, nil, &failure{code: closeNotUTF8, reason: "a text message is not UTF-8"}
		}
		return op, r.msg, nil
	}
}

// header reads a frame's header, and leaves its payload to read.
func (r *reader) header() (h header, err error) {
	b, err := r.br.Peek(2)
	if err != nil {
		return h, err
	}
	h.fin, h.rsv, h.op, h.masked = b[0]&0x80 != 0, b[0]&0x70, b[0]&0x0f, b[1]&0x80 != 0
	size := 2
	switch b[1] & 0x7f {
	case 126:
		size += 2
	case 127:
		size += 8
	}
	if h.masked {
		size += 4
	}
	if b, err = r.br.Peek(size); err != nil {
		return h, err
	}
	switch l := b[1] & 0x7f; l {
	case 126:
		h.n = uint64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		h.n = binary.BigEndian.Uint64(b[2:])
	default:
		h.n = uint64(l)
	}
	if h.masked {
		copy(h.key[:], b[size-4:])
	}
	_, _ = r.br.Discard(size)
	r.remaining = h.n
	return h, nil
}

// check returns the rule of RFC 6455 that frame h breaks, given what came
// before it, or nil.
func (r *reader) check(h *header) *failure {
	code, reason := closeProtocol, ""
	switch {
	case h.rsv != 0:
		reason = rsvNames(h.rsv) + " set, and no extension is negotiated"
	case h.op > opBinary && h.op < opClose || h.op > opPong:
		reason = fmt.Sprintf("reserved opcode %#x", h.op)
	case !h.masked:
		reason = "a client's frames must be masked (RFC 6455 section 5.1)"
	case h.n > math.MaxInt64:
		reason = "a 64-bit payload length has its most significant bit set"
	case h.op >= opClose && !h.fin:
		reason = "a control frame is fragmented"
	case h.op >= opClose && h.n > 125:
		reason = fmt.Sprintf("a control frame of %d bytes, over 125", h.n)
	case h.op == opCont && r.op == 0:
		reason = "a continuation frame without a message to continue"
	case h.op != opCont && h.op < opClose && r.op != 0:
		reason = "a new message before the last fragment of the one begun"
	case h.op < opClose && r.limit > 0 && h.n > uint64(r.limit)-uint64(r.held(h)):
		code, reason = closeTooBig, fmt.Sprintf("a message over %d bytes (max-body-bytes)", r.limit)
	default:
		return nil
	}
	return &failure{code: code, reason: reason, closing: h.op == opClose}
}

// rsvNames names the reserved bits set in rsv: "RSV1", "RSV1 RSV3".
func rsvNames(rsv byte) string {
	var s []byte
	for i, bit := range []byte{0x40, 0x20, 0x10} {
		if rsv&bit != 0 {
			if len(s) > 0 {
				s = append(s, ' ')
			}
			s = append(s, "RSV"...)
			s = append(s, byte('1'+i))
		}
	}
	return string(s)
}

// held is how much of the message data frame h belongs to came before it.
func (r *reader) held(h *header) int {
	if h.op == opCont {
		return len(r.msg)
	}
	return 0
}

// checkClose returns the rule of RFC 6455 that close payload p breaks, or
// nil: a code is 2 bytes, one a peer may send, and a reason is UTF-8.
func checkClose(p []byte) *failure {
	switch {
	case len(p) == 0:
		return nil
	case len(p) == 1:
		return &failure{code: closeProtocol, reason: "a close frame's payload is one byte, half a close code", closing: true}
	case !validCloseCode(int(binary.BigEndian.Uint16(p))):
		return &failure{code: closeProtocol, reason: fmt.Sprintf("close code %d is not one a peer may send", binary.BigEndian.Uint16(p)), closing: true}
	case !utf8.Valid(p[2:]):
		return &failure{code: closeNotUTF8, reason: "a close reason is not UTF-8", closing: true}
	}
	return nil
}

// validCloseCode tells whether a peer may send code in a close frame: the
// codes RFC 6455 section 7.4.1 defines and IANA registers (1000-1003,
// 1007-1014) and those for libraries and applications (3000-4999); not
// 1004 (reserved), 1005, 1006 and 1015 (never sent), nor any other below
// 3000.
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	}
	return code >= 3000 && code <= 4999
}

// payload reads the current data frame's payload onto the message,
// unmasked, growing the message as its bytes come.
func (r *reader) payload(key [4]byte) error {
	pos := 0
	for r.remaining > 0 {
		k := int(min(r.remaining, chunkBytes))
		l := len(r.msg)
		r.msg = slices.Grow(r.msg, k)[:l+k]
		if _, err := io.ReadFull(r.br, r.msg[l:]); err != nil {
			r.msg = r.msg[:l]
			return err
		}
		unmask(key, pos, r.msg[l:])
		pos += k
		r.remaining -= uint64(k)
	}
	return nil
}

// untilClose reads and drops what the client sends until its close frame,
// once decoy has sent its own: the rest of the current frame, then whole
// frames, unchecked. It returns nil at the client's close frame, and the
// connection's error otherwise (its end, or the deadline decoy set).
func (r *reader) untilClose() error {
	for {
		for r.remaining > 0 {
			n, err := r.br.Discard(int(min(r.remaining, math.MaxInt32)))
			r.remaining -= uint64(n)
			if err != nil {
				return err
			}
		}
		h, err := r.header()
		if err != nil {
			return err
		}
		if h.op == opClose {
			return nil
		}
	}
}

// unmask XORs p with key, p starting at byte pos of the payload; 8 bytes
// at a time where it can.
func unmask(key [4]byte, pos int, p []byte) {
	if len(p) >= 8 {
		var k [8]byte
		for i := range k {
			k[i] = key[(pos+i)&3]
		}
		kw := binary.NativeEndian.Uint64(k[:])
		for len(p) >= 8 {
			binary.NativeEndian.PutUint64(p, binary.NativeEndian.Uint64(p)^kw)
			p = p[8:]
		}
	}
	for i := range p {
		p[i] ^= key[(pos+i)&3]
	}
}
