package h2serve

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/external"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// goClient is Go's own HTTP/2 client over h2c with prior knowledge; small
// receive windows make large bodies exercise flow control.
func goClient(window int) *http.Client {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: p, HTTP2: &http.HTTP2Config{
		MaxReceiveBufferPerStream:     window,
		MaxReceiveBufferPerConnection: window,
	}}
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

func TestEncodeHeaderBlock(t *testing.T) {
	cases := []struct {
		status  int
		headers [][2]string
		length  int
		want    []hpack.HeaderField
	}{
		{200, [][2]string{{"Content-Type", "application/json"}, {"ETag", `"abc"`}, {"X-Custom", "yes"}}, 168,
			[]hpack.HeaderField{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "application/json"},
				{Name: "etag", Value: `"abc"`}, {Name: "x-custom", Value: "yes"}, {Name: "content-length", Value: "168"}}},
		{201, [][2]string{{"Connection", "close"}, {"Transfer-Encoding", "chunked"}, {"Content-Length", "9"}}, 0,
			[]hpack.HeaderField{{Name: ":status", Value: "201"}, {Name: "content-length", Value: "0"}}},
		{204, nil, 0, []hpack.HeaderField{{Name: ":status", Value: "204"}}},
		{418, [][2]string{{"Content-Length", "5"}}, -1, []hpack.HeaderField{{Name: ":status", Value: "418"}, {Name: "content-length", Value: "5"}}},
		{999, nil, 3, []hpack.HeaderField{{Name: ":status", Value: "999"}, {Name: "content-length", Value: "3"}}},
	}
	for _, tc := range cases {
		b := EncodeHeaderBlock(tc.status, tc.headers, tc.length)
		// A decoder whose dynamic table is already full of other entries
		// reads it the same: the block uses the static table only.
		for _, size := range []uint32{0, 4096} {
			var got []hpack.HeaderField
			d := hpack.NewDecoder(size, func(f hpack.HeaderField) { got = append(got, f) })
			if _, err := d.Write(b); err != nil {
				t.Fatalf("%d: %v", tc.status, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("%d: decoded %v, want %v", tc.status, got, tc.want)
			}
		}
		if s := blockStatus(b); s != tc.status {
			t.Errorf("blockStatus = %d, want %d", s, tc.status)
		}
	}
	extra := AppendHeaderField(EncodeHeaderBlock(200, nil, 1), "Server-Timing", "decoy;dur=0.012")
	got, err := hpack.NewDecoder(4096, nil).DecodeFull(extra)
	if err != nil || len(got) != 3 || got[2].Name != "server-timing" || got[2].Value != "decoy;dur=0.012" {
		t.Errorf("appended field: %v %v", got, err)
	}
}

func TestGoClient(t *testing.T) {
	s := startServer(t, testHandler(), Options{})
	c := goClient(64 << 10)
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := c.Get("http://" + s.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	resp, b := get("/")
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || !bytes.Equal(b, testBody) ||
		resp.Header.Get("Content-Type") != "text/plain" || resp.ContentLength != int64(len(testBody)) {
		t.Fatalf("GET /: %s %d %q len %d", resp.Proto, resp.StatusCode, resp.Header, len(b))
	}
	// Larger than the 64 KiB windows and than a 16 KiB frame.
	for _, n := range []int{16384, 16385, 65535, 65536, 300_000, 5 << 20} {
		_, b := get("/big?n=" + strconv.Itoa(n))
		if !bytes.Equal(b, bigData[:n]) {
			t.Fatalf("/big?n=%d: got %d bytes, not the body", n, len(b))
		}
	}
	// A header block larger than a frame goes out with CONTINUATION.
	resp, b = get("/bighdr")
	if len(resp.Header.Get("X-Big")) != 40000 || string(b) != "ok" {
		t.Errorf("/bighdr: %d-byte header, body %q", len(resp.Header.Get("X-Big")), b)
	}
	// HEAD: the headers, no body.
	req, _ := http.NewRequest("HEAD", "http://"+s.addr+"/big?n=5000", nil)
	hr, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := io.ReadAll(hr.Body)
	hr.Body.Close()
	if hr.StatusCode != 200 || len(hb) != 0 || hr.ContentLength != 5000 {
		t.Errorf("HEAD: %d, %d bytes, content-length %d", hr.StatusCode, len(hb), hr.ContentLength)
	}
	// Query, cookies, headers, authority.
	req, _ = http.NewRequest("GET", "http://"+s.addr+"/info?q=x%2By+z&other=1", nil)
	req.Header.Set("X-Test", "hello")
	req.Header.Add("Cookie", "a=1; c=\"two\"")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	want := "GET|/info|q=x%2By+z&other=1|" + s.addr + "|x+y z|two|hello|" + s.addr
	if string(b) != want || resp.Header.Get("X-Served-By") != "h2serve" {
		t.Errorf("/info: %q (x-served-by %q), want %q", b, resp.Header.Get("X-Served-By"), want)
	}
}

func TestPathDecoding(t *testing.T) {
	var r Request
	for _, tc := range []struct{ raw, path, query string }{
		{"/users/42", "/users/42", ""},
		{"/a%20b/../c%2Fd?x=1", "/a b/../c%2Fd", "x=1"},
		{"/refs/heads%2fmain", "/refs/heads%2Fmain", ""},
		{"/100%25/x%41", "/100%25/xA", ""},
		{"/bad%zz", "/bad%25zz", ""},
		{"/q?", "/q", ""},
		{"*", "*", ""},
	} {
		r.setPath(tc.raw)
		if r.Path != tc.path || r.RawQuery != tc.query || r.RawPath != tc.raw {
			t.Errorf("%q: path %q query %q", tc.raw, r.Path, r.RawQuery)
		}
	}
}

func TestManyConcurrentStreams(t *testing.T) {
	s := startServer(t, testHandler(), Options{})
	c := goClient(1 << 20)
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for i := 0; i < 400; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			path := "/"
			want := testBody
			switch i % 10 {
			case 0:
				path = "/big?n=" + strconv.Itoa(20000+i)
				want = bigData[:20000+i]
			case 1:
				path = "/goroutine?n=" + strconv.Itoa(70000+i)
				want = bigData[:70000+i]
			case 2:
				path = "/slow?ms=20"
			}
			resp, err := c.Get("http://" + s.addr + path)
			if err != nil {
				errs <- err
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || !bytes.Equal(b, want) {
				errs <- fmt.Errorf("%s: %v, %d bytes", path, err, len(b))
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestUploads(t *testing.T) {
	s := startServer(t, testHandler(), Options{MaxBodyBytes: 8 << 20})
	c := goClient(1 << 20)
	for _, n := range []int{0, 1, 16384, 65536, 3 << 20} {
		body := bigData[:n]
		resp, err := c.Post("http://"+s.addr+"/echo", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("%d %08x", n, crc32.ChecksumIEEE(body)); string(b) != want {
			t.Errorf("upload of %d bytes: %q, want %q", n, b, want)
		}
	}
	// Too large: 413, and the connection still serves.
	resp, err := c.Post("http://"+s.addr+"/echo", "application/octet-stream", bytes.NewReader(make([]byte, 9<<20)))
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Errorf("9 MiB upload: status %d, want 413", resp.StatusCode)
		}
	} // (a client may also report the reset of its upload as an error)
	resp, err = c.Get("http://" + s.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after 413: %d", resp.StatusCode)
	}
}

func TestRejects(t *testing.T) {
	var mu sync.Mutex
	var seen []int
	s := startServer(t, testHandler(), Options{
		MaxHeaderListSize: 1024,
		MaxBodyBytes:      1000,
		Reject: func(w *ResponseWriter, r *Request, status int) {
			mu.Lock()
			seen = append(seen, status)
			mu.Unlock()
			_ = w.WriteResponse(status, [][2]string{{"content-type", "application/problem+json"}}, []byte(`{"status":`+strconv.Itoa(status)+`}`))
		},
	})
	rc := dialRaw(t, s.addr)
	rc.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x", "x-big", strings.Repeat("a", 2000))
	if st, body, rst := rc.response(1, false); st != "431" || string(body) != `{"status":431}` || rst != nil {
		t.Errorf("large headers: %s %q %v", st, body, rst)
	}
	// The HPACK state survived: the next request works.
	rc.get(3, "/")
	if st, body, _ := rc.response(3, false); st != "200" || !bytes.Equal(body, testBody) {
		t.Errorf("after 431: %s", st)
	}
	// Declared too large: 413 at once, and the rest of the body is read
	// and dropped, without a reset that could cost a client still sending
	// the answer (curl exits 92).
	rc.headers(5, false, ":method", "POST", ":scheme", "http", ":path", "/echo", ":authority", "x", "content-length", "5000")
	st, _, rst := rc.response(5, false)
	if st != "413" || rst != nil {
		t.Errorf("content-length 5000: %s %v, want a 413", st, rst)
	}
	_ = rc.fr.WriteData(5, false, make([]byte, 4000))
	_ = rc.fr.WriteData(5, true, make([]byte, 1000))
	if err := rc.fr.WritePing(false, [8]byte{5}); err != nil {
		t.Fatal(err)
	}
	for {
		f := rc.next()
		if r, ok := f.(*http2.RSTStreamFrame); ok {
			t.Fatalf("after an early 413, while the body came: %v, want no reset", r)
		}
		if p, ok := f.(*http2.PingFrame); ok && p.IsAck() {
			break
		}
	}
	rc.get(7, "/")
	if st, _, rst := rc.response(7, false); st != "200" || rst != nil {
		t.Errorf("after DATA on a rejected stream: %s %v", st, rst)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(seen) != "[431 413]" {
		t.Errorf("Reject saw %v", seen)
	}
}

// TestRejectDrainBound checks that a body answered 413 early is read and
// dropped only up to DrainBytes: past it, the stream is reset with
// NO_ERROR (RFC 9113, section 8.1).
func TestRejectDrainBound(t *testing.T) {
	s := startServer(t, testHandler(), Options{MaxBodyBytes: 1000})
	rc := dialRaw(t, s.addr)
	rc.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/echo", ":authority", "x")
	chunk := make([]byte, 16<<10)
	total := DrainBytes(1000) + 1000 + 2*int64(len(chunk))
	go func() {
		// The server gives the windows back as it drops the data, long
		// before they run out.
		for sent := int64(0); sent < total; sent += int64(len(chunk)) {
			if rc.fr.WriteData(1, false, chunk) != nil {
				return
			}
		}
	}()
	st, _, rst := rc.response(1, false)
	if st != "413" || rst != nil {
		t.Fatalf("a body past the limit: %s %v, want a 413", st, rst)
	}
	for {
		if r, ok := rc.next().(*http2.RSTStreamFrame); ok {
			if r.StreamID != 1 || r.ErrCode != http2.ErrCodeNo {
				t.Errorf("reset %v, want stream 1 NO_ERROR", r)
			}
			return
		}
	}
}

func TestPingAndSettings(t *testing.T) {
	s := startServer(t, testHandler(), Options{})
	rc := dialRaw(t, s.addr, http2.Setting{ID: http2.SettingHeaderTableSize, Val: 0})
	data := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	if err := rc.fr.WritePing(false, data); err != nil {
		t.Fatal(err)
	}
	for {
		f := rc.next()
		if p, ok := f.(*http2.PingFrame); ok {
			if !p.IsAck() || p.Data != data {
				t.Fatalf("PING answer %v", p)
			}
			break
		}
	}
	// The peer shrank its table to 0: the next header block opens with a
	// table size update, which a strict decoder insists on.
	rc.dec.SetAllowedMaxDynamicTableSize(0)
	rc.get(1, "/")
	for {
		f := rc.next()
		if h, ok := f.(*http2.HeadersFrame); ok {
			if b := h.HeaderBlockFragment(); len(b) == 0 || b[0] != 0x20 {
				t.Errorf("header block starts % x, want a size update to 0", b[:min(4, len(b))])
			}
			break
		}
	}
}

func TestResetMidResponse(t *testing.T) {
	s := startServer(t, testHandler(), Options{})
	rc := dialRaw(t, s.addr)
	// A 1 MB body against the default 64 KiB windows: the server sends a
	// window's worth and waits.
	rc.get(1, "/big?n=1000000")
	got := 0
	for got < 65535 {
		if d, ok := rc.next().(*http2.DataFrame); ok {
			got += len(d.Data())
		}
	}
	if err := rc.fr.WriteRSTStream(1, http2.ErrCodeCancel); err != nil {
		t.Fatal(err)
	}
	// Opening the windows now must not resume stream 1.
	_ = rc.fr.WriteWindowUpdate(0, 1<<30)
	_ = rc.fr.WriteWindowUpdate(1, 1<<30)
	rc.get(3, "/")
	for {
		switch f := rc.next().(type) {
		case *http2.DataFrame:
			if f.StreamID == 1 {
				t.Fatal("DATA for stream 1 after RST_STREAM")
			}
			if f.StreamID == 3 && f.StreamEnded() {
				return
			}
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY %v", f.ErrCode)
		}
	}
}

func TestFlowControlResume(t *testing.T) {
	s := startServer(t, testHandler(), Options{})
	// Stream window 1000: the body comes 1000 bytes per WINDOW_UPDATE.
	rc := dialRaw(t, s.addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1000})
	rc.get(1, "/big?n=70000")
	st, body, rst := rc.response(1, true)
	if st != "200" || rst != nil || !bytes.Equal(body, bigData[:70000]) {
		t.Fatalf("%s %v: %d bytes", st, rst, len(body))
	}
}

func TestDelayDoesNotBlock(t *testing.T) {
	s := startServer(t, testHandler(), Options{})
	rc := dialRaw(t, s.addr)
	start := time.Now()
	rc.get(1, "/slow?ms=400")
	rc.get(3, "/")
	if st, _, _ := rc.response(3, false); st != "200" {
		t.Fatalf("fast stream: %s", st)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("the fast stream waited %v behind the delayed one", d)
	}
	if st, body, _ := rc.response(1, false); st != "200" || !bytes.Equal(body, testBody) {
		t.Fatalf("delayed stream: %s", st)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("the delayed stream came after %v, want 400 ms", d)
	}
	// A delayed stream reset by the client is dropped.
	rc.get(5, "/slow?ms=100")
	_ = rc.fr.WriteRSTStream(5, http2.ErrCodeCancel)
	rc.get(7, "/slow?ms=200")
	for {
		switch f := rc.next().(type) {
		case *http2.HeadersFrame:
			if f.StreamID == 5 {
				t.Fatal("a response on a reset stream")
			}
		case *http2.DataFrame:
			if f.StreamID == 7 && f.StreamEnded() {
				return
			}
		}
	}
}

func TestGracefulShutdown(t *testing.T) {
	h := testHandler()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		served <- ServeConn(ctx, c, h, Options{})
	}()
	rc := dialRaw(t, ln.Addr().String())
	rc.get(1, "/slow?ms=300")
	rc.get(3, "/big?n=200000") // waits for windows
	time.Sleep(50 * time.Millisecond)
	cancel()
	g := rc.expectGoAway()
	if g.ErrCode != http2.ErrCodeNo || g.LastStreamID != 3 {
		t.Errorf("GOAWAY %v last %d", g.ErrCode, g.LastStreamID)
	}
	// A stream opened after the GOAWAY is ignored.
	rc.get(5, "/")
	// Streams in flight finish.
	_ = rc.fr.WriteWindowUpdate(0, 1<<20)
	_ = rc.fr.WriteWindowUpdate(3, 1<<20)
	ended := map[uint32]bool{}
	for len(ended) < 2 {
		switch f := rc.next().(type) {
		case *http2.DataFrame:
			if f.StreamEnded() {
				ended[f.StreamID] = true
			}
		case *http2.HeadersFrame:
			if f.StreamID == 5 {
				t.Fatal("answered a stream opened after GOAWAY")
			}
		}
	}
	rc.expectClosed()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("ServeConn: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeConn did not return")
	}
}

func TestDetachedAndConnectionEnd(t *testing.T) {
	s := startServer(t, testHandler(), Options{})
	rc := dialRaw(t, s.addr)
	rc.get(1, "/detach")
	rc.get(3, "/")
	if st, _, _ := rc.response(3, false); st != "200" {
		t.Fatal(st)
	}
	_ = rc.c.Close() // the detached goroutine learns through Done
}

func TestIdleTimeout(t *testing.T) {
	s := startServer(t, testHandler(), Options{IdleTimeout: 300 * time.Millisecond})
	rc := dialRaw(t, s.addr)
	rc.get(1, "/")
	rc.response(1, false)
	start := time.Now()
	g := rc.expectGoAway()
	if g.ErrCode != http2.ErrCodeNo {
		t.Errorf("GOAWAY %v", g.ErrCode)
	}
	rc.expectClosed()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("closed after %v", d)
	}
}

func TestReadDeadlineMeansShutdown(t *testing.T) {
	// An owner that sets a read deadline (as httpfront's Shutdown does)
	// gets a graceful shutdown.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conns := make(chan net.Conn, 1)
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		conns <- c
		served <- ServeConn(context.Background(), c, testHandler(), Options{})
	}()
	rc := dialRaw(t, ln.Addr().String())
	rc.get(1, "/slow?ms=200")
	c := <-conns
	time.Sleep(20 * time.Millisecond)
	_ = c.SetReadDeadline(time.Now())
	if g := rc.expectGoAway(); g.ErrCode != http2.ErrCodeNo {
		t.Errorf("GOAWAY %v", g.ErrCode)
	}
	if st, _, _ := rc.response(1, false); st != "200" {
		t.Errorf("in-flight stream: %s", st)
	}
	rc.expectClosed()
	if err := <-served; err != nil {
		t.Error(err)
	}
}

func TestProtocolErrors(t *testing.T) {
	s := startServer(t, testHandler(), Options{})
	for _, tc := range []struct {
		name string
		send func(rc *rawClient)
		code http2.ErrCode
	}{
		{"DATA on idle", func(rc *rawClient) { _ = rc.fr.WriteData(1, true, []byte("x")) }, http2.ErrCodeProtocol},
		{"even stream", func(rc *rawClient) { rc.get(2, "/") }, http2.ErrCodeProtocol},
		{"window overflow", func(rc *rawClient) {
			_ = rc.fr.WriteWindowUpdate(0, 1<<31-1)
			_ = rc.fr.WriteWindowUpdate(0, 1<<31-1)
		}, http2.ErrCodeFlowControl},
		{"bad HPACK", func(rc *rawClient) {
			_ = rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0xff, 0xff, 0xff, 0xff}, EndHeaders: true, EndStream: true})
		}, http2.ErrCodeCompression},
		{"interrupted header block", func(rc *rawClient) {
			_ = rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x82}, EndStream: true})
			_ = rc.fr.WritePing(false, [8]byte{})
		}, http2.ErrCodeProtocol},
		{"frame too large", func(rc *rawClient) { _ = rc.fr.WriteData(1, false, make([]byte, 16385)) }, http2.ErrCodeFrameSize},
		{"PUSH_PROMISE", func(rc *rawClient) {
			_ = rc.fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: []byte{0x82}, EndHeaders: true})
		}, http2.ErrCodeProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, s.addr)
			tc.send(rc)
			if g := rc.expectGoAway(); g.ErrCode != tc.code {
				t.Errorf("GOAWAY %v, want %v", g.ErrCode, tc.code)
			}
			rc.expectClosed()
		})
	}
}

func TestMalformedRequests(t *testing.T) {
	s := startServer(t, testHandler(), Options{})
	rc := dialRaw(t, s.addr)
	id := uint32(1)
	for _, fields := range [][]string{
		{":method", "GET", ":scheme", "http", ":path", ""},
		{":method", "GET", ":path", "/"},
		{":method", "GET", ":scheme", "http", ":path", "/", "Upper", "x"},
		{":method", "GET", ":scheme", "http", ":path", "/", "connection", "close"},
		{":method", "GET", ":scheme", "http", ":path", "/", "te", "gzip"},
		{":method", "GET", ":scheme", "http", "x", "y", ":path", "/"},
		{":method", "GET", ":scheme", "http", ":path", "/", ":method", "GET"},
		{":method", "GET", ":scheme", "http", ":path", "/", ":status", "200"},
	} {
		rc.headers(id, true, fields...)
		if _, _, rst := rc.response(id, false); rst == nil || *rst != http2.ErrCodeProtocol {
			t.Errorf("%q: %v, want RST_STREAM PROTOCOL_ERROR", fields, rst)
		}
		id += 2
	}
	// Content-length that does not match the body.
	rc.headers(id, false, ":method", "POST", ":scheme", "http", ":path", "/echo", "content-length", "10")
	_ = rc.fr.WriteData(id, true, []byte("short"))
	if _, _, rst := rc.response(id, false); rst == nil || *rst != http2.ErrCodeProtocol {
		t.Errorf("content-length mismatch: %v", rst)
	}
	id += 2
	// Trailers reach the handler's request.
	rc.headers(id, false, ":method", "POST", ":scheme", "http", ":path", "/echo")
	_ = rc.fr.WriteData(id, false, []byte("abc"))
	rc.headers(id, true, "x-trailer", "1")
	if st, body, _ := rc.response(id, false); st != "200" || !strings.HasPrefix(string(body), "3 ") {
		t.Errorf("with trailers: %s %q", st, body)
	}
}

func TestCancelledBeforePreface(t *testing.T) {
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() { done <- ServeConn(ctx, a, testHandler(), Options{ReadTimeout: 5 * time.Second}) }()
	go func() { _, _ = io.Copy(io.Discard, b) }()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("ServeConn kept a connection whose context was already cancelled")
	}
	_ = b.Close()
}

// TestStuckWriter: a client that stops reading cannot hold the
// connection (and its goroutines) beyond WriteTimeout.
func TestStuckWriter(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		served <- ServeConn(context.Background(), c, testHandler(), Options{WriteTimeout: 300 * time.Millisecond})
	}()
	rc := dialRaw(t, ln.Addr().String(), http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 30})
	_ = rc.fr.WriteWindowUpdate(0, 1<<30)
	for id := uint32(1); id <= 15; id += 2 {
		rc.get(id, "/big?n=8000000") // 64 MB in all, and nobody reads
	}
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("ServeConn still blocked on a client that does not read")
	}
}

func TestHandlerPanic(t *testing.T) {
	s := startServer(t, testHandler(), Options{})
	rc := dialRaw(t, s.addr)
	rc.get(1, "/panic")
	if st, _, _ := rc.response(1, false); st != "500" {
		t.Errorf("panicking handler: %s, want 500", st)
	}
	rc.get(3, "/")
	if st, _, _ := rc.response(3, false); st != "200" {
		t.Errorf("after a panic: %s", st)
	}
}

func TestCurl(t *testing.T) {
	curl := external.Program(t, "curl")
	s := startServer(t, testHandler(), Options{})
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(curl, append([]string{"--http2-prior-knowledge", "-sS", "--max-time", "20"}, args...)...)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, b)
		}
		return string(b)
	}
	got := run("-o", out, "-w", "%{http_code} %{http_version} %{size_download}", "http://"+s.addr+"/big?n=1000000")
	if got != "200 2 1000000" {
		t.Errorf("curl download: %q", got)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, bigData[:1000000]) {
		t.Error("curl download: wrong body")
	}
	up := filepath.Join(dir, "up")
	upload := make([]byte, 2<<20)
	_, _ = rand.Read(upload)
	_ = os.WriteFile(up, upload, 0o600)
	got = run("--data-binary", "@"+up, "http://"+s.addr+"/echo")
	if want := fmt.Sprintf("%d %08x", len(upload), crc32.ChecksumIEEE(upload)); got != want {
		t.Errorf("curl upload: %q, want %q", got, want)
	}
	// (curl 7.88.1 with prior knowledge fails a second request on the same
	// connection, against net/http's server too: one request per run.)
	if got = run("-o", "/dev/null", "-w", "%{http_code} %{size_download}", "http://"+s.addr+"/slow?ms=50"); got != "200 1000" {
		t.Errorf("curl, delayed: %q", got)
	}
}

func TestH2load(t *testing.T) {
	h2load := external.Program(t, "h2load")
	s := startServer(t, testHandler(), Options{})
	up := filepath.Join(t.TempDir(), "up")
	_ = os.WriteFile(up, bigData[:100_000], 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "20000", "-c", "8", "-m", "10"}, "/"},
		{[]string{"-n", "200", "-c", "2", "-m", "5"}, "/big?n=300000"},
		{[]string{"-n", "200", "-c", "2", "-m", "10", "-d", up}, "/echo"},
	} {
		args := append(tc.args, "http://"+s.addr+tc.want)
		b, err := exec.Command(h2load, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("h2load %v: %v\n%s", args, err, b)
		}
		n := tc.args[1]
		if !regexp.MustCompile(`status codes: `+n+` 2xx`).Match(b) ||
			!regexp.MustCompile(`requests: `+n+` total, `+n+` started, `+n+` done, `+n+` succeeded`).Match(b) {
			t.Errorf("h2load %v:\n%s", args, b)
		}
	}
}

// h2specFloor is the number of h2spec 2.2.1's 145 cases this server passes
// (Go's net/http passes 140, nginx 1.22 118).
const h2specFloor = 145

func TestH2spec(t *testing.T) {
	home, _ := os.UserHomeDir()
	h2spec := external.Program(t, "h2spec", filepath.Join(home, "go", "bin", "h2spec"))
	s := startServer(t, testHandler(), Options{})
	cmd := exec.Command(h2spec, "-h", "127.0.0.1", "-p", s.port(), "-o", "2")
	b, _ := cmd.CombinedOutput() // it exits non-zero when a case fails
	m := regexp.MustCompile(`(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no summary from h2spec:\n%s", b)
	}
	passed, _ := strconv.Atoi(string(m[2]))
	t.Logf("h2spec: %s", m[0])
	if passed < h2specFloor {
		t.Errorf("h2spec passed %d, want at least %d:\n%s", passed, h2specFloor, failures(b))
	}
}

// failures picks h2spec's failure report out of its output.
func failures(out []byte) string {
	if i := bytes.Index(out, []byte("Failures:")); i >= 0 {
		return string(out[i:])
	}
	return string(out)
}
