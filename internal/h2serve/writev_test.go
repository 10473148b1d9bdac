package h2serve

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/decoy-dev/decoy/internal/rawio"
	"golang.org/x/net/http2"
)

// vecConn is a connection with vectored writes (rawio's) that counts
// them, and the payload bytes they took from where they lay in src.
type vecConn struct {
	*rawio.Conn
	src    []byte
	vecs   atomic.Int64
	writes atomic.Int64 // plain writes
	taken  atomic.Int64
}

func (c *vecConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

func (c *vecConn) Writev(bufs [][]byte) (int64, error) {
	c.vecs.Add(1)
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(c.src)))
	for _, b := range bufs {
		if p := uintptr(unsafe.Pointer(unsafe.SliceData(b))); len(b) > 0 && p >= lo && p < lo+uintptr(len(c.src)) {
			c.taken.Add(int64(len(b)))
		}
	}
	return c.Conn.Writev(bufs)
}

// serveVec serves h on a loopback port whose connections make vectored
// writes and count what they take from src; it returns the address and
// the connections served.
func serveVec(t *testing.T, h Handler, src []byte) (string, func() []*vecConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var conns []*vecConn
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			rc, ok := rawio.Wrap(c).(*rawio.Conn)
			if !ok {
				_ = c.Close()
				t.Error("no raw writes on this platform")
				return
			}
			vc := &vecConn{Conn: rc, src: src}
			mu.Lock()
			conns = append(conns, vc)
			mu.Unlock()
			wg.Go(func() { _ = ServeConn(ctx, vc, h, Options{}) })
		}
	})
	return ln.Addr().String(), func() []*vecConn {
		mu.Lock()
		defer mu.Unlock()
		return conns
	}
}

// TestVectoredWrites: on a connection with vectored writes, large DATA
// payloads go out from where they lie, and the client reads exactly the
// body: static bodies, bodies the windows hold back, and bodies from a
// buffer the handler reuses as soon as each write call returns (held and
// coalesced writes included, which leave their frames in the buffer).
func TestVectoredWrites(t *testing.T) {
	t.Parallel()
	block := EncodeHeaderBlock(200, nil, -1)
	reused := func(size int, prepare func(w *ResponseWriter), first func(w *ResponseWriter, p []byte) error) func(w *ResponseWriter) []byte {
		return func(w *ResponseWriter) []byte {
			buf := append([]byte(nil), bigData[:size]...)
			want := append([]byte(nil), buf...)
			w.Detach()
			prepare(w)
			go func() {
				if first(w, buf) != nil {
					return
				}
				for i := range buf {
					buf[i] ^= 0x5a // the caller may change its bytes now
				}
				_ = w.WriteData(buf, true)
			}()
			for _, b := range want {
				want = append(want, b^0x5a)
			}
			return want
		}
	}
	none := func(*ResponseWriter) {}
	for _, tc := range []struct {
		name   string
		window uint32 // the client's stream window; 0: 8 MiB
		answer func(w *ResponseWriter) []byte
		taken  bool // payloads from bigData must go out from where they lie
	}{
		{"static body", 0, func(w *ResponseWriter) []byte {
			_ = w.WriteBlock(block, bigData[:1<<20])
			return bigData[:1<<20]
		}, true},
		{"static body, small windows", 20000, func(w *ResponseWriter) []byte {
			_ = w.WriteBlock(block, bigData[:300<<10])
			return bigData[:300<<10]
		}, false}, // the window updates let some small frames go
		{"below the size taken", 0, func(w *ResponseWriter) []byte {
			_ = w.WriteBlock(block, bigData[:vecMin-1])
			return bigData[:vecMin-1]
		}, false},
		{"held, then the buffer reused", 0, reused(40<<10, none, func(w *ResponseWriter, p []byte) error {
			return w.WriteHeadDataHeld(block, p)
		}), false},
		{"held data, then the buffer reused", 0, reused(40<<10, none, func(w *ResponseWriter, p []byte) error {
			if err := w.WriteHead(block); err != nil {
				return err
			}
			return w.WriteDataHeld(p)
		}), false},
		{"coalesced, then the buffer reused", 0, reused(40<<10, func(w *ResponseWriter) { w.Coalesce() }, func(w *ResponseWriter, p []byte) error {
			return w.WriteHeadData(block, p)
		}), false},
		{"streamed through small windows, the buffer reused", 20000, reused(200<<10, none, func(w *ResponseWriter, p []byte) error {
			return w.WriteHeadData(block, p)
		}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := make(chan []byte, 1)
			addr, conns := serveVec(t, HandlerFunc(func(w *ResponseWriter, r *Request) { want <- tc.answer(w) }), bigData)
			window := tc.window
			if window == 0 {
				window = 8 << 20
			}
			rc := dialRaw(t, addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: window})
			if err := rc.fr.WriteWindowUpdate(0, 8<<20); err != nil {
				t.Fatal(err)
			}
			rc.get(1, "/")
			status, got, rst := rc.response(1, true)
			w := <-want
			if status != "200" || rst != nil || !bytes.Equal(got, w) {
				t.Fatalf("%s, %d bytes (the same: %v), reset %v; want 200 and the %d bytes", status, len(got), bytes.Equal(got, w), rst, len(w))
			}
			c := conns()[0]
			if taken := c.taken.Load(); tc.taken && taken != int64(len(w)) {
				t.Errorf("%d bytes of %d went out from where they lay", taken, len(w))
			}
			if vecs := c.vecs.Load(); (vecs > 0) != (len(w) >= vecMin) {
				t.Errorf("%d vectored writes for a %d-byte body", vecs, len(w))
			}
		})
	}
}

// TestVectoredConcurrentStreams: Go's HTTP/2 client fetches large bodies
// on many streams of one connection at once, the pump interleaving their
// frames, and gets each whole.
func TestVectoredConcurrentStreams(t *testing.T) {
	t.Parallel()
	block := EncodeHeaderBlock(200, nil, -1)
	body := func(i int) []byte { return bigData[i*97 : i*97+300<<10+i*4099] }
	addr, conns := serveVec(t, HandlerFunc(func(w *ResponseWriter, r *Request) {
		var i int
		_, _ = fmt.Sscanf(r.Path, "/%d", &i)
		_ = w.WriteBlock(block, body(i))
	}), bigData)
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			resp, err := (&http.Client{Transport: tr}).Get(fmt.Sprintf("http://%s/%d", addr, i))
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil || !bytes.Equal(got, body(i)) {
				t.Errorf("stream for %d: %d bytes, %v; want the %d bytes", i, len(got), err, len(body(i)))
			}
		})
	}
	wg.Wait()
	if cs := conns(); len(cs) != 1 || cs[0].taken.Load() == 0 {
		t.Errorf("%d connections; want one, its payloads taken from where they lay", len(cs))
	}
}

// TestVectoredEnds: a stream's end, which may free its body (AfterDone,
// Done), comes after the body went out; and a coalesced answer whose
// message is a few KiB still leaves in one write with its trailers.
func TestVectoredEnds(t *testing.T) {
	t.Parallel()
	block := EncodeHeaderBlock(200, nil, -1)
	t.Run("the body is freed at the stream's end", func(t *testing.T) {
		t.Parallel()
		body := append([]byte(nil), bigData[:200<<10]...)
		want := append([]byte(nil), body...)
		addr, _ := serveVec(t, HandlerFunc(func(w *ResponseWriter, r *Request) {
			w.AfterDone(func() {
				for i := range body {
					body[i] ^= 0x5a // the owner takes the buffer back
				}
			})
			_ = w.WriteBlock(block, body)
		}), bigData)
		rc := dialRaw(t, addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 8 << 20})
		if err := rc.fr.WriteWindowUpdate(0, 8<<20); err != nil {
			t.Fatal(err)
		}
		rc.get(1, "/")
		if status, got, rst := rc.response(1, true); status != "200" || rst != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s, %d bytes (the same: %v), reset %v; want 200 and the body as it was", status, len(got), bytes.Equal(got, want), rst)
		}
	})
	t.Run("a coalesced answer of a few KiB", func(t *testing.T) {
		t.Parallel()
		msg := bigData[:8<<10]
		gate, wrote := make(chan struct{}), make(chan int64, 1)
		var vc *vecConn
		addr, conns := serveVec(t, HandlerFunc(func(w *ResponseWriter, r *Request) {
			w.Detach()
			w.Coalesce()
			go func() {
				<-gate // the reader is idle: no other write comes between
				before := vc.writes.Load() + vc.vecs.Load()
				if w.WriteHeadData(block, msg) == nil {
					_ = w.WriteTrailers(EncodeTrailerBlock([][2]string{{"x-done", "1"}}))
				}
				wrote <- vc.writes.Load() + vc.vecs.Load() - before
			}()
		}), bigData)
		rc := dialRaw(t, addr)
		rc.get(1, "/")
		if err := rc.fr.WritePing(false, [8]byte{1}); err != nil {
			t.Fatal(err)
		}
		for {
			if p, ok := rc.next().(*http2.PingFrame); ok && p.IsAck() {
				break
			}
		}
		vc = conns()[0]
		close(gate)
		if status, got, rst := rc.response(1, true); status != "200" || rst != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%s, %d bytes, reset %v", status, len(got), rst)
		}
		if n := <-wrote; n != 1 {
			t.Errorf("%d writes for headers, message and trailers, want 1", n)
		}
	})
}
