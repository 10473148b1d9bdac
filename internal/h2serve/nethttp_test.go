package h2serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// bridge serves every request with a net/http Handler through ServeHTTP,
// streaming the bodies of POST requests.
type bridge struct{ h http.Handler }

func (b bridge) StreamBody(r *Request) bool { return r.Method == http.MethodPost }

func (b bridge) ServeH2(w *ResponseWriter, r *Request) { ServeHTTP(r.Context(), b.h, w, r) }

func startBridge(t *testing.T, h http.HandlerFunc) *testServer {
	t.Helper()
	return startServer(t, bridge{h}, Options{})
}

// postPipe sends a POST to s whose body is what the test writes to the
// pipe returned, and returns the response once its headers are in.
func postPipe(t *testing.T, ctx context.Context, s *testServer) (*http.Response, *io.PipeWriter) {
	t.Helper()
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+s.addr+"/x", pr)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := goClient(0).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, pw
}

// TestServeHTTPResponse: what a net/http handler writes reaches a Go
// client as net/http's own HTTP/2 server would send it.
func TestServeHTTPResponse(t *testing.T) {
	t.Parallel()
	big := bigData[:1<<20]
	cases := []struct {
		name     string
		method   string
		h        http.HandlerFunc
		status   int
		header   map[string]string // "" : absent
		body     []byte
		trailers map[string]string
	}{
		{"body sniffed, its length sent", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-A", "1")
			_, _ = io.WriteString(w, "hello")
		}, 200, map[string]string{"X-A": "1", "Content-Type": "text/plain; charset=utf-8", "Content-Length": "5"}, []byte("hello"), nil},
		{"status without a body", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated)
		}, 201, map[string]string{"Content-Length": "0"}, nil, nil},
		{"nothing written", "GET", func(w http.ResponseWriter, r *http.Request) {}, 200, map[string]string{"Content-Length": "0"}, nil, nil},
		{"header changed after WriteHeader", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Early", "1")
			w.WriteHeader(http.StatusAccepted)
			w.Header().Set("X-Late", "1")
		}, 202, map[string]string{"X-Early": "1", "X-Late": ""}, nil, nil},
		{"declared trailers", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-T1, X-T2")
			w.Header().Set("Content-Type", "application/grpc")
			_, _ = w.Write([]byte("abc"))
			w.Header().Set("X-T1", "one")
			w.Header().Set("X-T2", "two")
		}, 200, map[string]string{"Trailer": "", "Content-Type": "application/grpc"}, []byte("abc"), map[string]string{"X-T1": "one", "X-T2": "two"}},
		{"trailers named with the prefix after a flush", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush()
			w.Header().Set(http.TrailerPrefix+"X-Status", "0")
		}, 200, map[string]string{"Content-Length": ""}, nil, map[string]string{"X-Status": "0"}},
		{"a large body written in parts", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			for b := big; len(b) > 0; b = b[min(len(b), 4096):] {
				_, _ = w.Write(b[:min(len(b), 4096)])
			}
		}, 200, nil, big, nil},
		{"HEAD", "HEAD", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			if _, err := io.WriteString(w, "not sent"); !errors.Is(err, http.ErrBodyNotAllowed) {
				panic(fmt.Sprintf("write on HEAD: %v", err))
			}
		}, 200, nil, nil, nil},
		{"204 with trailers", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
			w.Header().Set(http.TrailerPrefix+"X-Never", "1")
		}, 204, nil, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startBridge(t, tc.h)
			req, err := http.NewRequest(tc.method, "http://"+s.addr+"/x", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := goClient(0).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || resp.ProtoMajor != 2 {
				t.Errorf("%s %d, want HTTP/2 %d", resp.Proto, resp.StatusCode, tc.status)
			}
			for k, v := range tc.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if !bytes.Equal(b, tc.body) {
				t.Errorf("body of %d bytes, want %d", len(b), len(tc.body))
			}
			if len(resp.Trailer) != len(tc.trailers) {
				t.Errorf("trailers %v, want %v", resp.Trailer, tc.trailers)
			}
			for k, v := range tc.trailers {
				if got := resp.Trailer.Get(k); got != v {
					t.Errorf("trailer %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// TestServeHTTPRequest: the handler gets the request as net/http has it.
func TestServeHTTPRequest(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	s := startBridge(t, func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		got <- fmt.Sprintf("%s %s %s %q %q host=%s proto=%s/%d tls=%v remote=%v len=%d body=%s err=%v",
			r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Values("X-Multi"), r.Header.Get("Content-Type"),
			r.Host, r.Proto, r.ProtoMajor, r.TLS != nil, r.RemoteAddr != "", r.ContentLength, b, err)
	})
	req, err := http.NewRequest("POST", "http://"+s.addr+"/a%20b/c?q=1&r=2", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Add("X-Multi", "1")
	req.Header.Add("X-Multi", "2")
	req.Header.Set("Content-Type", "text/plain")
	resp, err := goClient(0).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := fmt.Sprintf(`POST /a b/c q=1&r=2 ["1" "2"] "text/plain" host=%s proto=HTTP/2.0/2 tls=false remote=true len=7 body=payload err=<nil>`, s.addr)
	if g := <-got; g != want {
		t.Errorf("the handler saw\n%s\nwant\n%s", g, want)
	}
}

// TestServeHTTPFullDuplex: a handler reads the body while it answers, as
// gRPC's bidirectional streams do: each piece the client sends is echoed
// before the client sends the next.
func TestServeHTTPFullDuplex(t *testing.T) {
	t.Parallel()
	s := startBridge(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		buf := make([]byte, 64)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				_, _ = w.Write(buf[:n])
				w.(http.Flusher).Flush()
			}
			if err != nil {
				return
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, pw := postPipe(t, ctx, s)
	for i := range 5 {
		msg := fmt.Sprintf("piece %d;", i)
		if _, err := io.WriteString(pw, msg); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, len(msg))
		if _, err := io.ReadFull(resp.Body, b); err != nil || string(b) != msg {
			t.Fatalf("echo %d: %q, %v; want %q", i, b, err, msg)
		}
	}
	pw.Close()
	if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
		t.Errorf("after the client's end: %q, %v; want the end", rest, err)
	}
}

// TestServeHTTPUnreadBody: a handler that answers without reading the body
// the client is still sending: the client gets the answer, and the rest of
// its body is refused with RST_STREAM NO_ERROR, not left to block.
func TestServeHTTPUnreadBody(t *testing.T) {
	t.Parallel()
	s := startBridge(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "early")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, pw := postPipe(t, ctx, s) // the answer comes before the body
	go func() {
		// More than every window, and never ended: only the reset stops it.
		for range 64 {
			if _, err := pw.Write(bigData[:1<<20]); err != nil {
				return
			}
		}
	}()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "early" || err != nil {
		t.Errorf("%d %q %v, want 200 early", resp.StatusCode, b, err)
	}
}

// TestServeHTTPClientGone: the request's context ends when the client
// resets the stream, and a Read waiting for the body returns.
func TestServeHTTPClientGone(t *testing.T) {
	t.Parallel()
	ended := make(chan error, 1)
	s := startBridge(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		_, err := r.Body.Read(make([]byte, 10)) // the client sends nothing
		<-r.Context().Done()
		ended <- err
	})
	ctx, cancel := context.WithCancel(context.Background())
	resp, _ := postPipe(t, ctx, s)
	cancel()
	resp.Body.Close()
	select {
	case err := <-ended:
		if err == nil {
			t.Error("the body's Read returned no error")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the handler did not learn that the client left")
	}
}

// TestServeHTTPPanic: a handler that panics before answering gets a 500
// sent; after its headers went out, or with http.ErrAbortHandler, the
// stream is reset; the connection serves on.
func TestServeHTTPPanic(t *testing.T) {
	t.Parallel()
	s := startBridge(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/before":
			panic("before")
		case "/after":
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			panic("after")
		case "/abort":
			_, _ = io.WriteString(w, "part")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		_, _ = io.WriteString(w, "fine")
	})
	c := goClient(0)
	get := func(path string) (int, string, error) {
		resp, err := c.Get("http://" + s.addr + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	if code, _, err := get("/before"); code != 500 || err != nil {
		t.Errorf("/before: %d %v, want 500", code, err)
	}
	for _, p := range []string{"/after", "/abort"} {
		if _, _, err := get(p); err == nil {
			t.Errorf("%s: no error, want the stream reset", p)
		}
	}
	if code, body, err := get("/ok"); code != 200 || body != "fine" || err != nil {
		t.Errorf("/ok after the panics: %d %q %v", code, body, err)
	}
}

// TestServeHTTPCloseBody: a handler that reads the body on a goroutine of
// its own, answers, then closes the body and waits for that goroutine, as
// grpc-go's ServeHTTP does before its trailers go out, is not left
// waiting by a client that has not ended its body.
func TestServeHTTPCloseBody(t *testing.T) {
	t.Parallel()
	s := startBridge(t, func(w http.ResponseWriter, r *http.Request) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = io.Copy(io.Discard, r.Body)
		}()
		w.Header().Set("Trailer", "X-Status")
		_, _ = io.WriteString(w, "answer")
		w.(http.Flusher).Flush()
		r.Body.Close()
		select {
		case <-done:
			w.Header().Set("X-Status", "0")
		case <-time.After(20 * time.Second):
			// A watchdog, so that the test fails rather than hangs.
			w.Header().Set("X-Status", "the body's Read still waits after Close")
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, _ := postPipe(t, ctx, s)
	b, err := io.ReadAll(resp.Body)
	if string(b) != "answer" || err != nil || resp.Trailer.Get("X-Status") != "0" {
		t.Errorf("%q %v, trailers %v: want the answer and its trailer", b, err, resp.Trailer)
	}
}

// countConn counts the writes to a connection.
type countConn struct {
	net.Conn
	n atomic.Int64
}

func (c *countConn) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(p)
}

// TestCoalesce: a stream's headers, data and trailers go out in one write
// to the connection with Coalesce, in one per part without it; parts
// written held wait for the next part that is not.
func TestCoalesce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		coalesce bool
		held     bool // the body in three parts, the first two held
		writes   int64
	}{{false, false, 2}, {true, false, 1}, {false, true, 2}} {
		t.Run(fmt.Sprint("coalesce=", tc.coalesce, ",held=", tc.held), func(t *testing.T) {
			t.Parallel()
			prepare := func(w *ResponseWriter) {
				if tc.coalesce {
					w.Coalesce()
				}
			}
			rc, wrote := writesOf(t, 0, prepare, func(w *ResponseWriter) {
				head := EncodeHeaderBlock(200, [][2]string{{"content-type", "application/grpc"}}, -1)
				if tc.held {
					// Held, held, then one write sends all three.
					_ = w.WriteHeadDataHeld(head, []byte("mes"))
					_ = w.WriteDataHeld([]byte("sa"))
					_ = w.WriteData([]byte("ge"), false)
				} else {
					_ = w.WriteHeadData(head, []byte("message"))
				}
				_ = w.WriteTrailers(EncodeTrailerBlock([][2]string{{"grpc-status", "0"}}))
			})
			status, body, rst := rc.response(1, false)
			if status != "200" || string(body) != "message" || rst != nil {
				t.Fatalf("%s %q %v, want 200 with the message", status, body, rst)
			}
			if n := <-wrote; n != tc.writes {
				t.Errorf("%d writes to the connection, want %d", n, tc.writes)
			}
		})
	}
}

// writesOf serves one GET on a connection that counts its writes, for
// the client it returns. prepare runs in the handler; answer runs on the
// stream's own goroutine once the connection's reader is idle (the
// client has had the ACK of a PING sent after its request), and the
// channel then gives the writes it made. With window > 0 the client
// grants that much credit, to the stream and to the connection, first.
func writesOf(t *testing.T, window uint32, prepare, answer func(w *ResponseWriter)) (*rawClient, <-chan int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	gate, wrote := make(chan struct{}), make(chan int64, 1)
	var cc *countConn
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.Detach()
		prepare(w)
		go func() {
			<-gate
			before := cc.n.Load()
			answer(w)
			wrote <- cc.n.Load() - before
		}()
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		cc = &countConn{Conn: c}
		_ = ServeConn(ctx, cc, h, Options{})
	}()
	var settings []http2.Setting
	if window > 0 {
		settings = append(settings, http2.Setting{ID: http2.SettingInitialWindowSize, Val: window})
	}
	rc := dialRaw(t, ln.Addr().String(), settings...)
	if window > 0 {
		if err := rc.fr.WriteWindowUpdate(0, window); err != nil {
			t.Fatal(err)
		}
	}
	rc.get(1, "/")
	if err := rc.fr.WritePing(false, [8]byte{1}); err != nil {
		t.Fatal(err)
	}
	for {
		if p, ok := rc.next().(*http2.PingFrame); ok && p.IsAck() {
			break
		}
	}
	close(gate)
	return rc, wrote
}

// TestCoalesceFlowControl: a coalesced body larger than the client's
// windows still goes out as the client gives credit.
func TestCoalesceFlowControl(t *testing.T) {
	t.Parallel()
	body := bigData[:300<<10]
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.Detach()
		w.Coalesce()
		go func() {
			_ = w.WriteHeadData(EncodeHeaderBlock(200, nil, -1), body)
			_ = w.WriteTrailers(EncodeTrailerBlock([][2]string{{"grpc-status", "0"}}))
		}()
	})
	s := startServer(t, h, Options{})
	rc := dialRaw(t, s.addr)
	rc.get(1, "/")
	status, got, rst := rc.response(1, true)
	if status != "200" || !bytes.Equal(got, body) || rst != nil {
		t.Errorf("%s, %d bytes, %v: want 200 and the %d bytes", status, len(got), rst, len(body))
	}
}

// TestLargeBodyFewWrites: a large body leaves in writes of several DATA
// frames, not one write per frame. With windows that let 1 MiB go at
// once, it takes about 16 writes (64 KiB a turn of the pump); with the
// write buffer flushed as each 16 KiB frame joins it, it took 65.
func TestLargeBodyFewWrites(t *testing.T) {
	t.Parallel()
	body := bigData[:1<<20]
	rc, wrote := writesOf(t, 8<<20, func(*ResponseWriter) {}, func(w *ResponseWriter) {
		_ = w.WriteHeadData(EncodeHeaderBlock(200, nil, -1), body)
		_ = w.WriteTrailers(EncodeTrailerBlock([][2]string{{"x-done", "1"}}))
	})
	status, got, rst := rc.response(1, true)
	if status != "200" || !bytes.Equal(got, body) || rst != nil {
		t.Fatalf("%s, %d bytes, %v: want 200 and the %d bytes", status, len(got), rst, len(body))
	}
	if n := <-wrote; n > 20 {
		t.Errorf("%d writes to the connection for 1 MiB, want at most 20", n)
	}
}
