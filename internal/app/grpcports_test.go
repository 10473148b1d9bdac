package app_test

import (
	"context"
	"crypto/tls"
	"net"
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
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestGRPCStreamFaultsOnHTTPPorts: on the HTTP port (h2c) and the TLS
// port, where decoy's own HTTP/2 loop carries gRPC, the h2 faults act on
// the call's stream and connection as on the gRPC port: RST_STREAM with
// the code asked for, and GOAWAY, which grpc-go answers by retrying the
// call on a new connection.
func TestGRPCStreamFaultsOnHTTPPorts(t *testing.T) {
	t.Parallel()
	set, err := demo.Protos()
	if err != nil {
		t.Fatal(err)
	}
	l, err := config.LoadStubBytes("stubs.yaml", []byte(`
- request: {path: /decoy.demo.v1.Users/GetUser, body: {jsonPath: [{path: $.id, equals: 9}]}}
  response: {faults: [{kind: reset, h2: {rstStream: CANCEL}}]}
- request: {path: /decoy.demo.v1.Users/GetUser, body: {jsonPath: [{path: $.id, equals: 8}]}}
  response: {faults: [{kind: reset, h2: {rstStream: ENHANCE_YOUR_CALM}}]}
- request: {path: /decoy.demo.v1.Users/GetUser, body: {jsonPath: [{path: $.id, equals: 7}]}}
  responses:
    - {faults: [{kind: reset, h2: {goaway: true}}]}
    - {body: {id: 7, name: retried}}
- request: {path: /decoy.demo.v1.Users/GetUser, body: {jsonPath: [{path: $.id, equals: 6}]}}
  responses:
    - {faults: [{kind: reset, h2: {goaway: true}}]}
    - {body: {id: 6, name: retried}}
`))
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
	s := config.Defaults()
	s.Quiet = true
	s.HTTP, s.HTTPS, s.Admin, s.GRPC = "127.0.0.1:0", "127.0.0.1:0", "", ""
	a, err := app.Start(s, store, nil, app.WithProtos(set))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	for _, port := range []struct {
		name   string
		addr   net.Addr
		creds  credentials.TransportCredentials
		goaway int64 // the id whose stub sends GOAWAY, then answers
	}{
		{"http", a.HTTPAddr, insecure.NewCredentials(), 7},
		{"https", a.HTTPSAddr, credentials.NewTLS(&tls.Config{InsecureSkipVerify: true}), 6},
	} {
		t.Run(port.name, func(t *testing.T) {
			cc, err := grpc.NewClient("passthrough:///"+port.addr.String(), grpc.WithTransportCredentials(port.creds))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			call := func(id int64) (string, error) {
				var out emptypb.Empty
				err := cc.Invoke(ctx, "/decoy.demo.v1.Users/GetUser", wrapperspb.Int64(id), &out)
				return string(out.ProtoReflect().GetUnknown()), err
			}
			if _, err := call(1); err != nil {
				t.Fatalf("an ordinary call: %v", err)
			}
			for _, tc := range []struct {
				id   int64
				code codes.Code
			}{{9, codes.Canceled}, {8, codes.ResourceExhausted}} {
				_, err := call(tc.id)
				if st := status.Convert(err); st.Code() != tc.code || !strings.Contains(st.Message(), "RST_STREAM") {
					t.Errorf("id %d: %v, want %v from RST_STREAM", tc.id, err, tc.code)
				}
			}
			// GOAWAY: the call was not processed, and grpc-go retries
			// it by itself on a new connection, where the stub's second
			// answer comes.
			if body, err := call(port.goaway); err != nil || !strings.Contains(body, "retried") {
				t.Errorf("after GOAWAY: %q %v, want the retried answer", body, err)
			}
			if _, err := call(1); err != nil {
				t.Errorf("a call after the faults: %v", err)
			}
		})
	}
}
