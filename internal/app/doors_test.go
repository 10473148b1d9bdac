package app_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/config"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestGRPCStubsLeaveHTTP: on the HTTP port a plain POST to a method's path
// is not answered by the method's gRPC stub: it gets the answer of an
// OpenAPI document served beside the .proto files, or a 404 that names
// the gRPC stub and why; gRPC calls there still get the gRPC stub.
func TestGRPCStubsLeaveHTTP(t *testing.T) {
	t.Parallel()
	const grpcStub = `
- id: get-user
  request: {path: /decoy.demo.v1.Users/GetUser}
  response: {body: {id: 42, name: Ada}}
`
	const doc = `openapi: 3.0.3
info: {title: users, version: "1"}
paths:
  /decoy.demo.v1.Users/GetUser:
    post:
      responses:
        "200":
          description: ok
          content:
            application/json:
              example: {via: the document}
`
	for _, tt := range []struct {
		name     string
		withDoc  bool
		status   int
		contains string
	}{
		{"beside an OpenAPI document", true, 200, `"via":"the document"`},
		{"alone", false, 404, "it answers gRPC calls only"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := config.LoadStubBytes("stubs.yaml", []byte(grpcStub))
			if err != nil {
				t.Fatal(err)
			}
			srcs := l.Sources
			if tt.withDoc {
				d, _, err := config.BuildBytes("users.openapi.yaml", []byte(doc))
				if err != nil {
					t.Fatal(err)
				}
				srcs = append(srcs, d.Sources...)
			}
			a := startGRPCSources(t, srcs, func(s *config.Settings) {
				s.HTTP, s.HTTPS, s.Admin, s.GRPC = "127.0.0.1:0", "", "", ""
			})
			resp, err := http.Post("http://"+a.HTTPAddr.String()+"/decoy.demo.v1.Users/GetUser", "application/json", strings.NewReader(`{"id": 42}`))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.contains) {
				t.Errorf("plain POST: %d %s, want %d with %q", resp.StatusCode, body, tt.status, tt.contains)
			}
			// A gRPC call on the same port gets the gRPC stub.
			cc, err := grpc.NewClient("passthrough:///"+a.HTTPAddr.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out emptypb.Empty // unknown fields kept: the User's bytes
			if err := cc.Invoke(ctx, "/decoy.demo.v1.Users/GetUser", wrapperspb.Int64(42), &out); err != nil {
				t.Fatalf("gRPC GetUser: %v", err)
			}
			raw := out.ProtoReflect().GetUnknown()
			want := protowire.AppendString(protowire.AppendTag(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 42), 2, protowire.BytesType), "Ada")
			if string(raw) != string(want) {
				t.Errorf("gRPC GetUser answered %x, want the stub's User %x", raw, want)
			}
		})
	}
}
