package httpfront

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/grpcfront"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
	"google.golang.org/grpc/codes"
)

// gRPC-Web on the HTTP port: browsers and other clients that cannot read
// HTTP/2 trailers send gRPC calls as POSTs with a gRPC-Web content type,
// over HTTP/1.1 or HTTP/2. With .proto files loaded (Options.GRPC set),
// those requests and their CORS preflights go to the gRPC front door;
// every other request pays one nil check. What is a gRPC-Web request is
// grpcfront's to say.

// isGRPCWebStd reports whether a request served by Go's server is a
// gRPC-Web call or its CORS preflight.
func isGRPCWebStd(r *http.Request) bool {
	if r.Method == http.MethodOptions {
		return grpcfront.IsGRPCWebPreflight(r.Method, r.Header.Get("Access-Control-Request-Headers"))
	}
	return r.Method == http.MethodPost && grpcfront.IsGRPCWeb(r.Header.Get("Content-Type"))
}

// grpcWebFast serves a gRPC-Web request that arrived over HTTP/1.1, when it
// is one; it reports whether it did.
func (s *Server) grpcWebFast(ctx *fasthttp.RequestCtx) bool {
	switch {
	case ctx.IsPost():
		if !grpcfront.IsGRPCWeb(b2s(ctx.Request.Header.ContentType())) {
			return false
		}
	case ctx.IsOptions():
		if !grpcfront.IsGRPCWebPreflight(http.MethodOptions, b2s(ctx.Request.Header.Peek("Access-Control-Request-Headers"))) {
			return false
		}
	default:
		return false
	}
	if s.mtls {
		if t, ok := ctx.Conn().(*tlsConn); ok && t.c.cert != nil {
			// The adapter's request context is ctx: its user values
			// are the context's values.
			ctx.SetUserValue(engine.ClientCertKey{}, t.c.cert)
		}
	}
	s.grpcWeb(ctx)
	return true
}

// GRPCWeb is a gRPC front door that serves gRPC-Web calls without
// net/http (grpcfront.Server).
type GRPCWeb interface {
	ServeWeb(ctx context.Context, w grpcfront.WebResponse, r grpcfront.WebRequest)
}

// newGRPCWeb serves gRPC-Web calls that fasthttp read with the gRPC front
// door: through ServeWeb when it has it, a server stream's messages sent
// as they come (serveWebStream) and other answers whole; through
// net/http's interface otherwise, every answer buffered whole.
func (s *Server) newGRPCWeb(h http.Handler) fasthttp.RequestHandler {
	if h == nil {
		return nil
	}
	if g, ok := h.(GRPCWeb); ok {
		streams, _ := h.(interface{ ServerStreams(path string) bool })
		return func(ctx *fasthttp.RequestCtx) {
			// The call's context ends when a shutdown stops waiting for
			// calls in flight, and carries the client's certificate
			// (grpcWebFast), copied: a stream's call outlives ctx when
			// its client goes.
			callCtx := s.hardCtx
			if cc := ctx.UserValue(engine.ClientCertKey{}); cc != nil {
				callCtx = context.WithValue(callCtx, engine.ClientCertKey{}, cc)
			}
			if streams != nil && ctx.IsPost() && streams.ServerStreams(b2s(ctx.Path())) {
				streamCtx, cancel := context.WithCancel(callCtx)
				serveWebStream(ctx, streamCtx, cancel, g)
				return
			}
			g.ServeWeb(callCtx, fastWebResponse{ctx}, fastWebRequest{ctx})
		}
	}
	return fasthttpadaptor.NewFastHTTPHandler(h)
}

// fastWebRequest is a gRPC-Web request as fasthttp read it. What the
// call may keep (metadata, the host, the body) is copied out of
// fasthttp's buffers, which the next request on the connection reuses.
type fastWebRequest struct{ ctx *fasthttp.RequestCtx }

func (f fastWebRequest) Method() string            { return b2s(f.ctx.Method()) }
func (f fastWebRequest) Path() string              { return string(f.ctx.Path()) }
func (f fastWebRequest) Header(name string) string { return b2s(f.ctx.Request.Header.Peek(name)) }
func (f fastWebRequest) Host() string              { return string(f.ctx.Host()) }
func (f fastWebRequest) RemoteAddr() string        { return f.ctx.RemoteAddr().String() }
func (f fastWebRequest) VisitHeaders(fn func(name, value string)) {
	for k, v := range f.ctx.Request.Header.All() {
		fn(strings.ToLower(string(k)), string(v))
	}
}
func (f fastWebRequest) Body(limit int64) ([]byte, error) {
	b := f.ctx.PostBody()
	if int64(len(b)) > limit {
		b = b[:limit]
	}
	return bytes.Clone(b), nil
}

// serveWebStream answers a server-streaming gRPC-Web call over HTTP/1.1
// as its messages come: the call runs on a goroutine of its own; the
// status and header fields go out with the first message it flushes, the
// rest of the body through fasthttp's body stream writer (chunked), part
// by part. A call that ends before its first flush is answered whole.
// The call reads the request (ctx) before its first flush, while the
// handler waits; cancel ends callCtx, the call's context.
func serveWebStream(ctx *fasthttp.RequestCtx, callCtx context.Context, cancel context.CancelFunc, g GRPCWeb) {
	sw := &streamedWebResponse{first: make(chan struct{}), parts: make(chan []byte)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.ServeWeb(callCtx, sw, fastWebRequest{ctx})
		sw.end()
	}()
	<-sw.first
	ctx.SetStatusCode(sw.status)
	for _, h := range sw.header {
		ctx.Response.Header.Add(h[0], h[1])
	}
	if sw.whole {
		<-done
		cancel()
		ctx.Response.SetBody(sw.head)
		return
	}
	head := sw.head
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		defer cancel()
		ok := writeFlush(w, head)
		for p := range sw.parts {
			if ok = ok && writeFlush(w, p); !ok {
				cancel() // the client is gone: end the call, and drain
			}
		}
		<-done
	})
}

// writeFlush writes b and sends it, reporting whether that worked.
func writeFlush(w *bufio.Writer, b []byte) bool {
	if _, err := w.Write(b); err != nil {
		return false
	}
	return w.Flush() == nil
}

// streamedWebResponse hands a streamed gRPC-Web answer from the call's
// goroutine to serveWebStream: the header fields and the body so far at
// the first flush (first closes), then each flushed part on parts, which
// closes at the end.
type streamedWebResponse struct {
	header  [][2]string
	status  int
	buf     []byte
	head    []byte // the body up to the first flush; all of it when whole
	whole   bool   // the call ended before its first flush
	flushed bool
	first   chan struct{}
	parts   chan []byte
}

func (s *streamedWebResponse) AddHeader(name, value string) {
	if !s.flushed {
		s.header = append(s.header, [2]string{name, value})
	}
}

func (s *streamedWebResponse) WriteHeader(code int) {
	if s.status == 0 && !s.flushed {
		s.status = code
	}
}

func (s *streamedWebResponse) WriteBody(b []byte) { s.buf = append(s.buf, b...) }

func (s *streamedWebResponse) Flush() {
	if !s.flushed {
		s.handOver(false)
		return
	}
	if len(s.buf) > 0 {
		s.parts <- s.buf
		s.buf = nil
	}
}

// handOver gives serveWebStream the status, the header fields and the
// body so far (all of it when whole); none of them changes after.
func (s *streamedWebResponse) handOver(whole bool) {
	s.flushed, s.whole = true, whole
	if s.status == 0 {
		s.status = http.StatusOK
	}
	s.head, s.buf = s.buf, nil
	close(s.first)
}

// end hands over what is left once the call has returned.
func (s *streamedWebResponse) end() {
	if !s.flushed {
		s.handOver(true)
		return
	}
	s.Flush()
	close(s.parts)
}

// fastWebResponse writes a gRPC-Web answer into fasthttp's response.
type fastWebResponse struct{ ctx *fasthttp.RequestCtx }

func (f fastWebResponse) AddHeader(name, value string) { f.ctx.Response.Header.Add(name, value) }
func (f fastWebResponse) WriteHeader(code int)         { f.ctx.SetStatusCode(code) }
func (f fastWebResponse) WriteBody(b []byte)           { f.ctx.Response.AppendBody(b) }
func (f fastWebResponse) Flush()                       {}

// grpcWebTooLarge answers a gRPC-Web call whose body fasthttp refused for
// its size as a gRPC server does, with RESOURCE_EXHAUSTED in a gRPC-Web
// answer: a gRPC-Web client reads a 413 as UNKNOWN. It reports whether
// the request was one.
func (s *Server) grpcWebTooLarge(ctx *fasthttp.RequestCtx) bool {
	ct := b2s(ctx.Request.Header.ContentType())
	if s.grpcWeb == nil || !ctx.IsPost() || !grpcfront.IsGRPCWeb(ct) {
		return false
	}
	// Counted like the 413 it replaces; fasthttp closes the connection
	// after it, as after any request it could not read.
	s.reject(413)
	if c := fastConn(ctx); c != nil {
		c.setCause(metrics.CloseBadRequest)
	}
	origin := b2s(ctx.Request.Header.Peek("Origin"))
	if wo, ok := s.o.GRPC.(interface{ WebOrigin(string) string }); ok {
		origin = wo.WebOrigin(origin)
	}
	headers, body := grpcfront.WebStatus(ct, origin, codes.ResourceExhausted,
		fmt.Sprintf("grpc: received message larger than max (the request body exceeds %d bytes, max-body-bytes)", s.o.MaxBodyBytes))
	ctx.Response.SetStatusCode(http.StatusOK)
	for _, h := range headers {
		ctx.Response.Header.Add(h[0], h[1])
	}
	ctx.Response.SetBody(body)
	return true
}
