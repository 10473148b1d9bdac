package httpfront_test

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/decoy-dev/decoy/internal/external"
	"github.com/decoy-dev/decoy/internal/httpfront"
)

// TestH2specOnBothPorts runs the HTTP/2 conformance suite h2spec against
// the plaintext port, which tells HTTP/2 with prior knowledge from
// HTTP/1.1 by the first bytes, and against the TLS port (ALPN h2): every
// case passes on both, including an invalid preface on the shared port,
// with and without a gRPC front door (.proto files loaded, as in the
// demo), which both ports then serve too. It runs alone (not in
// parallel): some cases wait for an answer, and a machine busy with the
// other tests could make them time out.
func TestH2specOnBothPorts(t *testing.T) {
	h2spec := h2specPath(t)
	plain := start(t, httpfront.Options{})
	withGRPC := start(t, httpfront.Options{GRPC: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Grpc-Status", "12")
	})})
	for _, tc := range []struct {
		name string
		addr string
		tls  []string
	}{
		{"h2c", plain.http, nil}, {"tls", plain.https, []string{"-t", "-k"}},
		{"h2c with gRPC", withGRPC.http, nil}, {"tls with gRPC", withGRPC.https, []string{"-t", "-k"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, port, _ := net.SplitHostPort(tc.addr)
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

// h2specPath finds h2spec where `go install` puts it or on PATH.
func h2specPath(t *testing.T) string {
	t.Helper()
	home, _ := os.UserHomeDir()
	return external.Program(t, "h2spec", filepath.Join(home, "go", "bin", "h2spec"))
}
