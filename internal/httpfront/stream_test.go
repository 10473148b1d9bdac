package httpfront_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/external"
	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/stub"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

func streamStubs() []engine.Source {
	return []engine.Source{
		{Stub: stub.Stub{ID: "sse", Request: stub.Request{Path: "/sse"}, Response: &stub.Response{
			Stream: &stub.Stream{Chunks: []string{"data: a\n\n", "event: x\ndata: b\n\n"}, Repeat: 2, Interval: stub.Duration(20 * time.Millisecond)}}}},
		{Stub: stub.Stub{ID: "poll", Request: stub.Request{Path: "/poll"}, Response: &stub.Response{
			Body: stub.Text(`{"n":1}` + "\n"), Stream: &stub.Stream{Repeat: 4, Interval: stub.Duration(10 * time.Millisecond)}}}},
	}
}

func startStreams(t *testing.T, engineName string) (string, *engine.Store) {
	t.Helper()
	store, err := engine.NewStore(streamStubs())
	if err != nil {
		t.Fatal(err)
	}
	srv := httpfront.New(httpfront.Options{Engine: store.Engine(), HTTP2Engine: engineName})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return ln.Addr().String(), store
}

var streamCases = []struct {
	path, ctype string
	chunks      []string
}{
	{"/sse", "text/event-stream", []string{"data: a\n\n", "event: x\ndata: b\n\n", "data: a\n\n", "event: x\ndata: b\n\n"}},
	{"/poll", "text/plain; charset=utf-8", []string{"{\"n\":1}\n", "{\"n\":1}\n", "{\"n\":1}\n", "{\"n\":1}\n"}},
}

// h1Chunks sends one HTTP/1.1 request and reads the response's chunks as
// they were framed on the wire.
func h1Chunks(t *testing.T, addr, path string) (http.Header, []string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: test\r\n\r\n")
	br := bufio.NewReader(c)
	req, _ := http.NewRequest("GET", path, nil)
	// Read the head alone: http.ReadResponse would decode the chunks.
	tp, err := http.ReadResponse(bufio.NewReader(io.MultiReader(headOnly(t, br), strings.NewReader(""))), req)
	if err != nil {
		t.Fatal(err)
	}
	if tp.StatusCode != 200 || tp.ContentLength != -1 || len(tp.TransferEncoding) != 1 || tp.TransferEncoding[0] != "chunked" {
		t.Fatalf("%s: status %d, Content-Length %d, Transfer-Encoding %v", path, tp.StatusCode, tp.ContentLength, tp.TransferEncoding)
	}
	var chunks []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading a chunk size: %v", err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(line), 16, 64)
		if err != nil {
			t.Fatalf("chunk size %q: %v", line, err)
		}
		if n == 0 {
			return tp.Header, chunks
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(br, b); err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, string(b[:n]))
	}
}

// headOnly reads a response head (up to the blank line) from br.
func headOnly(t *testing.T, br *bufio.Reader) io.Reader {
	t.Helper()
	var head bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the head: %v", err)
		}
		head.WriteString(line)
		if line == "\r\n" {
			return &head
		}
	}
}

// h2cGet opens an h2c connection with prior knowledge to addr, sends
// GET path on stream 1 and returns the connection's framer (the
// connection closes when the test ends).
func h2cGet(t *testing.T, addr, path string) *http2.Framer {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	_ = fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":path", path}, {":authority", "test"}} {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true})
	return fr
}

// h2Chunks sends one request over h2c and reads the response's DATA
// frames (empty ones left out).
func h2Chunks(t *testing.T, addr, path string) (map[string]string, []string) {
	t.Helper()
	fr := h2cGet(t, addr, path)
	hdr := map[string]string{}
	dec := hpack.NewDecoder(4096, func(f hpack.HeaderField) { hdr[f.Name] = f.Value })
	var chunks []string
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading frames: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			if _, err := dec.Write(f.HeaderBlockFragment()); err != nil {
				t.Fatal(err)
			}
			if f.StreamEnded() {
				return hdr, chunks
			}
		case *http2.DataFrame:
			if len(f.Data()) > 0 {
				chunks = append(chunks, string(f.Data()))
			}
			if f.StreamEnded() {
				return hdr, chunks
			}
		case *http2.RSTStreamFrame:
			t.Fatalf("stream reset: %v", f.ErrCode)
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY: %v", f.ErrCode)
		}
	}
}

// TestStreams: a stream goes chunk by chunk (one HTTP/1.1 chunk, or one
// DATA frame, per chunk), without Content-Length, with its content type,
// on HTTP/1.1 and on both HTTP/2 engines.
func TestStreams(t *testing.T) {
	t.Parallel()
	for _, engineName := range []string{httpfront.HTTP2Decoy, httpfront.HTTP2Go} {
		addr, _ := startStreams(t, engineName)
		for _, tt := range streamCases {
			t.Run(engineName+"/HTTP1.1"+tt.path, func(t *testing.T) {
				t.Parallel()
				h, chunks := h1Chunks(t, addr, tt.path)
				if h.Get("Content-Type") != tt.ctype {
					t.Errorf("Content-Type %q, want %q", h.Get("Content-Type"), tt.ctype)
				}
				// Chunk boundaries carry no meaning in HTTP/1.1 and the
				// front door's stream writer may join chunks written
				// close together (a slow reader, a busy machine): the
				// bytes and their order are what must hold.
				if strings.Join(chunks, "") != strings.Join(tt.chunks, "") || len(chunks) == 0 || len(chunks) > len(tt.chunks) {
					t.Errorf("chunks %q, want %q", chunks, tt.chunks)
				}
			})
			t.Run(engineName+"/h2c"+tt.path, func(t *testing.T) {
				t.Parallel()
				h, chunks := h2Chunks(t, addr, tt.path)
				if h[":status"] != "200" || h["content-type"] != tt.ctype || h["content-length"] != "" {
					t.Errorf("headers %v", h)
				}
				if strings.Join(chunks, "|") != strings.Join(tt.chunks, "|") {
					t.Errorf("DATA frames %q, want %q", chunks, tt.chunks)
				}
			})
		}
	}
}

// TestStreamCurl: curl -N prints the stream as it comes.
func TestStreamCurl(t *testing.T) {
	t.Parallel()
	curl := external.Program(t, "curl")
	addr, _ := startStreams(t, httpfront.HTTP2Decoy)
	for _, args := range [][]string{{}, {"--http2-prior-knowledge"}} {
		out, err := exec.Command(curl, append([]string{"-sSN", "--max-time", "10", "http://" + addr + "/sse"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		if want := "data: a\n\nevent: x\ndata: b\n\ndata: a\n\nevent: x\ndata: b\n\n"; string(out) != want {
			t.Errorf("curl %v printed %q, want %q", args, out, want)
		}
	}
}

// TestStreamEnds: a long stream stops when the client goes away, and when
// the server shuts down (then Shutdown does not wait for its end).
func TestStreamEnds(t *testing.T) {
	t.Parallel()
	long := []engine.Source{{Stub: stub.Stub{ID: "long", Request: stub.Request{Path: "/long"}, Response: &stub.Response{
		Stream: &stub.Stream{Chunks: []string{"data: tick\n\n"}, Repeat: 1000, Interval: stub.Duration(50 * time.Millisecond)}}}}}
	h2 := new(http.Protocols)
	h2.SetUnencryptedHTTP2(true)
	for _, tt := range []struct {
		name, engine string
		protos       *http.Protocols
		leave        bool // the client leaves (else the server shuts down)
	}{
		{"HTTP/1.1 client leaves", httpfront.HTTP2Decoy, nil, true},
		{"HTTP/1.1 shutdown", httpfront.HTTP2Decoy, nil, false},
		{"h2c decoy client leaves", httpfront.HTTP2Decoy, h2, true},
		{"h2c decoy shutdown", httpfront.HTTP2Decoy, h2, false},
		{"h2c go client leaves", httpfront.HTTP2Go, h2, true},
		{"h2c go shutdown", httpfront.HTTP2Go, h2, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store, err := engine.NewStore(long)
			if err != nil {
				t.Fatal(err)
			}
			srv := httpfront.New(httpfront.Options{Engine: store.Engine(), HTTP2Engine: tt.engine})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = srv.Serve(ln) }()
			tr := &http.Transport{Protocols: tt.protos}
			resp, err := (&http.Client{Transport: tr}).Get("http://" + ln.Addr().String() + "/long")
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 64)
			if n, err := resp.Body.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "data: tick") {
				t.Fatalf("first chunk %q, %v", buf[:n], err)
			}
			if tt.leave {
				resp.Body.Close()
				tr.CloseIdleConnections()
			}
			// 50 s of stream left: Shutdown must not wait for it.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v (the stream kept the server waiting)", err)
			}
			if !tt.leave {
				b, _ := io.ReadAll(resp.Body)
				if n := strings.Count(string(b), "data: tick"); n >= 999 {
					t.Errorf("the whole stream came (%d chunks) despite the shutdown", n+1)
				}
				resp.Body.Close()
			}
		})
	}
}

// TestStreamCut: close-mid-body on a stream sends half of it, then breaks
// the exchange: an unfinished chunked body on HTTP/1.1, a stream reset on
// HTTP/2.
func TestStreamCut(t *testing.T) {
	t.Parallel()
	store, err := engine.NewStore([]engine.Source{{Stub: stub.Stub{ID: "cut", Request: stub.Request{Path: "/cut"}, Response: &stub.Response{
		Stream: &stub.Stream{Chunks: []string{"data: 1\n\n", "data: 2\n\n"}, Interval: stub.Duration(time.Millisecond)},
		Faults: stub.Faults{{Kind: "close-mid-body"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, engineName := range []string{httpfront.HTTP2Decoy, httpfront.HTTP2Go} {
		srv := httpfront.New(httpfront.Options{Engine: store.Engine(), HTTP2Engine: engineName})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
		})
		for _, tt := range []struct {
			name string
			c    *http.Client
		}{{"HTTP/1.1", h1c()}, {"h2c", h2cc()}} {
			t.Run(engineName+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				resp, err := tt.c.Get("http://" + ln.Addr().String() + "/cut")
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil || string(b) != "data: 1\n\n" || resp.ContentLength != -1 || resp.Header.Get("Content-Type") != "text/event-stream" {
					t.Errorf("%q, %v, Content-Length %d, %q: want the first half, then an error", b, err, resp.ContentLength, resp.Header.Get("Content-Type"))
				}
			})
		}
	}
}
