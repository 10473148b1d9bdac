package cli_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/cli"
	"github.com/decoy-dev/decoy/internal/external"
)

const grpcExample = "../../examples/grpc"

func TestCheckGRPC(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	badProto := write(t, dir, "badproto/api.proto", "syntax = \"proto3\";\npackage api;\nmessage A {\n  int32 x = 1\n}\n")
	badStub := write(t, dir, "badstub/stubs.yaml", "- request: {path: /shop.v1.Users/GetUsr}\n  response: {body: {id: 1}}\n- request: {path: /shop.v1.Users/GetUser}\n  response:\n    body:\n      id: 1\n      nmae: Ada\n")
	cases := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"example", []string{grpcExample}, 0, []string{"ok: 7 stubs in 1 files; 1 gRPC services in 2 .proto files"}},
		{"proto alone", []string{grpcExample + "/shop/v1/common.proto"}, 0, []string{"ok: 0 stubs in 0 files; 0 gRPC services in 1 .proto files"}},
		{"proto alone, importing by its package's path", []string{grpcExample + "/shop/v1/users.proto"}, 0, []string{"ok: 0 stubs in 0 files; 1 gRPC services in 2 .proto files"}},
		{"proto that does not compile", []string{badProto}, 2, []string{badProto + ":5:1: syntax error: expecting ';'"}},
		{"stubs against the protos", []string{grpcExample + "/shop/v1/users.proto", badStub}, 2, []string{
			badStub + ":1: [0].request.path: service shop.v1.Users has no method GetUsr",
			badStub + `:7: [1].response.body.nmae: unknown field "nmae" in shop.v1.User`,
		}},
		{"grpc stub without protos", []string{grpcExample + "/stubs.yaml"}, 2, []string{"stubs.yaml:", "no .proto files were given"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e, out, errOut := env(nil)
			code := cli.Main(context.Background(), append([]string{"check"}, c.args...), e)
			got := out.String() + errOut.String()
			if code != c.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, c.wantCode, got)
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

// TestServeGRPCWithGrpcurl serves examples/grpc through the CLI and talks
// to it with the real grpcurl, as docs/grpc.md does.
func TestServeGRPCWithGrpcurl(t *testing.T) {
	t.Parallel()
	grpcurl := external.Program(t, "grpcurl")
	a, banner := serve(t, nil, "--quiet=false", grpcExample)
	if a.GRPCAddr == nil {
		t.Fatal("no gRPC listener")
	}
	addr := a.GRPCAddr.String()
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, grpcurl, args...).CombinedOutput()
		return string(out), err
	}
	cases := []struct {
		name    string
		args    []string
		wantErr bool
		want    []string
	}{
		{"list", []string{"-plaintext", addr, "list"}, false, []string{
			"grpc.health.v1.Health\ngrpc.reflection.v1.ServerReflection\ngrpc.reflection.v1alpha.ServerReflection\nshop.v1.Users\n"}},
		{"describe", []string{"-plaintext", addr, "describe", "shop.v1.Users"}, false, []string{
			"shop.v1.Users is a service:",
			"// GetUser returns one user (unary).",
			"rpc GetUser ( .shop.v1.GetUserRequest ) returns ( .shop.v1.User );",
			"rpc Chat ( stream .shop.v1.ChatMessage ) returns ( stream .shop.v1.ChatMessage );"}},
		{"describe a message", []string{"-plaintext", addr, "describe", "shop.v1.User"}, false, []string{
			".google.protobuf.Timestamp created_at = 5;", ".shop.v1.Address address = 7;"}},
		{"unary", []string{"-plaintext", "-H", "x-tenant: acme", "-d", `{"id": 42}`, addr, "shop.v1.Users/GetUser"}, false, []string{
			`"name": "Ada Lovelace"`, `"role": "ROLE_ADMIN"`, `"createdAt": "2024-01-15T09:30:00Z"`, `"city": "London"`}},
		{"unary with headers and trailers", []string{"-plaintext", "-v", "-H", "x-tenant: acme", "-d", `{"id": 42}`, addr, "shop.v1.Users/GetUser"}, false, []string{
			"x-served-by: decoy", "Response trailers received:\nx-cost-units: 3"}},
		{"generated", []string{"-plaintext", "-d", `{"id": 7}`, addr, "shop.v1.Users/GetUser"}, false, []string{`"email": "user`}},
		{"status with details", []string{"-plaintext", "-d", `{"id": 0}`, addr, "shop.v1.Users/GetUser"}, true, []string{
			"Code: InvalidArgument", "Message: id must be set", `"@type": "type.googleapis.com/google.rpc.BadRequest"`, `"description": "must be a positive number"`}},
		{"deadline", []string{"-plaintext", "-max-time", "0.3", "-d", `{"id": 99}`, addr, "shop.v1.Users/GetUser"}, true, []string{"DeadlineExceeded"}},
		{"server streaming", []string{"-plaintext", "-d", `{}`, addr, "shop.v1.Users/ListUsers"}, true, []string{
			`"name": "Ada Lovelace"`, `"name": "Grace Hopper"`, "Code: Unavailable", "Message: the user store went away"}},
		{"client streaming", []string{"-plaintext", "-d", `{"name": "Ada Lovelace"} {"name": "Alan Turing"}`, addr, "shop.v1.Users/ImportUsers"}, false, []string{
			`"imported": 2`}},
		{"bidi", []string{"-plaintext", "-d", `{"text": "ping"} {"text": "hello"}`, addr, "shop.v1.Users/Chat"}, false, []string{
			`"text": "pong"`, `"text": "hello"`}},
		{"health", []string{"-plaintext", "-d", `{"service": "shop.v1.Users"}`, addr, "grpc.health.v1.Health/Check"}, false, []string{`"status": "SERVING"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out, err := run(c.args...)
			if (err != nil) != c.wantErr {
				t.Fatalf("grpcurl %s: %v\n%s", strings.Join(c.args, " "), err, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("grpcurl %s: output lacks %q:\n%s", strings.Join(c.args, " "), w, out)
				}
			}
		})
	}
	t.Run("banner", func(t *testing.T) {
		for _, w := range []string{"grpc ", "gRPC (h2c, and TLS as on https): shop.v1.Users", "gRPC    /shop.v1.Users/GetUser", "grpcurl -plaintext " + addr + " list"} {
			if !strings.Contains(banner.String(), w) {
				t.Errorf("banner lacks %q:\n%s", w, banner.String())
			}
		}
	})
}

// TestServeGRPCDemo: the built-in demo includes its gRPC service.
func TestServeGRPCDemo(t *testing.T) {
	t.Parallel()
	grpcurl := external.Program(t, "grpcurl")
	a, banner := serve(t, nil, "--quiet=false")
	if a.GRPCAddr == nil {
		t.Fatal("the demo serves no gRPC")
	}
	out, err := exec.Command(grpcurl, "-plaintext", "-d", `{"id": 42}`, a.GRPCAddr.String(), "decoy.demo.v1.Users/GetUser").CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"name": "Ada Lovelace"`) {
		t.Errorf("demo GetUser: %v\n%s", err, out)
	}
	if !strings.Contains(banner.String(), `grpcurl -plaintext -d '{"id":42}' `) || !strings.Contains(banner.String(), "HTTP/1.1, h2c, gRPC") {
		t.Errorf("banner:\n%s", banner.String())
	}
	// The HTTP and TLS ports answer the same calls.
	for _, args := range [][]string{{"-plaintext", a.HTTPAddr.String()}, {"-insecure", a.HTTPSAddr.String()}} {
		out, err := exec.Command(grpcurl, args[0], "-d", `{"id": 42}`, args[1], "decoy.demo.v1.Users/GetUser").CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"name": "Ada Lovelace"`) {
			t.Errorf("demo GetUser on %s: %v\n%s", args[1], err, out)
		}
	}
}

// TestGRPCDocExamples checks every ```yaml block of docs/grpc.md as a stub
// file served with examples/grpc's .proto files.
func TestGRPCDocExamples(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/grpc.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	var cur *strings.Builder
	for _, line := range strings.Split(string(doc), "\n") {
		switch {
		case cur == nil && line == "```yaml":
			cur = &strings.Builder{}
		case cur != nil && line == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	if len(blocks) < 3 {
		t.Fatalf("docs/grpc.md has %d yaml examples", len(blocks))
	}
	for i, b := range blocks {
		name := write(t, t.TempDir(), "example.yaml", b)
		e, out, errOut := env(nil)
		if code := cli.Main(context.Background(), []string{"check", grpcExample + "/shop/v1/users.proto", name}, e); code != 0 {
			t.Errorf("docs/grpc.md yaml example %d: exit %d\n%s%s\n%s", i+1, code, out, errOut, b)
		}
	}
}

// TestGRPCOverTLSPort: the TLS port answers gRPC too (and REST on the same
// port keeps working), so one TLS port serves both.
func TestGRPCOverTLSPort(t *testing.T) {
	t.Parallel()
	grpcurl := external.Program(t, "grpcurl")
	a, _ := serve(t, nil)
	https := a.HTTPSAddr.String()
	out, err := exec.Command(grpcurl, "-insecure", "-d", `{"id": 42}`, https, "decoy.demo.v1.Users/GetUser").CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"name": "Ada Lovelace"`) {
		t.Fatalf("GetUser over TLS: %v\n%s", err, out)
	}
	out, err = exec.Command(grpcurl, "-insecure", https, "list").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "decoy.demo.v1.Users") {
		t.Fatalf("list over TLS: %v\n%s", err, out)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + https + "/users")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Errorf("REST on the TLS port: %s %d", resp.Proto, resp.StatusCode)
	}
}

// TestAdminChecksGRPCStubs: a gRPC stub added through the admin API whose
// response names a field the message does not have is refused with 400, and
// nothing changes.
func TestAdminChecksGRPCStubs(t *testing.T) {
	t.Parallel()
	a, _ := serve(t, nil)
	admin := "http://" + a.AdminAddr.String() + "/stubs"
	bad := `{"request":{"path":"/decoy.demo.v1.Users/GetUser"},"response":{"body":{"nosuchfield":1}}}`
	resp, err := http.Post(admin, "application/json", strings.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "nosuchfield") {
		t.Fatalf("bad gRPC stub: %d %s", resp.StatusCode, b)
	}
	good := `{"id":"g","request":{"path":"/decoy.demo.v1.Users/GetUser"},"response":{"body":{"name":"Grace"}}}`
	resp, err = http.Post(admin, "application/json", strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("good gRPC stub: %d", resp.StatusCode)
	}
}
