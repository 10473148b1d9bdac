//lint:file-ignore SA1019 decoy serves reflection v1alpha too: older clients (grpcurl before 1.8.8) only speak it.

package grpcfront_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/stub"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

func compact(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	err := json.Compact(&buf, b)
	return buf.Bytes(), err
}

const (
	getUser     = "/shop.v1.Users/GetUser"
	listUsers   = "/shop.v1.Users/ListUsers"
	importUsers = "/shop.v1.Users/ImportUsers"
	chat        = "/shop.v1.Users/Chat"
)

const unaryStubs = `
- id: ada
  request:
    path: /shop.v1.Users/GetUser
    headers: {x-tenant: acme}
    body: {jsonPath: [{path: $.id, equals: 42}]}
  response:
    headers: {x-served-by: decoy, x-trace-bin: AQID}
    body:
      id: 42
      name: Ada Lovelace
      role: ROLE_ADMIN
      createdAt: "2024-01-15T09:30:00Z"
      tags: [math, engines]
      address: {city: London, country: GB}
      labels: {team: analytics}
    grpc:
      trailers: {x-cost: "3"}
- id: missing
  request:
    path: /shop.v1.Users/GetUser
    body: {jsonPath: [{path: $.id, equals: 404}]}
  response:
    grpc:
      status: INVALID_ARGUMENT
      message: id 404 is not a valid user id
      details:
        - "@type": type.googleapis.com/google.rpc.BadRequest
          fieldViolations:
            - {field: id, description: must be below 100}
      trailers: {x-reason: test}
`

func TestUnaryStubWithMetadataAndTrailers(t *testing.T) {
	t.Parallel()
	s := start(t, unaryStubs)
	c := metadata.AppendToOutgoingContext(ctx(t), "x-tenant", "acme")
	out := s.out(t, "shop.v1.User")
	var header, trailer metadata.MD
	err := s.conn.Invoke(c, getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 42}`), out, grpc.Header(&header), grpc.Trailer(&trailer))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"42","name":"Ada Lovelace","role":"ROLE_ADMIN","createdAt":"2024-01-15T09:30:00Z","tags":["math","engines"],"address":{"city":"London","country":"GB"},"labels":{"team":"analytics"}}`
	if got := jsonOf(t, out); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := header.Get("x-served-by"); len(got) != 1 || got[0] != "decoy" {
		t.Errorf("header x-served-by = %q", got)
	}
	if got := header.Get("x-trace-bin"); len(got) != 1 || got[0] != "\x01\x02\x03" {
		t.Errorf("header x-trace-bin = %q", got)
	}
	if got := trailer.Get("x-cost"); len(got) != 1 || got[0] != "3" {
		t.Errorf("trailer x-cost = %q", got)
	}

	// Without the tenant metadata the stub does not match: a generated
	// answer instead.
	out2 := s.out(t, "shop.v1.User")
	if err := s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 42}`), out2); err != nil {
		t.Fatal(err)
	}
	if jsonOf(t, out2) == want {
		t.Error("the stub matched without its x-tenant metadata")
	}
}

func TestStatusWithDetails(t *testing.T) {
	t.Parallel()
	s := start(t, unaryStubs)
	var trailer metadata.MD
	err := s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 404}`), s.out(t, "shop.v1.User"), grpc.Trailer(&trailer))
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument || st.Message() != "id 404 is not a valid user id" {
		t.Fatalf("status = %v", st)
	}
	details := st.Details()
	if len(details) != 1 {
		t.Fatalf("details = %v", details)
	}
	br, ok := details[0].(*errdetails.BadRequest)
	if !ok || len(br.FieldViolations) != 1 || br.FieldViolations[0].Field != "id" || br.FieldViolations[0].Description != "must be below 100" {
		t.Errorf("details[0] = %#v", details[0])
	}
	if got := trailer.Get("x-reason"); len(got) != 1 || got[0] != "test" {
		t.Errorf("trailer x-reason = %q", got)
	}
}

func TestGeneratedAnswerIsDeterministicAndFull(t *testing.T) {
	t.Parallel()
	s := start(t, "")
	call := func(id string) string {
		out := s.out(t, "shop.v1.User")
		if err := s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": `+id+`}`), out); err != nil {
			t.Fatal(err)
		}
		return jsonOf(t, out)
	}
	a, b, other := call("1"), call("1"), call("2")
	if a != b {
		t.Errorf("the same request got two answers:\n%s\n%s", a, b)
	}
	if a == other {
		t.Errorf("different requests got the same answer: %s", a)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(a), &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"id", "name", "email", "role", "createdAt", "tags", "address", "labels", "manager"} {
		if _, ok := m[f]; !ok {
			t.Errorf("generated message has no %s: %s", f, a)
		}
	}
	_, phone := m["phone"]
	_, pager := m["pager"]
	if phone == pager {
		t.Errorf("want exactly one field of the oneof: %s", a)
	}
	if !strings.Contains(m["email"].(string), "@example.com") {
		t.Errorf("email = %v", m["email"])
	}
}

// streamOf opens a stream of any kind on method.
func streamOf(t *testing.T, s *server, c context.Context, method string, client, srv bool) grpc.ClientStream {
	t.Helper()
	cs, err := s.conn.NewStream(c, &grpc.StreamDesc{ClientStreams: client, ServerStreams: srv}, method)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestServerStreamingWithDelaysAndErrorMidStream(t *testing.T) {
	t.Parallel()
	s := start(t, `
- request: {path: /shop.v1.Users/ListUsers, body: {json: {pageSize: 2}}}
  response:
    delay: 20ms
    grpc:
      interval: 30ms
      stream:
        - body: {id: 1, name: Ada}
        - body: {id: 2, name: Alan}
        - body: {id: 3, name: Grace}
          delay: 1ms
      status: UNAVAILABLE
      message: backend went away
`)
	cs := streamOf(t, s, ctx(t), listUsers, false, true)
	if err := cs.SendMsg(s.msg(t, "shop.v1.ListUsersRequest", `{"pageSize": 2}`)); err != nil {
		t.Fatal(err)
	}
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	var names []string
	var err error
	for {
		m := s.out(t, "shop.v1.User")
		if err = cs.RecvMsg(m); err != nil {
			break
		}
		names = append(names, m.Get(m.Descriptor().Fields().ByName("name")).String())
	}
	if got := strings.Join(names, ","); got != "Ada,Alan,Grace" {
		t.Errorf("messages = %s", got)
	}
	if st := status.Convert(err); st.Code() != codes.Unavailable || st.Message() != "backend went away" {
		t.Errorf("end = %v", err)
	}
	if took := time.Since(begin); took < 45*time.Millisecond {
		t.Errorf("the stream took %v; want at least the 20ms delay and one 30ms interval", took)
	}

	// No stub: three generated messages, then OK.
	cs = streamOf(t, s, ctx(t), listUsers, false, true)
	_ = cs.SendMsg(s.msg(t, "shop.v1.ListUsersRequest", `{"pageSize": 9}`))
	_ = cs.CloseSend()
	n := 0
	for {
		if err = cs.RecvMsg(s.out(t, "shop.v1.User")); err != nil {
			break
		}
		n++
	}
	if n != 3 || !errors.Is(err, io.EOF) {
		t.Errorf("generated stream: %d messages, end %v", n, err)
	}
}

func TestClientStreamingMatchesCollectedMessages(t *testing.T) {
	t.Parallel()
	s := start(t, `
- request:
    path: /shop.v1.Users/ImportUsers
    body: {jsonPath: [{path: "$[1].name", equals: Alan}]}
  response:
    body: {imported: 2, names: [Ada, Alan]}
`)
	send := func(users ...string) (string, error) {
		cs := streamOf(t, s, ctx(t), importUsers, true, false)
		for _, u := range users {
			if err := cs.SendMsg(s.msg(t, "shop.v1.User", u)); err != nil {
				t.Fatal(err)
			}
		}
		if err := cs.CloseSend(); err != nil {
			t.Fatal(err)
		}
		out := s.out(t, "shop.v1.ImportSummary")
		err := cs.RecvMsg(out)
		return jsonOf(t, out), err
	}
	got, err := send(`{"id": 1, "name": "Ada"}`, `{"id": 2, "name": "Alan"}`)
	if err != nil || got != `{"imported":2,"names":["Ada","Alan"]}` {
		t.Errorf("matching stream: %s, %v", got, err)
	}
	got, err = send(`{"id": 1, "name": "Ada"}`)
	if err != nil || got == `{"imported":2,"names":["Ada","Alan"]}` {
		t.Errorf("one message should not match the stub: %s, %v", got, err)
	}
}

func TestBidiScriptedAndEcho(t *testing.T) {
	t.Parallel()
	s := start(t, `
- request: {path: /shop.v1.Users/Chat, body: {jsonPath: [{path: $.text, equals: ping}]}}
  response: {body: {from: decoy, text: pong}}
- request: {path: /shop.v1.Users/Chat, body: {jsonPath: [{path: $.text, equals: twice}]}}
  response:
    grpc:
      stream: [{body: {text: one}}, {body: {text: two}}]
- request: {path: /shop.v1.Users/Chat, body: {jsonPath: [{path: $.text, equals: bye}]}}
  response:
    grpc: {status: ABORTED, message: conversation over}
- request: {path: /shop.v1.Users/Chat}
  priority: 9
  response: {grpc: {echo: true}}
`)
	cs := streamOf(t, s, ctx(t), chat, true, true)
	recv := func() string {
		m := s.out(t, "shop.v1.ChatMessage")
		if err := cs.RecvMsg(m); err != nil {
			t.Fatal(err)
		}
		return jsonOf(t, m)
	}
	say := func(text string) {
		if err := cs.SendMsg(s.msg(t, "shop.v1.ChatMessage", `{"from": "me", "text": "`+text+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	say("ping")
	if got := recv(); got != `{"from":"decoy","text":"pong"}` {
		t.Errorf("ping → %s", got)
	}
	say("hello")
	if got := recv(); got != `{"from":"me","text":"hello"}` {
		t.Errorf("echo → %s", got)
	}
	say("twice")
	if a, b := recv(), recv(); a != `{"text":"one"}` || b != `{"text":"two"}` {
		t.Errorf("twice → %s %s", a, b)
	}
	say("bye")
	err := cs.RecvMsg(s.out(t, "shop.v1.ChatMessage"))
	if st := status.Convert(err); st.Code() != codes.Aborted || st.Message() != "conversation over" {
		t.Errorf("bye → %v", err)
	}

	// The client ends the stream: OK.
	cs = streamOf(t, s, ctx(t), chat, true, true)
	say("ping")
	_ = recv()
	_ = cs.CloseSend()
	if err := cs.RecvMsg(s.out(t, "shop.v1.ChatMessage")); !errors.Is(err, io.EOF) {
		t.Errorf("after CloseSend: %v", err)
	}
}

func TestDelayLongerThanDeadline(t *testing.T) {
	t.Parallel()
	s := start(t, `
- request: {path: /shop.v1.Users/GetUser}
  response: {delay: 5s, body: {id: 1}}
`)
	c, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	begin := time.Now()
	err := s.conn.Invoke(c, getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 1}`), s.out(t, "shop.v1.User"))
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("err = %v", err)
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("took %v", took)
	}
}

func TestUnknownMethod(t *testing.T) {
	t.Parallel()
	s := start(t, "")
	for _, tc := range []struct{ method, want string }{
		{"/shop.v1.Users/Nope", "unknown method Nope for service shop.v1.Users (its methods: GetUser, ListUsers, ImportUsers, Chat)"},
		{"/shop.v1.Orders/Get", "unknown service shop.v1.Orders (decoy serves: shop.v1.Users)"},
	} {
		err := s.conn.Invoke(ctx(t), tc.method, s.msg(t, "shop.v1.GetUserRequest", `{}`), s.out(t, "shop.v1.User"))
		st := status.Convert(err)
		if st.Code() != codes.Unimplemented || st.Message() != tc.want {
			t.Errorf("%s: %v", tc.method, err)
		}
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	s := start(t, "")
	hc := healthpb.NewHealthClient(s.conn)
	for _, svc := range []string{"", "shop.v1.Users"} {
		r, err := hc.Check(ctx(t), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q) = %v, %v", svc, r, err)
		}
	}
	if _, err := hc.Check(ctx(t), &healthpb.HealthCheckRequest{Service: "nope.Svc"}); status.Code(err) != codes.NotFound {
		t.Errorf("Check(nope.Svc): %v", err)
	}
}

func TestReflection(t *testing.T) {
	t.Parallel()
	s := start(t, "")
	want := "grpc.health.v1.Health,grpc.reflection.v1.ServerReflection,grpc.reflection.v1alpha.ServerReflection,shop.v1.Users"

	// v1
	rc, err := reflectionv1.NewServerReflectionClient(s.conn).ServerReflectionInfo(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Send(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	r, err := rc.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sv := range r.GetListServicesResponse().GetService() {
		names = append(names, sv.Name)
	}
	sort.Strings(names)
	if got := strings.Join(names, ","); got != want {
		t.Errorf("v1 list = %s", got)
	}
	if err := rc.Send(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "shop.v1.Users"}}); err != nil {
		t.Fatal(err)
	}
	r, err = rc.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, b := range r.GetFileDescriptorResponse().GetFileDescriptorProto() {
		var fd descriptorpb.FileDescriptorProto
		if err := proto.Unmarshal(b, &fd); err != nil {
			t.Fatal(err)
		}
		files = append(files, fd.GetName())
	}
	sort.Strings(files)
	if got := strings.Join(files, ","); got != "google/protobuf/timestamp.proto,shop/v1/shop.proto" {
		t.Errorf("files for shop.v1.Users = %s", got)
	}
	_ = rc.CloseSend()

	// v1alpha
	ra, err := reflectionv1alpha.NewServerReflectionClient(s.conn).ServerReflectionInfo(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := ra.Send(&reflectionv1alpha.ServerReflectionRequest{MessageRequest: &reflectionv1alpha.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	ar, err := ra.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ar.GetListServicesResponse().GetService()); n != 4 {
		t.Errorf("v1alpha lists %d services", n)
	}
	_ = ra.CloseSend()
}

func TestJournalRecordsCalls(t *testing.T) {
	t.Parallel()
	s := start(t, unaryStubs, opts{journal: 100})
	c := metadata.AppendToOutgoingContext(ctx(t), "x-tenant", "acme", "x-trace-bin", "\x00\x01\x02\xff")
	if err := s.conn.Invoke(c, getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 42}`), s.out(t, "shop.v1.User")); err != nil {
		t.Fatal(err)
	}
	_ = s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 404}`), s.out(t, "shop.v1.User"))
	_ = s.conn.Invoke(ctx(t), "/shop.v1.Users/Nope", s.msg(t, "shop.v1.GetUserRequest", `{}`), s.out(t, "shop.v1.User"))
	es := s.journal.Find(journal.Filter{})
	if len(es) != 3 {
		t.Fatalf("journal holds %d entries", len(es))
	}
	// Newest first.
	nope, missing, ada := es[0], es[1], es[2]
	if ada.Proto != "gRPC" || ada.Method != "POST" || ada.Path != getUser || ada.Stub != "ada" || ada.Status != 200 || grpcCode(ada) != 0 || ada.Body != `{"id":42}` {
		t.Errorf("ada entry = %+v", ada)
	}
	if got := ada.Headers["X-Tenant"]; len(got) != 1 || got[0] != "acme" {
		t.Errorf("ada headers = %v", ada.Headers)
	}
	// Binary metadata in base64, as sent.
	if got := ada.Headers["X-Trace-Bin"]; len(got) != 1 || got[0] != "AAEC/w==" {
		t.Errorf("ada headers = %v, want X-Trace-Bin AAEC/w==", ada.Headers)
	}
	if ada.BytesOut == 0 || ada.BytesIn != 2 || ada.Remote == "" {
		t.Errorf("ada bytes/remote = %d %d %q", ada.BytesIn, ada.BytesOut, ada.Remote)
	}
	if missing.Stub != "missing" || grpcCode(missing) != int(codes.InvalidArgument) {
		t.Errorf("missing entry = %+v", missing)
	}
	if nope.Stub != "" || grpcCode(nope) != int(codes.Unimplemented) || nope.Path != "/shop.v1.Users/Nope" {
		t.Errorf("nope entry = %+v", nope)
	}
}

func TestStubsAddedAtRuntime(t *testing.T) {
	t.Parallel()
	s := start(t, "")
	body, err := stub.JSONValue([]byte(`{"id": 7, "name": "Runtime"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.Create(stub.Stub{Request: stub.Request{Path: getUser}, Response: &stub.Response{Body: body}}, "api"); err != nil {
		t.Fatal(err)
	}
	out := s.out(t, "shop.v1.User")
	if err := s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{}`), out); err != nil {
		t.Fatal(err)
	}
	if got := jsonOf(t, out); got != `{"id":"7","name":"Runtime"}` {
		t.Errorf("got %s", got)
	}
	// A stub the .proto files contradict is refused by the call, not by
	// the admin API (which does not know them): INTERNAL, naming the field.
	bad, _ := stub.JSONValue([]byte(`{"nmae": "x"}`))
	if _, err := s.store.Create(stub.Stub{ID: "bad", Priority: 1, Request: stub.Request{Path: getUser}, Response: &stub.Response{Body: bad}}, "api"); err != nil {
		t.Fatal(err)
	}
	err = s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{}`), out)
	if st := status.Convert(err); st.Code() != codes.Internal || !strings.Contains(st.Message(), `unknown field "nmae"`) || !strings.Contains(st.Message(), "stub bad") {
		t.Errorf("bad stub: %v", err)
	}
}

// dynamic is a compile-time check that the tests use dynamic messages only.
var _ = dynamicpb.NewMessage

// TestServeHTTP serves gRPC through Go's own HTTP/2 server over TLS, the
// way a TLS port shared with HTTP would hand gRPC requests over.
func TestServeHTTP(t *testing.T) {
	t.Parallel()
	s := start(t, unaryStubs)
	hs := httptest.NewUnstartedServer(s.front)
	hs.EnableHTTP2 = true
	hs.StartTLS()
	t.Cleanup(hs.Close)
	pool := x509.NewCertPool()
	pool.AddCert(hs.Certificate())
	conn, err := grpc.NewClient("passthrough:///"+hs.Listener.Addr().String(),
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "example.com", MinVersion: tls.VersionTLS12})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := metadata.AppendToOutgoingContext(ctx(t), "x-tenant", "acme")
	out := s.out(t, "shop.v1.User")
	if err := conn.Invoke(c, getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 42}`), out); err != nil {
		t.Fatal(err)
	}
	if got := jsonOf(t, out); !strings.Contains(got, `"name":"Ada Lovelace"`) {
		t.Errorf("got %s", got)
	}
	err = conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 404}`), out)
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || len(st.Details()) != 1 {
		t.Errorf("status over ServeHTTP: %v", err)
	}
}

// TestStatsPerStub: gRPC calls count in the engine's per-stub statistics
// (what /metrics reports), as HTTP requests do.
func TestStatsPerStub(t *testing.T) {
	t.Parallel()
	s := start(t, unaryStubs)
	c := metadata.AppendToOutgoingContext(ctx(t), "x-tenant", "acme")
	for i := 0; i < 3; i++ {
		if err := s.conn.Invoke(c, getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 42}`), s.out(t, "shop.v1.User")); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 1}`), s.out(t, "shop.v1.User"))
	ada := s.store.Engine().Snapshot().Get("ada").Stats().Read()
	if ada.Requests() != 3 || ada.BytesIn != 6 || ada.BytesOut == 0 {
		t.Errorf("ada stats = %+v", ada)
	}
	if un := s.store.Engine().Unmatched().Read(); un.Requests() != 1 {
		t.Errorf("unmatched stats = %+v", un)
	}
}
