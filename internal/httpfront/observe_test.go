package httpfront_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/external"
	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/stub"
)

// waitFor polls cond until it holds, failing after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// dialFront opens a raw connection to addr, over TLS when roots is set.
func dialFront(t *testing.T, f *fixture, useTLS bool) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	var c net.Conn
	var err error
	if useTLS {
		c, err = tls.DialWithDialer(&d, "tcp", f.https, &tls.Config{RootCAs: f.roots, NextProtos: []string{"http/1.1"}})
	} else {
		c, err = d.Dial("tcp", f.http)
	}
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// readResponse reads one HTTP/1.1 response and its body from br.
func readResponse(t *testing.T, br *bufio.Reader) *http.Response {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestJournalWireTimestamps sends an HTTP/1.1 request in two parts and
// checks the order of the journal's wire timestamps against the client's
// own clock: the first byte was received after the first part was sent,
// the last one after the second part; the response was sent after the
// request arrived.
func TestJournalWireTimestamps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		tls   bool
		close bool // Connection: close, the response's times come when the connection ends
		o     httpfront.Options
		extra string // more header lines
	}{
		{"plaintext keep-alive", false, false, httpfront.Options{}, ""},
		{"plaintext close", false, true, httpfront.Options{}, ""},
		{"TLS keep-alive", true, false, httpfront.Options{}, ""},
		{"with a connection rate", false, false, httpfront.Options{ConnectionRate: 1 << 20}, ""},
		// A delay sends the connection's first request from the HTTP/1.1
		// loop to fasthttp, with the bytes the loop read.
		{"delayed, first request handed off", false, false, httpfront.Options{DelayHeader: true}, "X-Decoy-Delay: 1ms\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := start(t, tt.o)
			// Over TLS the first byte may be taken at the handshake's end.
			before := time.Now()
			c := dialFront(t, f, tt.tls)
			path := fmt.Sprintf("/users/%d", time.Now().UnixNano())
			hdr := "Host: x\r\n" + tt.extra
			if tt.close {
				hdr += "Connection: close\r\n"
			}
			if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\n"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
			between := time.Now()
			if _, err := io.WriteString(c, hdr+"\r\n"); err != nil {
				t.Fatal(err)
			}
			if resp := readResponse(t, bufio.NewReader(c)); resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			var e journal.Entry
			waitFor(t, "the response's sent times", func() bool {
				es := f.journal.Find(journal.Filter{Path: path})
				if len(es) == 1 && es[0].ResponseLastByteUS != 0 {
					e = es[0]
					return true
				}
				return false
			})
			first, last := e.RequestFirstByteUS, e.RequestLastByteUS
			out0, out1 := e.ResponseFirstByteUS, e.ResponseLastByteUS
			if first == 0 || last == 0 || out0 == 0 {
				t.Fatalf("missing timestamps: %+v", e)
			}
			// Only what causality guarantees: no byte is received before it
			// is sent.
			if first < before.UnixMicro() || last < between.UnixMicro() {
				t.Errorf("request bytes received %d..%d, the connection opened at %d, the second part was sent at %d",
					first, last, before.UnixMicro(), between.UnixMicro())
			}
			if !(first <= last && last <= e.Time.UnixMicro() && e.Time.UnixMicro() <= out0 && out0 <= out1) {
				t.Errorf("timestamps out of order: first in %d, last in %d, handled %d, first out %d, last out %d",
					first, last, e.Time.UnixMicro(), out0, out1)
			}
		})
	}
}

// clientEOFOrReset is a want of TestCloseReasons: the client's close,
// counted as eof or as reset.
const clientEOFOrReset = metrics.NumCloseReasons

// TestCloseReasons ends connections each way and checks the reason they
// are counted under.
func TestCloseReasons(t *testing.T) {
	t.Parallel()
	getOne := func(t *testing.T, c net.Conn, extra string) {
		t.Helper()
		fmt.Fprintf(c, "GET /users/1 HTTP/1.1\r\nHost: x\r\n%s\r\n", extra)
		readResponse(t, bufio.NewReader(c))
	}
	// waitClosed waits until the server has closed c (the read ends).
	waitClosed := func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }
	tests := []struct {
		name string
		o    httpfront.Options
		run  func(t *testing.T, f *fixture)
		want int
	}{
		{"client closes", httpfront.Options{}, func(t *testing.T, f *fixture) {
			c := dialFront(t, f, false)
			getOne(t, c, "")
			c.Close()
		}, metrics.CloseClientEOF},
		{"client closes TLS", httpfront.Options{}, func(t *testing.T, f *fixture) {
			c := dialFront(t, f, true)
			getOne(t, c, "")
			c.Close()
		}, metrics.CloseClientEOF},
		{"HTTP/2 client closes", httpfront.Options{}, func(t *testing.T, f *fixture) {
			c := f.h2c()
			if r, _ := get(t, c, "http://"+f.http+"/users/1"); r.ProtoMajor != 2 {
				t.Fatalf("HTTP/%d", r.ProtoMajor)
			}
			c.CloseIdleConnections()
		}, metrics.CloseClientEOF},
		{"h2c Upgrade client closes", httpfront.Options{}, func(t *testing.T, f *fixture) {
			// curl --http2 on http:// asks for the h2c Upgrade; Go's
			// server takes the connection over from its HTTP/1.1 side.
			out, err := exec.Command(external.Program(t, "curl"), "-sS", "--http2", "-o", os.DevNull, "-w", "%{http_code} %{http_version}",
				"http://"+f.http+"/users/1").CombinedOutput()
			if err != nil || string(out) != "200 2" {
				t.Fatalf("curl: %v %s, want 200 over HTTP/2", err, out)
			}
			// curl exits without reading what Go's server may still
			// write after the response (a window update, say): its
			// kernel then resets the connection. Either is the client's
			// close, never the server's timeout.
		}, clientEOFOrReset},
		{"client resets", httpfront.Options{}, func(t *testing.T, f *fixture) {
			c := dialFront(t, f, false)
			getOne(t, c, "")
			_ = c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}, metrics.CloseClientReset},
		{"client asks to close", httpfront.Options{}, func(t *testing.T, f *fixture) {
			c := dialFront(t, f, false)
			getOne(t, c, "Connection: close\r\n")
			waitClosed(c)
		}, metrics.CloseClientAsked},
		{"idle timeout", httpfront.Options{IdleTimeout: 100 * time.Millisecond}, func(t *testing.T, f *fixture) {
			c := dialFront(t, f, false)
			getOne(t, c, "")
			waitClosed(c)
		}, metrics.CloseIdleTimeout},
		{"never sends", httpfront.Options{ReadTimeout: 100 * time.Millisecond}, func(t *testing.T, f *fixture) {
			waitClosed(dialFront(t, f, false))
		}, metrics.CloseIdleTimeout},
		{"read timeout", httpfront.Options{ReadTimeout: 100 * time.Millisecond}, func(t *testing.T, f *fixture) {
			c := dialFront(t, f, false)
			fmt.Fprintf(c, "GET /users/1 HTTP/1.1\r\nHo")
			waitClosed(c)
		}, metrics.CloseReadTimeout},
		{"read timeout on a kept-alive connection", httpfront.Options{ReadTimeout: 100 * time.Millisecond}, func(t *testing.T, f *fixture) {
			c := dialFront(t, f, false)
			getOne(t, c, "")
			fmt.Fprintf(c, "GET /users/1 HTTP/1.1\r\nHo")
			waitClosed(c)
		}, metrics.CloseReadTimeout},
		{"bad request", httpfront.Options{}, func(t *testing.T, f *fixture) {
			c := dialFront(t, f, false)
			fmt.Fprintf(c, "GET /x HTTP/1.1\r\nHost x\r\n\r\n")
			waitClosed(c)
		}, metrics.CloseBadRequest},
		{"fault", httpfront.Options{}, func(t *testing.T, f *fixture) {
			if _, err := f.store.Create(stub.Stub{ID: "cut", Request: stub.Request{Path: "/cut"},
				Response: &stub.Response{Body: stub.Text(strings.Repeat("x", 1000)), Faults: stub.Faults{{Kind: "close-mid-body"}}}}, "test"); err != nil {
				t.Fatal(err)
			}
			c := dialFront(t, f, false)
			fmt.Fprintf(c, "GET /cut HTTP/1.1\r\nHost: x\r\n\r\n")
			waitClosed(c)
		}, metrics.CloseFault},
		{"failed TLS handshake", httpfront.Options{}, func(t *testing.T, f *fixture) {
			c, err := net.Dial("tcp", f.https)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			waitClosed(c)
		}, metrics.CloseTLSHandshake},
		{"shutdown", httpfront.Options{}, func(t *testing.T, f *fixture) {
			c := dialFront(t, f, false)
			getOne(t, c, "")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := f.srv.Shutdown(ctx); err != nil {
				t.Error(err)
			}
			waitClosed(c)
		}, metrics.CloseShutdown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := start(t, tt.o)
			tt.run(t, f)
			waitFor(t, "the connection closed", func() bool {
				st := f.srv.Stats()
				return st.Open == 0 && st.Accepted > 0
			})
			st := f.srv.Stats()
			var total uint64
			for _, n := range st.Closed {
				total += n
			}
			want := tt.want
			if want == clientEOFOrReset {
				want = metrics.CloseClientEOF
				if st.Closed[metrics.CloseClientReset] == 1 {
					want = metrics.CloseClientReset
				}
			}
			if st.Closed[want] != 1 || total != 1 {
				t.Errorf("closed %v, want 1 for %s and none else", st.Closed, metrics.CloseReasonNames[want])
			}
		})
	}
}

// TestIdleConnections: kept-alive connections between requests are idle;
// one in the middle of a request is not.
func TestIdleConnections(t *testing.T) {
	t.Parallel()
	f := start(t, httpfront.Options{})
	const n = 4
	var conns []net.Conn
	for range n {
		c := dialFront(t, f, false)
		fmt.Fprintf(c, "GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n")
		readResponse(t, bufio.NewReader(c))
		conns = append(conns, c)
	}
	// A new connection has not been kept alive yet: it is not idle.
	dialFront(t, f, false)
	waitFor(t, "4 idle connections", func() bool { st := f.srv.Stats(); return st.Idle == n && st.Open == n+1 })
	fmt.Fprintf(conns[0], "GET /users/1 HTTP/1.1\r\nHo")
	waitFor(t, "3 idle connections", func() bool { return f.srv.Stats().Idle == n-1 })
	for _, c := range conns {
		c.Close()
	}
	waitFor(t, "no idle connection", func() bool { return f.srv.Stats().Idle == 0 })
}
