package httpfront

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/decoy-dev/decoy/internal/accesslog"
	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/h1loop"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/problem"
	"github.com/valyala/fasthttp"
)

// fastReq adapts a fasthttp request to engine.Fields without copying.
type fastReq struct {
	ctx    *fasthttp.RequestCtx
	req    engine.Request
	rec    journal.Record
	path   []byte // decoded path, when it had escapes
	timing []byte // the Server-Timing value being built
}

var fastReqPool = sync.Pool{New: func() any { return new(fastReq) }}

func (f *fastReq) Header(name string) (string, bool) {
	v := f.ctx.Request.Header.Peek(name)
	return b2s(v), v != nil
}

// Values calls fn with each value of the named header, in order, until
// fn returns false.
func (f *fastReq) Values(name string, fn func(string) bool) {
	for _, v := range f.ctx.Request.Header.PeekAll(name) {
		if !fn(b2s(v)) {
			return
		}
	}
}

func (f *fastReq) Query(name string) (string, bool) {
	args := f.ctx.QueryArgs()
	if !args.Has(name) {
		return "", false
	}
	return b2s(args.Peek(name)), true
}

func (f *fastReq) Cookie(name string) (string, bool) {
	v := f.ctx.Request.Header.Cookie(name)
	return b2s(v), v != nil
}

// QueryString returns the raw query string, for checks that read repeated
// parameters.
func (f *fastReq) QueryString() string { return b2s(f.ctx.URI().QueryString()) }

// decodedPath is the request path as sent, with percent-escapes decoded
// and nothing else changed (no dot-segment removal, no slash merging), the
// same on HTTP/1.1 and HTTP/2. A malformed escape leaves the path as sent.
func (f *fastReq) decodedPath(raw []byte) string { return decodePath(&f.path, raw) }

// b2s views b as a string without copying; the string must not outlive the
// request.
func b2s(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

const (
	protoHTTP11 = "HTTP/1.1"
	protoHTTP10 = "HTTP/1.0"
)

// handleFast serves one HTTP/1.x request. The static-stub path allocates
// nothing.
func (s *Server) handleFast(ctx *fasthttp.RequestCtx) {
	if s.grpcWeb != nil && s.grpcWebFast(ctx) {
		return
	}
	// Only the journal needs the wall clock; the processing time needs the
	// monotonic one, which is half the price to read.
	var start time.Time
	var t0 time.Duration
	if s.o.Journal.Cap() > 0 {
		start = time.Now()
		t0 = start.Sub(epoch)
	} else {
		t0 = time.Since(epoch)
	}
	f := fastReqPool.Get().(*fastReq)
	f.ctx = ctx
	proto, version := protoHTTP11, metrics.HTTP11
	badVersion := false
	if !ctx.Request.Header.IsHTTP11() {
		proto, version = protoHTTP10, metrics.HTTP10
		// fasthttp reads any other version as HTTP/1.0.
		badVersion = string(ctx.Request.Header.Protocol()) != "HTTP/1.0"
	}
	// A streamed body (on a connection opened while some stub discards
	// uploads) is read once the stub is known, in streamedFast.
	streamed := ctx.Request.IsBodyStream()
	var body []byte
	if !streamed {
		body = ctx.PostBody()
	}
	f.req = engine.Request{
		Proto:  proto,
		Method: b2s(ctx.Method()),
		Path:   f.decodedPath(originPath(ctx)),
		Body:   body,
		Fields: f,
	}
	if s.mtls {
		if t, ok := ctx.Conn().(*tlsConn); ok {
			f.req.ClientCert = t.c.cert
		}
	}
	if s.draining.Load() {
		ctx.SetConnectionClose()
	}
	var rq requested
	if s.o.DelayHeader {
		rq = s.parseRequested(b2s(ctx.Request.Header.Peek(delayHeader)), b2s(ctx.Request.Header.Peek("Prefer")))
	}
	var (
		st *engine.Stub
		up uploaded
	)
	if streamed && rq.err == nil && !badVersion {
		st, up = s.streamedFast(ctx, f)
	} else {
		st = s.o.Engine.Match(&f.req)
	}
	if rq.err != nil && st != nil && st.WebSocket() != nil {
		// A WebSocket upgrade honours no requested delay, so a malformed
		// one cannot refuse it either.
		rq = requested{}
	}
	stubID := ""
	var (
		stats        *engine.Stats
		index        int
		slept, delay time.Duration
		out          = -1
		status       = -1 // -1: the status of ctx.Response
		fault        behave.FaultKind
		tally        *lateCount // counts a body paced or generated as it goes
	)
	switch {
	case badVersion:
		s.writeProblemFast(ctx, problem.New(505, fmt.Sprintf("HTTP version %q is not supported: decoy speaks HTTP/1.0, HTTP/1.1 and HTTP/2", ctx.Request.Header.Protocol())))
		ctx.SetConnectionClose()
		stats = s.o.Engine.Unmatched()
	case rq.err != nil:
		s.writeProblemFast(ctx, problem.New(400, rq.err.Error()+` (X-Decoy-Delay: 500ms, or Prefer: delay=500 in milliseconds)`))
		stats = s.o.Engine.Unmatched()
	case up.p != nil:
		s.writeProblemFast(ctx, up.p)
		stats = s.o.Engine.Unmatched()
		if st != nil {
			stubID, stats = st.ID, st.Stats()
		}
	case st == nil:
		s.writeNoMatchFast(ctx, &f.req)
		stats = s.o.Engine.Unmatched()
	case st.WebSocket() != nil:
		stubID, stats = st.ID, st.Stats()
		index, slept, status, fault = s.wsFast(ctx, st, st.WebSocket())
	default:
		stubID, stats = st.ID, st.Stats()
		var resp *engine.Response
		var call uint64
		index, resp, call = st.Pick()
		vary := st.Vary()
		if st.Check() != nil {
			if v := st.Verdict(&f.req); v != nil {
				if v.Summary != "" {
					ctx.Response.Header.Set(engine.VerdictHeader, v.Summary)
				}
				if v.Response != nil {
					resp, rq, vary = v.Response, requested{}, nil
				}
			}
		}
		if vary != nil {
			resp = vary.Vary(&f.req, resp)
		}
		if resp.Behave == nil && !rq.set {
			if len(resp.Body) > countAhead {
				tally = s.writeLargeFast(ctx, st, resp)
			}
			if tally != nil {
				out = len(resp.Body) // not Response.Body(): it would read the stream
			} else {
				writeFast(ctx, resp)
			}
		} else {
			slept, delay, out, status, fault, tally = s.behaveFast(ctx, st, resp, call, rq)
		}
	}
	elapsed := time.Since(epoch) - t0
	// Reading a discarded upload is the client's time, not decoy's.
	slept += up.d
	if s.o.ServerTiming {
		f.timing = appendServerTiming(f.timing[:0], elapsed-slept, delay)
		ctx.Response.Header.AddBytesKV(serverTimingName, f.timing)
	}
	if s.o.Saturation.Saturated() {
		ctx.Response.Header.AddBytesKV(saturatedHeaderB, saturatedValueB)
	}
	if status < 0 {
		status = ctx.Response.StatusCode()
	}
	if out < 0 {
		out = len(ctx.Response.Body())
	}
	if ctx.IsHead() || !bodyAllowed(status) {
		out = 0
	}
	in := len(f.req.Body)
	if st != nil && st.Upload() != nil {
		in = int(min(up.n, 1<<62))
	}
	// By the status sent, which for a WebSocket stub or a fault is not
	// the compiled response's, and 0 when none was. A body that goes out
	// after this (paced, generated) counts as it goes, in tally.
	counted := out
	if tally != nil {
		counted = 0
	}
	stats.RecordStatus(index, status, in, counted, elapsed-slept)
	tc := fastConn(ctx)
	if tc != nil {
		if fault != 0 && fault != behave.FaultError {
			tc.setCause(metrics.CloseFault)
		}
		mc := &tc.mc
		mc.Requests[version].Add(1)
		if ctx.Request.Header.ConnectionClose() {
			mc.AskedClose.Add(1)
			if version == metrics.HTTP10 {
				mc.HTTP10Close.Add(1)
			}
		}
	}
	if s.o.Journal.Cap() > 0 {
		r := &f.rec
		*r = journal.Record{
			Start:    start,
			Duration: elapsed,
			Proto:    proto,
			Method:   ctx.Method(),
			URI:      ctx.RequestURI(),
			Headers:  ctx.Request.Header.RawHeaders(),
			Body:     f.req.Body,
			BodySize: int64(in),
			Remote:   addrPort(ctx.RemoteAddr()),
			Stub:     stubID,
			Fault:    faultName(fault),
			Status:   status,
			BytesIn:  int64(in),
			BytesOut: int64(out),
		}
		r.ClientCert = f.req.ClientCert
		if tc != nil && tc.stamp {
			r.FirstIn, r.LastIn = tc.takeReceived()
			seq := s.o.Journal.Add(r)
			if tally != nil {
				tally.recorded(seq)
			}
			if ctx.Hijacked() {
				// A fault writes on a goroutine of its own, and a
				// WebSocket conversation is no longer HTTP: neither may
				// touch the timestamps, and their responses have none.
				tc.stamp = false
			} else {
				tc.sentSeq = seq
			}
		} else if seq := s.o.Journal.Add(r); tally != nil {
			tally.recorded(seq)
		}
	}
	if lv, ok := s.o.AccessLog.Sampled(); ok {
		s.o.AccessLog.Log(lv, &accesslog.Request{
			Method: string(ctx.Method()), Path: strings.Clone(f.req.Path), Stub: stubID,
			Status: status, Duration: elapsed, Proto: proto,
			Remote: ctx.RemoteAddr().String(),
		})
	}
	f.ctx = nil
	f.req = engine.Request{}
	f.rec = journal.Record{}
	fastReqPool.Put(f)
}

// epoch is a fixed instant: time.Since(epoch) reads only the monotonic
// clock.
var epoch = time.Now()

var serverTimingName = []byte("Server-Timing")

// appendServerTiming appends the Server-Timing value for decoy's own time
// d and the injected delay (when there was one) to b.
func appendServerTiming(b []byte, d, delay time.Duration) []byte {
	b = append(b, "decoy;dur="...)
	b = appendMillis(b, d)
	if delay > 0 {
		b = append(b, ", delay;dur="...)
		b = appendMillis(b, delay)
	}
	return b
}

// appendMillis appends d in milliseconds with microsecond precision
// ("0.012", "250.003").
func appendMillis(b []byte, d time.Duration) []byte {
	us := max(d.Microseconds(), 0)
	b = strconv.AppendInt(b, us/1000, 10)
	frac := us % 1000
	return append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
}

func writeFast(ctx *fasthttp.RequestCtx, resp *engine.Response) {
	ctx.Response.SetStatusCode(resp.Status)
	h := &ctx.Response.Header
	h.DisableNormalizing() // header names go out as the stub wrote them
	if len(resp.ContentTypeB) > 0 {
		h.SetContentTypeBytes(resp.ContentTypeB)
	}
	for i := range resp.Headers {
		h.AddBytesKV(resp.Headers[i].NameB, resp.Headers[i].ValueB)
	}
	ctx.Response.SetBodyRaw(resp.Body)
}

// writeLargeFast answers with resp when its body is larger than
// countAhead, and returns the tally that counts what the client takes of
// the body; nil (nothing done) for a smaller body, or one not sent. The
// body goes straight to the connection after the head, as a paced body
// does, without a pace: a client that abandons the download is counted
// the bytes written before it left.
func (s *Server) writeLargeFast(ctx *fasthttp.RequestCtx, st *engine.Stub, resp *engine.Response) *lateCount {
	n := len(resp.Body)
	if n <= countAhead || ctx.IsHead() || !bodyAllowed(resp.Status) {
		return nil
	}
	writeHeadFast(ctx, resp)
	t := newLateCount(st.Stats(), s.o.Journal, int64(n), true)
	ctx.Response.ImmediateHeaderFlush = true
	ctx.Response.SetBodyStream(&pacedBody{ctx: s.doneCtx, nc: ctx.Conn(), resp: resp, t: t}, n)
	return t
}

// originPath is the path of the request target as sent. fasthttp reads an
// origin-form target that starts with "//" ("//a/b", a path whose first
// segment is empty) as a host and a path ("/b"); it is the path "//a/b"
// (RFC 9112 section 3.2.1), as the loops read it.
func originPath(ctx *fasthttp.RequestCtx) []byte {
	if uri := ctx.RequestURI(); len(uri) > 1 && uri[0] == '/' && uri[1] == '/' && bytes.IndexByte(uri, '#') < 0 {
		if q := bytes.IndexByte(uri, '?'); q >= 0 {
			return uri[:q]
		}
		return uri
	}
	return ctx.URI().PathOriginal()
}

func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort()
	}
	return netip.AddrPort{}
}

func (s *Server) writeNoMatchFast(ctx *fasthttp.RequestCtx, r *engine.Request) {
	s.writeProblemFast(ctx, s.noMatch(r))
}

func (s *Server) writeProblemFast(ctx *fasthttp.RequestCtx, p *problem.Problem) {
	ctx.Response.SetStatusCode(p.Status)
	ctx.Response.Header.SetContentType(problem.ContentType)
	ctx.Response.Header.Set("Cache-Control", "no-store")
	s.corsFast(ctx)
	ctx.Response.SetBody(p.JSON())
}

// noMatch builds the 404 for a request no stub answers, naming the closest
// stubs and why each did not match.
func (s *Server) noMatch(r *engine.Request) *problem.Problem {
	snap := s.o.Engine.Snapshot()
	p := problem.New(404, fmt.Sprintf("%s %s matched none of the %d stubs", r.Method, r.Path, snap.Len()))
	p.Title = "No stub matched"
	p.Type = "https://github.com/decoy-dev/decoy/blob/main/docs/stubs.md#when-nothing-matches"
	if snap.Len() > 0 {
		p.Closest = snap.Explain(r, 3)
	}
	return p
}

// fastError answers requests fasthttp could not read.
func (s *Server) fastError(ctx *fasthttp.RequestCtx, err error) {
	var p *problem.Problem
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	c := fastConn(ctx)
	switch {
	case refused(fastGate(ctx)):
		p = s.refusal(fastGate(ctx).Verdict())
	case errors.As(err, &small):
		p = s.tooLarge()
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		if s.grpcWebTooLarge(ctx) {
			return
		}
		p = problem.New(413, fmt.Sprintf("the request body exceeds %d bytes", s.o.MaxBodyBytes))
		s.lingerFast(ctx)
	case errors.As(err, &ne) && ne.Timeout():
		p = s.refusal(h1loop.Verdict{Status: 408}) // as the loops say it
	default:
		p = problem.New(400, "malformed HTTP request: "+err.Error())
	}
	if p.Status != 408 && c != nil {
		// fasthttp closes the connection after this answer.
		c.setCause(metrics.CloseBadRequest)
	}
	s.reject(p.Status)
	ctx.Response.SetStatusCode(p.Status)
	ctx.Response.Header.SetContentType(problem.ContentType)
	ctx.Response.SetBody(p.JSON())
}
