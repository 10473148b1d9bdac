package cli_test

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"go/build"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/external"
	"github.com/decoy-dev/decoy/internal/pki"
)

const interopExample = "../../examples/grpc-interop"

// interopCases are the test cases of grpc-go's interop client that
// examples/grpc-interop passes; docs/grpc.md lists them, and those it
// does not pass.
var interopCases = []string{
	"empty_unary", "large_unary", "client_streaming", "server_streaming",
	"ping_pong", "empty_stream", "timeout_on_sleeping_server",
	"cancel_after_begin", "cancel_after_first_response",
	"status_code_and_message", "special_status_message", "custom_metadata",
	"unimplemented_method", "unimplemented_service", "pick_first_unary",
	"orca_per_rpc", "rpc_soak", "channel_soak",
}

// interopPackage is the import path of grpc-go's interop client.
const interopPackage = "google.golang.org/grpc/interop/client"

// interopClient returns the path of grpc-go's interop client:
// $DECOY_GRPC_INTEROP_CLIENT, or bin/grpc-interop/client under GOPATH,
// where .ci/run installs it (GOBIN=$(go env GOPATH)/bin/grpc-interop go
// install google.golang.org/grpc/interop/client@v1.85.0). It is not looked
// up on PATH: "client" could be any program. The test skips when it is
// missing, and fails under CI (DECOY_REQUIRE_EXTERNAL=1).
func interopClient(t *testing.T) string {
	t.Helper()
	var paths []string
	if p := os.Getenv("DECOY_GRPC_INTEROP_CLIENT"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("DECOY_GRPC_INTEROP_CLIENT: %v", err)
		}
		paths = append(paths, p)
	}
	for _, dir := range filepath.SplitList(build.Default.GOPATH) {
		paths = append(paths, filepath.Join(dir, "bin", "grpc-interop", "client"))
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		info, err := buildinfo.ReadFile(p)
		if err != nil || info.Path != interopPackage {
			t.Fatalf("%s is not grpc-go's interop client (%s): install it with GOBIN=$(go env GOPATH)/bin/grpc-interop go install %s@v1.85.0", p, interopPackage, interopPackage)
		}
		t.Logf("%s: %s %s", p, info.Main.Path, info.Main.Version)
		return p
	}
	if external.Required() {
		t.Fatalf("grpc-go's interop client is required (DECOY_REQUIRE_EXTERNAL=1) but not installed (looked for %v)", paths)
	}
	t.Skipf("grpc-go's interop client is not installed (looked for %v)", paths)
	return ""
}

// cancelRace is how cancel_after_begin fails when the client loses a race
// of its own: grpc-go's client cancels the call's context, then sends the
// end of its stream without looking at that context, and hands over a
// message that has arrived before the context's error. When the client's
// goroutine that resets the stream runs late (a busy machine), the server
// sees the stream's end first and answers it, as grpc-go's own interop
// server does, and the answer reaches the client before it reads: OK, not
// CANCELLED. A server that answers OK every time still fails all tries.
var cancelRace = []byte("CloseAndRecv() got error code 0, want 1")

// TestGRPCInteropClient serves examples/grpc-interop through the CLI and
// runs grpc-go's interop client against it for every case the example
// passes: in cleartext, and over TLS (decoy's CA, a certificate for the
// name the client asks for) on the gRPC port and on the TLS port, and in
// cleartext on the HTTP port.
func TestGRPCInteropClient(t *testing.T) {
	t.Parallel()
	client := interopClient(t)
	xdg := t.TempDir()
	vars := map[string]string{"XDG_CONFIG_HOME": xdg}
	if code, out := run(t, vars, "certs"); code != 0 {
		t.Fatalf("decoy certs: exit %d\n%s", code, out)
	}
	ca := filepath.Join(xdg, "decoy", pki.CACertFile)
	a, _ := serve(t, vars, interopExample)
	if a.GRPCAddr == nil || a.HTTPSAddr == nil || a.HTTPAddr == nil {
		t.Fatal("no gRPC, TLS or HTTP listener")
	}
	tlsArgs := []string{"--use_tls", "--use_test_ca", "--ca_file=" + ca, "--server_host_override=foo.test.google.fr"}
	targets := []struct {
		name string
		addr net.Addr
		args []string
	}{
		{"h2c", a.GRPCAddr, nil},
		{"tls-grpc-port", a.GRPCAddr, tlsArgs},
		{"tls-port", a.HTTPSAddr, tlsArgs},
		{"h2c-http-port", a.HTTPAddr, nil},
	}
	for _, tg := range targets {
		host, port, err := net.SplitHostPort(tg.addr.String())
		if err != nil {
			t.Fatal(err)
		}
		// The targets run side by side, each one's cases one after the
		// other: 72 clients started at once, on a machine busy with the
		// rest of the tests, would test the machine.
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range interopCases {
				t.Run(c, func(t *testing.T) {
					args := append([]string{
						"--server_host=" + host, "--server_port=" + port, "--test_case=" + c,
						// As grpc-go's own interop run: the load-report
						// policy orca_per_rpc needs, harmless to the others.
						`--service_config_json={"loadBalancingConfig": [{"test_backend_metrics_load_balancer": {}}]}`,
						// The soak cases fail an iteration slower than 1 s by
						// default; the machine's speed is not under test.
						"--soak_per_iteration_max_acceptable_latency_ms=60000", "--soak_overall_timeout_seconds=300",
					}, tg.args...)
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
					defer cancel()
					for try := 1; ; try++ {
						out, err := exec.CommandContext(ctx, client, args...).CombinedOutput()
						if err == nil {
							break
						}
						if c == "cancel_after_begin" && try < 3 && bytes.Contains(out, cancelRace) {
							t.Logf("try %d lost the client's own race, again: %s", try, out)
							continue
						}
						t.Errorf("interop client %s: %v\n%s", c, err, out)
						break
					}
				})
			}
		})
	}
}

// TestGRPCInteropDocs: the cases docs/grpc.md says examples/grpc-interop
// passes are those TestGRPCInteropClient runs.
func TestGRPCInteropDocs(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/grpc.md")
	if err != nil {
		t.Fatal(err)
	}
	var passes []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| passes").FindAllStringSubmatch(string(doc), -1) {
		passes = append(passes, m[1])
	}
	want := slices.Clone(interopCases)
	slices.Sort(passes)
	slices.Sort(want)
	if !slices.Equal(passes, want) {
		t.Errorf("docs/grpc.md says the example passes\n%v\nthe test runs\n%v", passes, want)
	}
}
