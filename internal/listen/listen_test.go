package listen_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/listen"
)

// serve answers "ok" to every HTTP request on l.
func serve(t *testing.T, l *listen.Listener) {
	t.Helper()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })}
	done := make(chan struct{})
	go func() { _ = srv.Serve(l); close(done) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
}

func newListener(t *testing.T) *listen.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := listen.New("http", ln)
	serve(t, l)
	return l
}

func fetch(addr string) (string, error) {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestPauseResume(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cycles int
	}{{"once", 1}, {"three times", 3}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newListener(t)
			addr := l.Addr().String()
			for range tt.cycles {
				if b, err := fetch(addr); err != nil || b != "ok" {
					t.Fatalf("before pause: %q %v", b, err)
				}
				before := l.Socket()
				if before == nil {
					t.Fatal("Socket() = nil before pause")
				}
				if err := l.Pause(); err != nil {
					t.Fatal(err)
				}
				if err := l.Pause(); err != nil {
					t.Fatalf("second pause: %v", err)
				}
				if !l.Paused() {
					t.Fatal("not paused")
				}
				if ln := l.Socket(); ln != nil {
					t.Fatalf("paused: Socket() = %v, want nil", ln)
				}
				_, err := fetch(addr)
				if !errors.Is(err, syscall.ECONNREFUSED) {
					t.Fatalf("while paused: %v, want connection refused", err)
				}
				if err := l.Resume(); err != nil {
					t.Fatal(err)
				}
				if l.Paused() || l.Addr().String() != addr {
					t.Fatalf("after resume: paused %v, addr %s", l.Paused(), l.Addr())
				}
				// The socket Resume opened, not the one Pause closed.
				if ln := l.Socket(); ln == nil || ln == before || ln.Addr().String() != addr {
					t.Fatalf("after resume: Socket() = %v, want a new socket on %s", ln, addr)
				}
				if b, err := fetch(addr); err != nil || b != "ok" {
					t.Fatalf("after resume: %q %v", b, err)
				}
			}
		})
	}
}

func TestCloseWhilePaused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := listen.New("http", ln)
	_ = l.Pause()
	errc := make(chan error, 1)
	go func() { _, err := l.Accept(); errc <- err }()
	_ = l.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Accept still waiting 10s after Close")
	}
	if err := l.Resume(); !errors.Is(err, listen.ErrClosed) {
		t.Errorf("Resume after Close: %v", err)
	}
	if ln := l.Socket(); ln != nil {
		t.Errorf("Socket() after Close = %v, want nil", ln)
	}
}

func TestFirstReadDelay(t *testing.T) {
	t.Parallel()
	l := newListener(t)
	const d = 300 * time.Millisecond
	l.SetFirstReadDelay(d)
	if l.FirstReadDelay() != d {
		t.Fatalf("FirstReadDelay %v", l.FirstReadDelay())
	}
	t0 := time.Now()
	conn, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(t0) > d {
		t.Errorf("connecting took %v: the connection must be accepted at once", time.Since(t0))
	}
	conn.Close()
	t0 = time.Now()
	if b, err := fetch(l.Addr().String()); err != nil || b != "ok" {
		t.Fatalf("%q %v", b, err)
	}
	if took := time.Since(t0); took < d*2/3 {
		t.Errorf("answered after %v, want at least the %v first-read delay", took, d)
	}
	l.SetFirstReadDelay(0)
	t0 = time.Now()
	if _, err := fetch(l.Addr().String()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took >= d {
		t.Logf("without delay the answer took %v (slow machine?)", took)
	}
}
