package httpfront_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/problem"
	"github.com/decoy-dev/decoy/internal/stub"
)

// early413Stubs are a stub that discards uploads (so that HTTP/1.1
// bodies are streamed, as they are while any such stub is served) and an
// ordinary one.
func early413Stubs() []engine.Source {
	return []engine.Source{
		{Stub: stub.Stub{ID: "sink", Request: stub.Request{Method: "POST", Path: "/upload"},
			Response: &stub.Response{Status: 201, Body: stub.Text("sink"), Upload: &stub.Upload{Discard: true}}}},
		{Stub: stub.Stub{ID: "plain", Request: stub.Request{Path: "/plain"}, Response: &stub.Response{Body: stub.Text("plain")}}},
	}
}

// early413Cases are requests whose Content-Length is beyond the limit
// that applies: max-upload-bytes for the upload stub, max-body-bytes for
// the others.
var early413Cases = []struct{ path, want string }{
	{"/upload", "max-upload-bytes"},
	{"/plain", "exceeds 65536 bytes"},
}

// TestEarly413HTTP1: over HTTP/1.1 (the loop hands the request to
// fasthttp, which streams bodies while an upload stub is served;
// plaintext and TLS), a request whose Content-Length is beyond the limit
// is answered 413 problem+json from its head, before the body is read:
// the test sends only the 8 KiB fasthttp reads with the head when it
// streams bodies.
func TestEarly413HTTP1(t *testing.T) {
	t.Parallel()
	o := httpfront.Options{MaxUploadBytes: 2 << 20, MaxBodyBytes: 64 << 10}
	for _, useTLS := range []bool{false, true} {
		for _, c := range early413Cases {
			name := "plaintext" + c.path
			if useTLS {
				name = "TLS" + c.path
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				f := startSources(t, early413Stubs(), o)
				nc := dialFront(t, f, useTLS)
				fmt.Fprintf(nc, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", c.path, 3<<20)
				if _, err := nc.Write(make([]byte, 8<<10)); err != nil {
					t.Fatal(err)
				}
				// Without an early answer decoy waits for the body: the
				// read fails at its deadline.
				_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
				checkEarly413(t, bufio.NewReader(nc), c.want)
			})
		}
	}
}

// checkEarly413 reads a 413 problem+json naming want from br.
func checkEarly413(t *testing.T, br *bufio.Reader, want string) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 413 || ct != problem.ContentType || !strings.Contains(string(b), want) {
		t.Errorf("got %d %s %q, want 413 %s naming %q", resp.StatusCode, ct, b, problem.ContentType, want)
	}
}

// TestEarly413Expect: over HTTP/1.1 a request with Expect: 100-continue
// and a Content-Length beyond the limit gets the 413 problem+json in place
// of 100 Continue, so that the client sends no body; within the limit it
// gets 100 Continue. With an upload stub served (bodies streamed) and
// without (bodies read whole), plaintext and TLS.
func TestEarly413Expect(t *testing.T) {
	t.Parallel()
	o := httpfront.Options{MaxUploadBytes: 2 << 20, MaxBodyBytes: 64 << 10}
	type tc struct {
		name    string
		uploads bool
		path    string
		size    int
		want    string // "" for 100 Continue
	}
	tests := []tc{
		{"streamed/upload beyond max-upload-bytes", true, "/upload", 3 << 20, "max-upload-bytes"},
		{"streamed/upload within max-upload-bytes", true, "/upload", 1 << 20, ""},
		{"streamed/body beyond max-body-bytes", true, "/plain", 1 << 20, "exceeds 65536 bytes"},
		{"whole/body beyond max-body-bytes", false, "/plain", 1 << 20, "exceeds 65536 bytes"},
		{"whole/body within max-body-bytes", false, "/plain", 1 << 10, ""},
	}
	for _, useTLS := range []bool{false, true} {
		for _, tt := range tests {
			name := "plaintext/" + tt.name
			if useTLS {
				name = "TLS/" + tt.name
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				srcs := early413Stubs()
				if !tt.uploads {
					srcs = srcs[1:]
				}
				f := startSources(t, srcs, o)
				nc := dialFront(t, f, useTLS)
				fmt.Fprintf(nc, "POST %s HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", tt.path, tt.size)
				br := bufio.NewReader(nc)
				if tt.want != "" {
					checkEarly413(t, br, tt.want)
					return
				}
				line, err := br.ReadString('\n')
				if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
					t.Errorf("got %q %v, want 100 Continue", line, err)
				}
			})
		}
	}
}

// TestEarly413HTTP2: over HTTP/2 (decoy's engine and Go's) a request whose content-length is beyond
// the limit is answered 413 problem+json before its body: the client
// sends none of it.
func TestEarly413HTTP2(t *testing.T) {
	t.Parallel()
	o := httpfront.Options{MaxUploadBytes: 2 << 20, MaxBodyBytes: 64 << 10}
	for _, c := range engineClients() {
		if !strings.HasPrefix(c.name, "h2") {
			continue
		}
		for _, tt := range early413Cases {
			t.Run(c.name+tt.path, func(t *testing.T) {
				t.Parallel()
				o := o
				o.HTTP2Engine = c.o.HTTP2Engine
				f := startSources(t, early413Stubs(), o)
				pr, pw := io.Pipe() // a body that never comes
				defer pw.Close()
				req, _ := http.NewRequest("POST", c.url(f)+tt.path, pr)
				req.ContentLength = 3 << 20
				resp, err := c.client(f).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 413 || ct != problem.ContentType || !strings.Contains(string(b), tt.want) {
					t.Errorf("got %d %s %q, want 413 %s naming %q", resp.StatusCode, ct, b, problem.ContentType, tt.want)
				}
			})
		}
	}
}

// TestEarly413Linger: a client that writes a body beyond the limit
// without waiting for an answer (curl without Expect, over TLS above all)
// must be able to send it to its end and then read the 413. decoy closes
// such a connection with a lingering close: closed at once with the body
// unread, the socket resets the connection, the client's write fails
// before it reads, and the answer is lost. The body (12 MiB) is more than
// the socket buffers of both sides hold, so without the lingering close
// the write cannot succeed; it is within what decoy drains (16 times the
// larger of max-body-bytes and 1 MiB).
func TestEarly413Linger(t *testing.T) {
	t.Parallel()
	o := httpfront.Options{MaxUploadBytes: 2 << 20, MaxBodyBytes: 64 << 10}
	const size = 12 << 20
	for _, useTLS := range []bool{false, true} {
		for _, streamed := range []bool{false, true} {
			for _, c := range early413Cases {
				if !streamed && c.path == "/upload" {
					continue
				}
				name := fmt.Sprintf("TLS=%v/streamed=%v%s", useTLS, streamed, c.path)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					srcs := early413Stubs()
					if !streamed {
						srcs = srcs[1:]
					}
					f := startSources(t, srcs, o)
					nc := dialFront(t, f, useTLS)
					wrote := make(chan error, 1)
					go func() {
						_, err := fmt.Fprintf(nc, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", c.path, size)
						if err == nil {
							_, err = nc.Write(make([]byte, size))
						}
						wrote <- err
					}()
					checkEarly413(t, bufio.NewReader(nc), c.want)
					if err := <-wrote; err != nil {
						t.Errorf("writing the body: %v; want it all taken (a lingering close)", err)
					}
				})
			}
		}
	}
}
