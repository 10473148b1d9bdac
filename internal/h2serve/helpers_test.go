package h2serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// testBody is 1000 bytes of text: what "/" answers.
var testBody = bytes.Repeat([]byte("0123456789"), 100)

// bigData is the source of /big bodies: deterministic, not repetitive.
var bigData = func() []byte {
	b := make([]byte, 8<<20)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}()

var (
	rootBlock = EncodeHeaderBlock(200, [][2]string{{"Content-Type", "text/plain"}}, len(testBody))
	slowGate  = make(chan struct{}) // closed by tests that hold /detach responses
)

// testHandler answers:
//
//	/big?n=N      N bytes of bigData
//	/echo         the request body's length and CRC-32, as "len crc"
//	/slow?ms=N    the root body after N ms (default 300), from a timer
//	/detach       the root body once slowGate closes, from a goroutine
//	/goroutine?n=N  N bytes of bigData, from a goroutine 5 ms later
//	/info         method, path, raw query, authority, query "q", cookie "c", header "x-test"
//	/panic        panics (before answering)
//	/bighdr       a 40 KB header field (CONTINUATION frames)
//	anything else testBody
func testHandler() Handler {
	return HandlerFunc(func(w *ResponseWriter, r *Request) {
		switch r.Path {
		case "/big":
			n, _ := strconv.Atoi(queryOr(r, "n", "100000"))
			body := bigData[:n]
			_ = w.WriteBlock(EncodeHeaderBlock(200, nil, len(body)), body)
		case "/echo":
			_ = w.WriteResponse(200, [][2]string{{"Content-Type", "text/plain"}},
				fmt.Appendf(nil, "%d %08x", len(r.Body), crc32.ChecksumIEEE(r.Body)))
		case "/slow":
			ms, _ := strconv.Atoi(queryOr(r, "ms", "300"))
			w.WriteBlockAfter(time.Duration(ms)*time.Millisecond, rootBlock, testBody)
		case "/detach":
			w.Detach()
			done := w.Done()
			go func() {
				select {
				case <-slowGate:
					_ = w.WriteBlock(rootBlock, testBody)
				case <-done:
				}
			}()
		case "/goroutine":
			n, _ := strconv.Atoi(queryOr(r, "n", "1000"))
			w.Detach()
			go func() {
				time.Sleep(5 * time.Millisecond)
				w.AddHeader("x-from", "goroutine")
				_ = w.WriteBlock(EncodeHeaderBlock(200, nil, n), bigData[:n])
			}()
		case "/bighdr":
			_ = w.WriteResponse(200, [][2]string{{"x-big", strings.Repeat("b", 40000)}}, []byte("ok"))
		case "/panic":
			panic("test panic")
		case "/info":
			q, _ := r.Query("q")
			ck, _ := r.Cookie("c")
			xt, _ := r.Header("X-Test")
			host, _ := r.Header("Host")
			w.AddHeader("X-Served-By", "h2serve")
			_ = w.WriteResponse(200, nil, fmt.Appendf(nil, "%s|%s|%s|%s|%s|%s|%s|%s",
				r.Method, r.Path, r.RawQuery, r.Authority, q, ck, xt, host))
		default:
			_ = w.WriteBlock(rootBlock, testBody)
		}
	})
}

func queryOr(r *Request, name, def string) string {
	if v, ok := r.Query(name); ok {
		return v
	}
	return def
}

// testServer runs ServeConn for every connection accepted on a loopback
// port.
type testServer struct {
	addr   string
	ln     net.Listener
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
}

func startServer(t testing.TB, h Handler, o Options) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{addr: ln.Addr().String(), ln: ln, cancel: cancel}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				if err := ServeConn(ctx, c, h, o); err != nil {
					s.mu.Lock()
					s.errs = append(s.errs, err)
					s.mu.Unlock()
				}
			}()
		}
	}()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop shuts the server down gracefully and waits (bounded) for every
// connection to end.
func (s *testServer) stop(t testing.TB) {
	s.cancel()
	_ = s.ln.Close()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Errorf("connections still open 10 s after shutdown")
	}
}

func (s *testServer) port() string {
	_, p, _ := net.SplitHostPort(s.addr)
	return p
}

// rawClient speaks HTTP/2 frame by frame.
type rawClient struct {
	t      testing.TB
	c      net.Conn
	fr     *http2.Framer
	enc    *hpack.Encoder
	encBuf bytes.Buffer
	dec    *hpack.Decoder
	fields []hpack.HeaderField
}

// dialRaw connects, sends the preface and settings, and reads the
// server's SETTINGS.
func dialRaw(t testing.TB, addr string, settings ...http2.Setting) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	rc := &rawClient{t: t, c: c}
	rc.fr = http2.NewFramer(c, c)
	rc.enc = hpack.NewEncoder(&rc.encBuf)
	rc.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) { rc.fields = append(rc.fields, f) })
	if _, err := io.WriteString(c, preface); err != nil {
		t.Fatal(err)
	}
	if err := rc.fr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	f := rc.next()
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		t.Fatalf("first frame from the server: %v, want SETTINGS", f)
	}
	if err := rc.fr.WriteSettingsAck(); err != nil {
		t.Fatal(err)
	}
	return rc
}

// next reads a frame, failing after 5 s.
func (rc *rawClient) next() http2.Frame {
	rc.t.Helper()
	f, err := rc.tryNext(5 * time.Second)
	if err != nil {
		rc.t.Fatalf("reading a frame: %v", err)
	}
	return f
}

func (rc *rawClient) tryNext(d time.Duration) (http2.Frame, error) {
	_ = rc.c.SetReadDeadline(time.Now().Add(d))
	return rc.fr.ReadFrame()
}

func (rc *rawClient) headers(id uint32, endStream bool, fields ...string) {
	rc.t.Helper()
	rc.encBuf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		_ = rc.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	if err := rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: rc.encBuf.Bytes(),
		EndStream: endStream, EndHeaders: true}); err != nil {
		rc.t.Fatal(err)
	}
}

func (rc *rawClient) get(id uint32, path string) {
	rc.t.Helper()
	rc.headers(id, true, ":method", "GET", ":scheme", "http", ":path", path, ":authority", "test")
}

// response reads frames until stream id ends (or is reset), giving back
// the status, the body, and the RST_STREAM code if it was reset. Other
// streams' frames are ignored; WINDOW_UPDATEs keep the body flowing when
// window is set.
func (rc *rawClient) response(id uint32, window bool) (status string, body []byte, rst *http2.ErrCode) {
	rc.t.Helper()
	for {
		switch f := rc.next().(type) {
		case *http2.HeadersFrame:
			if f.StreamID != id {
				continue
			}
			rc.fields = rc.fields[:0]
			if _, err := rc.dec.Write(f.HeaderBlockFragment()); err != nil {
				rc.t.Fatal(err)
			}
			for _, hf := range rc.fields {
				if hf.Name == ":status" {
					status = hf.Value
				}
			}
			if f.StreamEnded() {
				return status, body, nil
			}
		case *http2.DataFrame:
			if f.StreamID != id {
				continue
			}
			body = append(body, f.Data()...)
			if window && len(f.Data()) > 0 {
				_ = rc.fr.WriteWindowUpdate(0, uint32(len(f.Data())))
				if !f.StreamEnded() {
					_ = rc.fr.WriteWindowUpdate(id, uint32(len(f.Data())))
				}
			}
			if f.StreamEnded() {
				return status, body, nil
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				code := f.ErrCode
				return status, body, &code
			}
		case *http2.GoAwayFrame:
			rc.t.Fatalf("GOAWAY %v while waiting for stream %d", f.ErrCode, id)
		}
	}
}

// expectGoAway reads until a GOAWAY and returns it.
func (rc *rawClient) expectGoAway() *http2.GoAwayFrame {
	rc.t.Helper()
	for {
		f, err := rc.tryNext(5 * time.Second)
		if err != nil {
			rc.t.Fatalf("waiting for GOAWAY: %v", err)
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			return g
		}
	}
}

// expectClosed reads until the server closes the connection.
func (rc *rawClient) expectClosed() {
	rc.t.Helper()
	for {
		_, err := rc.tryNext(5 * time.Second)
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return
		}
		rc.t.Fatalf("waiting for the connection to close: %v", err)
	}
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && !oe.Timeout()
}
