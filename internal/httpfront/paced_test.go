package httpfront_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/external"
	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/stub"
)

// dialH1 opens a raw HTTP/1.1 connection to f, over TLS when tlsOn.
func (f *fixture) dialH1(t *testing.T, tlsOn bool) net.Conn {
	t.Helper()
	if !tlsOn {
		c, err := net.Dial("tcp", f.http)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c, err := tls.Dial("tcp", f.https, &tls.Config{RootCAs: f.roots, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPacedBodyGoesOutAsPaced checks that over HTTP/1.1 a paced body's
// head goes out at once and its first chunk when due, long before its
// last: each body here takes 10 s or more in all, and the test needs the
// head and the first byte within 5 s, a margin no scheduler hiccup eats.
// fasthttp used to hold them in its 4 KiB connection buffer until the end.
func TestPacedBodyGoesOutAsPaced(t *testing.T) {
	t.Parallel()
	body := stub.Text(strings.Repeat("0123456789abcdef", 4)) // 64 bytes
	src := func(path string, r stub.Response) engine.Source {
		r.Body = body
		return engine.Source{Stub: stub.Stub{ID: path[1:], Request: stub.Request{Path: path}, Response: &r}}
	}
	srcs := []engine.Source{
		// The first 4 bytes at once, the last 4 after 150 s.
		src("/dribble", stub.Response{Dribble: &stub.Dribble{Chunk: 4, Every: stub.Duration(10 * time.Second)}}),
		// The first byte after 250 ms, the last after 16 s.
		src("/throttle", stub.Response{Throttle: 4}),
		// The first byte after 200 ms of 20 s.
		src("/spread", stub.Response{Latency: &stub.Latency{Fixed: ptr(stub.Duration(20 * time.Second))}, LatencyMode: "spread"}),
	}
	for _, eng := range []string{httpfront.HTTP1Loop, httpfront.HTTP1Fasthttp} {
		sv := startSources(t, srcs, httpfront.Options{HTTP1Engine: eng})
		for _, tlsOn := range []bool{false, true} {
			for _, path := range []string{"/dribble", "/throttle", "/spread"} {
				name := eng + "/plain" + path
				if tlsOn {
					name = eng + "/tls" + path
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					c := sv.dialH1(t, tlsOn)
					defer c.Close()
					if _, err := c.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
						t.Fatal(err)
					}
					_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
					var got []byte
					buf := make([]byte, 4096)
					for {
						if i := bytes.Index(got, []byte("\r\n\r\n")); i >= 0 && len(got) > i+4 {
							break // the head and some of the body
						}
						n, err := c.Read(buf)
						got = append(got, buf[:n]...)
						if err != nil {
							t.Fatalf("after %q: %v (want the head and the first chunk long before the body's end)", got, err)
						}
					}
					if !bytes.HasPrefix(got, []byte("HTTP/1.1 200 ")) || !bytes.Contains(got, []byte("\r\nContent-Length: 64\r\n")) {
						t.Errorf("head: %q, want a 200 with Content-Length: 64", got)
					}
					if _, b, _ := bytes.Cut(got, []byte("\r\n\r\n")); len(b) >= 64 {
						t.Errorf("the whole body came at once: %q", b)
					}
				})
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestH2BodyTooLargeCurl checks that curl, sending a body far past
// max-body-bytes over HTTP/2, gets the 413 problem: it used to get the
// reset that followed the answer first and exit 92 without it.
func TestH2BodyTooLargeCurl(t *testing.T) {
	t.Parallel()
	curl := external.Program(t, "curl")
	file := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(file, bytes.Repeat([]byte("a"), 3<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	srcs := []engine.Source{{Stub: stub.Stub{ID: "post", Request: stub.Request{Method: "POST", Path: "/up"},
		Response: &stub.Response{Body: stub.Text("ok")}}}}
	for _, eng := range []string{httpfront.HTTP2Decoy, httpfront.HTTP2Go} {
		sv := startSources(t, srcs, httpfront.Options{MaxBodyBytes: 1 << 10, HTTP2Engine: eng})
		for _, c := range []struct{ name, url, flag string }{
			{"h2c", "http://" + sv.http + "/up", "--http2-prior-knowledge"},
			{"h2", "https://" + sv.https + "/up", "--http2"},
		} {
			t.Run(eng+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				out, err := exec.Command(curl, "-sSk", c.flag, "--data-binary", "@"+file,
					"-o", "/dev/null", "-w", "%{http_code} %{http_version} %{content_type}", c.url).CombinedOutput()
				if got, want := string(out), "413 2 application/problem+json"; err != nil || got != want {
					t.Errorf("curl: %q %v, want %q", out, err, want)
				}
			})
		}
	}
}

// TestStubDate checks that a stub's own Date header is the one Date field
// of its answer over HTTP/2 (both engines, h2c and TLS), and that HTTP/1.1
// (where fasthttp, whose bytes the loops match, always writes the current
// date) sends one Date field too. No field is sent twice.
func TestStubDate(t *testing.T) {
	t.Parallel()
	const date = "Mon, 01 Jan 2024 00:00:00 GMT"
	srcs := []engine.Source{
		{Stub: stub.Stub{ID: "d", Request: stub.Request{Path: "/d"}, Response: &stub.Response{Body: stub.Text("x"),
			Headers: map[string]stub.HeaderValues{"Date": {date}, "Server": {"my-server"}}}}},
		{Stub: stub.Stub{ID: "lower", Request: stub.Request{Path: "/lower"}, Response: &stub.Response{Body: stub.Text("x"),
			Headers: map[string]stub.HeaderValues{"date": {date}}}}},
		{Stub: stub.Stub{ID: "none", Request: stub.Request{Path: "/none"}, Response: &stub.Response{Body: stub.Text("x")}}},
	}
	for _, eng := range []string{httpfront.HTTP2Decoy, httpfront.HTTP2Go} {
		sv := startSources(t, srcs, httpfront.Options{HTTP2Engine: eng})
		clients := []struct {
			name string
			c    *http.Client
			base string
		}{
			{"h2c", h2cc(), "http://" + sv.http},
			{"h2", &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: sv.roots}, ForceAttemptHTTP2: true}}, "https://" + sv.https},
		}
		for _, cl := range clients {
			for _, path := range []string{"/d", "/lower", "/none"} {
				t.Run(eng+"/"+cl.name+path, func(t *testing.T) {
					t.Parallel()
					resp, err := cl.c.Get(cl.base + path)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.ProtoMajor != 2 {
						t.Fatalf("proto %s", resp.Proto)
					}
					for name, vs := range resp.Header {
						if len(vs) != 1 {
							t.Errorf("%s sent %d times: %q", name, len(vs), vs)
						}
					}
					got := resp.Header.Get("Date")
					if path != "/none" && got != date || path == "/none" && (got == "" || got == date) {
						t.Errorf("Date: %q, want the stub's %q (or the server's without one)", got, date)
					}
					if path == "/d" && resp.Header.Get("Server") != "my-server" {
						t.Errorf("Server: %q, want the stub's", resp.Header.Get("Server"))
					}
				})
			}
		}
	}
	// HTTP/1.1: one Date, one Server (the stub's), on each engine.
	for _, eng := range []string{httpfront.HTTP1Loop, httpfront.HTTP1Fasthttp} {
		sv := startSources(t, srcs, httpfront.Options{HTTP1Engine: eng})
		for _, tlsOn := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/tls=%v", eng, tlsOn), func(t *testing.T) {
				t.Parallel()
				c := sv.dialH1(t, tlsOn)
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Write([]byte("GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")); err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(c)
				if err != nil && len(b) == 0 {
					t.Fatal(err)
				}
				head := strings.ToLower(string(b))
				if strings.Count(head, "\r\ndate: ") != 1 || strings.Count(head, "\r\nserver: ") != 1 || !strings.Contains(head, "\r\nserver: my-server\r\n") {
					t.Errorf("answer %q: want one Date and one Server (the stub's)", b)
				}
			})
		}
	}
}
