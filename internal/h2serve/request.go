package h2serve

import (
	"context"
	"net"
	"strings"
	"unsafe"

	"github.com/decoy-dev/decoy/internal/urlpath"
)

// Field is one header field as received: names are lower case (HTTP/2
// requires it).
type Field struct {
	Name, Value string
}

// Request is one HTTP/2 request. It belongs to the connection: it is valid
// while the handler runs, and after that only on a detached stream (see
// ResponseWriter.Detach) until its response is written. Its strings need not
// be copied for that time. Header, Query and Cookie give it the method set
// of decoy's engine.Fields.
type Request struct {
	Method    string
	Scheme    string
	Authority string // :authority, or the Host header when that is absent
	// RawPath is :path as sent: the path and the query.
	RawPath string
	// Path is the path, without the query, percent-decoded and otherwise as
	// sent (no dot-segment removal, no slash merging); a malformed escape
	// leaves it as sent.
	Path     string
	RawQuery string // without the '?'
	// Headers are the regular header fields in the order received.
	Headers []Field
	// Trailers are the fields of a trailing header block, if any.
	Trailers []Field
	// ContentLength is the content-length header's value, or -1.
	ContentLength int64
	// Body is the request body (empty when there was none), at most
	// Options.MaxBodyBytes; empty when the body is streamed (see
	// BodyStreamer).
	Body     []byte
	StreamID uint32
	// Streamed tells that the handler was called before the body came,
	// to read it with ResponseWriter.ReadBody (see BodyStreamer).
	Streamed bool

	c       *conn
	pathBuf []byte // decoded path, when it had escapes
	qBuf    []byte // a decoded query value or cookie
	has     uint8  // which pseudo-headers were seen
}

// Pseudo-header bits of Request.has.
const (
	hasMethod = 1 << iota
	hasScheme
	hasPath
	hasAuthority
)

// Proto is the protocol name of every request, as net/http spells it.
const Proto = "HTTP/2.0"

// Conn returns the connection given to ServeConn.
func (r *Request) Conn() net.Conn { return r.c.nc }

// Context returns the context given to ServeConn.
func (r *Request) Context() context.Context { return r.c.ctx }

// Header returns the first value of the named header (case-insensitive).
// "Host" falls back to the authority.
func (r *Request) Header(name string) (string, bool) {
	for i := range r.Headers {
		if equalFold(r.Headers[i].Name, name) {
			return r.Headers[i].Value, true
		}
	}
	if equalFold(name, "host") && r.Authority != "" {
		return r.Authority, true
	}
	return "", false
}

// Values calls f with each value of the named header (case-insensitive),
// in order, until f returns false.
func (r *Request) Values(name string, f func(string) bool) {
	for i := range r.Headers {
		if equalFold(r.Headers[i].Name, name) && !f(r.Headers[i].Value) {
			return
		}
	}
}

// Query returns the first value of the named query parameter, decoded as
// a form value ('+' is a space).
func (r *Request) Query(name string) (string, bool) { return QueryValue(r.RawQuery, name, &r.qBuf) }

// QueryString returns the raw query string (RawQuery), for checks that
// read repeated parameters.
func (r *Request) QueryString() string { return r.RawQuery }

// Cookie returns the value of the named cookie (surrounding double quotes
// removed).
func (r *Request) Cookie(name string) (string, bool) {
	for i := range r.Headers {
		if r.Headers[i].Name != "cookie" {
			continue
		}
		if v, ok := CookieValue(r.Headers[i].Value, name); ok {
			return v, true
		}
	}
	return "", false
}

// QueryValue returns the first value of the parameter name in the raw
// query string q (pairs split at '&'), names and values decoded as form
// values ('+' is a space; a malformed escape is kept as sent). Decoded
// text is appended to *buf, so that earlier results stay valid while buf
// is not reset: every front door reads the query with it, so a query means
// the same on every protocol.
func QueryValue(q, name string, buf *[]byte) (string, bool) {
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(kv, "=")
		if k == name || needsUnescape(k) && unescapeTo(buf, k) == name {
			return unescapeTo(buf, v), true
		}
	}
	return "", false
}

// CookieValue returns the value of the cookie name in the value of a
// Cookie header ("a=1; b=2"), surrounding double quotes removed.
func CookieValue(header, name string) (string, bool) {
	for header != "" {
		var part string
		part, header, _ = strings.Cut(header, ";")
		part = strings.TrimSpace(part)
		k, v, ok := strings.Cut(part, "=")
		if !ok || k != name {
			continue
		}
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		return v, true
	}
	return "", false
}

// AppendHeaderText appends the request's headers as HTTP/1.1 text
// ("name: value\r\n" lines, host first from the authority), for a journal.
func (r *Request) AppendHeaderText(b []byte) []byte {
	if r.Authority != "" {
		b = append(b, "host: "...)
		b = append(b, r.Authority...)
		b = append(b, "\r\n"...)
	}
	for _, f := range r.Headers {
		if f.Name == "host" && r.Authority != "" {
			continue
		}
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	return b
}

// setPath splits :path into Path (in the matching form of package urlpath:
// decoded, but for %2F and %25) and RawQuery.
func (r *Request) setPath(raw string) {
	r.RawPath, r.RawQuery = raw, ""
	p := raw
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		p, r.RawQuery = raw[:i], raw[i+1:]
	}
	if strings.IndexByte(p, '%') < 0 {
		r.Path = p
		return
	}
	out := urlpath.Append(r.pathBuf[:0], p)
	r.pathBuf = out
	r.Path = b2s(out)
}

func needsUnescape(s string) bool {
	return strings.IndexByte(s, '%') >= 0 || strings.IndexByte(s, '+') >= 0
}

// unescapeTo decodes a query key or value form-style ('+' is a space),
// appending to *buf; a '%' that starts no escape stays as it is, as
// fasthttp reads a query, so that a query means the same on every
// protocol and HTTP/1.1 engine.
func unescapeTo(buf *[]byte, s string) string {
	if !needsUnescape(s) {
		return s
	}
	start := len(*buf)
	out := *buf
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && urlpath.Unhex(s[i+1]) >= 0 && urlpath.Unhex(s[i+2]) >= 0:
			c = byte(urlpath.Unhex(s[i+1])<<4 | urlpath.Unhex(s[i+2]))
			i += 2
		case c == '+':
			c = ' '
		}
		out = append(out, c)
	}
	*buf = out
	return b2s(out[start:])
}

// AppendUnescaped appends s to dst with its percent-escapes decoded (and
// '+' as a space when plus is set). It reports false, with dst unchanged,
// when an escape is malformed: decoy then uses the text as sent. The HTTP/1.1
// front door decodes paths with it too, so a path means the same on every
// protocol.
func AppendUnescaped[S ~string | ~[]byte](dst []byte, s S, plus bool) ([]byte, bool) {
	out := dst
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) || urlpath.Unhex(s[i+1]) < 0 || urlpath.Unhex(s[i+2]) < 0 {
				return dst, false
			}
			c = byte(urlpath.Unhex(s[i+1])<<4 | urlpath.Unhex(s[i+2]))
			i += 2
		case c == '+' && plus:
			c = ' '
		}
		out = append(out, c)
	}
	return out, true
}

// equalFold is strings.EqualFold for ASCII.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// b2s views b as a string without copying.
func b2s(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
