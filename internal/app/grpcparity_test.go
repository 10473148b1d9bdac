package app_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/app"
	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/demo"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/grpcfront"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// parityStubs exercise what a call's answer carries besides its message:
// header and trailer metadata (text and binary), statuses with messages
// and details, metadata matching, delays against deadlines, streams.
const parityStubs = `
- request: {path: /decoy.demo.v1.Users/GetUser, body: {jsonPath: [{path: $.id, equals: 1}]}}
  response:
    headers: {x-request-id: req-1, x-blob-bin: AAECAw==}
    body: {id: 1, name: Ada}
    grpc: {trailers: {x-cost-units: "3", x-sig-bin: /wD/}}
- request: {path: /decoy.demo.v1.Users/GetUser, body: {jsonPath: [{path: $.id, equals: 2}]}}
  response:
    headers: {x-request-id: req-2}
    grpc:
      status: NOT_FOUND
      message: "no user 2 — ünïcode, 100% sure\nsecond line"
      details:
        - "@type": type.googleapis.com/google.rpc.BadRequest
          fieldViolations: [{field: id, description: no such user}]
      trailers: {x-cost-units: "1"}
- request: {path: /decoy.demo.v1.Users/GetUser, body: {jsonPath: [{path: $.id, equals: 3}]}}
  response: {grpc: {status: PERMISSION_DENIED}}
- request:
    path: /decoy.demo.v1.Users/GetUser
    headers: {x-tenant: acme, x-key-bin: {equals: "\x01\x02"}}
    body: {jsonPath: [{path: $.id, equals: 4}]}
  response: {body: {id: 4, name: matched on metadata}}
- request: {path: /decoy.demo.v1.Users/GetUser, body: {jsonPath: [{path: $.id, equals: 4}]}}
  response: {body: {id: 4, name: not matched}}
- request: {path: /decoy.demo.v1.Users/GetUser, body: {jsonPath: [{path: $.id, equals: 5}]}}
  response: {delay: 10s, body: {id: 5}}
- request: {path: /decoy.demo.v1.Users/ListUsers}
  response:
    headers: {x-mode: list}
    grpc:
      stream: [{body: {id: 1}}, {body: {id: 2}}, {body: {id: 3}}]
      status: UNAVAILABLE
      message: the user store went away
      trailers: {x-after: stream}
- request: {path: /decoy.demo.v1.Users/Chat}
  response: {grpc: {echo: true}}
`

// TestGRPCPortsAgree: a call answered on decoy's HTTP/2 loop (the gRPC port
// in cleartext and over TLS, the HTTP port, the TLS port) ends as the same
// call on a gRPC port whose transport is grpc-go's own (grpc-engine go):
// the same status code, message and details, the same header and trailer
// metadata, the same messages.
func TestGRPCPortsAgree(t *testing.T) {
	t.Parallel()
	set, err := demo.Protos()
	if err != nil {
		t.Fatal(err)
	}
	l, err := config.LoadStubBytes("stubs.yaml", []byte(parityStubs))
	if err != nil {
		t.Fatal(err)
	}
	if errs := grpcfront.Check(set, l.Sources); errs != nil {
		t.Fatal(l.Locate(errs))
	}
	store, err := engine.NewStore(l.Sources, grpcfront.EngineOptions(set)...)
	if err != nil {
		t.Fatal(err)
	}
	start := func(grpcEngine string) *app.App {
		s := config.Defaults()
		s.Quiet = true
		s.HTTP, s.HTTPS, s.Admin, s.GRPC = "127.0.0.1:0", "127.0.0.1:0", "", "127.0.0.1:0"
		s.MaxBodyBytes = 64 << 10 // the largest request message
		s.GRPCEngine = grpcEngine
		a, err := app.Start(s, store, nil, app.WithProtos(set))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = a.Shutdown(ctx)
		})
		return a
	}
	// The reference: grpc-go's own transport on the gRPC port.
	ref, a := start("go"), start("decoy")
	tlsCreds := credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})
	ports := []struct {
		name  string
		addr  net.Addr
		creds credentials.TransportCredentials
	}{
		{"grpc-go's", ref.GRPCAddr, insecure.NewCredentials()},
		{"grpc", a.GRPCAddr, insecure.NewCredentials()},
		{"grpc over TLS", a.GRPCAddr, tlsCreds},
		{"http", a.HTTPAddr, insecure.NewCredentials()},
		{"https", a.HTTPSAddr, tlsCreds},
	}
	conns := make([]*grpc.ClientConn, len(ports))
	for i, p := range ports {
		cc, err := grpc.NewClient("passthrough:///"+p.addr.String(), grpc.WithTransportCredentials(p.creds))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		conns[i] = cc
	}

	type outcome struct {
		code            codes.Code
		msg             string
		details         string
		header, trailer string
		msgs            []string
	}
	unary := func(id int64, md metadata.MD, timeout time.Duration, in proto.Message) func(cc *grpc.ClientConn) outcome {
		return func(cc *grpc.ClientConn) outcome {
			ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), md), timeout)
			defer cancel()
			if in == nil {
				in = wrapperspb.Int64(id)
			}
			var out emptypb.Empty
			var header, trailer metadata.MD
			err := cc.Invoke(ctx, "/decoy.demo.v1.Users/GetUser", in, &out, grpc.Header(&header), grpc.Trailer(&trailer))
			o := outcome{header: mdString(header), trailer: mdString(trailer)}
			if err == nil {
				o.msgs = []string{string(out.ProtoReflect().GetUnknown())}
			}
			st := status.Convert(err)
			o.code, o.msg = st.Code(), st.Message()
			for _, d := range st.Proto().GetDetails() {
				o.details += d.GetTypeUrl() + "=" + string(d.GetValue()) + ";"
			}
			return o
		}
	}
	stream := func(method string, send []proto.Message) func(cc *grpc.ClientConn) outcome {
		return func(cc *grpc.ClientConn) outcome {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			desc := &grpc.StreamDesc{ServerStreams: true, ClientStreams: len(send) != 1}
			cs, err := cc.NewStream(ctx, desc, method)
			if err != nil {
				return outcome{code: status.Code(err), msg: err.Error()}
			}
			for _, m := range send {
				if err := cs.SendMsg(m); err != nil {
					break
				}
			}
			_ = cs.CloseSend()
			var o outcome
			for {
				var out emptypb.Empty
				if err = cs.RecvMsg(&out); err != nil {
					break
				}
				o.msgs = append(o.msgs, string(out.ProtoReflect().GetUnknown()))
			}
			header, _ := cs.Header()
			o.header, o.trailer = mdString(header), mdString(cs.Trailer())
			if errors.Is(err, io.EOF) {
				err = nil
			}
			st := status.Convert(err)
			o.code, o.msg = st.Code(), st.Message()
			return o
		}
	}
	health := func(service string) func(cc *grpc.ClientConn) outcome {
		return func(cc *grpc.ClientConn) outcome {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out healthpb.HealthCheckResponse
			err := cc.Invoke(ctx, healthpb.Health_Check_FullMethodName, &healthpb.HealthCheckRequest{Service: service}, &out)
			st := status.Convert(err)
			o := outcome{code: st.Code(), msg: st.Message()}
			if err == nil {
				o.msgs = []string{out.GetStatus().String()}
			}
			return o
		}
	}
	chat := func(text string) proto.Message {
		var b []byte
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, text)
		m := &emptypb.Empty{}
		m.ProtoReflect().SetUnknown(b)
		return m
	}
	huge := &emptypb.Empty{}
	huge.ProtoReflect().SetUnknown(protowire.AppendBytes(protowire.AppendTag(nil, 9, protowire.BytesType), make([]byte, 64<<10)))
	notAMessage := &emptypb.Empty{}
	notAMessage.ProtoReflect().SetUnknown([]byte{0x0a, 0x05, 'a'}) // a length past the end

	for _, tc := range []struct {
		name string
		call func(*grpc.ClientConn) outcome
		want codes.Code
		// a sign that the stub meant was the one that answered
		check func(outcome) bool
	}{
		{"metadata", unary(1, nil, 10*time.Second, nil), codes.OK, func(o outcome) bool {
			return strings.Contains(o.header, "x-request-id=req-1") && strings.Contains(o.header, "x-blob-bin=\x00\x01\x02\x03") &&
				strings.Contains(o.trailer, "x-cost-units=3") && strings.Contains(o.trailer, "x-sig-bin=\xff\x00\xff")
		}},
		{"status with details", unary(2, nil, 10*time.Second, nil), codes.NotFound, func(o outcome) bool {
			return strings.HasPrefix(o.msg, "no user 2 — ü") && strings.Contains(o.details, "BadRequest=") &&
				strings.Contains(o.header, "x-request-id=req-2") && strings.Contains(o.trailer, "x-cost-units=1")
		}},
		{"status only", unary(3, nil, 10*time.Second, nil), codes.PermissionDenied, nil},
		{"matched on metadata", unary(4, metadata.Pairs("x-tenant", "acme", "x-key-bin", "\x01\x02"), 10*time.Second, nil), codes.OK, func(o outcome) bool {
			return len(o.msgs) == 1 && strings.Contains(o.msgs[0], "matched on metadata")
		}},
		{"metadata not matched", unary(4, metadata.Pairs("x-tenant", "acme", "x-key-bin", "\x01\x03"), 10*time.Second, nil), codes.OK, func(o outcome) bool {
			return len(o.msgs) == 1 && strings.Contains(o.msgs[0], "not matched")
		}},
		{"deadline", unary(5, nil, 200*time.Millisecond, nil), codes.DeadlineExceeded, nil},
		{"generated", unary(99, nil, 10*time.Second, nil), codes.OK, func(o outcome) bool { return len(o.msgs) == 1 }},
		{"too large", unary(0, nil, 10*time.Second, huge), codes.ResourceExhausted, nil},
		{"not a message", unary(0, nil, 10*time.Second, notAMessage), codes.Internal, nil},
		{"server stream then error", stream("/decoy.demo.v1.Users/ListUsers", []proto.Message{&emptypb.Empty{}}), codes.Unavailable, func(o outcome) bool {
			return len(o.msgs) == 3 && o.header == "x-mode=list" && o.trailer == "x-after=stream"
		}},
		{"bidirectional echo", stream("/decoy.demo.v1.Users/Chat", []proto.Message{chat("one"), chat("two")}), codes.OK, func(o outcome) bool {
			return len(o.msgs) == 2 && strings.Contains(o.msgs[1], "two")
		}},
		{"unknown method", stream("/decoy.demo.v1.Users/Nope", []proto.Message{&emptypb.Empty{}}), codes.Unimplemented, nil},
		{"unknown service", stream("/no.Such/Method", []proto.Message{&emptypb.Empty{}}), codes.Unimplemented, nil},
		{"health check", health(""), codes.OK, func(o outcome) bool { return len(o.msgs) == 1 && o.msgs[0] == "SERVING" }},
		{"health of a service", health("decoy.demo.v1.Users"), codes.OK, func(o outcome) bool { return len(o.msgs) == 1 && o.msgs[0] == "SERVING" }},
		{"health of no service", health("no.Such"), codes.NotFound, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ref outcome
			for i, p := range ports {
				o := tc.call(conns[i])
				if o.code != tc.want {
					t.Errorf("%s port: %v %q, want %v", p.name, o.code, o.msg, tc.want)
				}
				if tc.check != nil && !tc.check(o) {
					t.Errorf("%s port: %+v: not the answer of the stub meant", p.name, o)
				}
				if i == 0 {
					ref = o
					continue
				}
				// A deadline's message is the client's own.
				if tc.want != codes.DeadlineExceeded && o.msg != ref.msg {
					t.Errorf("%s port: message %q, grpc-go's %q", p.name, o.msg, ref.msg)
				}
				if o.details != ref.details || o.header != ref.header || o.trailer != ref.trailer || !slices.Equal(o.msgs, ref.msgs) {
					t.Errorf("%s port:\n %+v\ngrpc-go's:\n %+v", p.name, o, ref)
				}
			}
		})
	}
}

// mdString is md's keys and values sorted, one "k=v" per value, without
// the fields every answer carries.
func mdString(md metadata.MD) string {
	var kv []string
	for k, vs := range md {
		if k == "content-type" || k == "date" {
			continue
		}
		for _, v := range vs {
			kv = append(kv, fmt.Sprintf("%s=%s", k, v))
		}
	}
	slices.Sort(kv)
	return strings.Join(kv, " ")
}

// TestGRPCStreamBurstsLeaveBeforeAWait: the messages of a server stream
// that follow one another at once may wait in the connection's buffer for
// the last of their burst, but that one goes out before a wait: here the
// client gets the first two while the stream waits an hour for the third,
// on every port.
func TestGRPCStreamBurstsLeaveBeforeAWait(t *testing.T) {
	t.Parallel()
	a := startGRPCStubs(t, `
- request: {path: /decoy.demo.v1.Users/ListUsers}
  response:
    grpc:
      stream: [{body: {id: 1}}, {body: {id: 2}}, {body: {id: 3}, delay: 1h}]
`, func(s *config.Settings) {
		s.HTTP, s.HTTPS, s.Admin, s.GRPC = "127.0.0.1:0", "127.0.0.1:0", "", "127.0.0.1:0"
	})
	for _, p := range []struct {
		name  string
		addr  net.Addr
		creds credentials.TransportCredentials
	}{
		{"grpc", a.GRPCAddr, insecure.NewCredentials()},
		{"http", a.HTTPAddr, insecure.NewCredentials()},
		{"https", a.HTTPSAddr, credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})},
	} {
		t.Run(p.name, func(t *testing.T) {
			cc, err := grpc.NewClient("passthrough:///"+p.addr.String(), grpc.WithTransportCredentials(p.creds))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cs, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/decoy.demo.v1.Users/ListUsers")
			if err != nil {
				t.Fatal(err)
			}
			if err := cs.SendMsg(&emptypb.Empty{}); err != nil {
				t.Fatal(err)
			}
			_ = cs.CloseSend()
			for i := 1; i <= 2; i++ {
				var out emptypb.Empty
				if err := cs.RecvMsg(&out); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
		})
	}
}
