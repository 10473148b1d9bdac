package httpfront

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/pki"
	"github.com/decoy-dev/decoy/internal/rawio"
	"github.com/decoy-dev/decoy/internal/stub"
)

// tcpPair returns the two ends of a loopback TCP connection: the server's
// end read and written through rawio.IO, and the client's.
func tcpPair(t *testing.T) (*net.TCPConn, *rawio.IO, net.Conn) {
	t.Helper()
	client, c := loopbackPair(t)
	tc := c.Conn.(*net.TCPConn)
	r := rawio.New(tc)
	if r == nil {
		t.Fatal("rawio.New: nil for a TCP connection")
	}
	return tc, r, client
}

func TestRawIO(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		run  func(t *testing.T, tc *net.TCPConn, r *rawio.IO, client net.Conn)
	}{
		{"read what the peer wrote", func(t *testing.T, _ *net.TCPConn, r *rawio.IO, client net.Conn) {
			if _, err := client.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 64)
			n, err := r.Read(b)
			if err != nil || string(b[:n]) != "GET / HTTP/1.1\r\n\r\n" {
				t.Fatalf("read %q, %v", b[:n], err)
			}
		}},
		{"a read waits for the bytes", func(t *testing.T, _ *net.TCPConn, r *rawio.IO, client net.Conn) {
			done := make(chan struct{})
			go func() {
				defer close(done)
				<-time.After(20 * time.Millisecond)
				_, _ = client.Write([]byte("late"))
			}()
			b := make([]byte, 8)
			n, err := r.Read(b)
			<-done
			if err != nil || string(b[:n]) != "late" {
				t.Fatalf("read %q, %v", b[:n], err)
			}
		}},
		{"the peer's close is io.EOF", func(t *testing.T, _ *net.TCPConn, r *rawio.IO, client net.Conn) {
			client.Close()
			if n, err := r.Read(make([]byte, 8)); n != 0 || err != io.EOF {
				t.Fatalf("read %d, %v; want 0, io.EOF", n, err)
			}
		}},
		{"a read deadline is a timeout", func(t *testing.T, tc *net.TCPConn, r *rawio.IO, _ net.Conn) {
			_ = tc.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			_, err := r.Read(make([]byte, 8))
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("read error %v, want a timeout", err)
			}
		}},
		{"a read after close is net.ErrClosed", func(t *testing.T, tc *net.TCPConn, r *rawio.IO, _ net.Conn) {
			tc.Close()
			if _, err := r.Read(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("read error %v, want net.ErrClosed", err)
			}
		}},
		{"an empty read or write does nothing", func(t *testing.T, _ *net.TCPConn, r *rawio.IO, _ net.Conn) {
			if n, err := r.Read(nil); n != 0 || err != nil {
				t.Fatalf("read %d, %v", n, err)
			}
			if n, err := r.Write(nil); n != 0 || err != nil {
				t.Fatalf("write %d, %v", n, err)
			}
		}},
		{"a write larger than the socket's buffers goes whole", func(t *testing.T, _ *net.TCPConn, r *rawio.IO, client net.Conn) {
			want := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB
			got := make(chan []byte)
			go func() {
				b, _ := io.ReadAll(io.LimitReader(client, int64(len(want))))
				got <- b
			}()
			n, err := r.Write(want)
			if n != len(want) || err != nil {
				t.Fatalf("wrote %d of %d, %v", n, len(want), err)
			}
			if b := <-got; !bytes.Equal(b, want) {
				t.Fatalf("the peer read %d bytes, not what was written", len(b))
			}
		}},
		{"a write to a reset connection fails", func(t *testing.T, _ *net.TCPConn, r *rawio.IO, client net.Conn) {
			_ = client.(*net.TCPConn).SetLinger(0)
			client.Close() // a reset
			var err error
			for range 100 {
				if _, err = r.Write(make([]byte, 64<<10)); err != nil {
					break
				}
			}
			if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
				t.Fatalf("write error %v, want ECONNRESET or EPIPE", err)
			}
			var oe *net.OpError
			if !errors.As(err, &oe) || oe.Op != "write" {
				t.Fatalf("write error %#v, want a *net.OpError of a write", err)
			}
		}},
		{"a write deadline is a timeout", func(t *testing.T, tc *net.TCPConn, r *rawio.IO, _ net.Conn) {
			// The peer reads nothing: the buffers fill, then the deadline.
			_ = tc.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			n, err := r.Write(make([]byte, 64<<20))
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() || n == 0 || n == 64<<20 {
				t.Fatalf("wrote %d, error %v; want part of it and a timeout", n, err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tc, r, client := tcpPair(t)
			c.run(t, tc, r, client)
		})
	}
}

// TestRawIOServed checks that the connections served by goroutines (TLS
// here) read and write through rawio.IO, and those under a rate cap do not.
func TestRawIOServed(t *testing.T) {
	t.Parallel()
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM)
	store, err := engine.NewStore([]engine.Source{{Stub: stub.Stub{ID: "hi", Request: stub.Request{Path: "/hi"},
		Response: &stub.Response{Body: stub.Text("hi")}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, rate := range []int64{0, 1 << 20} {
		srv := New(Options{Engine: store.Engine(), ConnectionRate: rate,
			TLS: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = srv.ServeTLS(ln) }()
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
		r, err := (&http.Client{Transport: tr}).Get("https://" + ln.Addr().String() + "/hi")
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil || string(b) != "hi" {
			t.Fatalf("rate %d: %q, %v", rate, b, err)
		}
		// The connection is kept alive: it is still tracked.
		srv.mu.Lock()
		n, raw := 0, 0
		for c := range srv.conns {
			n++
			if c.rio != nil {
				raw++
			}
		}
		srv.mu.Unlock()
		want := n
		if rate > 0 {
			want = 0
		}
		if n == 0 || raw != want {
			t.Errorf("rate %d: %d of %d connections through rawio.IO, want %d", rate, raw, n, want)
		}
		tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(ctx)
		cancel()
	}
}

// TestRawIOAllocs: a read and a write through rawio.IO allocate nothing.
func TestRawIOAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	_, r, client := tcpPair(t)
	msg, b := []byte("ping"), make([]byte, 16)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := r.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(client, b[:len(msg)]); err != nil {
			t.Fatal(err)
		}
		if _, err := client.Write(msg); err != nil {
			t.Fatal(err)
		}
		if n, err := r.Read(b); err != nil || n != len(msg) {
			t.Fatalf("read %d, %v", n, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per write and read, want 0", allocs)
	}
}
