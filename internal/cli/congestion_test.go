//go:build linux

package cli_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/external"
	"golang.org/x/sys/unix"
)

// TestServeTCPCongestion: the connections decoy accepts on its HTTP port
// (decoy's epoll loops) and its TLS port (fasthttp) have the congestion
// control tcp-congestion asks for, as ss sees them on decoy's side.
func TestServeTCPCongestion(t *testing.T) {
	t.Parallel()
	ss := external.Program(t, "ss")
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_congestion_control")
	if err != nil {
		t.Skipf("the kernel's default congestion control: %v", err)
	}
	def := strings.TrimSpace(string(b))
	auto := def
	if strings.HasPrefix(def, "bbr") {
		avail, _ := os.ReadFile("/proc/sys/net/ipv4/tcp_available_congestion_control")
		allowed, _ := os.ReadFile("/proc/sys/net/ipv4/tcp_allowed_congestion_control")
		auto = "reno"
		if slices.Contains(strings.Fields(string(avail)), "cubic") && (unix.Geteuid() == 0 || slices.Contains(strings.Fields(string(allowed)), "cubic")) {
			auto = "cubic"
		}
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"reno", []string{"--tcp-congestion", "reno"}, "reno"},
		{"default (auto)", nil, auto},
		{"system", []string{"--tcp-congestion", "system"}, def},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, _ := serve(t, nil, append([]string{"--quiet"}, tt.args...)...)
			for _, port := range []struct {
				addr net.Addr
				tls  bool
			}{{a.HTTPAddr, false}, {a.HTTPSAddr, true}} {
				c := heldConn(t, port.addr, port.tls)
				sport := port.addr.(*net.TCPAddr).Port
				out, err := exec.Command(ss, "-tinH", "state", "established", "( sport = :"+strconv.Itoa(sport)+" )").CombinedOutput()
				if err != nil {
					t.Fatalf("ss: %v\n%s", err, out)
				}
				// One connection: its address line, then its TCP info,
				// which names the algorithm among its words.
				if !slices.Contains(strings.Fields(string(out)), tt.want) {
					t.Errorf("%s (tls %v): ss shows no %q on decoy's side (the kernel's default: %s):\n%s", port.addr, port.tls, tt.want, def, out)
				}
				_ = c.Close()
			}
		})
	}
}

// heldConn makes one request on a keep-alive connection to addr, reads
// the answer and returns the connection, still open.
func heldConn(t *testing.T, addr net.Addr, useTLS bool) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	if useTLS {
		c = tls.Client(c, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost", NextProtos: []string{"http/1.1"}})
	}
	if _, err := io.WriteString(c, "GET /users HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /users: %s", resp.Status)
	}
	return c
}
