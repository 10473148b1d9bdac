// Package grpcfront is decoy's gRPC front door. One generic handler serves
// every method of the loaded .proto files without generated code: a call
// becomes an engine.Request (Proto "gRPC", Method "POST", Path
// "/pkg.Service/Method", Body the request message as compact protojson,
// metadata as headers), the engine picks the stub, and the answer goes out
// as protobuf bytes encoded when the stubs were loaded. Calls no stub
// answers get a deterministic generated message of the method's output
// type. The server also offers reflection (v1 and v1alpha) and the standard
// health service, and records every call in the journal.
//
// The calls reach the handler through decoy's own HTTP/2 loop (h2serve):
// on the gRPC port, which Serve runs on it, and on the HTTP ports, whose
// loop hands native calls to ServeH2; h2Stream is the handler's
// grpc.ServerStream there. Health, reflection and compressed calls, and
// gRPC-Web, go through a grpc-go server's ServeHTTP. With Options.Transport
// EngineGo, grpc-go's own transport serves the gRPC port (the handler is
// its grpc.UnknownServiceHandler) and ServeHTTP every call on the HTTP
// ports.
//
// The gRPC port wraps each connection (faultConn) so that faults can reset
// it, or slip an RST_STREAM or a GOAWAY between the frames written on it.
// It counts calls by method and status for Prometheus (Collector).
//
// Check compiles gRPC stubs against the .proto files at load, so that a
// response field that does not exist is reported with file:line.
package grpcfront

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/decoy-dev/decoy/internal/accesslog"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/protoload"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
)

// Options configures a Server.
type Options struct {
	Engine  *engine.Engine
	Protos  *protoload.Set
	Journal *journal.Journal // nil or capacity 0: no journal
	Logger  *slog.Logger
	// MaxRecvMsgSize bounds one request message (RESOURCE_EXHAUSTED
	// beyond); it also bounds the messages of a client stream together.
	MaxRecvMsgSize int
	// DelayHeader honours a delay the client asks for in the metadata
	// x-decoy-delay (500ms, or a number of milliseconds), capped at
	// MaxRequestedDelay (default 60s); a malformed one fails the call with
	// INVALID_ARGUMENT.
	DelayHeader       bool
	MaxRequestedDelay time.Duration
	// AccessLog, when not nil, logs calls (every one at debug level, a
	// sample at info).
	AccessLog *accesslog.Logger
	// HTTPAddr is the HTTP port's address, named to an HTTP/1.1 client
	// that reaches the gRPC port; "" when there is none.
	HTTPAddr string
	// ClientCerts says the TLS port asks clients for certificates
	// (client-auth optional or require): calls served through ServeHTTP
	// then carry the certificate the TLS front door put in their context
	// (engine.ClientCertKey), for stubs' clientCert and the journal.
	// Without it no call looks for one.
	ClientCerts bool
	// TLS, when set, is the TLS port's configuration: the gRPC port then
	// serves TLS too, to the connections that start with a TLS
	// handshake, with its certificates and client-auth (see tlsport.go).
	TLS *tls.Config
	// WebOrigins, when not empty, are the only origins whose gRPC-Web
	// calls and preflights get CORS headers (the cors-origin setting);
	// empty: every origin's.
	WebOrigins []string
	// Transport serves the gRPC port, and native calls on the HTTP
	// ports: EngineDecoy (the default, "") or EngineGo.
	Transport string
}

// DefaultMaxRecvMsgSize is grpc-go's own default.
const DefaultMaxRecvMsgSize = 4 << 20

// Server is the gRPC front door.
type Server struct {
	o      Options
	log    *slog.Logger
	types  *protoload.Types
	srv    *grpc.Server
	health *health.Server
	state  atomic.Pointer[state]
	mu     sync.Mutex // serializes rebuilds of state
	done   chan struct{}
	closed atomic.Bool
	// stopping is done when Shutdown begins: health watches end.
	stopping context.Context
	stop     context.CancelFunc
	known    string // the services, for UNIMPLEMENTED messages
	// builtin holds the services grpc-go serves itself (health,
	// reflection), which ServeH2 leaves to ServeHTTP.
	builtin map[string]bool
	// creds make the TLS handshakes of the gRPC port (Options.TLS set).
	creds portCreds
	// The gRPC port's listeners and connections on decoy's loop
	// (EngineDecoy); loopCtx ends when Shutdown begins.
	loopMu  sync.Mutex
	lns     []net.Listener
	loopWG  sync.WaitGroup
	loopCtx context.Context
	endLoop context.CancelFunc
	conns   conns // the connections Serve accepted, for faults
	gate    *gate // answers what is not HTTP/2 on them
	rpcs    rpcCounters
	// handshakes counts TLS handshakes on the port (see portCreds).
	handshakes handshakes
	// generatedCalls numbers the calls answered with a generated message,
	// for the global latency's samples (a stub numbers its own calls).
	generatedCalls atomic.Uint64
}

// New returns a server for o. It serves nothing until Serve.
func New(o Options) *Server {
	if o.MaxRecvMsgSize <= 0 {
		o.MaxRecvMsgSize = DefaultMaxRecvMsgSize
	}
	if o.Journal == nil {
		o.Journal = journal.New(0, 0)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{o: o, log: log, types: o.Protos.Types(), done: make(chan struct{}), gate: newGate(o.HTTPAddr, o.TLS != nil, log)}
	var creds []grpc.ServerOption
	if o.TLS != nil {
		conf := o.TLS.Clone()
		conf.NextProtos = []string{"h2"} // gRPC only: HTTP/1.1 is the TLS port's
		s.creds = portCreds{conf: conf, log: log, hs: &s.handshakes}
		creds = append(creds, grpc.Creds(s.creds))
	}
	s.loopCtx, s.endLoop = context.WithCancel(context.Background())
	s.srv = grpc.NewServer(append(creds,
		grpc.UnknownServiceHandler(s.handle),
		grpc.ForceServerCodecV2(newCodec()),
		grpc.MaxRecvMsgSize(o.MaxRecvMsgSize),
		// A mock must not be the reason a client's keepalive pings end
		// its connection: allow them down to once a second, even idle.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Second, PermitWithoutStream: true}),
		// The listener turns TCP keep-alive probes off (see listen.Open):
		// HTTP/2 pings find a client that vanished without closing, in
		// about as long as the probes did.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 2 * time.Minute, Timeout: 20 * time.Second}),
	)...)
	s.health = health.NewServer()
	s.stopping, s.stop = context.WithCancel(context.Background())
	healthpb.RegisterHealthServer(s.srv, healthServer{Server: s.health, stopping: s.stopping})
	var names, paths []string
	for _, sd := range o.Protos.Services() {
		name := string(sd.FullName())
		names = append(names, name)
		for i := 0; i < sd.Methods().Len(); i++ {
			paths = append(paths, "/"+name+"/"+string(sd.Methods().Get(i).Name()))
		}
		s.health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	s.rpcs.init(paths)
	s.known = strings.Join(names, ", ")
	if s.known == "" {
		s.known = "none"
	}
	ro := reflection.ServerOptions{
		Services:           serviceList{s},
		DescriptorResolver: o.Protos.Resolver(),
		ExtensionResolver:  s.types,
	}
	reflectionv1.RegisterServerReflectionServer(s.srv, reflectionV1{reflection.NewServerV1(ro)})
	reflectionv1alpha.RegisterServerReflectionServer(s.srv, reflectionV1alpha{reflection.NewServer(ro)})
	s.builtin = map[string]bool{}
	for name := range s.srv.GetServiceInfo() {
		s.builtin[name] = true
	}
	resourcesOf(o.Protos) // the resource types, read at load
	s.current()
	return s
}

// reflectionV1 and reflectionV1alpha are grpc-go's reflection services,
// for protobuf calls only (see healthServer.Check).
type (
	reflectionV1 struct {
		reflectionv1.ServerReflectionServer
	}
	reflectionV1alpha struct {
		reflectionv1alpha.ServerReflectionServer
	}
)

func (r reflectionV1) ServerReflectionInfo(stream reflectionv1.ServerReflection_ServerReflectionInfoServer) error {
	if kind, sub := contentSubtype(stream.Context()); kind != subtypeProto {
		return errSubtype(sub, "reflection", false)
	}
	return r.ServerReflectionServer.ServerReflectionInfo(stream)
}

func (r reflectionV1alpha) ServerReflectionInfo(stream reflectionv1alpha.ServerReflection_ServerReflectionInfoServer) error {
	if kind, sub := contentSubtype(stream.Context()); kind != subtypeProto {
		return errSubtype(sub, "reflection", false)
	}
	return r.ServerReflectionServer.ServerReflectionInfo(stream)
}

// serviceList tells reflection what the server offers: the loaded
// services and the ones registered for real (health, reflection).
type serviceList struct{ s *Server }

func (l serviceList) GetServiceInfo() map[string]grpc.ServiceInfo {
	m := l.s.srv.GetServiceInfo()
	for _, sd := range l.s.o.Protos.Services() {
		if _, ok := m[string(sd.FullName())]; !ok {
			m[string(sd.FullName())] = grpc.ServiceInfo{Metadata: sd.ParentFile().Path()}
		}
	}
	return m
}

// Unary reports whether path names a method of the loaded .proto files
// whose call is unary: one message each way, its answer written at once
// at its end (health and reflection are not looked up).
func (s *Server) Unary(path string) bool {
	md := s.o.Protos.Method(path)
	return md != nil && !md.IsStreamingClient() && !md.IsStreamingServer()
}

// ServerStreams reports whether path is a method whose answer is a stream
// of messages: one a gRPC-Web answer over HTTP/1.1 must send as they
// come, not whole at its end.
func (s *Server) ServerStreams(path string) bool {
	md := s.o.Protos.Method(path)
	return md != nil && md.IsStreamingServer()
}

// Serve accepts HTTP/2 connections on ln until Shutdown: cleartext, and
// TLS when Options.TLS is set.
func (s *Server) Serve(ln net.Listener) error {
	if s.closed.Load() {
		_ = ln.Close()
		return grpc.ErrServerStopped
	}
	if s.o.Transport != EngineGo {
		return s.serveLoop(ln)
	}
	// What a faultConn sees written is HTTP/2 frames, not TLS records:
	// a TLS connection's handshake is made under it (portCreds).
	err := s.srv.Serve(&faultListener{Listener: ln, conns: &s.conns, gate: s.gate})
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Shutdown marks every service NOT_SERVING, stops accepting, and lets calls
// in flight finish until ctx is done; then it ends them.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.closed.Swap(true) {
		return nil
	}
	s.stop()
	s.health.Shutdown()
	stopped := make(chan struct{})
	go func() {
		s.shutdownLoop()
		s.srv.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
		close(s.done)
		return nil
	case <-ctx.Done():
		close(s.done) // ends delays in progress
		s.closeLoopConns()
		s.srv.Stop()
		<-stopped
		return ctx.Err()
	}
}

// state is what the handler needs from one engine snapshot: the gRPC plan
// of every stub response. It is rebuilt when the snapshot changes (an
// admin API change), reusing the plans of responses that did not change.
type state struct {
	snap     *engine.Snapshot
	plans    map[*engine.Response]*plan
	needBody bool // a stub matches on the request body
	// early and push hold the methods some stub answers before the
	// client stream's end (afterMessages) or when the call opens (push).
	early, push map[string]bool
}

// current returns the state for the engine's snapshot.
func (s *Server) current() *state {
	snap := s.o.Engine.Snapshot()
	if st := s.state.Load(); st != nil && st.snap == snap {
		return st
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.state.Load()
	if old != nil && old.snap == snap {
		return old
	}
	st := &state{snap: snap, plans: map[*engine.Response]*plan{}}
	for _, es := range snap.Stubs() {
		if es.Spec.Request.Body != nil {
			st.needBody = true
		}
		resps := es.Responses()
		if old != nil && len(resps) > 0 {
			if _, ok := old.plans[resps[0]]; ok {
				for _, r := range resps {
					st.plans[r] = old.plans[r]
				}
				continue
			}
		}
		isGRPC, plans, fe := compileStub(s.o.Protos, es.Spec)
		if !isGRPC {
			continue
		}
		if len(fe) > 0 || len(plans) != len(resps) {
			var msgs []string
			for _, e := range fe {
				msgs = append(msgs, e.Error())
			}
			err := errors.New(strings.Join(msgs, "; "))
			s.log.Warn("a stub cannot answer gRPC calls", "stub", es.ID, "origin", es.Origin, "err", err)
			for _, r := range resps {
				st.plans[r] = &plan{stubID: es.ID, err: err}
			}
			continue
		}
		for i, r := range resps {
			st.plans[r] = plans[i]
		}
	}
	for _, p := range st.plans {
		if p.method == nil || (p.after == 0 && !p.push) {
			continue
		}
		path := "/" + string(p.method.Parent().FullName()) + "/" + string(p.method.Name())
		if p.after > 0 {
			if st.early == nil {
				st.early = map[string]bool{}
			}
			st.early[path] = true
		}
		if p.push {
			if st.push == nil {
				st.push = map[string]bool{}
			}
			st.push[path] = true
		}
	}
	s.state.Store(st)
	return st
}
