package h2serve

import (
	"bytes"
	"context"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// benchBody is the 168-byte JSON body of the HTTP/1.1 comparison.
var benchBody = []byte(`{"id":42,"name":"Ada Lovelace","email":"ada@example.com","role":"dev","active":true,"created_at":"2024-01-15T09:30:00Z","team":{"id":7,"name":"Engine"},"tags":["math"]}`)

// memConn is an in-memory client: each Read hands the server the next
// batch of GET requests (HEADERS frames, as h2load sends them: the first
// with literals, the rest indexed), plus WINDOW_UPDATEs for the bodies
// served; Write counts responses. After max requests, Read says EOF.
type memConn struct {
	first, next []byte // header blocks of the first and later requests
	batch       int
	max, sent   int
	served      int // DATA bytes not yet given back
	out         bytes.Buffer
	keep        bool // keep the output (for checking), else only count it
	wrote       int64
	buf         []byte
	started     bool
}

func newMemConn(max, batch int) *memConn {
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	fields := []hpack.HeaderField{
		{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/users/42"},
		{Name: ":scheme", Value: "http"}, {Name: ":authority", Value: "127.0.0.1:8080"},
		{Name: "user-agent", Value: "h2load nghttp2/1.52.0"},
	}
	enc2 := func() []byte {
		hb.Reset()
		for _, f := range fields {
			_ = enc.WriteField(f)
		}
		return bytes.Clone(hb.Bytes())
	}
	m := &memConn{max: max, batch: batch}
	m.first = enc2()
	m.next = enc2()
	return m
}

func (m *memConn) Read(p []byte) (int, error) {
	b := m.buf[:0]
	if !m.started {
		m.started = true
		b = append(b, preface...)
		// SETTINGS: a large stream window; then the connection window.
		b = appendFrameHeader(b, 6, http2.FrameSettings, 0, 0)
		b = append(b, 0, 4, 0x7f, 0xff, 0xff, 0xff)
		b = appendFrameHeader(b, 4, http2.FrameWindowUpdate, 0, 0)
		b = append(b, 0x40, 0, 0, 0)
	}
	if m.sent >= m.max {
		return 0, io.EOF
	}
	if m.served >= 1<<20 {
		b = appendFrameHeader(b, 4, http2.FrameWindowUpdate, 0, 0)
		b = append(b, byte(m.served>>24), byte(m.served>>16), byte(m.served>>8), byte(m.served))
		m.served = 0
	}
	for i := 0; i < m.batch && m.sent < m.max; i++ {
		block := m.next
		if m.sent == 0 {
			block = m.first
		}
		id := uint32(2*m.sent + 1)
		b = appendFrameHeader(b, len(block), http2.FrameHeaders, http2.FlagHeadersEndHeaders|http2.FlagHeadersEndStream, id)
		b = append(b, block...)
		m.sent++
		m.served += len(benchBody)
	}
	m.buf = b
	if len(b) > len(p) {
		panic("read buffer too small")
	}
	return copy(p, b), nil
}

func (m *memConn) Write(p []byte) (int, error) {
	m.wrote += int64(len(p))
	if m.keep {
		m.out.Write(p)
	}
	return len(p), nil
}

func (m *memConn) Close() error                     { return nil }
func (m *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (m *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

// staticHandler is what the front door does for a static stub: one
// pre-encoded block, one pre-rendered body.
var staticHandler = func() Handler {
	block := EncodeHeaderBlock(200, [][2]string{{"Content-Type", "application/json"}}, len(benchBody))
	return HandlerFunc(func(w *ResponseWriter, r *Request) {
		if r.Path != "/users/42" {
			panic("path " + r.Path)
		}
		_ = w.WriteBlock(block, benchBody)
	})
}()

func TestMemConnResponses(t *testing.T) {
	m := newMemConn(25, 10)
	m.keep = true
	if err := ServeConn(context.Background(), m, staticHandler, Options{}); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(nil, &m.out)
	dec := hpack.NewDecoder(4096, nil)
	ended := 0
	for {
		f, err := fr.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch f := f.(type) {
		case *http2.HeadersFrame:
			fields, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil || len(fields) != 3 || fields[0].Value != "200" {
				t.Fatalf("headers %v %v", fields, err)
			}
		case *http2.DataFrame:
			if !bytes.Equal(f.Data(), benchBody) || !f.StreamEnded() {
				t.Fatalf("DATA %d bytes", len(f.Data()))
			}
			ended++
		}
	}
	if ended != 25 {
		t.Fatalf("%d responses, want 25", ended)
	}
}

// TestStaticPathAllocs: serving a static stub allocates nothing per
// request (the connection's set-up allocates, once).
func TestStaticPathAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("short, or the race detector is on")
	}
	mallocs := func(n int) uint64 {
		m := newMemConn(n, 10)
		var a, b runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&a)
		if err := ServeConn(context.Background(), m, staticHandler, Options{}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&b)
		return b.Mallocs - a.Mallocs
	}
	mallocs(1000) // warm the pools
	small, large := mallocs(1000), mallocs(21000)
	per := float64(int64(large)-int64(small)) / 20000
	t.Logf("connection of 1000 requests: %d allocations; of 21000: %d (%.4f per request)", small, large, per)
	if per > 0.01 {
		t.Errorf("%.4f allocations per request on the static path, want 0", per)
	}
}

// BenchmarkStaticRequest: one GET answered from a pre-encoded block and
// body, through the whole connection loop (frame parsing, HPACK decoding,
// the handler, frame writing, flushing), in memory. batch1 reads one
// request per read (a flush per request); batch10 reads ten (h2load -m10).
func BenchmarkStaticRequest(b *testing.B) {
	for _, batch := range []int{1, 10} {
		b.Run(map[int]string{1: "batch1", 10: "batch10"}[batch], func(b *testing.B) {
			b.ReportAllocs()
			m := newMemConn(b.N, batch)
			b.ResetTimer()
			if err := ServeConn(context.Background(), m, staticHandler, Options{}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.SetBytes(int64(len(benchBody)))
		})
	}
}
