package cli_test

import (
	"bytes"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/external"
)

// TestDemoH2spec runs the HTTP/2 conformance suite h2spec against the
// built-in demo as `decoy serve` starts it, .proto file and all: every
// case passes on the HTTP port (h2c) and on the TLS port, which also
// carry the demo's gRPC service, and on the gRPC port, in cleartext and
// over TLS. It runs alone (not in parallel): some
// cases wait for an answer, and a machine busy with the other tests could
// make them time out.
func TestDemoH2spec(t *testing.T) {
	h2spec := h2specTool(t)
	a, _ := serve(t, nil)
	if a.Protos == nil {
		t.Fatal("the demo loads no .proto file")
	}
	for _, tc := range []struct {
		name string
		addr net.Addr
		tls  []string
	}{
		{"http", a.HTTPAddr, nil}, {"https", a.HTTPSAddr, []string{"-t", "-k"}},
		{"grpc", a.GRPCAddr, nil}, {"grpc-tls", a.GRPCAddr, []string{"-t", "-k"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, port, _ := net.SplitHostPort(tc.addr.String())
			args := append([]string{"-h", host, "-p", port, "-P", "/users/1", "-o", "10"}, tc.tls...)
			b, _ := exec.Command(h2spec, args...).CombinedOutput() // non-zero exit when a case fails
			m := regexp.MustCompile(`(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed`).FindSubmatch(b)
			if m == nil {
				t.Fatalf("no summary from h2spec:\n%s", b)
			}
			if string(m[4]) != "0" || string(m[1]) != string(m[2]) {
				if i := bytes.Index(b, []byte("Failures:")); i >= 0 {
					b = b[i:]
				}
				t.Errorf("h2spec: %s\n%s", m[0], b)
			}
		})
	}
}

// h2specTool finds h2spec where `go install` puts it or on PATH.
func h2specTool(t *testing.T) string {
	t.Helper()
	var paths []string
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		paths = append(paths, filepath.Join(strings.TrimSpace(string(out)), "bin", "h2spec"))
	}
	return external.Program(t, "h2spec", paths...)
}
