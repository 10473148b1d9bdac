package httpfront

import (
	"bytes"
	"context"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/h2serve"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2MemConn is an in-memory HTTP/2 client for the front door's HTTP/2
// path: each Read hands decoy's loop the next batch of GET /users/42
// (HEADERS frames, the first with literals, the rest indexed, as h2load
// sends them) and the window the answers used; writes are only counted.
// After max requests, Read says EOF.
type h2MemConn struct {
	first, next []byte
	batch       int
	max, sent   int
	served      int
	buf         []byte
	started     bool
	wrote       int64
}

func newH2MemConn(max, batch int) *h2MemConn {
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	block := func() []byte {
		hb.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":path", "/users/42"}, {":scheme", "http"}, {":authority", "127.0.0.1:8080"}, {"user-agent", "h2load"}} {
			_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		return bytes.Clone(hb.Bytes())
	}
	m := &h2MemConn{max: max, batch: batch}
	m.first = block()
	m.next = block()
	return m
}

func frameHeader(b []byte, n int, typ http2.FrameType, flags http2.Flags, id uint32) []byte {
	return append(b, byte(n>>16), byte(n>>8), byte(n), byte(typ), byte(flags), byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
}

func (m *h2MemConn) Read(p []byte) (int, error) {
	b := m.buf[:0]
	if !m.started {
		m.started = true
		b = append(b, http2.ClientPreface...)
		b = frameHeader(b, 6, http2.FrameSettings, 0, 0)
		b = append(b, 0, 4, 0x7f, 0xff, 0xff, 0xff) // a large stream window
		b = frameHeader(b, 4, http2.FrameWindowUpdate, 0, 0)
		b = append(b, 0x40, 0, 0, 0)
	}
	if m.sent >= m.max {
		return 0, io.EOF
	}
	if m.served >= 1<<20 {
		b = frameHeader(b, 4, http2.FrameWindowUpdate, 0, 0)
		b = append(b, byte(m.served>>24), byte(m.served>>16), byte(m.served>>8), byte(m.served))
		m.served = 0
	}
	for i := 0; i < m.batch && m.sent < m.max; i++ {
		block := m.next
		if m.sent == 0 {
			block = m.first
		}
		b = frameHeader(b, len(block), http2.FrameHeaders, http2.FlagHeadersEndHeaders|http2.FlagHeadersEndStream, uint32(2*m.sent+1))
		b = append(b, block...)
		m.sent++
		m.served += len(body168)
	}
	m.buf = b
	return copy(p, b), nil
}

func (m *h2MemConn) Write(p []byte) (int, error)      { m.wrote += int64(len(p)); return len(p), nil }
func (m *h2MemConn) Close() error                     { return nil }
func (m *h2MemConn) LocalAddr() net.Addr              { return benchRemote }
func (m *h2MemConn) RemoteAddr() net.Addr             { return benchRemote }
func (m *h2MemConn) SetDeadline(time.Time) error      { return nil }
func (m *h2MemConn) SetReadDeadline(time.Time) error  { return nil }
func (m *h2MemConn) SetWriteDeadline(time.Time) error { return nil }

// serveH2Mem serves n requests, in batches, through the front door's
// HTTP/2 handler on decoy's loop.
func serveH2Mem(tb testing.TB, s *Server, n, batch int) {
	if err := h2serve.ServeConn(context.Background(), newH2MemConn(n, batch), s, s.h2Options()); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkH2StaticStub: a static stub over HTTP/2, through decoy's loop
// and the front door's handler (match, statistics, journal), in memory.
func BenchmarkH2StaticStub(b *testing.B) {
	for _, journalSize := range []int{0, 10000} {
		name := map[int]string{0: "journal-off", 10000: "journal-on"}[journalSize]
		b.Run(name, func(b *testing.B) {
			s := benchServer(b, journalSize, false)
			b.ReportAllocs()
			b.SetBytes(int64(len(body168)))
			b.ResetTimer()
			serveH2Mem(b, s, b.N, 10)
		})
	}
}

// TestH2StaticStubAllocs: a static stub over HTTP/2 allocates nothing per
// request (a connection's set-up allocates, once).
func TestH2StaticStubAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("short, or the race detector is on")
	}
	s := benchServer(t, 10000, true)
	mallocs := func(n int) uint64 {
		var a, b runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&a)
		serveH2Mem(t, s, n, 10)
		runtime.ReadMemStats(&b)
		return b.Mallocs - a.Mallocs
	}
	mallocs(21000) // warm the pools and fill the journal ring
	small, large := mallocs(1000), mallocs(21000)
	per := float64(int64(large)-int64(small)) / 20000
	t.Logf("connection of 1000 requests: %d allocations; of 21000: %d (%.4f per request)", small, large, per)
	if per > 0.01 {
		t.Errorf("%.4f allocations per request on the HTTP/2 static path, want 0", per)
	}
	stats := s.o.Engine.Snapshot().Get("user").Stats().Read()
	if n := stats.Requests(); n != 43000 {
		t.Errorf("the stub counted %d requests, want 43000", n)
	}
}
