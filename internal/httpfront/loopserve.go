package httpfront

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/decoy-dev/decoy/internal/accesslog"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/grpcfront"
	"github.com/decoy-dev/decoy/internal/h1loop"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/wake"
)

// loopBodyBytes is the largest request body the loops read whole; larger
// ones go to fasthttp.
const loopBodyBytes = 64 << 10

// watched is a listener whose socket the loops can accept on themselves
// (listen.Listener): it gives its socket, again after each resume, and
// holds connections for its first-read delay.
type watched interface {
	Watch(f func(ln net.Listener))
	Hold(c net.Conn) net.Conn
	FirstReadDelay() time.Duration
}

// useLoop tells whether plaintext connections on ln go to the loops.
func (s *Server) useLoop(ln net.Listener) bool {
	if s.o.HTTP1Engine == HTTP1Fasthttp || s.o.ConnectionRate > 0 {
		return false
	}
	switch ln.(type) {
	case *net.TCPListener, watched:
		return true
	}
	return false
}

// loopServer returns the loops, started the first time.
func (s *Server) loopServer() (*h1loop.Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h1 != nil {
		return s.h1, nil
	}
	h1, err := h1loop.New(h1loop.Options{
		Handler: loopHandler{s},
		HandOff: s.loopHandOff,
		Opened:  s.loopOpened,
		Closed:  s.loopClosed,
		Refuse:  s.loopRefuse,
		Sent:    s.loopSent,
		Stalled: func(_ *h1loop.Conn, start, end int64) {
			if time.Duration(end-start) >= s.o.SlowWrite {
				s.slowWrites.Add(1)
			}
		},
		MaxHeaderBytes: s.o.MaxHeaderBytes,
		MaxBodyBytes:   int(min(s.o.MaxBodyBytes, loopBodyBytes)),
		IdleTimeout:    s.o.IdleTimeout,
		ReadTimeout:    s.o.ReadTimeout,
	})
	if err != nil {
		return nil, err
	}
	s.h1 = h1
	return h1, nil
}

// serveLoop serves plaintext connections on ln from the loops until
// Shutdown. A listener that cannot give a TCP socket is served by
// fasthttp.
func (s *Server) serveLoop(ln net.Listener) error {
	h1, err := s.loopServer()
	if err != nil {
		s.log.Warn("HTTP/1.1 loops unavailable; serving with fasthttp", "err", err)
		return s.serve(ln, false)
	}
	if err := s.giveLoops(h1, ln); err != nil {
		s.log.Warn("HTTP/1.1 loops cannot accept on this listener; serving with fasthttp", "err", err)
		return s.serve(ln, false)
	}
	if !s.enter(ln) {
		return http.ErrServerClosed
	}
	defer s.wg.Done()
	<-s.done
	return http.ErrServerClosed
}

// giveLoops has the loops accept on ln's socket (and, for a watched
// listener, on each socket it opens when resumed).
func (s *Server) giveLoops(h1 *h1loop.Server, ln net.Listener) error {
	// A listener with an allow-list has the loops refuse, as they accept
	// them, the clients it would refuse.
	var admit func(netip.Addr) bool
	if a, ok := ln.(interface{ Admit() func(netip.Addr) bool }); ok {
		admit = a.Admit()
	}
	give := func(n net.Listener) error {
		tl, ok := n.(*net.TCPListener)
		if !ok {
			return errNotTCP
		}
		return h1.ListenAdmit(tl, admit)
	}
	w, ok := ln.(watched)
	if !ok {
		return give(ln)
	}
	s.holder.Store(&w)
	var first error
	once := true
	w.Watch(func(n net.Listener) {
		err := give(n)
		if once {
			first, once = err, false
		} else if err != nil {
			s.log.Error("HTTP/1.1 loops cannot accept on the resumed listener", "err", err)
		}
	})
	return first
}

var errNotTCP = errors.New("not a TCP listener")

// loopOpened starts the books of a connection a loop accepted. One the
// listener is to hold before its first read goes to fasthttp at once.
func (s *Server) loopOpened(c *h1loop.Conn) bool {
	tc := &conn{slow: &s.slowWrites, slowWrite: s.o.SlowWrite}
	c.User = tc
	s.mu.Lock()
	s.accepted++
	s.loopConns++
	s.mu.Unlock()
	s.o.Clients.Open(&tc.mc, c.Remote.Addr())
	if w := s.holder.Load(); w != nil && (*w).FirstReadDelay() > 0 {
		tc.held = true
		return false
	}
	return true
}

// loopReasons maps why a loop closed a connection to the metrics reason.
var loopReasons = [...]int{
	h1loop.ClosedByClient: metrics.CloseClientEOF,
	h1loop.ResetByClient:  metrics.CloseClientReset,
	h1loop.AskedClose:     metrics.CloseClientAsked,
	h1loop.IdleTimeout:    metrics.CloseIdleTimeout,
	h1loop.ReadTimeout:    metrics.CloseReadTimeout,
	h1loop.Shutdown:       metrics.CloseShutdown,
	h1loop.Refused:        metrics.CloseBadRequest,
}

// loopClosed closes the books of a connection a loop closed. An answer it
// held for later and did not write counts as none (status 0), as on
// fasthttp when a shutdown cuts a delay.
func (s *Server) loopClosed(c *h1loop.Conn, why h1loop.Reason) {
	tc := c.User.(*conn)
	tc.loopHold.settle(s, false)
	reason := loopReasons[why]
	if why == h1loop.AskedClose && s.draining.Load() {
		reason = metrics.CloseShutdown
	}
	s.retire(tc, reason, false)
}

// loopSent gives the journal records of the answers just written the
// times they were sent.
func (s *Server) loopSent(c *h1loop.Conn, start, end int64) {
	tc := c.User.(*conn)
	held := c.Holding()
	if !held && tc.loopHold.on {
		// How late the held answer went out: decoy's timing error.
		wake.ObserveLate(time.Duration(start - tc.loopHold.due))
		tc.loopHold.settle(s, true)
	}
	seqs := tc.loopSeqs
	if len(seqs) == 0 {
		return
	}
	// An answer held for later has the last record; it goes when due.
	if held && tc.loopHold.on && tc.loopHold.seq != 0 {
		seqs = seqs[:len(seqs)-1]
	}
	first, last := h1loop.At(start), h1loop.At(end)
	for _, seq := range seqs {
		s.o.Journal.Sent(seq, first, last)
	}
	tc.loopSeqs = append(tc.loopSeqs[:0], tc.loopSeqs[len(seqs):]...)
}

// loopHold is the count of a request whose answer a loop holds: it counts
// when written (or handed over with its connection), or as unanswered
// when the connection closes first.
type loopHold struct {
	on            bool
	stats         *engine.Stats
	index, status int
	in, out       int
	overhead      time.Duration
	due           int64  // when the answer was due (h1loop.Now)
	seq           uint64 // its journal record, 0 without one
	// The access log's line, when sampled, logged with the outcome.
	log   *accesslog.Request
	level slog.Level
}

// settle counts the request held, as answered (sent) or not.
func (h *loopHold) settle(s *Server, sent bool) {
	if !h.on {
		return
	}
	status, out := h.status, h.out
	if !sent {
		status, out = 0, 0
		if h.seq != 0 {
			s.o.Journal.Answered(h.seq, 0, 0)
		}
	}
	h.stats.RecordStatus(h.index, status, h.in, out, h.overhead)
	if h.log != nil {
		h.log.Status = status
		s.o.AccessLog.Log(h.level, h.log)
	}
	*h = loopHold{}
}

// loopHandOff serves a connection a loop let go with fasthttp (or Go's
// HTTP/2 server, for h2c), as if it had been accepted here: the answers
// the loop made are written first, the bytes it read are read first.
func (s *Server) loopHandOff(c *h1loop.Conn, nc net.Conn, pending, buffered []byte) {
	s.loopHandOffs.Add(1)
	tc := c.User.(*conn)
	if w := s.holder.Load(); tc.held && w != nil {
		nc = (*w).Hold(nc)
	}
	tc.loopHold.settle(s, true) // written: it is in pending
	seqs := tc.loopSeqs         // records whose answers are in pending
	tc.Conn, tc.buf, tc.loopBuf, tc.loopSeqs = nc, buffered, buffered, nil
	tc.useRawIO()
	tc.resumed = tc.mc.Total() > 0
	s.mu.Lock()
	if s.draining.Load() {
		s.mu.Unlock()
		_ = nc.Close()
		s.retire(tc, metrics.CloseShutdown, false)
		return
	}
	s.loopConns-- // tracked from now on
	s.conns[tc] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		if len(pending) > 0 {
			start := time.Now()
			if _, err := tc.Write(pending); err != nil {
				_ = tc.Close()
				s.untrack(tc)
				return
			}
			end := time.Now()
			for _, seq := range seqs {
				s.o.Journal.Sent(seq, start, end)
			}
		}
		s.serveConn(tc, false)
	}()
}

// loopHandler answers requests on the loops: those whose stub answers
// whole, at once or after a latency (the loop holds the answer until due);
// the rest go to fasthttp with their connection.
type loopHandler struct{ s *Server }

const crlf = "\r\n"

// handingOff notes, for the journal, when the loop read the request it
// hands over with its connection: fasthttp gets its bytes from the loop's
// buffer, with no read of its own to time. It returns false, Serve's
// answer for a request the loop does not serve.
func handingOff(c *h1loop.Conn, r *h1loop.Request) bool {
	if tc, ok := c.User.(*conn); ok && r.ReadAt > 0 {
		tc.inFirst = h1loop.At(r.ReadAt).Sub(epoch)
		tc.inLast = h1loop.At(r.DoneAt).Sub(epoch)
	}
	return false
}

func (h loopHandler) Serve(c *h1loop.Conn, r *h1loop.Request, out []byte) ([]byte, bool) {
	s := h.s
	if s.grpcWeb != nil && isGRPCWeb(r) {
		return out, handingOff(c, r)
	}
	var rq requested
	if s.o.DelayHeader {
		xd, _ := r.Header(delayHeader)
		pf, _ := r.Header("Prefer")
		if rq = s.parseRequested(b2s(xd), b2s(pf)); rq.err != nil {
			return out, handingOff(c, r)
		}
	}
	var start time.Time
	var t0 time.Duration
	journalOn := s.o.Journal.Cap() > 0
	if journalOn {
		start = time.Now()
		t0 = start.Sub(epoch)
	} else {
		t0 = time.Since(epoch)
	}
	lr := loopReqPool.Get().(*loopReq)
	defer func() {
		lr.r, lr.req, lr.val = nil, engine.Request{}, lr.val[:0]
		loopReqPool.Put(lr)
	}()
	lr.r = r
	proto, version := protoHTTP11, metrics.HTTP11
	if !r.HTTP11 {
		proto, version = protoHTTP10, metrics.HTTP10
	}
	lr.req = engine.Request{
		Proto:  proto,
		Method: b2s(r.Method),
		Path:   decodePath(&lr.path, r.Path),
		Body:   r.Body,
		Fields: lr,
	}
	asked := r.Close
	var (
		stats  *engine.Stats
		index  int
		status int
		body   []byte
		stubID string
		delay  time.Duration
	)
	if st := s.o.Engine.Match(&lr.req); st == nil {
		p := s.noMatch(&lr.req)
		status, body, stats = p.Status, p.JSON(), s.o.Engine.Unmatched()
		out = append(out, statusLine(status)...)
		out = append(out, "Server: decoy\r\nDate: "...)
		out = append(out, httpDateAt(h1loop.At(r.DoneAt))...)
		out = append(out, crlf...)
		out = appendLine(out, "Content-Type", "application/problem+json")
		out = appendLine(out, "Content-Length", strconv.Itoa(len(body)))
		out = append(out, "Cache-Control: no-store\r\n"...)
		origin, _ := r.Header("Origin")
		out = s.corsLoop(out, origin)
		out = s.loopTail(out, nil, r, t0, 0)
	} else {
		var (
			resp    *engine.Response
			hd      *h1Head
			summary string
			call    uint64
			ok      bool
		)
		if index, resp, hd, summary, call, ok = s.loopResponse(st, &lr.req, &rq); !ok {
			return out, handingOff(c, r)
		}
		stubID, stats = st.ID, st.Stats()
		status, body = resp.Status, resp.Body
		sentAt := r.DoneAt
		if resp.Behave != nil || rq.set {
			// Held until due, and dated then. The delay counts from the
			// request's arrival when the kernel says (from the
			// connection's second delay on, as delayLeft does on
			// fasthttp), else from the turn of the loop that read it.
			delay = decide(st, resp, call, rq).delay
			stats.RecordInjected(delay, 0)
			if delay > 0 {
				from := r.DoneAt
				if r.ArrivedAt > 0 {
					from = r.ArrivedAt
				}
				r.Due = from + int64(delay)
				sentAt = r.Due
				c.StampArrivals()
			}
		}
		out = append(out, hd.pre...)
		out = append(out, httpDateAt(h1loop.At(sentAt))...)
		out = append(out, hd.mid...)
		if summary != "" {
			out = appendLine(out, engine.VerdictHeader, summary)
		}
		if rq.clamped != "" {
			out = appendLine(out, clampedHeader, rq.clamped)
		}
		out = append(out, hd.hdrs...)
		out = s.loopTail(out, hd.cookies, r, t0, delay)
	}
	sent := len(body)
	if string(r.Method) == http.MethodHead {
		sent = 0
	} else {
		out = append(out, body...)
	}
	elapsed := time.Since(epoch) - t0
	tc := c.User.(*conn)
	// The request's time in decoy, as the journal and the access log
	// give it, ends when the answer goes.
	took := elapsed
	if r.Due != 0 {
		took += max(time.Duration(r.Due-h1loop.Now()), 0)
		// One still unsettled came due before the loop could hold it:
		// it is in out, with this one.
		tc.loopHold.settle(s, true)
		tc.loopHold = loopHold{on: true, stats: stats, index: index, status: status, in: len(r.Body), out: sent, overhead: elapsed, due: r.Due}
	} else {
		stats.RecordStatus(index, status, len(r.Body), sent, elapsed)
	}
	tc.mc.Requests[version].Add(1)
	if asked {
		tc.mc.AskedClose.Add(1)
		if version == metrics.HTTP10 {
			tc.mc.HTTP10Close.Add(1)
		}
	}
	if journalOn {
		rec := journal.Record{
			Start:    start,
			Duration: took,
			Proto:    proto,
			Method:   r.Method,
			URI:      r.URI,
			Headers:  r.RawHeaders,
			Body:     r.Body,
			BodySize: int64(len(r.Body)),
			Remote:   c.Remote,
			Stub:     stubID,
			Status:   status,
			BytesIn:  int64(len(r.Body)),
			BytesOut: int64(sent),
			FirstIn:  h1loop.At(r.ReadAt),
			LastIn:   h1loop.At(r.DoneAt),
		}
		seq := s.o.Journal.Add(&rec)
		tc.loopSeqs = append(tc.loopSeqs, seq)
		if tc.loopHold.on {
			tc.loopHold.seq = seq
		}
	}
	if lv, ok := s.o.AccessLog.Sampled(); ok {
		ar := &accesslog.Request{
			Method: string(r.Method), Path: strings.Clone(lr.req.Path), Stub: stubID,
			Status: status, Duration: took, Proto: proto,
			Remote: c.Remote.String(),
		}
		if r.Due != 0 {
			// Logged once written, or as unanswered (status 0).
			tc.loopHold.log, tc.loopHold.level = ar, lv
		} else {
			s.o.AccessLog.Log(lv, ar)
		}
	}
	return out, true
}

// isGRPCWeb tells a gRPC-Web call or its CORS preflight, as grpcWebFast
// does: fasthttp serves those.
func isGRPCWeb(r *h1loop.Request) bool {
	switch string(r.Method) {
	case http.MethodPost:
		ct, _ := r.Header("Content-Type")
		return grpcfront.IsGRPCWeb(b2s(ct))
	case http.MethodOptions:
		h, _ := r.Header("Access-Control-Request-Headers")
		return grpcfront.IsGRPCWebPreflight(http.MethodOptions, b2s(h))
	}
	return false
}

// loopResponse chooses the response of st, a stub that matched r, as
// handleFast does (Check, Pick, Vary), when the loop can send it: ok is
// false, before anything is counted, for a stub or a response that needs
// fasthttp. A Check's response drops the requested delay rq, as there.
func (s *Server) loopResponse(st *engine.Stub, r *engine.Request, rq *requested) (index int, resp *engine.Response, hd *h1Head, summary string, call uint64, ok bool) {
	if !st.Whole() {
		return 0, nil, nil, "", 0, false
	}
	for _, sr := range st.Responses() {
		if !s.headFor(sr).ok {
			return 0, nil, nil, "", 0, false
		}
	}
	vary := st.Vary()
	if st.Check() != nil {
		if v := st.Verdict(r); v != nil {
			summary = v.Summary
			if v.Response != nil {
				if !v.Response.Behave.LatencyOnly() || !s.headFor(v.Response).ok {
					return 0, nil, nil, "", 0, false
				}
				resp, vary, *rq = v.Response, nil, requested{}
			}
		}
	}
	index, picked, call := st.Pick()
	if resp == nil {
		resp = picked
	}
	if vary != nil {
		// A Varier's response keeps its base's status and headers (only
		// the body differs), so it renders as its base does.
		resp = vary.Vary(r, resp)
	}
	return index, resp, s.headFor(resp), summary, call, true
}

// loopTail ends a response header: the headers added per request (with
// the injected delay in Server-Timing), the stub's cookies, the
// connection's fate and the blank line.
func (s *Server) loopTail(out, cookies []byte, r *h1loop.Request, t0, delay time.Duration) []byte {
	if s.o.ServerTiming {
		out = append(out, "Server-Timing: "...)
		out = appendServerTiming(out, time.Since(epoch)-t0, delay)
		out = append(out, crlf...)
	}
	if s.o.Saturation.Saturated() {
		out = appendLine(out, saturatedHeader, string(saturatedValueB))
	}
	out = append(out, cookies...)
	if s.draining.Load() {
		r.Close = true
	}
	switch {
	case r.Close:
		out = append(out, "Connection: close\r\n"...)
	case r.KeepAlive10:
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	return append(out, crlf...)
}
