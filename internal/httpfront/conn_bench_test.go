package httpfront

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/listen"
)

const closeRequest = "GET /users/42 HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"

// startLoopback serves s on a loopback listener opened as decoy opens its
// own, and returns its address; Shutdown runs when tb ends.
func startLoopback(tb testing.TB, s *Server) string {
	tb.Helper()
	ln, err := listen.Open("127.0.0.1:0", false)
	if err != nil {
		tb.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return ln.Addr().String()
}

// oneConn dials addr, sends one request asking to close, and reads the
// response until the server closes the connection.
func oneConn(addr string, buf []byte) ([]byte, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := io.WriteString(c, closeRequest); err != nil {
		return nil, err
	}
	n := 0
	for {
		k, err := c.Read(buf[n:])
		n += k
		if err == io.EOF || n == len(buf) {
			return buf[:n], nil
		}
		if err != nil {
			return buf[:n], err
		}
	}
}

// BenchmarkNewConnPerRequest measures a request on a new connection, end
// to end on loopback: dial, one request with Connection: close, the
// response read until the server closes. Client and server share the
// process, so compare runs, not the absolute figure.
func BenchmarkNewConnPerRequest(b *testing.B) {
	addr := startLoopback(b, benchServer(b, 0, false))
	buf := make([]byte, 4096)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := oneConn(addr, buf)
		if err != nil || !bytes.HasSuffix(resp, []byte(body168)) {
			b.Fatalf("response %q, error %v", resp, err)
		}
	}
}

// TestNewConnPerRequest: connections one after another, each with one
// request asking to close, are each answered and counted, and Shutdown
// then finds nothing left to wait for.
func TestNewConnPerRequest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		conns int
	}{{"one", 1}, {"sequential", 50}} {
		t.Run(tc.name, func(t *testing.T) {
			s := benchServer(t, 0, false)
			addr := startLoopback(t, s)
			buf := make([]byte, 4096)
			for i := range tc.conns {
				resp, err := oneConn(addr, buf)
				if err != nil || !bytes.HasPrefix(resp, []byte("HTTP/1.1 200")) || !bytes.HasSuffix(resp, []byte(body168)) {
					t.Fatalf("connection %d: response %q, error %v", i, resp, err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if st := s.Stats(); st.Accepted != uint64(tc.conns) || st.Open != 0 {
				t.Errorf("accepted %d, open %d; want %d, 0", st.Accepted, st.Open, tc.conns)
			}
		})
	}
}
