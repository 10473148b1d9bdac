package grpcfront_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestNotHTTP2OnGRPCPort: an HTTP/1.1 request to the cleartext gRPC port
// gets an HTTP/1.1 answer naming the HTTP port, a TLS handshake a close
// with nothing written, and gRPC goes on as before.
func TestNotHTTP2OnGRPCPort(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, http, want string }{
		{"with an HTTP port", "127.0.0.1:8080", "served on the HTTP port, 127.0.0.1:8080"},
		{"without", "", "decoy serves no HTTP port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, "", opts{http: tc.http})
			c, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, "POST /shop.v1.Users/GetUser HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusHTTPVersionNotSupported || !strings.Contains(string(body), "decoy's gRPC port") || !strings.Contains(string(body), tc.want) {
				t.Errorf("%s %q", resp.Status, body)
			}
		})
	}
	t.Run("TLS", func(t *testing.T) {
		t.Parallel()
		s := start(t, "")
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// The start of a ClientHello record.
		if _, err := c.Write([]byte{0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b}); err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(c); len(b) != 0 {
			t.Errorf("got % x, want a close", b)
		}
		if _, err := healthpb.NewHealthClient(s.conn).Check(ctx(t), &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
	})
}
