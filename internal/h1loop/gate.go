package h1loop

import "bytes"

// Gate follows the requests of an HTTP/1.x connection in the bytes read
// from it, before another server (fasthttp) parses them, and finds the
// first malformed one by the rules Check applies to a connection's first
// request: so that every engine accepts and refuses the same requests,
// the first of a connection or any later one, and frames their bodies
// alike (a client cannot make two of them disagree on where a request
// ends). It stops looking after a request that may switch protocols
// (Upgrade, CONNECT).
type Gate struct {
	max  int
	st   uint8
	head []byte // the start of a request whose header block is not all in
	left uint64 // Content-Length bytes still to come
	cs   chunkScanner
	// passed: bytes of the request being read other than the empty lines
	// before it were passed on.
	passed bool
	v      Verdict
	// quote keeps the start of the verdict's quote: the 64 bytes a
	// refusal quotes and one more, so that the refusal can tell it cut
	// the quote, as it does from Check's.
	quote [65]byte
}

// Gate states.
const (
	gHead = iota
	gLength
	gChunked
	gOff
	gRefused
)

// NewGate returns a Gate for a connection whose next byte starts a
// request; maxHeader bounds a request line and headers.
func NewGate(maxHeader int) *Gate { return &Gate{max: maxHeader} }

// Feed looks at p, the next bytes read. It returns how many of them to
// pass on, and a verdict (Later's) once a request is malformed: then the
// bytes passed on end before the malformed part (with the request's first
// byte, if none of it was passed yet, so that the server reading them is
// inside a request it cannot complete), and the reader should fail its
// next read, letting the server answer with the verdict. Feed is not
// called again after a verdict. It allocates only to keep the start of a
// request whose header block spans reads.
func (g *Gate) Feed(p []byte) (int, Verdict) {
	for i := 0; i < len(p); {
		switch g.st {
		case gHead:
			n, v := g.feedHead(p[i:])
			if v.Status != 0 {
				k := i
				if !g.passed {
					// Through the first byte of its request line: a
					// server given only empty lines takes them for the
					// end of the connection, and answers nothing.
					empty := len(p[i:]) - len(bytes.TrimLeft(p[i:], "\r\n"))
					k = min(i+empty+1, len(p))
				}
				return g.refuse(k, v)
			}
			i += n
		case gLength:
			k := uint64(len(p) - i)
			if k > g.left {
				k = g.left
			}
			g.left -= k
			i += int(k)
			if g.left == 0 {
				g.next()
			}
		case gChunked:
			n, v, done := g.cs.scan(p[i:], g.max)
			if v.Status != 0 {
				return g.refuse(i+n, v)
			}
			i += n
			if done {
				g.next()
			}
		default:
			return len(p), Verdict{}
		}
	}
	return len(p), Verdict{}
}

// next is at the start of the next request.
func (g *Gate) next() {
	g.st, g.passed, g.cs = gHead, false, chunkScanner{}
}

// feedHead reads the start of a request in b; n is how many bytes of b
// belong to its header block (all of b while it is not complete).
func (g *Gate) feedHead(b []byte) (n int, v Verdict) {
	buf := b
	kept := len(g.head)
	if kept > 0 {
		g.keep(b)
		buf = g.head
	}
	h := checkHead(buf, g.max)
	if h.v.Status != 0 {
		return 0, h.v.Later()
	}
	if h.end < 0 {
		if kept == 0 {
			g.keep(b)
		}
		// b is passed on: more than empty lines?
		g.passed = g.passed || len(bytes.TrimLeft(b, "\r\n")) > 0
		return len(b), Verdict{}
	}
	n = h.end - kept
	g.head = g.head[:0]
	switch {
	case h.upgrade:
		g.st = gOff
		return len(b), Verdict{}
	case h.chunked:
		g.st = gChunked
	case h.length > 0:
		g.st, g.left = gLength, uint64(h.length)
	default:
		g.next()
		return n, Verdict{}
	}
	g.passed = true
	return n, Verdict{}
}

// keep adds b to the start of a request kept: up to the limit, and a
// little past it, for the verdict on a header block too long. Past it the
// bytes are not kept: what is kept stays the request's start, whole.
func (g *Gate) keep(b []byte) {
	if room := g.max + 4 - len(g.head); room > 0 {
		g.head = append(g.head, b[:min(len(b), room)]...)
	}
}

// refuse keeps v, with its quote copied (the bytes it points into are the
// reader's), and passes on k bytes.
func (g *Gate) refuse(k int, v Verdict) (int, Verdict) {
	n := copy(g.quote[:], v.Quote)
	v.Quote = g.quote[:n]
	g.v, g.st = v, gRefused
	return k, v
}

// Verdict is the verdict Feed returned, if any.
func (g *Gate) Verdict() Verdict { return g.v }
