package httpfront_test

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/httpfront"
)

// TestURITooLong: a request line past max-header-bytes gets a 414 whose
// detail says what is wrong and quotes the start of the line, on every
// engine that reads HTTP/1.1, for a connection's first request and a
// later one.
func TestURITooLong(t *testing.T) {
	t.Parallel()
	const (
		ok   = "GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n"
		long = "GET /users/1?q=" // then 9000 bytes of query
	)
	plain := func(f *fixture) (net.Conn, error) { return net.Dial("tcp", f.http) }
	overTLS := func(f *fixture) (net.Conn, error) {
		return tls.Dial("tcp", f.https, &tls.Config{RootCAs: f.roots, NextProtos: []string{"http/1.1"}})
	}
	tests := []struct {
		name  string
		o     httpfront.Options
		dial  func(*fixture) (net.Conn, error)
		after bool // a request answered first on the connection
	}{
		{"loop, first request", httpfront.Options{}, plain, false},
		{"loop, later request", httpfront.Options{}, plain, true},
		{"fasthttp, first request", httpfront.Options{HTTP1Engine: httpfront.HTTP1Fasthttp}, plain, false},
		{"fasthttp, later request", httpfront.Options{HTTP1Engine: httpfront.HTTP1Fasthttp}, plain, true},
		{"TLS, first request", httpfront.Options{}, overTLS, false},
		{"TLS, later request", httpfront.Options{}, overTLS, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.o.MaxHeaderBytes = 4096
			f := start(t, tt.o)
			c, err := tt.dial(f)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			if tt.after {
				if _, err := io.WriteString(c, ok); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("first request: %d", resp.StatusCode)
				}
			}
			if _, err := io.WriteString(c, long+strings.Repeat("a", 9000)+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var p struct {
				Status int    `json:"status"`
				Detail string `json:"detail"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				"the request line exceeds 4096 bytes (max-header-bytes)",
				`"` + long + strings.Repeat("a", 64-len(long)) + `" (the first 64 bytes)`,
				"raise max-header-bytes",
			} {
				if resp.StatusCode != 414 || p.Status != 414 || !strings.Contains(p.Detail, want) {
					t.Errorf("%d %d %q, want 414 with %q", resp.StatusCode, p.Status, p.Detail, want)
				}
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

// TestHeaderListTooLongH2: over decoy's HTTP/2, which has no request line,
// a :path past max-header-bytes is a header list too long: 431, naming
// the limit and how HTTP/2 counts it.
func TestHeaderListTooLongH2(t *testing.T) {
	t.Parallel()
	f := start(t, httpfront.Options{MaxHeaderBytes: 4096})
	for _, tt := range []struct{ name, path string }{
		{"long :path", "/users/1?q=" + strings.Repeat("a", 9000)},
		{"long :path near the limit", "/users/1?q=" + strings.Repeat("a", 4096)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hdr, chunks := h2Chunks(t, f.http, tt.path)
			var p struct {
				Status int    `json:"status"`
				Detail string `json:"detail"`
			}
			if err := json.Unmarshal([]byte(strings.Join(chunks, "")), &p); err != nil {
				t.Fatalf("%v: %q", err, chunks)
			}
			if hdr[":status"] != "431" || p.Status != 431 || !strings.Contains(p.Detail, "exceed 4096 bytes (max-header-bytes)") || !strings.Contains(p.Detail, "raise max-header-bytes") {
				t.Errorf("%s %d %q, want 431 naming the limit", hdr[":status"], p.Status, p.Detail)
			}
		})
	}
}

// TestReadTimeout408: a request that has not all arrived within
// read-timeout gets a 408 saying so before the connection closes, on
// every engine that reads HTTP/1.1.
func TestReadTimeout408(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		o    httpfront.Options
	}{
		{"loop", httpfront.Options{}},
		{"fasthttp", httpfront.Options{HTTP1Engine: httpfront.HTTP1Fasthttp}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.o.ReadTimeout = 300 * time.Millisecond
			f := start(t, tt.o)
			c, err := net.Dial("tcp", f.http)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(30 * time.Second)) // a safety net only
			if _, err := io.WriteString(c, "GET /users/1 HTTP/1.1\r\nHost: x\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no answer before the close: %v", err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 408 || !strings.Contains(string(body), "read-timeout") {
				t.Errorf("%d %s, want 408 naming read-timeout", resp.StatusCode, body)
			}
		})
	}
}
