package httpfront

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/decoy-dev/decoy/internal/accesslog"
	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/h2serve"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/problem"
	"github.com/decoy-dev/decoy/internal/urlpath"
)

// stdReq adapts a net/http request to engine.Fields.
type stdReq struct {
	r     *http.Request
	query map[string][]string
}

func (s *stdReq) Header(name string) (string, bool) {
	if strings.EqualFold(name, "Host") {
		return s.r.Host, s.r.Host != ""
	}
	v := s.r.Header.Values(name)
	if len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// Values calls f with each value of the named header, in order, until f
// returns false.
func (s *stdReq) Values(name string, f func(string) bool) {
	for _, v := range s.r.Header.Values(name) {
		if !f(v) {
			return
		}
	}
}

func (s *stdReq) Query(name string) (string, bool) {
	if s.query == nil {
		s.query = s.r.URL.Query()
	}
	v, ok := s.query[name]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

func (s *stdReq) Cookie(name string) (string, bool) {
	c, err := s.r.Cookie(name)
	if err != nil {
		return "", false
	}
	return c.Value, true
}

// QueryString returns the raw query string, for checks that read repeated
// parameters.
func (s *stdReq) QueryString() string { return s.r.URL.RawQuery }

// handleStd serves requests that arrive over HTTP/2 (and the h2c Upgrade
// request itself).
func (s *Server) handleStd(w http.ResponseWriter, r *http.Request) {
	if s.o.GRPC != nil && (r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") || isGRPCWebStd(r)) {
		s.o.GRPC.ServeHTTP(w, r)
		return
	}
	if r.ProtoMajor == 1 {
		// An h2c Upgrade Go's server declined (no HTTP2-Settings): it is
		// answered over HTTP/1.1, and the connection closes after it, so
		// that every later request on it is read by the engines that
		// judge requests alike (h1loop.Check; Go's server frames some
		// that they refuse, such as Content-Length beside
		// Transfer-Encoding, and keeps the connection).
		w.Header().Set("Connection", "close")
	}
	start := time.Now()
	// A stub that discards uploads is matched before the body is read
	// (it never matches on the body), and reads it as it arrives.
	upStub, up := s.uploadStd(r)
	if up.p != nil {
		s.corsStd(w, r)
		up.p.Write(w)
		if up.p.Status == 413 {
			s.drainStd(w, r)
		}
		return
	}
	var body []byte
	var err error
	switch {
	case upStub == nil && r.ContentLength > s.o.MaxBodyBytes:
		// Known from the head: answered before the body is read.
		err = &http.MaxBytesError{Limit: s.o.MaxBodyBytes}
	case upStub == nil:
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, s.o.MaxBodyBytes))
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.reject(413)
			problem.New(413, fmt.Sprintf("the request body exceeds %d bytes", s.o.MaxBodyBytes)).Write(w)
			s.drainStd(w, r)
			return
		}
		s.reject(400)
		problem.New(400, "reading the request body: "+err.Error()).Write(w)
		return
	}
	read := time.Now() // the last byte of the request is in
	req := engine.Request{Proto: r.Proto, Method: r.Method, Path: stdPath(r), Body: body, Fields: &stdReq{r: r}}
	if s.mtls {
		req.ClientCert = stdCert(r)
	}
	st := upStub
	if st == nil {
		st = s.o.Engine.Match(&req)
	}
	in := len(body)
	if upStub != nil {
		in = int(min(up.n, 1<<62))
	}
	status, out, stubID := 0, 0, ""
	var fault behave.FaultKind
	// overhead is decoy's own time: until the response is handed to the
	// connection, without the injected delay (the time the body takes to
	// reach the client is not decoy's). It is counted before the response
	// goes out, so that a client that has its answer finds it counted.
	if st == nil {
		p := s.noMatch(&req)
		pb := p.JSON()
		overhead := time.Since(read)
		s.serverTimingStd(w, overhead, 0)
		status, out = p.Status, len(pb)
		s.countStd(r, s.o.Engine.Unmatched(), 0, status, len(body), out, overhead)
		h := w.Header()
		h["Content-Type"] = []string{problem.ContentType}
		h["Cache-Control"] = []string{"no-store"}
		s.corsStd(w, r)
		w.WriteHeader(p.Status)
		_, _ = w.Write(pb)
	} else {
		stubID = st.ID
		index, resp, call := st.Pick()
		var rq requested
		if s.o.DelayHeader {
			rq = s.parseRequested(r.Header.Get(delayHeader), r.Header.Get("Prefer"))
		}
		vary := st.Vary()
		if st.Check() != nil {
			if v := st.Verdict(&req); v != nil {
				if v.Summary != "" {
					w.Header().Set(engine.VerdictHeader, v.Summary)
				}
				if v.Response != nil {
					resp, rq, vary = v.Response, requested{}, nil
				}
			}
		}
		if vary != nil {
			resp = vary.Vary(&req, resp)
		}
		if rq.err != nil {
			s.reject(400)
			s.corsStd(w, r)
			problem.New(400, rq.err.Error()+" (X-Decoy-Delay: 500ms, or Prefer: delay=500 in milliseconds)").Write(w)
			return
		}
		var slept, delay time.Duration
		var a action
		if resp.Behave != nil || rq.set {
			a = decide(st, resp, call, rq)
			delay = a.delay
			fault = a.faultKind()
			st.Stats().RecordInjected(delay, fault)
			if rq.clamped != "" {
				w.Header().Set(clampedHeader, rq.clamped)
			}
			wait := a.ttfb
			if a.fault != nil && a.fault.Kind != behave.FaultHang {
				wait += a.fault.After
			}
			if wait > 0 {
				t := time.Now()
				switch s.h2Wait(wait, r.Context().Done()) {
				case waitGone:
					// The client is gone: nothing was answered, status 0.
					s.countStd(r, st.Stats(), index, 0, in, 0, time.Since(read)-time.Since(t))
					s.logStd(r, start, body, in, stubID, fault, 0, 0)
					return
				case waitLate:
					// Shutdown: the response would be late; the stream
					// (the connection on HTTP/1.1) ends unanswered.
					s.countStd(r, st.Stats(), index, 0, in, 0, time.Since(read)-time.Since(t))
					s.logStd(r, start, body, in, stubID, fault, 0, 0)
					panic(http.ErrAbortHandler)
				}
				slept = time.Since(t)
			}
			if a.fault != nil {
				// Counted and journaled before: most faults abort the
				// handler.
				status, out = faultOutcome(a.fault, st, resp, r.Method == http.MethodHead)
				s.countStd(r, st.Stats(), index, status, in, out, time.Since(read)-slept)
				s.logStd(r, start, body, in, stubID, fault, status, out)
				s.faultStd(w, r, st, resp, call, a.fault)
				return
			}
		}
		h := w.Header()
		if resp.ContentType != "" {
			h["Content-Type"] = []string{resp.ContentType}
		}
		for _, hd := range resp.Headers {
			name := hd.Name
			if len(name) == 4 && strings.EqualFold(name, "date") {
				// Go's server adds its own Date unless it finds this key.
				name = "Date"
			}
			h[name] = append(h[name], hd.Value)
		}
		if !a.pacer.Streams() {
			h["Content-Length"] = []string{strconv.FormatInt(resp.BodyLen(), 10)}
		}
		overhead := time.Since(read) - slept
		s.serverTimingStd(w, overhead, delay)
		status = resp.Status
		if r.Method != http.MethodHead && bodyAllowed(resp.Status) {
			out = int(resp.BodyLen())
		}
		// A large body, or one paced or generated as it goes, counts as it
		// is written: what the client took of it.
		ahead := out <= countAhead && !a.streamed(resp)
		counted := out
		if !ahead {
			counted = 0
		}
		s.countStd(r, st.Stats(), index, status, in, counted, overhead)
		w.WriteHeader(resp.Status)
		switch {
		case out > 0 && a.streamed(resp):
			rc := http.NewResponseController(w)
			ctx, stop := s.stdBodyCtx(r)
			n, _ := sendBody(ctx, pieces{w}, rc.Flush, resp, a.pacer, -1)
			stop()
			out = int(n)
		case out > 0:
			if ahead {
				_, _ = w.Write(resp.Body)
			} else {
				out = writeCounted(w, resp.Body)
			}
		}
		if !ahead {
			st.Stats().AddSent(out)
		}
	}
	s.logStd(r, start, body, in, stubID, fault, status, out)
}

// writeCounted writes body to w in pieces and returns how much of it w
// took.
func writeCounted(w io.Writer, body []byte) int {
	n, _ := pieces{w}.Write(body)
	return n
}

// pieces writes to w at most copyChunk bytes at a time: Go's HTTP/2
// server reports none of a write the client reset midway, so what it took
// is known to within one piece.
type pieces struct{ w io.Writer }

func (p pieces) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := p.w.Write(b[n:min(n+copyChunk, len(b))])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// drainStd follows a 413 answered over HTTP/2 before the body's end. Go's
// server resets a stream whose handler returns before the body's end
// (NO_ERROR), and a client still sending may then lose the 413 (curl
// exits 92): the answer is flushed, and the rest read, up to a bound, as
// decoy's own engine does. The stream ends only when the handler
// returns, so a client that stops sending (as it may on a 413 that came
// before its body) is waited for drainIdle at most.
func (s *Server) drainStd(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 2 {
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	bp := uploadBufPool.Get().(*[]byte)
	defer uploadBufPool.Put(bp)
	left := h2serve.DrainBytes(s.o.MaxBodyBytes)
	if r.ContentLength > left {
		// A declared length is read to its end (within a bound): the 413
		// went before the body, and a client still sending it would lose
		// the answer to the reset that ends the stream early.
		left = min(r.ContentLength, 16*left)
	}
	for left > 0 {
		_ = rc.SetReadDeadline(time.Now().Add(drainIdle))
		n, err := r.Body.Read((*bp)[:min(int64(len(*bp)), left)])
		left -= int64(n)
		if err != nil {
			return
		}
	}
}

// drainIdle is the longest drainStd waits for more of a body it drops.
const drainIdle = time.Second

// logStd adds a request served by Go's server to the journal and the
// access log.
func (s *Server) logStd(r *http.Request, start time.Time, body []byte, in int, stubID string, fault behave.FaultKind, status, out int) {
	if s.o.Journal.Cap() > 0 {
		var hb strings.Builder
		for k, vs := range r.Header {
			for _, v := range vs {
				hb.WriteString(k)
				hb.WriteString(": ")
				hb.WriteString(v)
				hb.WriteString("\r\n")
			}
		}
		if r.Host != "" {
			hb.WriteString("Host: " + r.Host + "\r\n")
		}
		remote, _ := netip.ParseAddrPort(r.RemoteAddr)
		s.o.Journal.Add(&journal.Record{
			Start: start, Duration: time.Since(start), Proto: r.Proto,
			Method: []byte(r.Method), URI: []byte(r.URL.RequestURI()), Headers: []byte(hb.String()),
			Body: body, BodySize: int64(in), Remote: remote, Stub: stubID, Fault: faultName(fault), Status: status,
			BytesIn: int64(in), BytesOut: int64(out), ClientCert: s.journalCert(r),
		})
	}
	if lv, ok := s.o.AccessLog.Sampled(); ok {
		s.o.AccessLog.Log(lv, &accesslog.Request{
			Method: r.Method, Path: stdPath(r), Stub: stubID, Status: status,
			Duration: time.Since(start), Proto: r.Proto, Remote: r.RemoteAddr,
		})
	}
}

// faultOutcome is the status and body bytes a fault answers with, as the
// journal records them: an error's status and problem, close-mid-body's
// status and the part of the body it sends, nothing for the others.
func faultOutcome(f *behave.FaultAction, st *engine.Stub, resp *engine.Response, head bool) (status, out int) {
	switch f.Kind {
	case behave.FaultError:
		return f.Status, len(injectedProblem(st, f).JSON())
	case behave.FaultCloseMidBody:
		if head || !bodyAllowed(resp.Status) {
			return resp.Status, 0
		}
		return resp.Status, int(f.CutAt(resp.BodyLen()))
	}
	return 0, 0
}

// stdCert is the client certificate of the connection r arrived on.
func stdCert(r *http.Request) *engine.ClientCert {
	if c, ok := r.Context().Value(connKey{}).(*conn); ok {
		return c.cert
	}
	return nil
}

// journalCert is r's client certificate for the journal, nil for none.
func (s *Server) journalCert(r *http.Request) *engine.ClientCert {
	if !s.mtls {
		return nil
	}
	return stdCert(r)
}

// countStd counts a request served by Go's server, answered with status:
// in the stub's statistics, and by HTTP version in its connection's
// counters.
func (s *Server) countStd(r *http.Request, stats *engine.Stats, index, status, in, out int, overhead time.Duration) {
	stats.RecordStatus(index, status, in, out, overhead)
	c, ok := r.Context().Value(connKey{}).(*conn)
	if !ok {
		return
	}
	v := metrics.HTTP2
	switch {
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		v = metrics.HTTP10
	case r.ProtoMajor == 1:
		v = metrics.HTTP11
	}
	c.mc.Requests[v].Add(1)
	if r.Close {
		c.mc.AskedClose.Add(1)
		if v == metrics.HTTP10 {
			c.mc.HTTP10Close.Add(1)
		}
	}
}

// serverTimingStd sets the Server-Timing header when it is on.
func (s *Server) serverTimingStd(w http.ResponseWriter, overhead, delay time.Duration) {
	if s.o.ServerTiming {
		w.Header()["Server-Timing"] = []string{string(appendServerTiming(nil, overhead, delay))}
	}
	if s.o.Saturation.Saturated() {
		w.Header()[saturatedHeader] = saturatedValue
	}
}

// saturatedHeader is sent, with saturatedValue, while decoy is saturated
// and Options.Saturation is set.
const saturatedHeader = "Decoy-Saturated"

var (
	saturatedValue   = []string{"1"}
	saturatedHeaderB = []byte(saturatedHeader)
	saturatedValueB  = []byte("1")
)

// saturatedHeaderLow is the header's name over HTTP/2.
const saturatedHeaderLow = "decoy-saturated"

func bodyAllowed(status int) bool {
	return !(status >= 100 && status < 200 || status == 204 || status == 304)
}

// faultStd applies a fault on a request served by Go's server (HTTP/2, or
// the h2c Upgrade request). Go's server cannot choose the RST_STREAM error
// code or send GOAWAY from a handler: every fault that breaks the exchange
// aborts the handler, which resets the stream (INTERNAL_ERROR on HTTP/2)
// after what was written.
func (s *Server) faultStd(w http.ResponseWriter, r *http.Request, st *engine.Stub, resp *engine.Response, call uint64, f *behave.FaultAction) {
	switch f.Kind {
	case behave.FaultError:
		s.corsStd(w, r)
		injectedProblem(st, f).Write(w)
		return
	case behave.FaultHang:
		ctx := r.Context()
		if f.After > 0 {
			_ = behave.Sleep(ctx, f.After)
		} else {
			select {
			case <-ctx.Done():
			case <-s.done:
			}
		}
	case behave.FaultCloseMidBody:
		n := resp.BodyLen()
		h := w.Header()
		if resp.ContentType != "" {
			h["Content-Type"] = []string{resp.ContentType}
		}
		if resp.Behave == nil || !resp.Behave.Pacer.Streams() {
			h["Content-Length"] = []string{strconv.FormatInt(n, 10)}
		}
		w.WriteHeader(resp.Status)
		// Paced as the whole body would be, up to the cut.
		rc := http.NewResponseController(w)
		var p *behave.Pacer
		if resp.Behave != nil {
			p = resp.Behave.Pacer
		}
		ctx, stop := s.stdBodyCtx(r)
		_, _ = sendBody(ctx, w, rc.Flush, resp, p, f.CutAt(n))
		stop()
		_ = rc.Flush()
	}
	panic(http.ErrAbortHandler)
}

// injectedProblem is the answer of an error fault.
func injectedProblem(st *engine.Stub, f *behave.FaultAction) *problem.Problem {
	p := problem.New(f.Status, "decoy injected this error (fault kind error, stub "+strconv.Quote(st.ID)+")")
	p.Title = "Injected fault"
	return p
}

// uploadStd reads and discards the body of a request that a stub with
// upload: {discard: true} answers. It returns that stub (nil when the
// request is not such an upload) and what the read did.
func (s *Server) uploadStd(r *http.Request) (*engine.Stub, uploaded) {
	if r.Body == nil || r.Body == http.NoBody || !s.o.Engine.Snapshot().Uploads() {
		return nil, uploaded{}
	}
	probe := engine.Request{Proto: r.Proto, Method: r.Method, Path: stdPath(r), Fields: &stdReq{r: r}}
	if s.mtls {
		probe.ClientCert = stdCert(r)
	}
	st := s.o.Engine.Match(&probe)
	if st == nil || st.Upload() == nil {
		return nil, uploaded{}
	}
	if r.ContentLength > s.o.MaxUploadBytes {
		// Known from the head: answered before the body is read.
		s.reject(413)
		return st, uploaded{p: uploadTooLarge(s.o.MaxUploadBytes)}
	}
	u := discard(r.Context(), r.Body, st.Upload(), s.o.MaxUploadBytes)
	st.Stats().RecordUpload(u.n, u.d)
	if u.p != nil {
		s.reject(u.p.Status)
	}
	return st, u
}

// stdPath is r's path in the matching form of package urlpath, as the
// other engines give it: net/http's URL.Path has %2F decoded into a slash.
func stdPath(r *http.Request) string {
	p := r.URL.EscapedPath()
	if !urlpath.Has(p) {
		return p
	}
	return string(urlpath.Append(nil, p))
}

// stdBodyCtx is the context a body paced or generated as it goes is sent
// under on Go's server: it ends when the client goes or the shutdown
// begins (Go's server would otherwise wait for the body's end).
func (s *Server) stdBodyCtx(r *http.Request) (context.Context, func()) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(s.doneCtx, cancel)
	return ctx, func() { stop(); cancel() }
}
