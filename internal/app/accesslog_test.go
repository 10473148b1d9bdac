package app_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/config"
)

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// requestLines are the per-request lines logged so far.
func (s *syncBuffer) requestLines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range strings.Split(s.b.String(), "\n") {
		if strings.Contains(l, " msg=request ") {
			out = append(out, l)
		}
	}
	return out
}

// waitLines waits until n request lines were logged (HTTP/2 logs just
// after answering) and returns them.
func (s *syncBuffer) waitLines(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l := s.requestLines()
		if len(l) >= n || time.Now().After(deadline) {
			return l
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func loggedApp(t *testing.T, level slog.Level, accessLog string) (*running, *syncBuffer) {
	t.Helper()
	buf := new(syncBuffer)
	log := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: level}))
	r := startLogged(t, injectedStubs(), log, func(s *config.Settings) {
		if err := config.Table[indexOf(t, "access-log")].Set(s, accessLog); err != nil {
			t.Fatal(err)
		}
	})
	return r, buf
}

func indexOf(t *testing.T, name string) int {
	t.Helper()
	for i, s := range config.Table {
		if s.Name == name {
			return i
		}
	}
	t.Fatalf("no setting %s", name)
	return -1
}

// TestRequestLogDebug: at debug level every request gets one line with
// what happened, over HTTP/1.1 and HTTP/2.
func TestRequestLogDebug(t *testing.T) {
	t.Parallel()
	r, buf := loggedApp(t, slog.LevelDebug, "off")
	h1, h2 := r.h1("127.0.0.1"), r.h2c()
	do(t, h1, r.http+"/plain", false)
	do(t, h1, r.http+"/nothing", false)
	do(t, h2, r.http+"/plain", false)
	lines := buf.waitLines(t, 3)
	if len(lines) != 3 {
		t.Fatalf("%d request lines, want 3:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	want := [][]string{
		{"level=DEBUG", "method=GET", "path=/plain", "stub=plain", "status=200", "proto=HTTP/1.1", "remote=127.0.0.1:", "duration="},
		{"level=DEBUG", "method=GET", "path=/nothing", "stub=-", "status=404", "proto=HTTP/1.1"},
		{"level=DEBUG", "method=GET", "path=/plain", "stub=plain", "status=200", "proto=HTTP/2", "remote=127.0.0.1:"},
	}
	for i, l := range lines {
		for _, w := range want[i] {
			if !strings.Contains(l, w) {
				t.Errorf("line %d %q lacks %q", i, l, w)
			}
		}
	}
	h1.CloseIdleConnections()
	h2.CloseIdleConnections()
}

// TestRequestLogInfo: at info level nothing is logged per request, unless
// access-log samples: then exactly the fraction asked for, at info.
func TestRequestLogInfo(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		access string
		want   int
	}{{"off", 0}, {"0.25", 10}, {"all", 40}} {
		t.Run("access-log="+c.access, func(t *testing.T) {
			t.Parallel()
			r, buf := loggedApp(t, slog.LevelInfo, c.access)
			h1 := r.h1("127.0.0.1")
			for range 40 {
				do(t, h1, r.http+"/plain", false)
			}
			h1.CloseIdleConnections()
			// HTTP/1.1 logs before the response goes out: the count is
			// final.
			lines := buf.requestLines()
			if len(lines) != c.want {
				t.Fatalf("%d request lines for 40 requests, want %d:\n%s", len(lines), c.want, strings.Join(lines, "\n"))
			}
			for _, l := range lines {
				if !strings.Contains(l, "level=INFO") || !strings.Contains(l, "stub=plain") {
					t.Errorf("line %q: want level=INFO and stub=plain", l)
				}
			}
		})
	}
}
