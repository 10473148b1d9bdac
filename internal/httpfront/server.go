// Package httpfront is decoy's HTTP front door. It accepts connections on
// plaintext and TLS listeners and sends each to the right engine: HTTP/1.1
// to a fasthttp server (the hot path), HTTP/2 — TLS with ALPN "h2", h2c with
// prior knowledge — to decoy's own HTTP/2 loop (internal/h2serve) or, when
// chosen, Go's HTTP/2 server, which also answers the h2c Upgrade. Each turns
// a request into an engine.Request, asks the engine for a stub, and writes
// its pre-rendered response; unmatched requests get a problem+json 404
// naming the closest stubs.
package httpfront

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/decoy-dev/decoy/internal/accesslog"
	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/h1loop"
	"github.com/decoy-dev/decoy/internal/h2serve"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/listen"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/wake"
	"github.com/valyala/fasthttp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c" //lint:ignore SA1019 see New: the h2c Upgrade only
)

// Options configures a Server. Zero values take the defaults below.
type Options struct {
	Engine  *engine.Engine
	Journal *journal.Journal // nil or capacity 0: no journal
	Logger  *slog.Logger

	// MaxHeaderBytes bounds the request line and headers (431 beyond).
	MaxHeaderBytes int
	// MaxBodyBytes bounds a request body (413 beyond), except the uploads
	// that stubs with upload: {discard: true} read and throw away.
	MaxBodyBytes int64
	// MaxUploadBytes bounds a discarded upload (413 beyond; default 1 TiB).
	MaxUploadBytes int64
	// ReadTimeout bounds reading one request; IdleTimeout bounds waiting
	// for the next request on a kept-alive connection.
	ReadTimeout time.Duration
	IdleTimeout time.Duration
	// TLS is used by ServeTLS. Its NextProtos should offer h2 and http/1.1.
	TLS *tls.Config
	// Clients, when not nil, is told of every connection opened, TLS
	// handshake, and connection closed, for the client report.
	Clients *metrics.Clients
	// ServerTiming adds "Server-Timing: decoy;dur=<ms>" (and
	// "delay;dur=<ms>", the delay chosen, when one was injected) to every
	// response.
	ServerTiming bool
	// Saturation, when not nil, adds "Decoy-Saturated: 1" to responses
	// while decoy reports itself saturated (one atomic load per request).
	Saturation *metrics.Saturation
	// HTTP2Engine serves HTTP/2 with decoy's own connection loop
	// (HTTP2Decoy, the default) or Go's net/http (HTTP2Go). Either way,
	// the h2c Upgrade goes through Go's server.
	HTTP2Engine string
	// GRPC, when set, answers the gRPC calls (Content-Type
	// application/grpc) and gRPC-Web calls that reach the HTTP and HTTPS
	// ports, so one port serves REST and gRPC. When it is also a GRPCH2,
	// native calls on decoy's own HTTP/2 loop go to its ServeH2 first.
	GRPC http.Handler
	// DelayHeader honours a delay the client asks for with
	// "X-Decoy-Delay: 500ms" or "Prefer: delay=500" (milliseconds). It
	// replaces the stub's latency; above MaxRequestedDelay it is clamped
	// (and the response says so in Decoy-Delay-Clamped); a malformed one
	// gets a 400.
	DelayHeader bool
	// NoPrefer ignores Prefer: delay= (X-Decoy-Delay still counts).
	NoPrefer bool
	// MaxRequestedDelay caps a requested delay (default 60s).
	MaxRequestedDelay time.Duration
	// SlowWrite is how long a write to a connection may take before it
	// counts as a slow-reading client's (default 1s).
	SlowWrite time.Duration
	// AccessLog, when not nil, logs requests (every one at debug level,
	// a sample at info); nil costs the request path one nil check.
	AccessLog *accesslog.Logger
	// LeanIdle releases an idle HTTP/1.1 connection's read and write
	// buffers while it waits for its next request: less memory per held
	// connection, a pool round trip more per request.
	LeanIdle bool
	// HTTP1Engine serves plaintext HTTP/1.x with decoy's epoll loops
	// (HTTP1Loop, the default), which hand a connection to fasthttp when
	// a request needs more than an answer written at once, or with
	// fasthttp for every connection (HTTP1Fasthttp). TLS is always served
	// by fasthttp.
	HTTP1Engine string
	// ConnectionRate, when above 0, caps the bytes per second written on
	// each accepted connection (HTTP/1.1 and HTTP/2, TLS bytes included),
	// on top of any stub's throttle: the slower wins. 0 costs nothing.
	ConnectionRate int64
}

// Defaults.
const (
	DefaultMaxHeaderBytes = 8 << 10
	DefaultMaxBodyBytes   = 64 << 20
	DefaultReadTimeout    = 60 * time.Second
	DefaultIdleTimeout    = 120 * time.Second
	DefaultSlowWrite      = time.Second
	handshakeTimeout      = 10 * time.Second
)

// GRPCH2 is a gRPC front door that serves native gRPC calls on decoy's
// own HTTP/2 loop without net/http (grpcfront.Server): ServeH2 reports
// false for a call it leaves to ServeHTTP.
type GRPCH2 interface {
	ServeH2(ctx context.Context, w *h2serve.ResponseWriter, r *h2serve.Request) bool
}

// Server is the HTTP front door. One Server can serve several listeners.
type Server struct {
	o   Options
	log *slog.Logger
	// mtls: the TLS port asks clients for certificates, so requests over
	// TLS carry the one their connection presented. Without it no
	// request path looks for one.
	mtls bool
	fast *fasthttp.Server
	// fastStream is fast with request bodies streamed, for connections
	// opened while some stub discards uploads.
	fastStream *fasthttp.Server
	// std is Go's HTTP server, fed through slow: TLS connections that
	// chose h2, h2c connections (prior knowledge), and HTTP/1.1 connections
	// asking to upgrade to h2c.
	std  *http.Server
	slow *chanListener
	// grpcWeb serves gRPC-Web requests arriving over HTTP/1.1 (nil
	// without .proto files).
	grpcWeb fasthttp.RequestHandler
	// grpcH2 serves native gRPC calls on decoy's HTTP/2 loop itself, when
	// GRPC can (see GRPCH2); nil otherwise.
	grpcH2 GRPCH2
	handed sync.Map // TLS connection given to std → the tracked raw connection

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	wg        sync.WaitGroup // accept loops and connections
	draining  atomic.Bool
	done      chan struct{}
	doneCtx   context.Context // ends when done is closed
	// stopBy is when shutdown-timeout ends, in Unix nanoseconds (0: no
	// limit), set before done is closed; hard is closed then.
	stopBy    atomic.Int64
	hard      chan struct{}
	hardCtx   context.Context // ends when hard is closed
	endHard   context.CancelFunc
	h2blocks  atomic.Pointer[blockCache]
	h1heads   atomic.Pointer[headCache]
	h1        *h1loop.Server          // the HTTP/1.1 loops, once started; guarded by mu
	holder    atomic.Pointer[watched] // the listener the loops accept for
	loopConns int                     // connections the loops hold; guarded by mu
	endDone   context.CancelFunc

	// Connection counters (see Stats). Those under mu change once per
	// connection; requests are counted in each conn and folded in here
	// when it closes.
	accepted     uint64                                         // guarded by mu
	closed       [metrics.NumCloseReasons]uint64                // guarded by mu
	doneRequests [metrics.NumHTTPVersions]uint64                // guarded by mu
	perConn      [len(metrics.RequestsPerConnBounds) + 1]uint64 // guarded by mu
	perConnSum   uint64                                         // guarded by mu
	h2Streams    [len(metrics.RequestsPerConnBounds) + 1]uint64 // guarded by mu
	slowWrites   atomic.Uint64
	loopHandOffs atomic.Uint64 // connections the loops gave to fasthttp
	h2StreamsSum uint64        // guarded by mu
	handshakes   [metrics.NumTLSVersions][2]atomic.Uint64
	rejected     [len(metrics.RejectedCodes)]atomic.Uint64
}

// New returns a server for o.
func New(o Options) *Server {
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxUploadBytes <= 0 {
		o.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.SlowWrite <= 0 {
		o.SlowWrite = DefaultSlowWrite
	}
	if o.Journal == nil {
		o.Journal = journal.New(0, 0)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		mtls:      o.TLS != nil && o.TLS.ClientAuth != tls.NoClientCert,
		o:         o,
		log:       log,
		grpcH2:    grpcH2Of(o.GRPC),
		listeners: map[net.Listener]struct{}{},
		conns:     map[*conn]struct{}{},
		done:      make(chan struct{}),
		hard:      make(chan struct{}),
		slow:      newChanListener(),
	}
	s.doneCtx, s.endDone = context.WithCancel(context.Background())
	s.hardCtx, s.endHard = context.WithCancel(context.Background())
	s.grpcWeb = s.newGRPCWeb(o.GRPC)
	if s.o.MaxRequestedDelay <= 0 {
		s.o.MaxRequestedDelay = behave.DefaultDelayLimit
	}
	maxBody := o.MaxBodyBytes
	if maxBody > 1<<31-1 {
		maxBody = 1<<31 - 1
	}
	s.fast = s.newFast(int(maxBody), false)
	// Same settings, bodies streamed: fasthttp reads the first 8 KiB with
	// the headers and leaves the rest for the handler.
	s.fastStream = s.newFast(int(maxBody), true)
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	// RFC 9113 deprecates the h2c Upgrade and Go's server does not offer
	// it, but clients still use it (curl --http2 on http://): x/net's h2c
	// handler answers it; everything else is Go's own HTTP/2.
	//lint:ignore SA1019 the only maintained-enough implementation of the h2c Upgrade
	upgrade := h2c.NewHandler(http.HandlerFunc(s.handleStd), &http2.Server{IdleTimeout: o.IdleTimeout})
	s.std = &http.Server{
		Handler:           upgrade,
		MaxHeaderBytes:    o.MaxHeaderBytes,
		ReadHeaderTimeout: o.ReadTimeout,
		IdleTimeout:       o.IdleTimeout,
		Protocols:         protocols,
		HTTP2:             &http.HTTP2Config{MaxReadFrameSize: 1 << 20},
		// OPTIONS * goes to the stubs (a 404 when none answers it), as
		// on every other engine, rather than Go's own 200.
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		ConnState: func(c net.Conn, st http.ConnState) {
			switch st {
			case http.StateActive:
				if tc := s.connOf(c); tc != nil {
					tc.idle.Store(0)
				}
			case http.StateIdle:
				if tc := s.connOf(c); tc != nil {
					tc.idle.Store(time.Now().UnixNano())
				}
			case http.StateClosed, http.StateHijacked:
				if raw, ok := s.handed.LoadAndDelete(c); ok {
					s.untrack(raw.(*conn))
				}
			}
		},
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if tc := s.connOf(c); tc != nil {
				ctx = context.WithValue(ctx, connKey{}, tc)
				if tc.cert != nil {
					// For the gRPC front door, which sees the context
					// and not the connection.
					ctx = context.WithValue(ctx, engine.ClientCertKey{}, tc.cert)
				}
			}
			return ctx
		},
	}
	go func() { _ = s.std.Serve(s.slow) }()
	return s
}

// newFast returns the fasthttp server for HTTP/1.x connections; stream
// leaves request bodies past their first 8 KiB for the handler to read.
func (s *Server) newFast(maxBody int, stream bool) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                      s.handleFast,
		ErrorHandler:                 s.fastError,
		Name:                         "decoy",
		ReadBufferSize:               s.o.MaxHeaderBytes,
		MaxRequestBodySize:           maxBody,
		StreamRequestBody:            stream,
		ExpectHandler:                func(ctx *fasthttp.RequestCtx) int { return s.expectFast(ctx, stream) },
		ReadTimeout:                  s.o.ReadTimeout,
		IdleTimeout:                  s.o.IdleTimeout,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
		// handleFast reads the clock itself; fasthttp need not as well.
		LazyRequestTime:   true,
		ReduceMemoryUsage: s.o.LeanIdle,
		Logger:            fastLogger{s.log},
		ConnState:         s.fastState,
	}
}

// fastState follows an HTTP/1.x connection between requests: idle (its
// response written, waiting for the next request) or active. Once a
// response is out, its journal record gets the times it was sent.
func (s *Server) fastState(nc net.Conn, st fasthttp.ConnState) {
	var c *conn
	switch x := nc.(type) {
	case *conn:
		c = x
	case *tlsConn:
		c = x.c
	default:
		return
	}
	switch st {
	case fasthttp.StateActive:
		c.state.Store(connActive)
	case fasthttp.StateIdle:
		c.state.Store(connIdle)
		if c.stamp {
			c.flushSent(s.o.Journal)
		}
	case fasthttp.StateHijacked:
		// fasthttp started the WebSocket conversation (it says so only
		// once it has): the connection is the conversation's now.
		if c.wsPending {
			c.mc.Upgraded.Store(true)
			c.ws.Store(true)
		}
		c.faultHeld = c.faultPending
	}
}

// serveFast serves an HTTP/1.x connection with fasthttp until it ends; nc
// is c itself or its TLS layer.
func (s *Server) serveFast(c *conn, nc net.Conn) {
	c.stamp = s.o.Journal.Cap() > 0
	if t, ok := nc.(*tlsConn); ok {
		t.gate = h1loop.NewGate(s.o.MaxHeaderBytes)
	} else {
		c.gate = h1loop.NewGate(s.o.MaxHeaderBytes)
	}
	_ = s.fastFor().ServeConn(nc)
	if c.ws.Load() {
		// A WebSocket conversation holds the connection open: it stays
		// counted open until the conversation ends (see wsFast).
		return
	}
	if c.stamp {
		// A response after which the connection closed (Connection: close,
		// a fault) is out once ServeConn returns.
		c.flushSent(s.o.Journal)
	}
	if c.faultHeld {
		s.faultEnded(c)
		return
	}
	s.untrack(c)
}

// faultEnded is called twice for a connection a fault took over: when
// fasthttp has handed it over and when the fault is done with it (in
// either order); the second closes its books. The fault ended it, whoever
// closed it last.
func (s *Server) faultEnded(c *conn) {
	if c.faultEnds.Add(1) == 2 {
		s.retire(c, metrics.CloseFault, true)
	}
}

// Serve accepts plaintext connections on ln: HTTP/1.1, and h2c by prior
// knowledge or Upgrade. It returns when ln is closed or Shutdown is called.
// A TCP listener is served by decoy's HTTP/1.1 loops (see HTTP1Engine),
// which take it over.
func (s *Server) Serve(ln net.Listener) error {
	if s.useLoop(ln) {
		return s.serveLoop(ln)
	}
	return s.serve(ln, false)
}

// ServeTLS accepts TLS connections on ln (a plain TCP listener; the
// handshake is done here with Options.TLS). ALPN "h2" goes to HTTP/2,
// anything else to HTTP/1.1.
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.o.TLS == nil {
		return errors.New("httpfront: ServeTLS needs Options.TLS")
	}
	return s.serve(ln, true)
}

// enter counts ln among the listeners served (Shutdown closes them and
// waits for their loops), unless the server is shutting down. The caller
// calls s.wg.Done when it stops serving ln.
func (s *Server) enter(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining.Load() {
		return false
	}
	s.listeners[ln] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) serve(ln net.Listener, useTLS bool) error {
	if !s.enter(ln) {
		return http.ErrServerClosed
	}
	defer s.wg.Done()

	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.draining.Load() {
				return http.ErrServerClosed
			}
			if listen.Retryable(err) {
				// EMFILE and friends: back off briefly, never for long.
				backoff = listen.NextBackoff(backoff)
				s.log.Warn("accept failed; retrying", "err", err, "backoff", backoff)
				select {
				case <-time.After(backoff):
				case <-s.done:
					return http.ErrServerClosed
				}
				continue
			}
			return err
		}
		backoff = 0
		tc := &conn{Conn: c, slow: &s.slowWrites, slowWrite: s.o.SlowWrite}
		if s.o.ConnectionRate > 0 {
			// The cap's own waits are not a slow reader's: the wrapper
			// counts slow writes itself, on the writes it makes.
			tc.Conn, tc.slow = newRateConn(c, s.o.ConnectionRate, &s.slowWrites, s.o.SlowWrite), nil
		}
		tc.useRawIO()
		if !s.track(tc) {
			_ = c.Close()
			continue
		}
		s.o.Clients.Open(&tc.mc, addrPort(c.RemoteAddr()).Addr())
		go s.serveConn(tc, useTLS)
	}
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	s.accepted++
	s.wg.Add(1)
	return true
}

// untrack forgets a connection that has closed, adding its counters to the
// server's.
func (s *Server) untrack(c *conn) { s.retire(c, s.closeReason(c), true) }

// retire adds the counters of a connection that closed for reason to the
// server's; tracked: it was in s.conns (a loop's connection is not).
func (s *Server) retire(c *conn, reason int, tracked bool) {
	byClient := metrics.CloseByClient(reason)
	s.mu.Lock()
	if tracked {
		delete(s.conns, c)
	} else {
		s.loopConns--
	}
	var n uint64
	for i := range c.mc.Requests {
		k := c.mc.Requests[i].Load()
		s.doneRequests[i] += k
		n += k
	}
	s.perConn[metrics.PerConnBucket(n)]++
	s.perConnSum += n
	if h2 := c.mc.Requests[metrics.HTTP2].Load(); h2 > 0 || c.h2.Load() {
		s.h2Streams[metrics.PerConnBucket(h2)]++
		s.h2StreamsSum += h2
	}
	s.closed[reason]++
	s.mu.Unlock()
	s.o.Clients.Close(&c.mc, byClient)
	if tracked {
		s.wg.Done()
	}
}

// closeReason tells why the closed connection c ended (a metrics.Close*
// reason): the client closed or reset it, or asked to close it; or decoy
// ended it (a timeout, shutdown, a fault, a request it could not read, a
// failed handshake).
func (s *Server) closeReason(c *conn) int {
	// The first sign seen decides who ended it; decoy's own reason, when
	// it knows one, says why.
	server := func(fallback int) int {
		if cause := int(c.cause.Load()); cause != 0 {
			return cause
		}
		if s.draining.Load() {
			return metrics.CloseShutdown
		}
		return fallback
	}
	ended := c.ended.Load()
	if c.std.Load() {
		// Go's HTTP/2 server gives no sign when it closes a connection
		// idle for too long (it sends GOAWAY, and a polite client then
		// closes), and over TLS the client's close_notify never reaches
		// the raw connection: decide by the idle time.
		if since := c.idle.Load(); since != 0 && time.Since(time.Unix(0, since)) >= s.o.IdleTimeout {
			return server(metrics.CloseIdleTimeout)
		}
		if ended == endUnknown {
			if s.draining.Load() {
				return metrics.CloseShutdown
			}
			return metrics.CloseClientEOF
		}
	}
	switch ended {
	case endClient:
		return metrics.CloseClientEOF
	case endClientReset:
		return metrics.CloseClientReset
	case endServerIdle:
		return server(metrics.CloseIdleTimeout)
	case endServerRead:
		return server(metrics.CloseReadTimeout)
	}
	if c.mc.AskedClose.Load() > 0 {
		return metrics.CloseClientAsked
	}
	return server(metrics.CloseOther)
}

// connOf finds the tracked connection under a connection Go's server
// serves.
func (s *Server) connOf(c net.Conn) *conn {
	switch x := c.(type) {
	case *closeNotifyConn:
		return x.conn
	case *tls.Conn:
		if raw, ok := s.handed.Load(x); ok {
			return raw.(*conn)
		}
	}
	return nil
}

// connKey is the context key of the *conn a request arrived on, for
// requests served by Go's server.
type connKey struct{}

func (s *Server) serveConn(c *conn, useTLS bool) {
	if useTLS {
		tc := tls.Server(c, s.o.TLS)
		_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
		// The handshake's last read may bring the first request's start.
		c.stamp = s.o.Journal.Cap() > 0
		if err := tc.Handshake(); err != nil {
			s.handshakes[metrics.TLSVersion(tc.ConnectionState().Version)][metrics.HandshakeFailed].Add(1)
			s.o.Clients.Handshake(&c.mc, false, false)
			s.log.Debug("TLS handshake failed", "remote", c.RemoteAddr().String(), "err", err)
			c.setCause(metrics.CloseTLSHandshake)
			_ = c.Close()
			s.untrack(c)
			return
		}
		_ = c.SetDeadline(time.Time{})
		cs := tc.ConnectionState()
		s.handshakes[metrics.TLSVersion(cs.Version)][metrics.HandshakeOK].Add(1)
		if len(cs.PeerCertificates) > 0 {
			c.cert = engine.NewClientCert(cs.PeerCertificates[0])
		}
		s.o.Clients.Handshake(&c.mc, true, cs.DidResume)
		c.h2.Store(cs.NegotiatedProtocol == "h2")
		c.inFirst = c.inLast
		c.stamp = c.stamp && cs.NegotiatedProtocol != "h2"
		if cs.NegotiatedProtocol == "h2" && s.useDecoyH2() {
			s.serveDecoyH2(c, tc)
			s.untrack(c)
			return
		}
		if cs.NegotiatedProtocol == "h2" {
			// Go's server needs the *tls.Conn itself to serve HTTP/2; it
			// reports the close through ConnState.
			c.std.Store(true)
			c.goServed.Store(true)
			s.handed.Store(tc, c)
			if !s.slow.push(tc) {
				s.handed.Delete(tc)
				_ = tc.Close()
				s.untrack(c)
			}
			return
		}
		t := &tlsConn{Conn: tc, c: c}
		if v := t.first(s.o.MaxHeaderBytes, s.o.ReadTimeout); v.Status != 0 {
			s.refuseConn(c, t, v)
			return
		}
		s.serveFast(c, t)
		return
	}
	// The first read is the first request's first byte, if HTTP/1.x.
	c.stamp = s.o.Journal.Cap() > 0
	kind, verdict := sniff(c, s.o.MaxHeaderBytes, s.o.ReadTimeout)
	if kind != sniffHTTP1 {
		// HTTP/2 connections keep no state of their own here.
		c.stamp = false
		c.state.Store(connNew)
	}
	switch kind {
	case sniffClosed:
		s.untrack(c)
	case sniffNotHTTP:
		c.setCause(metrics.CloseBadRequest)
		_ = c.Close()
		s.untrack(c)
	case sniffH2:
		c.h2.Store(true)
		if s.useDecoyH2() {
			s.serveDecoyH2(c, c)
			s.untrack(c)
			return
		}
		c.std.Store(true)
		c.goServed.Store(true)
		if !s.slow.push(&closeNotifyConn{conn: c, onClose: func() { s.untrack(c) }}) {
			_ = c.Close()
			s.untrack(c)
		}
	case sniffUpgrade:
		// The tracked connection is released when Go's server closes it.
		c.std.Store(true)
		c.goServed.Store(true)
		if !s.slow.push(&closeNotifyConn{conn: c, onClose: func() { s.untrack(c) }}) {
			_ = c.Close()
			s.untrack(c)
		}
	default:
		if verdict.Status != 0 {
			s.refuseConn(c, c, verdict)
			return
		}
		s.serveFast(c, c)
	}
}

// Stats returns the connection counters: live, in that requests on
// connections still open are counted too.
func (s *Server) Stats() metrics.ConnStats {
	var st metrics.ConnStats
	s.mu.Lock()
	st.Accepted = s.accepted
	st.Open = uint64(len(s.conns) + s.loopConns)
	st.Closed = s.closed
	st.Requests = s.doneRequests
	now := int64(time.Since(epoch))
	for c := range s.conns {
		for i := range c.mc.Requests {
			st.Requests[i] += c.mc.Requests[i].Load()
		}
		if c.state.Load() == connIdle || c.std.Load() && c.idle.Load() != 0 {
			st.Idle++
		}
		if w := c.writing.Load(); w != 0 && time.Duration(now-w) >= s.o.SlowWrite {
			st.SlowReading++
		}
	}
	loopNow := h1loop.Now()
	if s.h1 != nil {
		s.h1.Conns(func(c *h1loop.Conn) {
			tc := c.User.(*conn)
			for i := range tc.mc.Requests {
				st.Requests[i] += tc.mc.Requests[i].Load()
			}
			if c.Idle() {
				st.Idle++
			}
			if w := c.WritingSince(); w != 0 && time.Duration(loopNow-w) >= s.o.SlowWrite {
				st.SlowReading++
			}
		})
	}
	st.PerConn, st.PerConnSum = s.perConn, s.perConnSum
	st.H2Streams, st.H2StreamsSum = s.h2Streams, s.h2StreamsSum
	st.SlowWrites = s.slowWrites.Load()
	st.LoopHandOffs = s.loopHandOffs.Load()
	s.mu.Unlock()
	for v := range s.handshakes {
		for r := range s.handshakes[v] {
			st.TLSHandshakes[v][r] = s.handshakes[v][r].Load()
		}
	}
	for i := range s.rejected {
		st.Rejected[i] = s.rejected[i].Load()
	}
	return st
}

// reject counts a request that could not be read, answered with status.
func (s *Server) reject(status int) {
	if i := metrics.RejectedIndex(status); i >= 0 {
		s.rejected[i].Add(1)
	}
}

// Shutdown stops accepting, lets requests in flight finish and closes idle
// connections, waiting until ctx is done; then it closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.draining.Swap(true) {
		s.mu.Unlock()
		return nil
	}
	if t, ok := ctx.Deadline(); ok {
		s.stopBy.Store(max(t.UnixNano(), 1))
	}
	close(s.done)
	s.endDone()
	for ln := range s.listeners {
		_ = ln.Close()
	}
	h1 := s.h1
	s.mu.Unlock()
	h1Done := make(chan struct{})
	go func() {
		defer close(h1Done)
		if h1 != nil {
			// The loops close their connections, but send the answers
			// they hold for a delay first when due in time, as
			// sleepDelay does.
			t, _ := ctx.Deadline()
			h1.Drain(t)
		}
	}()

	stdDone := make(chan error, 1)
	go func() { stdDone <- s.std.Shutdown(ctx); _ = s.slow.Close() }()

	all := make(chan struct{})
	go func() { s.wg.Wait(); <-h1Done; close(all) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		// A kept-alive connection waiting for its next request is idle:
		// expire its read so it closes. One inside a handler finishes its
		// response first (handlers add Connection: close while draining).
		s.mu.Lock()
		for c := range s.conns {
			if c.ws.Load() {
				// Its conversation sends close 1001 and waits for the
				// client's answer for a second (wsfront.CloseWait).
				continue
			}
			if c.goServed.Load() && c.idle.Load() == 0 {
				// Go's server drains a connection with a request in
				// flight itself; the deadline would drop the request.
				continue
			}
			_ = c.SetReadDeadline(time.Now())
		}
		s.mu.Unlock()
		select {
		case <-all:
			<-stdDone
			return nil
		case <-ctx.Done():
			if h1 != nil {
				h1.Shutdown()
			}
			s.mu.Lock()
			for c := range s.conns {
				_ = c.Close()
			}
			s.mu.Unlock()
			close(s.hard)
			s.endHard()
			_ = s.std.Close()
			// Closed connections end their goroutines promptly; wait a
			// little so none outlives Shutdown.
			select {
			case <-all:
			case <-time.After(time.Second):
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// errLate: an injected delay ends after shutdown-timeout, or
// shutdown-timeout passed while it ran; the request is closed unanswered.
var errLate = errors.New("httpfront: the delay ends after shutdown-timeout")

// inTime tells whether a wait ending at due ends within shutdown-timeout.
func (s *Server) inTime(due time.Time) bool {
	by := s.stopBy.Load()
	return by == 0 || due.UnixNano() <= by
}

// sleepDelay waits d, an injected delay before a response. A shutdown
// does not cut it short, since the client would measure a latency the
// stub never asked for: the response goes when due if that is within
// shutdown-timeout. Otherwise, and when shutdown-timeout passes, it
// returns errLate, at once, and the request must be closed unanswered.
func (s *Server) sleepDelay(d time.Duration) error {
	due := time.Now().Add(d)
	if behave.Sleep(s.doneCtx, d) == nil {
		return nil
	}
	if !s.inTime(due) || behave.Sleep(s.hardCtx, time.Until(due)) != nil {
		return errLate
	}
	return nil
}

// waitEnd is how a wait on a detached HTTP/2 stream ended.
type waitEnd int

const (
	waitDue  waitEnd = iota // the time came: answer
	waitGone                // the client reset the stream
	waitLate                // as errLate: reset the stream unanswered
)

// h2Wait waits d on a detached HTTP/2 stream whose client is gone when
// gone is closed; a shutdown is taken as sleepDelay does.
func (s *Server) h2Wait(d time.Duration, gone <-chan struct{}) waitEnd {
	due := time.Now().Add(d)
	t := wake.NewTimer(d)
	defer t.Stop()
	done := s.done
	for {
		select {
		case <-t.C:
			t.Fired()
			return waitDue
		case <-gone:
			return waitGone
		case <-done:
			if !s.inTime(due) {
				return waitLate
			}
			done = nil
		case <-s.hard:
			return waitLate
		}
	}
}

// fastLogger sends fasthttp's own messages to slog at debug level.
type fastLogger struct{ l *slog.Logger }

func (f fastLogger) Printf(format string, args ...any) {
	if f.l.Enabled(context.Background(), slog.LevelDebug) {
		f.l.Debug("fasthttp", "msg", fmt.Sprintf(format, args...))
	}
}
