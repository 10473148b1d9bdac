package httpfront

import (
	"net/http"
	"strings"

	"github.com/decoy-dev/decoy/internal/h2serve"
	"github.com/valyala/fasthttp"
)

// CORS on answers decoy makes itself. The answers of stubs carry their
// CORS headers from the engine (baked in at load, or chosen by the
// request's Origin); the answers decoy words itself (no stub matched, a
// malformed requested delay, an upload refused, an injected error) get
// them here, from engine.CORSHeaders. With CORS off each costs one
// atomic load, on paths that are not the static-stub path.

// corsFast adds the CORS headers to an answer decoy makes itself over
// fasthttp.
func (s *Server) corsFast(ctx *fasthttp.RequestCtx) {
	for _, h := range s.o.Engine.CORSHeaders(b2s(ctx.Request.Header.Peek("Origin"))) {
		ctx.Response.Header.AddBytesKV(h.NameB, h.ValueB)
	}
}

// corsLoop appends the CORS header lines of an answer decoy makes itself
// on the HTTP/1.1 loops.
func (s *Server) corsLoop(out []byte, origin []byte) []byte {
	for _, h := range s.o.Engine.CORSHeaders(b2s(origin)) {
		out = appendLine(out, h.Name, h.Value)
	}
	return out
}

// corsStd adds the CORS headers to an answer decoy makes itself on Go's
// server.
func (s *Server) corsStd(w http.ResponseWriter, r *http.Request) {
	hs := s.o.Engine.CORSHeaders(r.Header.Get("Origin"))
	if len(hs) == 0 {
		return
	}
	h := w.Header()
	for _, x := range hs {
		h.Add(x.Name, x.Value)
	}
}

// h2Problem is the header list of a problem answered on decoy's HTTP/2
// loop: problemHeaders, and the CORS headers when CORS is on.
func (s *Server) h2Problem(r *h2serve.Request) [][2]string {
	origin, _ := r.Header("origin")
	hs := s.o.Engine.CORSHeaders(origin)
	if len(hs) == 0 {
		return problemHeaders
	}
	out := append([][2]string(nil), problemHeaders...)
	for _, h := range hs {
		out = append(out, [2]string{strings.ToLower(h.Name), h.Value})
	}
	return out
}
