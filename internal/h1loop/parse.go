package h1loop

import (
	"bytes"
	"strings"
	"unsafe"
)

// Field is one request header field as received; both slices point into
// the connection's read buffer.
type Field struct {
	Name, Value []byte
}

// Request is one HTTP/1.x request, parsed in place: every slice points into
// the loop's read buffer and is valid only while Handler.Serve runs.
type Request struct {
	Method []byte
	// URI is the request target as sent (origin form: path and query).
	URI []byte
	// Path is URI up to the '?', RawQuery what follows it.
	Path, RawQuery []byte
	// HTTP11 is false for HTTP/1.0.
	HTTP11 bool
	// Headers are the header fields in the order received.
	Headers []Field
	// RawHeaders is the header block: every "Name: value\r\n" line after
	// the request line, and the blank line that ends it.
	RawHeaders []byte
	// Body is the request body (Content-Length bytes; empty without one).
	Body []byte
	// Close tells that the connection ends after this response: the client
	// asked for it (Connection: close, or HTTP/1.0 without keep-alive). A
	// handler may set it to end the connection itself.
	Close bool
	// KeepAlive10 tells that an HTTP/1.0 client asked to keep the
	// connection open (its response must say Connection: keep-alive).
	KeepAlive10 bool
	// ReadAt is when the read that brought the request's first bytes
	// returned, and DoneAt the read that completed it (monotonic, as
	// Now reports).
	ReadAt, DoneAt int64
	// ArrivedAt is when the bytes of the read that completed the request
	// reached the machine (the kernel's timestamp, as Now), on a
	// connection read with them (Conn.StampArrivals); 0 when unknown.
	ArrivedAt int64
	// Due, when the Handler sets it later than Now, holds the answer it
	// appended until then (as Now): the answers before it are written
	// at once, this one when due, and the requests after it are read and
	// served once it is written. The loop sets it to 0 before each Serve.
	Due int64
}

// Header returns the value of the first field named name (in any case).
func (r *Request) Header(name string) ([]byte, bool) {
	for i := range r.Headers {
		if foldEqual(r.Headers[i].Name, name) {
			return r.Headers[i].Value, true
		}
	}
	return nil, false
}

// foldEqual compares a name with s in any case.
func foldEqual(b []byte, s string) bool {
	return len(b) == len(s) && strings.EqualFold(unsafe.String(unsafe.SliceData(b), len(b)), s)
}

// parse results.
const (
	parsed   = iota // a whole request is in r; it used n bytes
	needMore        // the request is not complete yet
	handOff         // not a request this loop serves: the full server decides
	tooLarge        // the request line and headers pass maxHeader: the full server refuses it
)

// parse reads one request from b into r. It accepts the plain, common form
// only: an origin-form target, HTTP/1.1 or 1.0, well-formed header lines,
// no Transfer-Encoding, one Content-Length of at most maxBody, no Upgrade
// or Expect. Anything else (including every malformed request) is left to
// the full HTTP server, which answers it as the protocol requires; so this
// parser may refuse what is valid, never accept what is not.
func parse(b []byte, r *Request, maxHeader, maxBody int) (status, n int) {
	end := bytes.Index(b, crlfcrlf)
	if end < 0 {
		if len(b) >= maxHeader {
			return tooLarge, 0
		}
		if bareLF(b) {
			// Lines that end in a bare LF: the full server may take them
			// as line ends (RFC 9112 section 2.2), and judge them now
			// rather than wait for a CRLF that never comes.
			return handOff, 0
		}
		return needMore, 0
	}
	if end+4 > maxHeader {
		return tooLarge, 0
	}
	head := b[:end+2] // through the last header line's CRLF
	line, rest, ok := bytes.Cut(head, crlf)
	if !ok {
		return handOff, 0
	}
	r.RawHeaders = b[len(line)+2 : end+4]
	// Request line: method SP target SP version.
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || !isToken(line[:sp]) {
		return handOff, 0
	}
	r.Method = line[:sp]
	line = line[sp+1:]
	sp = bytes.IndexByte(line, ' ')
	if sp <= 0 || line[0] != '/' {
		return handOff, 0
	}
	r.URI = line[:sp]
	for _, c := range r.URI {
		if c <= ' ' || c >= 0x7f || c == '#' {
			return handOff, 0
		}
	}
	switch string(line[sp+1:]) {
	case "HTTP/1.1":
		r.HTTP11 = true
	case "HTTP/1.0":
		r.HTTP11 = false
	default:
		return handOff, 0
	}
	if q := bytes.IndexByte(r.URI, '?'); q >= 0 {
		r.Path, r.RawQuery = r.URI[:q], r.URI[q+1:]
	} else {
		r.Path, r.RawQuery = r.URI, nil
	}
	r.Headers = r.Headers[:0]
	r.Close, r.KeepAlive10 = !r.HTTP11, false
	length := -1
	hasHost := false
	for len(rest) > 0 {
		i := bytes.Index(rest, crlf)
		if i < 0 {
			return handOff, 0
		}
		hl := rest[:i]
		rest = rest[i+2:]
		colon := bytes.IndexByte(hl, ':')
		if colon <= 0 || !isToken(hl[:colon]) {
			// Also obs-fold (a line starting with white space).
			return handOff, 0
		}
		name := hl[:colon]
		value := trimOWS(hl[colon+1:])
		for _, c := range value {
			if c < ' ' && c != '\t' || c == 0x7f {
				return handOff, 0
			}
		}
		switch {
		case equalFold(name, "host"):
			if hasHost || !plainHost(value) {
				return handOff, 0
			}
			hasHost = true
		case equalFold(name, "content-length"):
			if length >= 0 {
				return handOff, 0
			}
			length = parseLength(value)
			if length < 0 || length > maxBody {
				return handOff, 0
			}
		case equalFold(name, "transfer-encoding"), equalFold(name, "upgrade"),
			equalFold(name, "expect"), equalFold(name, "http2-settings"):
			return handOff, 0
		case equalFold(name, "connection"):
			if !r.connection(value) {
				return handOff, 0
			}
		}
		r.Headers = append(r.Headers, Field{Name: name, Value: value})
	}
	if r.HTTP11 && !hasHost {
		return handOff, 0
	}
	n = end + 4
	if length > 0 && (equalFold(r.Method, "get") || equalFold(r.Method, "head")) {
		// Servers differ on whether a GET's body is one; let the full
		// server's rule decide.
		return handOff, 0
	}
	if length > 0 {
		if len(b)-n < length {
			return needMore, 0
		}
		r.Body = b[n : n+length]
		n += length
	} else {
		r.Body = nil
	}
	return parsed, n
}

// bareLF reports whether b has an LF not preceded by CR.
func bareLF(b []byte) bool {
	for i := bytes.IndexByte(b, '\n'); i >= 0; {
		if i == 0 || b[i-1] != '\r' {
			return true
		}
		j := bytes.IndexByte(b[i+1:], '\n')
		if j < 0 {
			return false
		}
		i += j + 1
	}
	return false
}

// connection reads a Connection header's tokens; false for any it does
// not know (an upgrade, a hop-by-hop header list), left to the full
// server.
func (r *Request) connection(v []byte) bool {
	for len(v) > 0 {
		var tok []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			tok, v = trimOWS(v[:i]), v[i+1:]
		} else {
			tok, v = trimOWS(v), nil
		}
		switch {
		case len(tok) == 0:
		case equalFold(tok, "close"):
			r.Close = true
		case equalFold(tok, "keep-alive"):
			if !r.HTTP11 {
				r.Close, r.KeepAlive10 = false, true
			}
		default:
			return false
		}
	}
	return true
}

var (
	crlf     = []byte("\r\n")
	crlfcrlf = []byte("\r\n\r\n")
)

// hostChar are the bytes of a plain host name or IPv4 address.
var hostChar = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_'
	}
	return t
}()

// plainHost reports whether a Host value is a plain name or IPv4 address
// with an optional port: the rest (IPv6 literals, percent-encoding, empty
// hosts, what is no host at all) is left to the full server's rules.
func plainHost(v []byte) bool {
	i := 0
	for i < len(v) && hostChar[v[i]] {
		i++
	}
	if i == 0 {
		return false
	}
	if i == len(v) {
		return true
	}
	port := v[i+1:]
	return v[i] == ':' && len(port) > 0 && len(port) <= 5 && allDigits(port)
}

func parseLength(v []byte) int {
	if len(v) == 0 || len(v) > 12 {
		return -1
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// tchar of RFC 9110 section 5.6.2.
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func isToken(b []byte) bool {
	for _, c := range b {
		if !tchar[c] {
			return false
		}
	}
	return len(b) > 0
}

// equalFold compares an ASCII name with a lower-case one.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
