package httpfront

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/h1loop"
	"github.com/decoy-dev/decoy/internal/h2serve"
	"github.com/decoy-dev/decoy/internal/urlpath"
	"github.com/valyala/fasthttp"
)

// HTTP/1.1 engines on plaintext ports: decoy's epoll loops
// (internal/h1loop) for answers that go out at once, handing every other
// connection to fasthttp; or fasthttp for every connection.
const (
	HTTP1Loop     = "loop"
	HTTP1Fasthttp = "fasthttp"
)

// loopReq adapts an h1loop request to engine.Fields without copying.
type loopReq struct {
	r    *h1loop.Request
	req  engine.Request
	path []byte // decoded path, when it had escapes
	val  []byte // decoded query names and values, for the request
}

var loopReqPool = sync.Pool{New: func() any { return new(loopReq) }}

func (l *loopReq) Header(name string) (string, bool) {
	v, ok := l.r.Header(name)
	return b2s(v), ok
}

// Values calls f with each value of the named header (case-insensitive),
// in order, until f returns false.
func (l *loopReq) Values(name string, f func(string) bool) {
	for i := range l.r.Headers {
		h := &l.r.Headers[i]
		if len(h.Name) == len(name) && strings.EqualFold(b2s(h.Name), name) && !f(b2s(h.Value)) {
			return
		}
	}
}

// Query reads the query string as every front door does
// (h2serve.QueryValue).
func (l *loopReq) Query(name string) (string, bool) {
	return h2serve.QueryValue(b2s(l.r.RawQuery), name, &l.val)
}

// Cookie finds a cookie in the Cookie header fields (h2serve.CookieValue).
func (l *loopReq) Cookie(name string) (string, bool) {
	for i := range l.r.Headers {
		f := &l.r.Headers[i]
		if !bytes.EqualFold(f.Name, cookieName) {
			continue
		}
		if v, ok := h2serve.CookieValue(b2s(f.Value), name); ok {
			return v, true
		}
	}
	return "", false
}

var cookieName = []byte("Cookie")

func (l *loopReq) QueryString() string { return b2s(l.r.RawQuery) }

// decodePath is the request path in the matching form of package urlpath
// (percent-escapes decoded, but for %2F and %25) and nothing else changed
// (no dot-segment removal, no slash merging), as HTTP/2 reads it too. buf
// holds a decoded copy.
func decodePath(buf *[]byte, raw []byte) string {
	if bytes.IndexByte(raw, '%') < 0 {
		return b2s(raw)
	}
	*buf = urlpath.Append((*buf)[:0], raw)
	return b2s(*buf)
}

// h1Head is a response's HTTP/1.1 header, rendered once, in the order
// fasthttp writes it: pre runs to "Date: ", mid from the date's end
// through Content-Length, hdrs are the stub's header lines and cookies its
// Set-Cookie lines, which fasthttp writes last. ok is false for a
// response the loop leaves to fasthttp (a body too large, a Trailer).
type h1Head struct {
	pre, mid, hdrs, cookies []byte
	ok                      bool
}

// loopBodyOut is the largest response body the loops send: they copy it
// into their output, where fasthttp writes a large body from the
// response itself.
const loopBodyOut = 64 << 10

// renderHead renders r's header; see h1Head. A stub's Server replaces
// decoy's (the last one given, unless empty) and its Date is left out, the
// current date going out instead: what fasthttp does with them.
func renderHead(r *engine.Response) *h1Head {
	h := &h1Head{}
	noBody := !bodyAllowed(r.Status)
	if r.Status < 200 || r.Status > 999 || len(r.Body) > loopBodyOut || noBody && len(r.Body) > 0 {
		return h
	}
	var ce []byte
	server := "decoy"
	for i := range r.Headers {
		name := r.Headers[i].Name
		switch {
		case strings.EqualFold(name, "server"):
			server = r.Headers[i].Value
		case strings.EqualFold(name, "date"):
			// Left out: the current date goes out, as from fasthttp.
		case strings.EqualFold(name, "trailer"):
			return h
		case strings.EqualFold(name, "set-cookie"):
			h.cookies = appendLine(h.cookies, "Set-Cookie", r.Headers[i].Value)
		case strings.EqualFold(name, "content-encoding"):
			// fasthttp keeps the last and writes it after Content-Type.
			ce = appendLine(ce[:0], "Content-Encoding", r.Headers[i].Value)
		default:
			h.hdrs = appendLine(h.hdrs, name, r.Headers[i].Value)
		}
	}
	if server == "" {
		server = "decoy"
	}
	h.pre = appendLine(statusLine(r.Status), "Server", server)
	h.pre = append(h.pre, "Date: "...)
	h.mid = append(h.mid, "\r\n"...)
	if r.ContentType != "" {
		h.mid = appendLine(h.mid, "Content-Type", r.ContentType)
	}
	h.mid = append(h.mid, ce...)
	if !noBody {
		// A 204 or 304 goes without one, as fasthttp sends it.
		h.mid = appendLine(h.mid, "Content-Length", strconv.Itoa(len(r.Body)))
	}
	h.ok = true
	return h
}

func statusLine(code int) []byte {
	b := append([]byte("HTTP/1.1 "), strconv.Itoa(code)...)
	b = append(b, ' ')
	b = append(b, fasthttp.StatusMessage(code)...)
	return append(b, "\r\n"...)
}

func appendLine(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

// headCache holds the rendered header of each response of one snapshot
// (and of the responses its Variers derive), up to maxHeads.
type headCache struct {
	snap *engine.Snapshot
	m    sync.Map // *engine.Response → *h1Head
	n    atomic.Int64
}

const maxHeads = 1 << 16

// headFor returns r's rendered header from the cache of the current
// snapshot, rendering it the first time.
func (s *Server) headFor(r *engine.Response) *h1Head {
	snap := s.o.Engine.Snapshot()
	hc := s.h1heads.Load()
	if hc == nil || hc.snap != snap || hc.n.Load() > maxHeads {
		hc = &headCache{snap: snap}
		s.h1heads.Store(hc)
	}
	if v, ok := hc.m.Load(r); ok {
		return v.(*h1Head)
	}
	h := renderHead(r)
	hc.m.Store(r, h)
	hc.n.Add(1)
	return h
}
