package httpfront

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/decoy-dev/decoy/internal/accesslog"
	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/grpcfront"
	"github.com/decoy-dev/decoy/internal/h2serve"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/problem"
	"golang.org/x/net/http2"
)

// HTTP/2 engines: decoy's own connection loop (internal/h2serve) for the
// speed of pre-rendered responses, or Go's net/http.
const (
	HTTP2Decoy = "decoy"
	HTTP2Go    = "go"
)

const protoHTTP2 = "HTTP/2.0"

// h2ConnKey is the context key of the *conn a request on decoy's HTTP/2
// loop arrived on.
type h2ConnKey struct{}

// h2Req is the per-request state of the HTTP/2 path, pooled.
type h2Req struct {
	req    engine.Request
	rec    journal.Record
	hdr    []byte
	timing []byte
}

var h2ReqPool = sync.Pool{New: func() any { return new(h2Req) }}

// blockCache holds the HPACK header block of each response of one
// snapshot; a new snapshot starts a new cache.
type blockCache struct {
	snap   *engine.Snapshot
	blocks h2serve.BlockCache[engine.Response]
}

// blocksFor returns the cache for the engine's current snapshot.
func (s *Server) blocksFor() *blockCache {
	snap := s.o.Engine.Snapshot()
	if bc := s.h2blocks.Load(); bc != nil && bc.snap == snap {
		return bc
	}
	bc := &blockCache{snap: snap}
	s.h2blocks.Store(bc)
	return bc
}

func encodeBlock(r *engine.Response) []byte {
	hs := make([][2]string, 0, len(r.Headers)+1)
	if r.ContentType != "" {
		hs = append(hs, [2]string{"content-type", r.ContentType})
	}
	for _, h := range r.Headers {
		hs = append(hs, [2]string{h.Name, h.Value})
	}
	n := int(r.BodyLen())
	if !bodyAllowed(r.Status) || r.Behave != nil && r.Behave.Pacer.Streams() {
		n = -1 // a stream ends when its last chunk has gone
	}
	return h2serve.EncodeHeaderBlock(r.Status, hs, n)
}

// h2Cert is the client certificate of the connection r arrived on.
func h2Cert(r *h2serve.Request) *engine.ClientCert {
	if c, ok := r.Context().Value(h2ConnKey{}).(*conn); ok {
		return c.cert
	}
	return nil
}

// useDecoyH2 tells whether a new HTTP/2 connection goes to decoy's own
// loop (the default) rather than Go's server.
func (s *Server) useDecoyH2() bool {
	return s.o.HTTP2Engine != HTTP2Go
}

// serveDecoyH2 serves an HTTP/2 connection (its preface not yet read) with
// decoy's own loop until it ends; nc is c itself or its TLS layer.
func (s *Server) serveDecoyH2(c *conn, nc net.Conn) {
	c.std.Store(true) // closes are told apart as for Go's HTTP/2 server
	ctx := context.WithValue(s.doneCtx, h2ConnKey{}, c)
	_ = h2serve.ServeConn(ctx, nc, s, s.h2Options())
	_ = nc.Close()
}

// h2Options are the limits of decoy's HTTP/2 loop.
func (s *Server) h2Options() h2serve.Options {
	// Under a connection rate a write takes its time: a flush (up to
	// 64 KiB) must not pass for a stuck connection.
	var wt time.Duration
	if r := s.o.ConnectionRate; r > 0 {
		wt = max(h2serve.DefaultWriteTimeout, 4*time.Duration(64<<10)*time.Second/time.Duration(r))
	}
	return h2serve.Options{
		WriteTimeout:      wt,
		MaxHeaderListSize: uint32(s.o.MaxHeaderBytes),
		MaxBodyBytes:      s.o.MaxBodyBytes,
		IdleTimeout:       s.o.IdleTimeout,
		ReadTimeout:       s.o.ReadTimeout,
		Logger:            s.log,
		Reject: func(w *h2serve.ResponseWriter, r *h2serve.Request, status int) {
			s.reject(status)
			p := problem.New(status, fmt.Sprintf("the request body exceeds %d bytes", s.o.MaxBodyBytes))
			hs := problemHeaders
			switch {
			case status == 431:
				p = problem.New(status, fmt.Sprintf("the request's header fields exceed %d bytes (max-header-bytes), counted as HTTP/2 counts them: each field's name and value and 32 bytes, :path included; shorten the URL or the headers, or raise max-header-bytes", s.o.MaxHeaderBytes))
			case r.ContentLength > s.o.MaxUploadBytes && s.h2UploadStub(r) != nil:
				// An upload its stub refuses, as on the other engines.
				p, hs = uploadTooLarge(s.o.MaxUploadBytes), s.h2Problem(r)
			}
			_ = w.WriteResponse(status, hs, p.JSON())
		},
	}
}

var problemHeaders = [][2]string{{"content-type", problem.ContentType}, {"cache-control", "no-store"}}

// StreamBody tells decoy's HTTP/2 loop to hand over a request before its
// body when the request goes to a stub that discards uploads: ServeH2
// then reads the body as it arrives and throws it away. An upload whose
// content-length is beyond max-upload-bytes (and max-body-bytes) is not
// handed over: the loop answers it 413 at once, before its body, through
// Options.Reject, and reads and drops what the client sends meanwhile.
func (s *Server) StreamBody(r *h2serve.Request) bool {
	if nativeGRPC(r) || s.o.GRPC != nil && s.grpcWebH2(r) {
		return true // the gRPC front door reads it as it comes
	}
	st := s.h2UploadStub(r)
	if st == nil {
		return false
	}
	return r.ContentLength <= s.o.MaxUploadBytes || r.ContentLength <= s.o.MaxBodyBytes
}

// h2UploadStub is the stub that discards r's upload, nil when none does.
func (s *Server) h2UploadStub(r *h2serve.Request) *engine.Stub {
	if !s.o.Engine.Snapshot().Uploads() {
		return nil
	}
	probe := engine.Request{Proto: protoHTTP2, Method: r.Method, Path: r.Path, Fields: r}
	if s.mtls {
		probe.ClientCert = h2Cert(r)
	}
	if st := s.o.Engine.Match(&probe); st != nil && st.Upload() != nil {
		return st
	}
	return nil
}

// nativeGRPC reports whether r is a native gRPC call (application/grpc,
// or application/grpc+proto and the like; not gRPC-Web).
func nativeGRPC(r *h2serve.Request) bool {
	ct, _ := r.Header("content-type")
	return grpcfront.IsNativeGRPC(ct)
}

// grpcWebH2 reports whether r is a gRPC-Web call or its CORS preflight.
func (s *Server) grpcWebH2(r *h2serve.Request) bool {
	switch r.Method {
	case http.MethodPost:
		ct, _ := r.Header("content-type")
		return grpcfront.IsGRPCWeb(ct)
	case http.MethodOptions:
		h, _ := r.Header("access-control-request-headers")
		return grpcfront.IsGRPCWebPreflight(r.Method, h)
	}
	return false
}

// serveGRPCH2 hands a gRPC call (native or gRPC-Web) that came to decoy's
// HTTP/2 loop to the gRPC front door: on the stream itself when the front
// door can (ServeH2, ServeWeb), else through net/http's interface, as
// Go's HTTP/2 server would; it reports whether r was one.
func (s *Server) serveGRPCH2(w *h2serve.ResponseWriter, r *h2serve.Request) bool {
	if r.Method != http.MethodPost && r.Method != http.MethodOptions {
		return false // the REST stubs' GETs, without a header scan
	}
	native := nativeGRPC(r)
	if !native && !s.grpcWebH2(r) {
		return false
	}
	// The connection's context ends when a graceful shutdown begins; a
	// call in flight goes on until its stream ends (at the latest when
	// shutdown-timeout closes the connection).
	ctx := context.WithoutCancel(r.Context())
	if c, ok := ctx.Value(h2ConnKey{}).(*conn); ok && c.cert != nil {
		// For the gRPC front door, which sees the context and not the
		// connection.
		ctx = context.WithValue(ctx, engine.ClientCertKey{}, c.cert)
	}
	if s.grpcH2 != nil && r.Streamed && native && s.grpcH2.ServeH2(ctx, w, r) {
		return true
	}
	if u, ok := s.o.GRPC.(interface{ Unary(string) bool }); ok && r.Method == http.MethodPost && u.Unary(r.Path) {
		// Headers, message and trailers (or gRPC-Web's trailer block) in
		// one write.
		w.Coalesce()
	}
	if g, ok := s.o.GRPC.(GRPCWeb); ok && !native {
		w.Detach()
		go s.serveWebH2(ctx, g, w, r)
		return true
	}
	h2serve.ServeHTTP(ctx, s.o.GRPC, w, r)
	return true
}

// grpcH2Of is h as a GRPCH2, nil when it is not one.
func grpcH2Of(h http.Handler) GRPCH2 {
	g, _ := h.(GRPCH2)
	return g
}

// grpcElsewhere answers a native gRPC call to decoy's HTTP/2 loop when no
// .proto file is loaded, at once, with UNIMPLEMENTED: stubs answer HTTP
// here, and a stream would otherwise wait for ever for the end of a body
// its client never ends. Server reflection gets FAILED_PRECONDITION
// instead, which grpcurl shows with its message (it takes UNIMPLEMENTED
// there for a server without reflection).
func (s *Server) grpcElsewhere(w *h2serve.ResponseWriter, r *h2serve.Request) {
	code := "12" // UNIMPLEMENTED
	if strings.HasPrefix(r.Path, "/grpc.reflection.") {
		code = "9" // FAILED_PRECONDITION
	}
	_ = w.WriteResponse(200, [][2]string{
		{"content-type", "application/grpc"},
		{"grpc-status", code},
		{"grpc-message", "decoy serves no gRPC here: no .proto file or descriptor set is loaded (give them to decoy serve beside the stubs to serve gRPC)"},
	}, nil)
}

// h2Upload is a streamed request body read (and thrown away) before the
// request is answered.
type h2Upload struct {
	st    *engine.Stub // the stub that discards it
	u     uploaded
	start time.Time // when the request came in
	t0    time.Duration
}

// ServeH2 answers one HTTP/2 request on decoy's own loop. The static-stub
// path writes a header block encoded once per response and the body as it
// is, allocating nothing.
func (s *Server) ServeH2(w *h2serve.ResponseWriter, r *h2serve.Request) {
	if s.o.GRPC != nil && s.serveGRPCH2(w, r) {
		return
	}
	if r.Streamed && nativeGRPC(r) {
		s.grpcElsewhere(w, r)
		return
	}
	if r.Streamed {
		s.h2Discard(w, r)
		return
	}
	s.serveH2(w, r, nil)
}

// h2Discard reads a streamed upload to its end and throws it away, from a
// detached stream's goroutine, then answers as the stub says (or with the
// upload's problem: 413 beyond max-upload-bytes, 422 for a size or digest
// that does not match).
func (s *Server) h2Discard(w *h2serve.ResponseWriter, r *h2serve.Request) {
	up := &h2Upload{start: time.Now()}
	up.t0 = up.start.Sub(epoch)
	w.Detach()
	go func() {
		probe := engine.Request{Proto: protoHTTP2, Method: r.Method, Path: r.Path, Fields: r}
		if s.mtls {
			probe.ClientCert = h2Cert(r)
		}
		st := s.o.Engine.Match(&probe)
		spec := &engine.Upload{ExpectSize: -1} // the stub changed meanwhile: just read it
		if st != nil && st.Upload() != nil {
			spec = st.Upload()
		}
		up.st = st
		if r.ContentLength > s.o.MaxUploadBytes && st != nil && st.Upload() != nil {
			// Beyond max-upload-bytes but within max-body-bytes (see
			// StreamBody): answered without reading the body.
			up.u = uploaded{p: uploadTooLarge(s.o.MaxUploadBytes)}
			s.serveH2(w, r, up)
			return
		}
		up.u = discard(s.doneCtx, h2BodyReader{w}, spec, s.o.MaxUploadBytes)
		if st != nil {
			st.Stats().RecordUpload(up.u.n, up.u.d)
		}
		s.serveH2(w, r, up)
	}()
}

// h2BodyReader reads a streamed request body.
type h2BodyReader struct{ w *h2serve.ResponseWriter }

func (b h2BodyReader) Read(p []byte) (int, error) { return b.w.ReadBody(p) }

// serveH2 answers a request whose body, when up is not nil, was streamed
// and thrown away.
func (s *Server) serveH2(w *h2serve.ResponseWriter, r *h2serve.Request, up *h2Upload) {
	var start time.Time
	var t0 time.Duration
	switch {
	case up != nil:
		start, t0 = up.start, up.t0
	case s.o.Journal.Cap() > 0:
		start = time.Now()
		t0 = start.Sub(epoch)
	default:
		t0 = time.Since(epoch)
	}
	in := len(r.Body)
	var clientTime time.Duration // reading an upload is the client's time, not decoy's
	if up != nil {
		in, clientTime = int(min(up.u.n, 1<<62)), up.u.d
	}
	f := h2ReqPool.Get().(*h2Req)
	f.req = engine.Request{Proto: protoHTTP2, Method: r.Method, Path: r.Path, Body: r.Body, Fields: r}
	if s.mtls {
		f.req.ClientCert = h2Cert(r)
	}
	var rq requested
	if s.o.DelayHeader {
		xd, _ := r.Header(delayHeader)
		pref, _ := r.Header("Prefer")
		if xd != "" || pref != "" {
			rq = s.parseRequested(xd, pref)
		}
	}
	head := r.Method == "HEAD"
	if s.o.Saturation.Saturated() {
		w.AddHeaderBytes(saturatedHeaderLow, saturatedValueB)
	}
	var st *engine.Stub
	if up != nil {
		st = up.st
	} else {
		st = s.o.Engine.Match(&f.req)
	}
	var (
		stats  *engine.Stats
		index  int
		stubID string
		status int
		out    int
		delay  time.Duration
		fault  behave.FaultKind
		// late counts what is known only later: a body larger than
		// countAhead, paced or generated, as it goes; the request itself
		// when its answer waits (a delay), status 0 if it never goes.
		late *lateCount
	)
	// Every answer gets the server's Date, except a stub's that sets its
	// own: one Date field either way.
	switch {
	case up != nil && up.u.p != nil:
		w.AddHeaderBytes("date", httpDate())
		s.reject(up.u.p.Status)
		body := up.u.p.JSON()
		s.h2Timing(w, f, t0+clientTime, 0)
		_ = w.WriteResponse(up.u.p.Status, s.h2Problem(r), body)
		stats, status, out = s.o.Engine.Unmatched(), up.u.p.Status, len(body)
		if st != nil {
			stubID, stats = st.ID, st.Stats()
		}
	case rq.err != nil:
		w.AddHeaderBytes("date", httpDate())
		p := problem.New(400, rq.err.Error()+` (X-Decoy-Delay: 500ms, or Prefer: delay=500 in milliseconds)`)
		s.h2Timing(w, f, t0, 0)
		_ = w.WriteResponse(400, s.h2Problem(r), p.JSON())
		stats, status, out = s.o.Engine.Unmatched(), 400, len(p.JSON())
	case st == nil:
		w.AddHeaderBytes("date", httpDate())
		body := s.noMatch(&f.req).JSON()
		s.h2Timing(w, f, t0, 0)
		_ = w.WriteResponse(404, s.h2Problem(r), body)
		stats, status, out = s.o.Engine.Unmatched(), 404, len(body)
	default:
		stubID, stats = st.ID, st.Stats()
		var resp *engine.Response
		var call uint64
		index, resp, call = st.Pick()
		if st.Check() != nil {
			if v := st.Verdict(&f.req); v != nil {
				if v.Summary != "" {
					w.AddHeader(strings.ToLower(engine.VerdictHeader), v.Summary)
				}
				if v.Response != nil {
					if !v.Response.OwnDate() {
						w.AddHeaderBytes("date", httpDate())
					}
					status, out = s.h2Verdict(w, f, t0, v.Response, head)
					break
				}
			}
		}
		if vary := st.Vary(); vary != nil {
			resp = vary.Vary(&f.req, resp)
		}
		if !resp.OwnDate() {
			w.AddHeaderBytes("date", httpDate())
		}
		status = resp.Status
		body := resp.Body
		if head || !bodyAllowed(resp.Status) {
			body = nil
		}
		out = len(body)
		block := s.blocksFor().blocks.Get(resp, encodeBlock)
		if resp.Behave == nil && !rq.set {
			if len(body) > countAhead {
				late = s.h2CountBody(w, stats, body)
			}
			s.h2Timing(w, f, t0, 0)
			_ = w.WriteBlock(block, body)
			break
		}
		a := decide(st, resp, call, rq)
		delay = a.delay
		fault = a.faultKind()
		stats.RecordInjected(delay, fault)
		if rq.clamped != "" {
			w.AddHeader(clampedHeader, rq.clamped)
		}
		switch {
		case a.fault != nil:
			// A fault's body counts as planned (close-mid-body: the
			// part before the cut).
			status, out, late = s.h2Fault(w, r, a, st, resp, block, head)
		case a.streamed(resp):
			s.h2Timing(w, f, t0, a.delay)
			if !head && bodyAllowed(resp.Status) {
				// A body generated as it goes is not in resp.Body.
				out = int(resp.BodyLen())
			}
			late = newLateCount(stats, s.o.Journal, int64(out), true)
			if a.ttfb > 0 {
				late.holdRequest()
			}
			s.h2Paced(w, a, resp, block, head, late)
		default:
			s.h2Timing(w, f, t0, a.delay)
			d := a.ttfb
			// The handler runs on the goroutine that reads the
			// connection, as delayLeft needs; the latest read brought the
			// request's end, or bytes after it.
			if c, ok := r.Context().Value(h2ConnKey{}).(*conn); ok {
				d = c.delayLeft(d)
			}
			late = s.h2CountBody(w, stats, body)
			if d > 0 {
				if late == nil {
					late = newLateCount(stats, s.o.Journal, int64(len(body)), false)
				}
				late.holdRequest()
			}
			s.writeBlockAfter(w, d, block, body, late)
		}
	}
	// Nothing waits on this goroutine: delays and paced bodies run on
	// detached streams, so all of elapsed is decoy's own time.
	elapsed := time.Since(epoch) - t0
	// A body late counts as it goes is not counted with the request.
	switch {
	case late == nil:
		stats.RecordStatus(index, status, in, out, elapsed-clientTime)
	case late.held():
		late.countRequest(index, status, in, late.counted(out), elapsed-clientTime)
	default:
		stats.RecordStatus(index, status, in, late.counted(out), elapsed-clientTime)
	}
	if c, ok := r.Context().Value(h2ConnKey{}).(*conn); ok {
		c.mc.Requests[metrics.HTTP2].Add(1)
	}
	if s.o.Journal.Cap() > 0 {
		f.hdr = r.AppendHeaderText(f.hdr[:0])
		remote := addrPort(r.Conn().RemoteAddr())
		f.rec = journal.Record{
			Start: start, LastIn: start.Add(clientTime), Duration: elapsed + delay, Proto: protoHTTP2,
			Method: s2b(r.Method), URI: s2b(r.RawPath), Headers: f.hdr, Body: r.Body,
			BodySize: int64(in), Remote: remote, Stub: stubID, Fault: faultName(fault), Status: status,
			BytesIn: int64(in), BytesOut: int64(out),
		}
		f.rec.ClientCert = f.req.ClientCert
		if seq := s.o.Journal.Add(&f.rec); late != nil {
			late.recorded(seq)
		}
	}
	if lv, ok := s.o.AccessLog.Sampled(); ok {
		s.o.AccessLog.Log(lv, &accesslog.Request{
			Method: r.Method, Path: r.Path, Stub: stubID, Status: status,
			Duration: elapsed + delay, Proto: protoHTTP2, Remote: r.Conn().RemoteAddr().String(),
		})
	}
	f.req = engine.Request{}
	f.rec = journal.Record{}
	h2ReqPool.Put(f)
}

// s2b views s as bytes without copying, for a journal record (which
// copies what it keeps and changes nothing).
func s2b(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// h2Paced sends a response whose body is paced (throttle, dribble, spread
// latency, a stream of chunks) or generated as it goes, from a detached
// stream's goroutine: the headers after the wait before the first byte,
// then the body on the pacer's schedule. It stops when the client resets
// the stream or the server shuts down (then the stream is reset).
func (s *Server) h2Paced(w *h2serve.ResponseWriter, a action, resp *engine.Response, block []byte, head bool, late *lateCount) {
	w.Detach()
	go func() {
		done := w.Done()
		if !s.h2Await(w, a.ttfb, done, late) {
			return
		}
		if w.WriteHead(block) != nil || head || !bodyAllowed(resp.Status) {
			late.done(0)
			return
		}
		ctx, cancel := s.streamCtx(done)
		defer cancel()
		n, err := sendBody(ctx, h2Body{w}, nil, resp, a.pacer, -1)
		if err != nil {
			w.Reset()
			// A part the reset cut short counts what of it went out.
			late.done(max(n, w.Sent()))
			return
		}
		late.done(n)
		_ = w.WriteData(nil, true)
	}()
}

// h2Await waits d (when above 0) on a detached stream before its answer
// and reports whether the answer may go; late learns which: answered, or
// closed unanswered (the client reset the stream, or a shutdown that will
// not wait for it, when the stream is reset here).
func (s *Server) h2Await(w *h2serve.ResponseWriter, d time.Duration, done <-chan struct{}, late *lateCount) bool {
	if d > 0 {
		switch s.h2Wait(d, done) {
		case waitGone:
			late.answered(false)
			return false
		case waitLate:
			late.answered(false)
			w.Reset()
			return false
		}
	}
	late.answered(true)
	return true
}

// h2CountBody has a body larger than countAhead counted as it goes out,
// once its stream ends, and returns the count; nil for a smaller body,
// counted with its request.
func (s *Server) h2CountBody(w *h2serve.ResponseWriter, stats *engine.Stats, body []byte) *lateCount {
	if len(body) <= countAhead {
		return nil
	}
	late := newLateCount(stats, s.o.Journal, int64(len(body)), true)
	w.CountSent(late.done)
	return late
}

// streamCtx is a context for sending a detached stream's body: done when
// the server shuts down or when done (the stream's end) is closed.
func (s *Server) streamCtx(done <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(s.doneCtx)
	go func() {
		select {
		case <-done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// h2CutPaced sends a response that breaks off, from a detached stream's
// goroutine: after wait, the headers, the first cut bytes of the body on
// p's schedule, then RST_STREAM INTERNAL_ERROR. It stops when the client
// resets the stream, and resets it when the server shuts down.
func (s *Server) h2CutPaced(w *h2serve.ResponseWriter, wait time.Duration, resp *engine.Response, block []byte, p *behave.Pacer, cut int64, late *lateCount) {
	w.Detach()
	go func() {
		done := w.Done()
		if !s.h2Await(w, wait, done, late) {
			return
		}
		if w.WriteHead(block) != nil {
			return
		}
		if cut > 0 {
			ctx, cancel := s.streamCtx(done)
			defer cancel()
			_, _ = sendBody(ctx, h2Body{w}, nil, resp, p, cut)
		}
		w.ResetCode(http2.ErrCodeInternal)
	}()
}

// h2Body writes a body on a stream opened with WriteHead.
type h2Body struct{ w *h2serve.ResponseWriter }

func (b h2Body) Write(p []byte) (int, error) {
	if err := b.w.WriteData(p, false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeBlockAfter sends a response after d, the stream's goroutine free
// meanwhile; a shutdown lets it go when due, or resets the stream (see
// h2Wait).
// late, when the request's count waits for the answer (d > 0), learns
// whether it went.
func (s *Server) writeBlockAfter(w *h2serve.ResponseWriter, d time.Duration, block, body []byte, late *lateCount) {
	if d <= 0 {
		_ = w.WriteBlock(block, body)
		return
	}
	w.Detach()
	go func() {
		if s.h2Await(w, d, w.Done(), late) {
			_ = w.WriteBlock(block, body)
		}
	}()
}

func (s *Server) h2Timing(w *h2serve.ResponseWriter, f *h2Req, t0, delay time.Duration) {
	if !s.o.ServerTiming {
		return
	}
	f.timing = appendServerTiming(f.timing[:0], time.Since(epoch)-t0, delay)
	w.AddHeaderBytes("server-timing", f.timing)
}

// h2Fault applies a fault to a stream. An h2 override resets the stream
// with its code or sends GOAWAY; without one, an error answers with its
// status, a hang holds the stream until the client gives up (or the
// fault's After), malformed answers with a header block the client must
// reject, close-mid-body sends the headers and part of the body, and the
// other kinds reset the stream with INTERNAL_ERROR. Everything but a hang
// happens after the latency and the fault's After, on a detached stream
// when there is a wait.
//
// A fault that answers (error, close-mid-body) after a wait returns late,
// which holds the request's count until the answer goes: status 0 when
// the stream closes first.
func (s *Server) h2Fault(w *h2serve.ResponseWriter, r *h2serve.Request, a action, st *engine.Stub, resp *engine.Response, block []byte, head bool) (status, out int, late *lateCount) {
	wait := a.ttfb
	fa := a.fault
	var apply func()
	switch {
	case fa.H2.RSTStream:
		apply = func() { w.ResetCode(http2.ErrCode(fa.H2.Code)) }
	case fa.H2.GOAWAY:
		apply = func() { w.GoAway(http2.ErrCode(fa.H2.Code)) }
	case fa.Kind == behave.FaultError:
		body := injectedProblem(st, fa).JSON()
		status, out = fa.Status, len(body)
		hs := s.h2Problem(r)
		apply = func() { _ = w.WriteResponse(fa.Status, hs, body) }
	case fa.Kind == behave.FaultHang:
		w.Detach()
		go func() {
			ctx := s.doneCtx
			if fa.After > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, wait+fa.After)
				defer cancel()
			}
			select {
			case <-w.Done():
			case <-ctx.Done():
				w.Reset()
			}
		}()
		return 0, 0, nil
	case fa.Kind == behave.FaultMalformed:
		apply = func() { _ = w.WriteMalformed() }
	case fa.Kind == behave.FaultCloseMidBody && resp.Behave.Pacer == nil && int64(len(resp.Body)) == resp.BodyLen():
		body := resp.Body
		if head || !bodyAllowed(resp.Status) {
			body = nil
		}
		cut := fa.CutAt(int64(len(body)))
		status, out = resp.Status, int(cut)
		apply = func() { _ = w.WriteBlockReset(block, body[:cut], http2.ErrCodeInternal) }
	case fa.Kind == behave.FaultCloseMidBody:
		// A paced body (throttle, dribble, a stream), or one generated
		// as it goes: the part before the cut goes as the whole body
		// would, then the reset.
		cut := fa.CutAt(resp.BodyLen())
		if head || !bodyAllowed(resp.Status) {
			cut = 0
		}
		status, out = resp.Status, int(cut)
		if wait+fa.After > 0 {
			late = newLateCount(st.Stats(), s.o.Journal, int64(out), false)
			late.holdRequest()
		}
		s.h2CutPaced(w, wait+fa.After, resp, block, resp.Behave.Pacer, cut, late)
		return status, out, late
	default:
		apply = func() { w.ResetCode(http2.ErrCodeInternal) }
	}
	if d := wait + fa.After; d > 0 {
		if status != 0 {
			late = newLateCount(st.Stats(), s.o.Journal, int64(out), false)
			late.holdRequest()
		}
		w.Detach()
		go func() {
			if s.h2Await(w, d, w.Done(), late) {
				apply()
			}
		}()
	} else {
		apply()
	}
	return status, out, late
}

var _ h2serve.BodyStreamer = (*Server)(nil)

// dateLine caches the Date header's value for the current second.
type dateLine struct {
	sec int64
	b   []byte
}

var currentDate atomic.Pointer[dateLine]

// httpDate returns the Date header value for now, formatted at most once a
// second.
func httpDate() []byte { return httpDateAt(time.Now()) }

// httpDateAt returns the Date header value for the instant now.
func httpDateAt(now time.Time) []byte {
	if d := currentDate.Load(); d != nil && d.sec == now.Unix() {
		return d.b
	}
	d := &dateLine{sec: now.Unix(), b: now.UTC().AppendFormat(nil, http.TimeFormat)}
	currentDate.Store(d)
	return d.b
}

// h2Verdict answers with the response of a failed request check, which is
// made per request (so its header block is not cached).
func (s *Server) h2Verdict(w *h2serve.ResponseWriter, f *h2Req, t0 time.Duration, resp *engine.Response, head bool) (status, out int) {
	hs := make([][2]string, 0, len(resp.Headers)+1)
	if resp.ContentType != "" {
		hs = append(hs, [2]string{"content-type", resp.ContentType})
	}
	for _, h := range resp.Headers {
		hs = append(hs, [2]string{strings.ToLower(h.Name), h.Value})
	}
	body := resp.Body
	if head {
		body = nil
	}
	s.h2Timing(w, f, t0, 0)
	_ = w.WriteResponse(resp.Status, hs, body)
	return resp.Status, len(body)
}
