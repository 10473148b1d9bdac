package grpcfront

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/h2serve"
	"github.com/decoy-dev/decoy/internal/listen"
)

// Engines of the gRPC port (Options.Engine).
const (
	// EngineDecoy serves the gRPC port with decoy's own HTTP/2 loop
	// (h2serve), the calls to the loaded services through h2Stream; the
	// services grpc-go serves itself (health, reflection) and compressed
	// calls go to grpc-go's ServeHTTP on the same connection.
	EngineDecoy = "decoy"
	// EngineGo serves it with grpc-go's own HTTP/2 transport, and leaves
	// every call on the HTTP ports to grpc-go's ServeHTTP too.
	EngineGo = "go"
)

// Limits of the gRPC port on decoy's loop where grpc-go's differ from the
// HTTP ports'.
const (
	// loopMaxStreams is the concurrent calls one connection may have open
	// (grpc-go sets no limit; a client beyond it waits for a call to
	// end, as its transport queues them).
	loopMaxStreams = 1 << 14
	// loopMaxHeaderList bounds a call's metadata, as HTTP/2 counts it.
	loopMaxHeaderList = 1 << 20
	// loopIdle is how long a connection with no call open stays: grpc-go
	// keeps idle connections for ever, and a client that calls again
	// after a pause must not pay for a new connection in its figures.
	// Clients that vanished are found by TCP keep-alive probes.
	loopIdle = 24 * time.Hour
	// loopMaxBody bounds the body of a request that is not a gRPC call.
	loopMaxBody = 1 << 20
)

// serveLoop accepts connections on ln and serves each with decoy's
// HTTP/2 loop until Shutdown.
func (s *Server) serveLoop(ln net.Listener) error {
	s.loopMu.Lock()
	if s.closed.Load() {
		s.loopMu.Unlock()
		_ = ln.Close()
		return nil
	}
	s.lns = append(s.lns, ln)
	s.loopMu.Unlock()
	fl := &faultListener{Listener: ln, conns: &s.conns, gate: s.gate}
	var backoff time.Duration
	for {
		c, err := fl.Accept()
		if err != nil {
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			if listen.Retryable(err) {
				// Out of file descriptors, say: wait a little, as the
				// HTTP ports do.
				backoff = listen.NextBackoff(backoff)
				s.log.Warn("gRPC port: accept failed; retrying", "err", err, "backoff", backoff)
				select {
				case <-time.After(backoff):
				case <-s.loopCtx.Done():
					return nil
				}
				continue
			}
			return err
		}
		backoff = 0
		s.loopWG.Add(1)
		go s.serveLoopConn(c.(*faultConn))
	}
}

// serveLoopConn serves one connection: TLS when it starts with a
// handshake (and the port serves TLS), then HTTP/2.
func (s *Server) serveLoopConn(fc *faultConn) {
	defer s.loopWG.Done()
	defer fc.Close()
	if tc := tcpConn(fc.Conn); tc != nil {
		// The listener turns keep-alive probes off; grpc-go's pings found
		// clients that vanished, the probes do here.
		_ = tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: 2 * time.Minute, Interval: 20 * time.Second, Count: 3})
	}
	ctx := s.loopCtx
	raw := fc.Conn
	_ = raw.SetReadDeadline(time.Now().Add(handshakeTimeout))
	// A shutdown does not wait for a client that has not spoken yet, or
	// is in its TLS handshake.
	stop := context.AfterFunc(ctx, func() { _ = raw.SetReadDeadline(time.Now()) })
	kind, err := fc.peek()
	if err != nil {
		stop()
		return
	}
	_ = raw.SetReadDeadline(time.Time{})
	if kind == sniffTLS && s.o.TLS != nil {
		cert, ok := s.portTLS(fc)
		if !ok {
			stop()
			return
		}
		if cert != nil {
			ctx = context.WithValue(ctx, engine.ClientCertKey{}, cert)
		}
	}
	if !stop() {
		return // shutting down
	}
	// In cleartext, the loop's first read acts on the sniffed bytes
	// (faultConn.sniff): HTTP/1.x is answered, and a TLS handshake on a
	// port that serves no TLS is closed.
	err = h2serve.ServeConn(ctx, fc, loopHandler{s}, h2serve.Options{
		MaxConcurrentStreams: loopMaxStreams,
		MaxHeaderListSize:    loopMaxHeaderList,
		MaxBodyBytes:         loopMaxBody,
		IdleTimeout:          loopIdle,
		MinPingInterval:      time.Second, // as grpcfront.New sets grpc-go's enforcement
		Logger:               s.log,
		Reject:               s.loopReject,
	})
	if err != nil && s.log.Enabled(context.Background(), slog.LevelDebug) && !errors.Is(err, errNotHTTP2) {
		s.log.Debug("gRPC port: connection ended", "remote", fc.RemoteAddr().String(), "err", err)
	}
}

// loopReject answers a request whose header list is over
// loopMaxHeaderList (431), or a body over loopMaxBody (413, only for
// what is not a gRPC call), with RESOURCE_EXHAUSTED.
func (s *Server) loopReject(w *h2serve.ResponseWriter, _ *h2serve.Request, status int) {
	msg := "the call's metadata exceeds " + strconv.Itoa(loopMaxHeaderList) + " bytes"
	if status != 431 {
		msg = "the request body exceeds " + strconv.Itoa(loopMaxBody) + " bytes"
	}
	head := h2serve.EncodeHeaderBlock(status, [][2]string{{"content-type", "application/grpc"}}, -1)
	head = h2serve.AppendHeaderField(head, "grpc-status", "8")
	head = h2serve.AppendHeaderField(head, "grpc-message", msg)
	_ = w.WriteBlock(head, nil)
}

// loopHandler is the gRPC port's handler on decoy's loop.
type loopHandler struct{ s *Server }

// StreamBody hands gRPC calls over before their body, to read their
// messages as they come. Other requests (grpc-go answers them 415) come
// whole, bounded by loopMaxBody.
func (loopHandler) StreamBody(r *h2serve.Request) bool {
	ct, _ := r.Header("content-type")
	return hasPrefixFold(ct, "application/grpc")
}

func (h loopHandler) ServeH2(w *h2serve.ResponseWriter, r *h2serve.Request) {
	// The connection's context ends when a graceful shutdown begins; a
	// call in flight goes on until its stream ends (the shutdown's time
	// up closes the connection).
	ctx := context.WithoutCancel(r.Context())
	if ct, _ := r.Header("content-type"); IsNativeGRPC(ct) && h.s.ServeH2(ctx, w, r) {
		return
	}
	// Health, reflection, compressed calls; and what is not gRPC, which
	// grpc-go answers with 415.
	h2serve.ServeHTTP(ctx, h.s, w, r)
}

// IsNativeGRPC reports whether a Content-Type is native gRPC's:
// application/grpc, alone or with a subtype (+proto, +json) or
// parameters, in any case. It does not allocate.
func IsNativeGRPC(ct string) bool {
	const grpcCT = "application/grpc"
	if !hasPrefixFold(ct, grpcCT) {
		return false
	}
	return len(ct) == len(grpcCT) || ct[len(grpcCT)] == '+' || ct[len(grpcCT)] == ';'
}

// shutdownLoop stops accepting on the loop's listeners and ends its
// connections gracefully (GOAWAY, then calls in flight finish); it
// returns when they are all closed.
func (s *Server) shutdownLoop() {
	s.loopMu.Lock()
	for _, ln := range s.lns {
		_ = ln.Close()
	}
	s.loopMu.Unlock()
	s.endLoop()
	s.loopWG.Wait()
}

// closeLoopConns closes every connection of the loop at once.
func (s *Server) closeLoopConns() {
	s.conns.mu.Lock()
	all := make([]*faultConn, 0, len(s.conns.m))
	for _, c := range s.conns.m {
		all = append(all, c)
	}
	s.conns.mu.Unlock()
	for _, c := range all {
		_ = c.Close()
	}
}
