package grpcfront

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"

	"github.com/decoy-dev/decoy/internal/h2serve"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Native gRPC calls that reach decoy's own HTTP/2 loop (the gRPC port,
// see loop.go, and the HTTP and HTTPS ports) are served here, on the
// loop's stream, by the handler grpc-go's transport calls with
// EngineGo: h2Stream is the grpc.ServerStream of such a call.
// It reads the length-prefixed messages from the stream's body as they
// arrive and writes the answer as grpc-go's HTTP/2 transport does:
// headers with the first message, the messages, and trailers with the
// status (or one header block, "Trailers-Only", when no message went
// out). One goroutine a call, where grpc-go's handler transport
// (ServeHTTP) takes four. The services grpc-go serves itself (health,
// reflection; but Health/Check is answered here) and compressed calls
// still go through ServeHTTP.

// ServeH2 serves a native gRPC call (Content-Type application/grpc,
// application/grpc+proto or application/grpc+json) that arrived on one
// of decoy's own HTTP/2 connections, streamed (r.Streamed): it detaches
// the stream and answers from a goroutine of its own, with ctx (which
// carries the client's certificate, engine.ClientCertKey, when the port
// asks for one) ended when the stream or the connection does. It reports
// false, having done nothing, for a call to leave to ServeHTTP: one to a
// service grpc-go serves itself (reflection, health's Watch; Check is
// answered here), or whose messages are compressed (grpc-encoding other
// than identity).
func (s *Server) ServeH2(ctx context.Context, w *h2serve.ResponseWriter, r *h2serve.Request) bool {
	if s.o.Transport == EngineGo || r.Method != "POST" || !r.Streamed ||
		s.builtin[serviceOf(r.RawPath)] && r.RawPath != healthpb.Health_Check_FullMethodName {
		return false
	}
	if enc, ok := r.Header("grpc-encoding"); ok && enc != "identity" {
		return false
	}
	w.Detach()
	if md := s.o.Protos.Method(r.RawPath); md != nil && !md.IsStreamingClient() && !md.IsStreamingServer() || r.RawPath == healthpb.Health_Check_FullMethodName {
		// Headers, message and trailers in one write.
		w.Coalesce()
	}
	go s.serveH2(ctx, w, r)
	return true
}

// healthCheck answers grpc.health.v1.Health/Check on the loop, with the
// health service grpc-go serves elsewhere: load balancers and probes ask
// it often, and ghz users measure with it. (Watch, a stream, goes to
// ServeHTTP.)
func (s *Server) healthCheck(hs *h2Stream) error {
	if kind, sub := contentSubtype(hs.ctx); kind != subtypeProto {
		return errSubtype(sub, healthName, false)
	}
	var in frame
	if err := hs.RecvMsg(&in); err != nil {
		if errors.Is(err, io.EOF) {
			return status.Error(codes.Internal, "the client sent no request message")
		}
		return err
	}
	var more frame
	if err := hs.RecvMsg(&more); !errors.Is(err, io.EOF) {
		if err != nil {
			return err
		}
		return errTooMany
	}
	req := new(healthpb.HealthCheckRequest)
	if err := proto.Unmarshal(in.b, req); err != nil {
		return status.Errorf(codes.Internal, "grpc: error unmarshalling request: %v", err)
	}
	resp, err := healthServer{Server: s.health, stopping: s.stopping}.Check(hs.ctx, req)
	if err != nil {
		return err
	}
	b, err := proto.Marshal(resp)
	if err != nil {
		return status.Errorf(codes.Internal, "grpc: error marshalling response: %v", err)
	}
	return hs.SendMsg(&frame{b: b})
}

// serviceOf is the service of a method path, /package.Service/Method.
func serviceOf(path string) string {
	svc, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return svc
}

// serveH2 runs one call of ServeH2.
func (s *Server) serveH2(ctx context.Context, w *h2serve.ResponseWriter, r *h2serve.Request) {
	hs := &h2Stream{s: s, w: w, r: r}
	ct, _ := r.Header("content-type")
	_, hs.sub, _ = strings.Cut(ct, "+")
	var cancel context.CancelFunc
	var bad error
	if v, ok := r.Header("grpc-timeout"); ok {
		d, err := parseTimeout(v)
		if err != nil {
			bad = status.Errorf(codes.Internal, "malformed grpc-timeout: %v", err)
		}
		ctx, cancel = context.WithTimeout(ctx, d)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	w.AfterDone(cancel)
	defer cancel()
	hs.ctx = grpc.NewContextWithServerTransportStream(ctx, h2Transport{hs})
	if bad == nil {
		bad = hs.checkMetadata()
	}
	if bad != nil {
		// As grpc-go answers a header it cannot read: HTTP status 400,
		// with the gRPC status beside it.
		w.CloseBody()
		head := h2serve.EncodeHeaderBlock(400, [][2]string{{"content-type", "application/grpc"}}, -1)
		_ = w.WriteBlock(statusBlock(head, status.Convert(bad), nil), nil)
		return
	}
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				buf := make([]byte, 4096)
				buf = buf[:runtime.Stack(buf, false)]
				s.log.Error("grpc: handler panic", "method", r.RawPath, "panic", fmt.Sprint(p), "stack", string(buf))
				err = status.Errorf(codes.Internal, "decoy failed on this call: %v", p)
			}
		}()
		if r.RawPath == healthpb.Health_Check_FullMethodName {
			err = s.healthCheck(hs)
			return
		}
		err = s.handle(nil, hs)
	}()
	w.CloseBody()
	hs.end(err)
}

// h2Stream is a native gRPC call on decoy's HTTP/2 loop as a
// grpc.ServerStream; h2Transport is its grpc.ServerTransportStream.
type h2Stream struct {
	s   *Server
	ctx context.Context
	w   *h2serve.ResponseWriter
	r   *h2serve.Request
	sub string // content subtype: "", "proto", "json", ...

	answerMD
	out []byte // a message's length prefix and bytes
	eof bool   // the request body has ended
}

var _ grpc.ServerStream = (*h2Stream)(nil)

func (hs *h2Stream) Context() context.Context { return hs.ctx }

// h2Transport gives the handler the call's method and content subtype, as
// grpc-go's transport stream does.
type h2Transport struct{ hs *h2Stream }

var _ grpc.ServerTransportStream = h2Transport{}

func (t h2Transport) Method() string                  { return t.hs.r.RawPath }
func (t h2Transport) ContentSubtype() string          { return t.hs.sub }
func (t h2Transport) SetHeader(md metadata.MD) error  { return t.hs.SetHeader(md) }
func (t h2Transport) SendHeader(md metadata.MD) error { return t.hs.SendHeader(md) }
func (t h2Transport) SetTrailer(md metadata.MD) error { t.hs.SetTrailer(md); return nil }

func (hs *h2Stream) SendHeader(md metadata.MD) error {
	if err := hs.SetHeader(md); err != nil {
		return err
	}
	hs.headSent = true
	return hs.failed(hs.w.WriteHead(hs.headBlock()))
}

// SendMsg sends a frame: the headers go with the first.
func (hs *h2Stream) SendMsg(m any) error { return hs.sendMsg(m, false) }

// sendMsg is SendMsg; more says that another message follows at once, so
// that this one may wait in the connection's buffer for it (see
// h2serve.ResponseWriter.WriteDataHeld): a burst of messages leaves in as
// few writes as the buffer allows, the last one sending them all.
func (hs *h2Stream) sendMsg(m any, more bool) error {
	f, ok := m.(*frame)
	if !ok {
		return status.Errorf(codes.Internal, "grpc: cannot send a %T", m)
	}
	if err := hs.ctx.Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	hs.out = append(hs.out[:0], 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(hs.out[1:], uint32(len(f.b)))
	rest := f.b
	if len(f.b) <= copyMsgBytes {
		// Prefix and message in one DATA frame.
		hs.out, rest = append(hs.out, f.b...), nil
	}
	hold := more || len(rest) > 0
	var err error
	switch {
	case !hs.headSent:
		hs.headSent = true
		if hold {
			err = hs.w.WriteHeadDataHeld(hs.headBlock(), hs.out)
		} else {
			err = hs.w.WriteHeadData(hs.headBlock(), hs.out)
		}
	case hold:
		err = hs.w.WriteDataHeld(hs.out)
	default:
		err = hs.w.WriteData(hs.out, false)
	}
	if err == nil && len(rest) > 0 {
		// A large message goes from where it is: the connection copies
		// it into its buffer as the windows let it.
		if more {
			err = hs.w.WriteDataHeld(rest)
		} else {
			err = hs.w.WriteData(rest, false)
		}
	}
	return hs.failed(err)
}

// copyMsgBytes is the largest message SendMsg copies behind its length
// prefix; a larger one is written apart, uncopied.
const copyMsgBytes = 16 << 10

// failed is the status of a write error: the client cancelled, its
// deadline passed, or the connection ended.
func (hs *h2Stream) failed(err error) error {
	if err == nil {
		return nil
	}
	if cerr := hs.ctx.Err(); cerr != nil {
		return status.FromContextError(cerr).Err()
	}
	return status.Error(codes.Canceled, "the client reset the stream or closed the connection")
}

// RecvMsg reads the next length-prefixed message into a frame, io.EOF
// once the client has half-closed the stream after its last.
func (hs *h2Stream) RecvMsg(m any) error {
	f, ok := m.(*frame)
	if !ok {
		return status.Errorf(codes.Internal, "grpc: cannot read into a %T", m)
	}
	if hs.eof {
		return io.EOF
	}
	var prefix [5]byte
	if n, err := hs.read(prefix[:]); err != nil {
		if n == 0 && err == io.EOF {
			hs.eof = true
			return io.EOF
		}
		return hs.readFailed(err)
	}
	switch prefix[0] {
	case 0:
	case 1:
		return status.Error(codes.Internal, "grpc: compressed flag set with identity or empty encoding")
	default:
		return status.Errorf(codes.Internal, "grpc: received unexpected payload format %d", prefix[0])
	}
	n := binary.BigEndian.Uint32(prefix[1:])
	if limit := hs.s.o.MaxRecvMsgSize; int64(n) > int64(limit) {
		return status.Errorf(codes.ResourceExhausted, "grpc: received message larger than max (%d vs. %d)", n, limit)
	}
	if cap(f.b) < int(n) {
		f.b = make([]byte, n)
	}
	f.b = f.b[:n]
	if _, err := hs.read(f.b); err != nil {
		return hs.readFailed(err)
	}
	return nil
}

// read fills p from the request body.
func (hs *h2Stream) read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := hs.w.ReadBody(p[n:])
		n += k
		if err != nil {
			if err == io.EOF && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
	}
	return n, nil
}

// readFailed is the status of a read error.
func (hs *h2Stream) readFailed(err error) error {
	if err == io.ErrUnexpectedEOF {
		return status.Error(codes.Internal, "grpc: the request body ended inside a message")
	}
	if cerr := hs.ctx.Err(); cerr != nil {
		return status.FromContextError(cerr).Err()
	}
	return status.Error(codes.Canceled, "the client reset the stream or closed the connection")
}

// Response header blocks: :status 200 and the content type, for the
// usual subtypes.
var (
	headGRPC      = h2serve.EncodeHeaderBlock(200, [][2]string{{"content-type", "application/grpc"}}, -1)
	headGRPCProto = h2serve.EncodeHeaderBlock(200, [][2]string{{"content-type", "application/grpc+proto"}}, -1)
	headGRPCJSON  = h2serve.EncodeHeaderBlock(200, [][2]string{{"content-type", "application/grpc+json"}}, -1)
	trailerOK     = h2serve.EncodeTrailerBlock([][2]string{{"grpc-status", "0"}})
)

// headBlock is the response's header block: :status, content-type (as
// grpc-go writes it: application/grpc, or with the call's subtype) and
// the header metadata.
func (hs *h2Stream) headBlock() []byte {
	var b []byte
	switch hs.sub {
	case "":
		b = headGRPC
	case "proto":
		b = headGRPCProto
	case "json":
		b = headGRPCJSON
	default:
		b = h2serve.EncodeHeaderBlock(200, [][2]string{{"content-type", "application/grpc+" + hs.sub}}, -1)
	}
	if len(hs.header) == 0 {
		return b
	}
	return appendMetadata(append([]byte(nil), b...), hs.header)
}

// appendMetadata appends md's fields to a header block, binary values in
// base64 as grpc-go sends them; the fields gRPC reserves are left out.
func appendMetadata(b []byte, md metadata.MD) []byte {
	eachMetadata(md, base64.RawStdEncoding, func(k, v string) { b = h2serve.AppendHeaderField(b, k, v) })
	return b
}

// end ends the call with err's status (nil: OK): in the trailers after
// the messages, or, when none went out, in the response's only header
// block (after a header block of its own when there is header metadata,
// as grpc-go does).
func (hs *h2Stream) end(err error) {
	tb := trailerOK
	if err != nil || len(hs.trailer) > 0 {
		tb = statusBlock(nil, status.Convert(err), hs.trailer)
	}
	w := hs.w
	switch {
	case hs.headSent:
		_ = w.WriteTrailers(tb)
	case len(hs.header) > 0:
		if w.WriteHead(hs.headBlock()) == nil {
			_ = w.WriteTrailers(tb)
		}
	default:
		_ = w.WriteBlock(append(append([]byte(nil), hs.headBlock()...), tb...), nil)
	}
}

// statusBlock appends the trailer fields of st (grpc-status, grpc-message,
// grpc-status-details-bin) and the trailer metadata md to b.
func statusBlock(b []byte, st *status.Status, md metadata.MD) []byte {
	eachStatusField(st, func(k, v string) { b = h2serve.AppendHeaderField(b, k, v) })
	return appendMetadata(b, md)
}

// checkMetadata refuses binary metadata that is not base64, as grpc-go
// does.
func (hs *h2Stream) checkMetadata() error {
	for _, f := range hs.r.Headers {
		if strings.HasSuffix(f.Name, "-bin") && !reservedHeader(f.Name) {
			if _, err := decodeBinHeader(f.Value); err != nil {
				return status.Errorf(codes.Internal, "malformed binary metadata %q in header %q: %v", f.Value, f.Name, err)
			}
		}
	}
	return nil
}

// metadataHeader tells whether a request header is metadata, as grpc-go's
// HTTP/2 transport has it: every field but the reserved ones, with
// :authority, user-agent, content-type and grpc-accept-encoding kept.
func metadataHeader(k string) bool {
	switch k {
	case ":authority", "user-agent", "content-type", "grpc-accept-encoding":
		return true
	}
	return !reservedHeader(k)
}

// lookup is the first value of the metadata key (lower case), decoded
// when binary, without building the whole metadata.
func (hs *h2Stream) lookup(key string) (string, bool) {
	if key == ":authority" {
		return hs.r.Authority, hs.r.Authority != ""
	}
	if !metadataHeader(key) {
		return "", false
	}
	for _, f := range hs.r.Headers {
		if f.Name == key {
			if strings.HasSuffix(key, "-bin") {
				b, _ := decodeBinHeader(f.Value)
				return string(b), true
			}
			return f.Value, true
		}
	}
	return "", false
}

// metadata is the call's metadata, its strings copied (the request's
// belong to the connection).
func (hs *h2Stream) metadata() metadata.MD {
	md := metadata.MD{}
	if a := hs.r.Authority; a != "" {
		md[":authority"] = []string{strings.Clone(a)}
	}
	for _, f := range hs.r.Headers {
		if !metadataHeader(f.Name) {
			continue
		}
		v := strings.Clone(f.Value)
		if strings.HasSuffix(f.Name, "-bin") {
			b, _ := decodeBinHeader(f.Value)
			v = string(b)
		}
		k := strings.Clone(f.Name)
		md[k] = append(md[k], v)
	}
	return md
}

// remote is the client's address.
func (hs *h2Stream) remote() net.Addr { return hs.r.Conn().RemoteAddr() }
