package app_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/app"
	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/demo"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/grpcfront"
	"github.com/decoy-dev/decoy/internal/journal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestGRPCMetrics: gRPC calls are counted by method and status code on
// the admin API's /metrics, and the metric is documented.
func TestGRPCMetrics(t *testing.T) {
	t.Parallel()
	a := startGRPC(t, func(s *config.Settings) {
		s.HTTP, s.HTTPS, s.Admin, s.GRPC = "127.0.0.1:0", "", "127.0.0.1:0", "127.0.0.1:0"
	})
	cc, err := grpc.NewClient("passthrough:///"+a.GRPCAddr.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// An empty message is a valid GetUserRequest: a generated answer.
	if err := cc.Invoke(ctx, "/decoy.demo.v1.Users/GetUser", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	r := &running{App: a, admin: "http://" + a.AdminAddr.String()}
	f := r.scrape(t)["decoy_grpc_requests_total"]
	if f == nil {
		t.Fatal("the scrape has no decoy_grpc_requests_total")
	}
	found := false
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["method"] == "/decoy.demo.v1.Users/GetUser" && labels["code"] == "OK" && m.GetCounter().GetValue() == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("no series for the call: %v", f)
	}
	doc, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "| `decoy_grpc_requests_total` |") {
		t.Error("decoy_grpc_requests_total is not documented in docs/metrics.md")
	}
}

// TestGRPCWebOverTLS: the HTTPS port answers gRPC-Web over HTTP/2.
func TestGRPCWebOverTLS(t *testing.T) {
	t.Parallel()
	a := startGRPC(t, func(s *config.Settings) { s.HTTP, s.HTTPS, s.Admin, s.GRPC = "", "127.0.0.1:0", "", "" })
	r := &running{App: a, roots: x509.NewCertPool()}
	r.roots.AppendCertsFromPEM(a.CAPEM)
	c := r.tls(true)
	// An empty GetUserRequest, framed: a generated user, then the trailers.
	req, err := http.NewRequest("POST", "https://"+a.HTTPSAddr.String()+"/decoy.demo.v1.Users/GetUser", bytes.NewReader([]byte{0, 0, 0, 0, 0}))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/grpc-web+proto")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || resp.Header.Get("Content-Type") != "application/grpc-web+proto" {
		t.Fatalf("%s %d %q", resp.Proto, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if len(b) < 5 || b[0] != 0 || !bytes.HasSuffix(b, []byte("grpc-status:0\r\n")) {
		t.Errorf("body %q: want a message, then trailers with grpc-status 0", b)
	}
}

// startGRPC starts an app serving the demo's .proto files and no stubs,
// with the listeners mod sets and the engine options opts.
func startGRPC(t testing.TB, mod func(*config.Settings), opts ...engine.Option) *app.App {
	t.Helper()
	return startGRPCStubs(t, "", mod, opts...)
}

// startGRPCStubs is startGRPC with the stubs of a YAML document.
func startGRPCStubs(t testing.TB, stubs string, mod func(*config.Settings), opts ...engine.Option) *app.App {
	t.Helper()
	var srcs []engine.Source
	if stubs != "" {
		l, err := config.LoadStubBytes("stubs.yaml", []byte(stubs))
		if err != nil {
			t.Fatal(err)
		}
		set, err := demo.Protos()
		if err != nil {
			t.Fatal(err)
		}
		if errs := grpcfront.Check(set, l.Sources); errs != nil {
			t.Fatal(l.Locate(errs))
		}
		srcs = l.Sources
	}
	return startGRPCSources(t, srcs, mod, opts...)
}

// startGRPCSources is startGRPC with srcs, built as decoy serve builds
// them beside the demo's .proto files.
func startGRPCSources(t testing.TB, srcs []engine.Source, mod func(*config.Settings), opts ...engine.Option) *app.App {
	t.Helper()
	set, err := demo.Protos()
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) > 0 {
		opts = append(opts, grpcfront.EngineOptions(set)...)
	}
	store, err := engine.NewStore(srcs, opts...)
	if err != nil {
		t.Fatal(err)
	}
	s := config.Defaults()
	s.Quiet = true
	mod(&s)
	a, err := app.Start(s, store, nil, app.WithProtos(set))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return a
}

// TestGRPCGzipClient: a grpc-go client that compresses its requests
// (grpc.UseCompressor(gzip.Name)) gets its answer, and the call is in the
// journal and the metrics. (Importing gzip here registers it for the
// server in this process too; grpcfront's TestGzipRequests sends gzip
// frames without it.)
func TestGRPCGzipClient(t *testing.T) {
	t.Parallel()
	a := startGRPC(t, func(s *config.Settings) {
		s.HTTP, s.HTTPS, s.Admin, s.GRPC = "", "", "127.0.0.1:0", "127.0.0.1:0"
	})
	cc, err := grpc.NewClient("passthrough:///"+a.GRPCAddr.String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.UseCompressor(gzip.Name)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// GetUserRequest{id: 42}, as an Int64Value has the same encoding.
	if err := cc.Invoke(ctx, "/decoy.demo.v1.Users/GetUser", wrapperspb.Int64(42), &emptypb.Empty{}); err != nil {
		t.Fatalf("a gzip-compressed call: %v", err)
	}
	r := &running{App: a, admin: "http://" + a.AdminAddr.String()}
	if got := r.scrape(t).value("decoy_grpc_requests_total", "method=/decoy.demo.v1.Users/GetUser,code=OK"); got != 1 {
		t.Errorf("decoy_grpc_requests_total for the call = %v, want 1", got)
	}
	var l struct{ Requests []journal.Entry }
	getJSON(t, r.admin+"/requests", &l)
	if len(l.Requests) != 1 || l.Requests[0].Body != `{"id":42}` || l.Requests[0].Status != 200 || l.Requests[0].GRPCStatus == nil || *l.Requests[0].GRPCStatus != 0 {
		t.Errorf("journal = %+v, want the call with body {\"id\":42}", l.Requests)
	}
}

// TestGRPCOnHTTPPort: the HTTP port serves native gRPC over h2c, as the
// gRPC port does: a unary call, and server reflection (a stream, as
// grpcurl list asks). Without .proto files a call there gets UNIMPLEMENTED
// at once, saying why, rather than the stubs' 404 or, for a stream, a wait
// for the end of a body its client never ends.
func TestGRPCOnHTTPPort(t *testing.T) {
	t.Parallel()
	a := startGRPC(t, func(s *config.Settings) {
		s.HTTP, s.HTTPS, s.Admin, s.GRPC = "127.0.0.1:0", "", "", "127.0.0.1:0"
	})
	cc, err := grpc.NewClient("passthrough:///"+a.HTTPAddr.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The answer is read as an Empty: its fields stay as raw bytes.
	var raw emptypb.Empty
	if err := cc.Invoke(ctx, "/decoy.demo.v1.Users/GetUser", wrapperspb.Int64(42), &raw); err != nil {
		t.Errorf("a call on the HTTP port: %v", err)
	}
	// No stubs: a generated User, with an email.
	if b := raw.ProtoReflect().GetUnknown(); !bytes.Contains(b, []byte("@example.com")) {
		t.Errorf("the call's answer %q, want a generated user", b)
	}
	st, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
	if err != nil {
		t.Fatal(err)
	}
	// ServerReflectionRequest{list_services: "*"} (field 7), as raw bytes.
	list := &emptypb.Empty{}
	list.ProtoReflect().SetUnknown(protoreflect.RawFields{0x3a, 0x01, '*'})
	if err := st.SendMsg(list); err != nil {
		t.Fatal(err)
	}
	var resp emptypb.Empty
	if err := st.RecvMsg(&resp); err != nil {
		t.Fatalf("reflection on the HTTP port: %v", err)
	}
	if b := resp.ProtoReflect().GetUnknown(); !bytes.Contains(b, []byte("decoy.demo.v1.Users")) {
		t.Errorf("reflection's list %q does not name decoy.demo.v1.Users", b)
	}
	// A message that does not parse (a length past its end): INTERNAL at
	// once, and the connection serves on.
	bad := &emptypb.Empty{}
	bad.ProtoReflect().SetUnknown(protoreflect.RawFields{0x0a, 0x7f, 'x'})
	if err := cc.Invoke(ctx, "/decoy.demo.v1.Users/GetUser", bad, &raw); status.Code(err) != codes.Internal {
		t.Errorf("a malformed message on the HTTP port: %v, want INTERNAL", err)
	}
	if err := cc.Invoke(ctx, "/decoy.demo.v1.Users/GetUser", wrapperspb.Int64(42), &raw); err != nil {
		t.Errorf("a call after the malformed one: %v", err)
	}

	// Without .proto files.
	store, err := engine.NewStore(nil)
	if err != nil {
		t.Fatal(err)
	}
	set := config.Defaults()
	set.Quiet = true
	set.HTTP, set.HTTPS, set.Admin, set.GRPC = "127.0.0.1:0", "", "", ""
	plain, err := app.Start(set, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Shutdown(context.Background())
	cc2, err := grpc.NewClient("passthrough:///"+plain.HTTPAddr.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc2.Close()
	err = cc2.Invoke(ctx, "/decoy.demo.v1.Users/GetUser", wrapperspb.Int64(42), &raw)
	if s := status.Convert(err); s.Code() != codes.Unimplemented || !strings.Contains(s.Message(), ".proto") {
		t.Errorf("a call without .proto files: %v, want UNIMPLEMENTED saying none is loaded", err)
	}
	st2, err := cc2.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
	if err != nil {
		t.Fatal(err)
	}
	// The stream's request body never ends: the answer must not wait for it.
	err = st2.RecvMsg(&resp)
	if s := status.Convert(err); s.Code() != codes.FailedPrecondition || !strings.Contains(s.Message(), ".proto") {
		t.Errorf("reflection without .proto files: %v, want FAILED_PRECONDITION saying none is loaded", err)
	}
}

// TestGRPCStatusJournalAndMetrics: a gRPC call's journal entry has the
// HTTP status 200, as decoy_requests_total counts it, and its gRPC code in
// grpcStatus, which the journal's grpcStatus filter selects by number or
// name; status takes HTTP statuses only, and says so.
func TestGRPCStatusJournalAndMetrics(t *testing.T) {
	t.Parallel()
	a := startGRPC(t, func(s *config.Settings) {
		s.HTTP, s.HTTPS, s.Admin, s.GRPC = "", "", "127.0.0.1:0", "127.0.0.1:0"
	})
	cc, err := grpc.NewClient("passthrough:///"+a.GRPCAddr.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cc.Invoke(ctx, "/decoy.demo.v1.Users/GetUser", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	if err := cc.Invoke(ctx, "/decoy.demo.v1.Users/Nope", &emptypb.Empty{}, &emptypb.Empty{}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("unknown method: %v", err)
	}
	r := &running{App: a, admin: "http://" + a.AdminAddr.String()}
	var l struct{ Requests []journal.Entry }
	for end := time.Now().Add(5 * time.Second); len(l.Requests) < 2 && time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		getJSON(t, r.admin+"/requests", &l)
	}
	for _, q := range []string{"grpcStatus=12", "grpcStatus=UNIMPLEMENTED", "grpcStatus=Unimplemented&status=200"} {
		getJSON(t, r.admin+"/requests?"+q, &l)
		if len(l.Requests) != 1 || l.Requests[0].Path != "/decoy.demo.v1.Users/Nope" || l.Requests[0].Status != 200 ||
			l.Requests[0].GRPCStatus == nil || *l.Requests[0].GRPCStatus != 12 {
			t.Errorf("%s: %+v", q, l.Requests)
		}
	}
	getJSON(t, r.admin+"/requests?grpcStatus=OK", &l)
	if len(l.Requests) != 1 || l.Requests[0].Path != "/decoy.demo.v1.Users/GetUser" {
		t.Errorf("grpcStatus=OK: %+v", l.Requests)
	}
	resp, err := http.Get(r.admin + "/requests?status=12")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !bytes.Contains(body, []byte("grpcStatus")) {
		t.Errorf("status=12: %d %s", resp.StatusCode, body)
	}
	// Both calls are unmatched: counted under the journal's status.
	f := r.scrape(t)
	if got := f.value("decoy_requests_total", "code=200,stub=-"); got != 2 {
		t.Errorf(`decoy_requests_total{code="200",stub="-"} = %v, want 2`, got)
	}
	if got := f.value("decoy_requests_total", "code=404,stub=-"); got > 0 {
		t.Errorf(`decoy_requests_total{code="404",stub="-"} = %v, want none`, got)
	}
}
