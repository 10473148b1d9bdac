package httpfront

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/decoy-dev/decoy/internal/accesslog"
	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/h2serve"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/problem"
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
	snap      *engine.Snapshot
	blocks    h2serve.BlockCache[engine.Response]
	streaming bool // some response paces or generates its body
}

// blocksFor returns the cache for the engine's current snapshot.
func (s *Server) blocksFor() *blockCache {
	snap := s.o.Engine.Snapshot()
	if bc := s.h2blocks.Load(); bc != nil && bc.snap == snap {
		return bc
	}
	bc := &blockCache{snap: snap, streaming: snapshotStreams(snap)}
	s.h2blocks.Store(bc)
	return bc
}

// snapshotStreams reports whether a response of snap needs its body paced
// or generated as it goes, or some stub discards uploads (reads request
// bodies as they arrive), which decoy's HTTP/2 loop does not do.
func snapshotStreams(snap *engine.Snapshot) bool {
	if snap.Uploads() {
		return true
	}
	for _, st := range snap.Stubs() {
		for _, r := range st.Responses() {
			if b := r.Behave; b != nil && (b.Pacer != nil || b.Generated != nil || b.Spread) {
				return true
			}
		}
	}
	return false
}

func encodeBlock(r *engine.Response) []byte {
	hs := make([][2]string, 0, len(r.Headers)+1)
	if r.ContentType != "" {
		hs = append(hs, [2]string{"content-type", r.ContentType})
	}
	for _, h := range r.Headers {
		hs = append(hs, [2]string{h.Name, h.Value})
	}
	n := len(r.Body)
	if !bodyAllowed(r.Status) {
		n = -1
	}
	return h2serve.EncodeHeaderBlock(r.Status, hs, n)
}

// useDecoyH2 tells whether a new HTTP/2 connection goes to decoy's own
// loop: when it is chosen and no response needs a paced or generated body.
func (s *Server) useDecoyH2() bool {
	return s.o.HTTP2Engine != HTTP2Go && !s.blocksFor().streaming
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
	return h2serve.Options{
		MaxHeaderListSize: uint32(s.o.MaxHeaderBytes),
		MaxBodyBytes:      s.o.MaxBodyBytes,
		IdleTimeout:       s.o.IdleTimeout,
		ReadTimeout:       s.o.ReadTimeout,
		Logger:            s.log,
		Reject: func(w *h2serve.ResponseWriter, _ *h2serve.Request, status int) {
			s.reject(status)
			msg := "the request body exceeds the limit"
			if status == 431 {
				msg = "the request headers exceed the limit"
			}
			_ = w.WriteResponse(status, problemHeaders, problem.New(status, msg).JSON())
		},
	}
}

var problemHeaders = [][2]string{{"content-type", problem.ContentType}, {"cache-control", "no-store"}}

// ServeH2 answers one HTTP/2 request on decoy's own loop. The static-stub
// path writes a header block encoded once per response and the body as it
// is, allocating nothing.
func (s *Server) ServeH2(w *h2serve.ResponseWriter, r *h2serve.Request) {
	var start time.Time
	var t0 time.Duration
	if s.o.Journal.Cap() > 0 {
		start = time.Now()
		t0 = start.Sub(epoch)
	} else {
		t0 = time.Since(epoch)
	}
	f := h2ReqPool.Get().(*h2Req)
	f.req = engine.Request{Proto: protoHTTP2, Method: r.Method, Path: r.Path, Body: r.Body, Fields: r}
	var rq requested
	if s.o.DelayHeader {
		xd, _ := r.Header(delayHeader)
		pref, _ := r.Header("Prefer")
		if xd != "" || pref != "" {
			rq = s.parseRequested(xd, pref)
		}
	}
	head := r.Method == "HEAD"
	w.AddHeaderBytes("date", httpDate())
	if s.o.Saturation.Saturated() {
		w.AddHeaderBytes(saturatedHeaderLow, saturatedValueB)
	}
	st := s.o.Engine.Match(&f.req)
	var (
		stats        *engine.Stats
		index        int
		stubID       string
		status       int
		out          int
		slept, delay time.Duration
		fault        behave.FaultKind
	)
	switch {
	case rq.err != nil:
		p := problem.New(400, rq.err.Error()+` (X-Decoy-Delay: 500ms, or Prefer: delay=500 in milliseconds)`)
		s.h2Timing(w, f, t0, 0)
		_ = w.WriteResponse(400, problemHeaders, p.JSON())
		stats, status, out = s.o.Engine.Unmatched(), 400, len(p.JSON())
	case st == nil:
		body := s.noMatch(&f.req).JSON()
		s.h2Timing(w, f, t0, 0)
		_ = w.WriteResponse(404, problemHeaders, body)
		stats, status, out = s.o.Engine.Unmatched(), 404, len(body)
	default:
		stubID, stats = st.ID, st.Stats()
		var resp *engine.Response
		var call uint64
		index, resp, call = st.Pick()
		if c := st.Check(); c != nil {
			if v := c.Check(&f.req); v != nil {
				if v.Summary != "" {
					w.AddHeader(strings.ToLower(engine.VerdictHeader), v.Summary)
				}
				if v.Response != nil {
					status, out = s.h2Verdict(w, f, t0, v.Response, head)
					break
				}
			}
		}
		status = resp.Status
		body := resp.Body
		if head || !bodyAllowed(resp.Status) {
			body = nil
		}
		out = len(body)
		block := s.blocksFor().blocks.Get(resp, encodeBlock)
		if resp.Behave == nil && !rq.set {
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
			status, out = s.h2Fault(w, a, resp)
		case a.pacer != nil || (resp.Behave != nil && resp.Behave.Generated != nil):
			// A connection opened before this response needed pacing:
			// decoy's loop cannot pace, so the stream is reset rather
			// than answered at the wrong speed.
			s.log.Warn("HTTP/2 stream reset: a paced or generated body on a connection served by decoy's HTTP/2 loop; reconnect to get it", "stub", st.ID)
			w.Reset()
			status, out = 0, 0
		default:
			s.h2Timing(w, f, t0, a.delay)
			s.writeBlockAfter(w, a.ttfb, block, body)
			slept = a.ttfb
		}
	}
	elapsed := time.Since(epoch) - t0
	stats.Record(index, len(r.Body), out, elapsed-slept)
	if c, ok := r.Context().Value(h2ConnKey{}).(*conn); ok {
		c.mc.Requests[metrics.HTTP2].Add(1)
	}
	if s.o.Journal.Cap() > 0 {
		f.hdr = r.AppendHeaderText(f.hdr[:0])
		remote := addrPort(r.Conn().RemoteAddr())
		f.rec = journal.Record{
			Start: start, Duration: elapsed + delay, Proto: protoHTTP2,
			Method: []byte(r.Method), URI: []byte(r.RawPath), Headers: f.hdr, Body: r.Body,
			Remote: remote, Stub: stubID, Fault: faultName(fault), Status: status,
			BytesIn: int64(len(r.Body)), BytesOut: int64(out),
		}
		s.o.Journal.Add(&f.rec)
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

// writeBlockAfter sends a response after d, or at once when the server
// shuts down; the stream's goroutine is free meanwhile.
func (s *Server) writeBlockAfter(w *h2serve.ResponseWriter, d time.Duration, block, body []byte) {
	if d <= 0 {
		_ = w.WriteBlock(block, body)
		return
	}
	w.Detach()
	go func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-s.done:
		case <-w.Done():
			return
		}
		_ = w.WriteBlock(block, body)
	}()
}

func (s *Server) h2Timing(w *h2serve.ResponseWriter, f *h2Req, t0, delay time.Duration) {
	if !s.o.ServerTiming {
		return
	}
	f.timing = appendServerTiming(f.timing[:0], time.Since(epoch)-t0, delay)
	w.AddHeaderBytes("server-timing", f.timing)
}

// h2Fault applies a fault to a stream: an error answers with its status
// after its wait, a hang holds the stream until the client gives up (or
// the fault's After), anything else resets the stream (RST_STREAM).
func (s *Server) h2Fault(w *h2serve.ResponseWriter, a action, resp *engine.Response) (status, out int) {
	wait := a.ttfb
	fa := a.fault
	switch fa.Kind {
	case behave.FaultError:
		p := problem.New(fa.Status, "fault injected by decoy")
		body := p.JSON()
		if wait+fa.After > 0 {
			w.Detach()
			go func() {
				if behave.Sleep(s.doneCtx, wait+fa.After) == nil {
					_ = w.WriteResponse(fa.Status, problemHeaders, body)
				} else {
					w.Reset()
				}
			}()
		} else {
			_ = w.WriteResponse(fa.Status, problemHeaders, body)
		}
		return fa.Status, len(body)
	case behave.FaultHang:
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
		return 0, 0
	}
	if wait+fa.After > 0 {
		w.Detach()
		go func() {
			_ = behave.Sleep(s.doneCtx, wait+fa.After)
			w.Reset()
		}()
	} else {
		w.Reset()
	}
	_ = resp
	return 0, 0
}

var _ h2serve.Handler = (*Server)(nil)

// dateLine caches the Date header's value for the current second.
type dateLine struct {
	sec int64
	b   []byte
}

var currentDate atomic.Pointer[dateLine]

// httpDate returns the Date header value for now, formatted at most once a
// second.
func httpDate() []byte {
	now := time.Now()
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
