package grpcfront_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/grpcfront"
	"github.com/decoy-dev/decoy/internal/protoload"
	"github.com/decoy-dev/decoy/internal/stub"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestCheckReportsFileAndLine loads stubs that contradict the .proto file:
// each problem names the stub file's line and the field.
func TestCheckReportsFileAndLine(t *testing.T) {
	t.Parallel()
	set := shopSet(t)
	cases := []struct {
		name string
		yaml string
		want []string // each in one problem: "stubs.yaml:LINE: FIELD: MESSAGE"
	}{
		{"unknown field", `
- request: {path: /shop.v1.Users/GetUser}
  response:
    body:
      id: 1
      nmae: Ada
`, []string{`stubs.yaml:6: [0].response.body.nmae: unknown field "nmae" in shop.v1.User (its fields: id, name, email, role, createdAt, tags, address, labels, phone, pager, manager, scores, stamps)`}},
		{"nested unknown field", `
- request: {path: /shop.v1.Users/GetUser}
  response:
    body:
      address:
        cty: Paris
`, []string{`stubs.yaml:6: [0].response.body.address.cty: unknown field "cty" in shop.v1.Address`}},
		{"wrong kinds", `
- request: {path: /shop.v1.Users/GetUser}
  response:
    body:
      id: abc
      role: ROLE_OWNER
      tags: solo
      labels: {a: 1}
`, []string{
			`stubs.yaml:5: [0].response.body.id: want an integer, got "abc"`,
			`stubs.yaml:6: [0].response.body.role: "ROLE_OWNER" is not a value of shop.v1.Role (ROLE_UNSPECIFIED, ROLE_ADMIN, ROLE_MEMBER)`,
			`stubs.yaml:7: [0].response.body.tags: want a JSON array (a repeated field), got a string`,
			`stubs.yaml:8: [0].response.body.labels.a: want a string, got a number (1)`,
		}},
		{"bad timestamp", `
- request: {path: /shop.v1.Users/GetUser}
  response:
    body: {createdAt: yesterday}
`, []string{`stubs.yaml:4: [0].response.body: not a valid shop.v1.User: invalid google.protobuf.Timestamp value "yesterday"`}},
		{"unknown method", `
- request: {path: /shop.v1.Users/GetUsr}
  response: {body: {id: 1}}
`, []string{`stubs.yaml:2: [0].request.path: service shop.v1.Users has no method GetUsr (its methods: GetUser, ListUsers, ImportUsers, Chat)`}},
		{"unknown service in a known package", `
- request: {path: /shop.v1.Userz/GetUser}
  response: {body: {id: 1}}
`, []string{`stubs.yaml:2: [0].request.path: unknown gRPC service shop.v1.Userz (the .proto files define: shop.v1.Users)`}},
		{"grpc section on an HTTP path", `
- request: {path: /users/42}
  response: {grpc: {status: NOT_FOUND}}
`, []string{`stubs.yaml:2: [0].request.path: "/users/42" is not a gRPC method`}},
		{"message without one method", `
- request: {pathPrefix: /shop.v1.Users/}
  response: {body: {id: 1}, grpc: {trailers: {a: b}}}
`, []string{`stubs.yaml:3: [0].response.body: a message needs the method's type`}},
		{"stream on a unary method", `
- request: {path: /shop.v1.Users/GetUser}
  response:
    grpc:
      stream: [{body: {id: 1}}]
`, []string{`stubs.yaml:5: [0].response.grpc.stream: shop.v1.Users.GetUser is not server-streaming`}},
		{"echo on a method whose input and output types differ", `
- request: {path: /shop.v1.Users/GetUser}
  response:
    grpc: {echo: true}
- request: {path: /shop.v1.Users/ImportUsers}
  responses:
    - body: {imported: 1}
    - grpc: {echo: true}
`, []string{
			`stubs.yaml:4: [0].response.grpc.echo: shop.v1.Users.GetUser takes a shop.v1.GetUserRequest and returns a shop.v1.User`,
			`stubs.yaml:8: [1].responses[1].grpc.echo: shop.v1.Users.ImportUsers takes a shop.v1.User and returns a shop.v1.ImportSummary`,
		}},
		{"stream message with an unknown field", `
- request: {path: /shop.v1.Users/ListUsers}
  response:
    grpc:
      stream:
        - body: {id: 1}
        - body: {idd: 2}
`, []string{`stubs.yaml:7: [0].response.grpc.stream[1].body.idd: unknown field "idd"`}},
		{"HTTP status, failed call with a body, bad detail, bad metadata", `
- request: {path: /shop.v1.Users/GetUser}
  response:
    status: 404
    headers: {"grpc-status": "5", "x!y": x}
    body: {id: 1}
    grpc:
      status: NOT_FOUND
      details:
        - {"@type": type.googleapis.com/nope.Nope}
`, []string{
			`stubs.yaml:4: [0].response.status: an HTTP status; a gRPC call ends with grpc.status`,
			`stubs.yaml:6: [0].response.body: a call that fails sends no message`,
			`stubs.yaml:5: [0].response.headers.x!y: a metadata name holds only`,
			`stubs.yaml:5: [0].response.headers.grpc-status: grpc-status is set by gRPC itself`,
			`stubs.yaml:10: [0].response.grpc.details[0]: not a valid detail`,
		}},
		{"OK with a message", `
- request: {path: /shop.v1.Users/GetUser}
  response:
    grpc: {message: all good}
`, []string{`stubs.yaml:4: [0].response.grpc.status: a status message or details need a status other than OK`}},
		{"afterMessages, push and repeat where they do not apply", `
- request: {path: /shop.v1.Users/GetUser}
  response:
    grpc: {afterMessages: 2}
- request: {path: /shop.v1.Users/ImportUsers}
  response:
    grpc: {push: true, repeat: -1}
- request: {path: /shop.v1.Users/Chat}
  response:
    grpc: {push: true, echo: true}
- request: {pathPrefix: /shop.v1.Users/}
  response:
    grpc: {afterMessages: 1}
- request: {path: /shop.v1.Users/ListUsers}
  response:
    grpc: {repeat: 2}
- request: {path: /shop.v1.Users/Chat}
  responses:
    - grpc: {push: true, stream: [{body: {text: a}}]}
    - grpc: {stream: [{body: {text: b}}]}
`, []string{
			`stubs.yaml:4: [0].response.grpc.afterMessages: shop.v1.Users.GetUser is not client-streaming`,
			`stubs.yaml:7: [1].response.grpc.push: shop.v1.Users.ImportUsers is not bidirectional-streaming`,
			`stubs.yaml:7: [1].response.grpc.repeat: -1 is not between 1 and 1000000`,
			`stubs.yaml:10: [2].response.grpc.push: push sends grpc.stream when the call opens`,
			`stubs.yaml:13: [3].response.grpc.afterMessages: needs request.path naming one client-streaming method`,
			`stubs.yaml:16: [4].response.grpc.repeat: repeat sends grpc.stream again`,
			`stubs.yaml:20: [5].responses[1].grpc: afterMessages and push apply to the whole stub`,
		}},
		{"sequence", `
- request: {path: /shop.v1.Users/GetUser}
  responses:
    - body: {id: 1}
    - body: {id: [2]}
`, []string{`stubs.yaml:5: [0].responses[1].body.id: want an integer, got an array`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, _, err := config.BuildBytes("stubs.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatalf("the engine refused the stubs: %v", err)
			}
			errs := grpcfront.Check(set, l.Sources)
			if errs == nil {
				t.Fatal("no problem reported")
			}
			got := l.Locate(errs).Error()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			if n := strings.Count(got, "\n") + 1; n != len(tc.want) {
				t.Errorf("%d problems, want %d:\n%s", n, len(tc.want), got)
			}
		})
	}
}

// TestCheckRequiredFields: a stub body without a required field is
// refused at load, for proto2 required and Editions LEGACY_REQUIRED alike
// (the client would fail to decode the answer).
func TestCheckRequiredFields(t *testing.T) {
	t.Parallel()
	set, err := protoload.LoadSources(map[string]string{
		"ed.proto": `edition = "2023";
package ed;
message E { string s = 1; int32 req = 2 [features.field_presence = LEGACY_REQUIRED]; }
message Q {}
service ESvc { rpc Get(Q) returns (E); }
`,
		"p2.proto": `syntax = "proto2";
package p2;
message P { optional string s = 1; required int32 req = 2; }
message Q {}
service PSvc { rpc Get(Q) returns (P); }
`})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, yaml, want string }{
		{"editions LEGACY_REQUIRED", "- request: {path: /ed.ESvc/Get}\n  response: {body: {s: x}}\n", "stubs.yaml:2: [0].response.body: not a valid ed.E: required field ed.E.req not set"},
		{"proto2 required", "- request: {path: /p2.PSvc/Get}\n  response: {body: {s: x}}\n", "stubs.yaml:2: [0].response.body: not a valid p2.P: required field p2.P.req not set"},
		{"editions set", "- request: {path: /ed.ESvc/Get}\n  response: {body: {s: x, req: 0}}\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := config.LoadStubBytes("stubs.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			errs := grpcfront.Check(set, l.Sources)
			switch {
			case tc.want == "" && errs != nil:
				t.Fatal(l.Locate(errs))
			case tc.want != "" && errs == nil:
				t.Fatal("no problem reported")
			case tc.want != "" && !strings.Contains(l.Locate(errs).Error(), tc.want):
				t.Errorf("got %v, want %q", l.Locate(errs), tc.want)
			}
		})
	}
}

func TestCheckAcceptsValidStubsAndLeavesHTTPStubsAlone(t *testing.T) {
	t.Parallel()
	l, _, err := config.BuildBytes("stubs.yaml", []byte(unaryStubs+`
- request: {method: GET, path: /users/42}
  response: {status: 404, body: {error: nope}}
- request: {path: /v1.0/Things/Get}
  response: {body: [1, 2]}
- request: {pathPrefix: /}
  priority: 9
  response: {grpc: {status: UNAVAILABLE, message: down for maintenance}}
- request: {path: /shop.v1.Users/GetUser}
  response: {bodyBase64: CCo=}
`))
	if err != nil {
		t.Fatal(err)
	}
	if errs := grpcfront.Check(shopSet(t), l.Sources); errs != nil {
		t.Fatal(l.Locate(errs))
	}
	// Without .proto files, a grpc section is an error, the rest is not.
	errs := grpcfront.Check(nil, l.Sources)
	if got := l.Locate(errs).Error(); !strings.Contains(got, "stubs.yaml:39: [4].response.grpc: no .proto files were given") || strings.Count(got, "\n") != 2 {
		t.Errorf("without protos:\n%s", got)
	}
}

// An OpenAPI document whose paths are gRPC method paths (the HTTP routes
// of a Connect or grpc-gateway API) is served beside the .proto files: its
// stubs answer HTTP, are not checked as gRPC stubs, and a gRPC call to the
// method gets a generated message.
func TestOpenAPIStubsAtMethodPaths(t *testing.T) {
	t.Parallel()
	doc := `openapi: 3.0.3
info: {title: shop, version: "1"}
paths:
  /shop.v1.Users/GetUser:
    post:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, properties: {name: {type: string}}}
              example: {name: from the document}
`
	l, _, err := config.BuildBytes("shop.openapi.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Sources) == 0 || !l.Sources[0].Stub.HTTPOnly {
		t.Fatalf("sources %+v: want HTTP-only stubs", l.Sources)
	}
	if errs := grpcfront.Check(shopSet(t), l.Sources); errs != nil {
		t.Fatal(l.Locate(errs))
	}
	// Read back as the admin API shows it and sent again, the stub stays
	// HTTP-only: checked as a gRPC stub, its JSON body would be refused.
	raw, err := json.Marshal(l.Sources[0].Stub)
	if err != nil {
		t.Fatal(err)
	}
	var again stub.Stub
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&again); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	if !again.HTTPOnly {
		t.Fatalf("%s: HTTPOnly lost on the way back", raw)
	}
	s := start(t, doc)
	out := s.out(t, "shop.v1.User")
	if err := s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 1}`), out); err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if out.Get(out.Descriptor().Fields().ByName("name")).String() == "" {
		t.Errorf("GetUser answered %v: want a generated user", out)
	}
}

// TestHTTPStubsLeaveGRPCCalls: stubs that answer HTTP only (httpOnly, a
// catch-all or a prefix without a grpc section), ranked before a method's
// gRPC stub, leave its calls to it; a catch-all with a grpc section
// answers them.
func TestHTTPStubsLeaveGRPCCalls(t *testing.T) {
	t.Parallel()
	const grpcStub = `
- id: get-user
  request: {path: /shop.v1.Users/GetUser}
  response: {body: {name: Ada}}
`
	for _, tt := range []struct {
		name, stubs, want string
		code              codes.Code
	}{
		{"httpOnly at the method's path", `
- id: connect
  httpOnly: true
  priority: 1
  request: {method: POST, path: /shop.v1.Users/GetUser}
  response: {body: {name: connect}}
` + grpcStub, "Ada", codes.OK},
		{"a catch-all for HTTP", `
- id: maintenance
  priority: 1
  request: {path: "*"}
  response: {status: 503, body: {error: maintenance}}
` + grpcStub, "Ada", codes.OK},
		{"a prefix for HTTP", `
- id: maintenance
  priority: 1
  request: {pathPrefix: /shop.v1.Users/}
  response: {status: 503}
` + grpcStub, "Ada", codes.OK},
		{"a catch-all with a grpc section", `
- id: maintenance
  priority: 1
  request: {path: "*"}
  response: {grpc: {status: UNAVAILABLE, message: down}}
` + grpcStub, "", codes.Unavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, tt.stubs)
			out := s.out(t, "shop.v1.User")
			err := s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 1}`), out)
			if status.Code(err) != tt.code {
				t.Fatalf("GetUser: %v, want %v", err, tt.code)
			}
			if got := out.Get(out.Descriptor().Fields().ByName("name")).String(); err == nil && got != tt.want {
				t.Errorf("GetUser answered name %q, want %q", got, tt.want)
			}
		})
	}
}
