package httpfront

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/stub"
	"github.com/valyala/fasthttp"
)

const body168 = `{"id":42,"name":"Ada Lovelace","email":"ada@example.com","role":"admin","team":"analytical-engines","active":true,"created":"2024-01-15T09:30:00Z","tags":["math"]}`

func benchServer(tb testing.TB, journalSize int, serverTiming bool) *Server {
	tb.Helper()
	return benchServerCORS(tb, journalSize, serverTiming, nil)
}

// benchServerCORS is benchServer with its stubs compiled under cors (nil:
// CORS off).
func benchServerCORS(tb testing.TB, journalSize int, serverTiming bool, cors *engine.CORS) *Server {
	tb.Helper()
	v, err := stub.JSONValue([]byte(body168))
	if err != nil {
		tb.Fatal(err)
	}
	srcs := []engine.Source{
		{Stub: stub.Stub{ID: "user", Request: stub.Request{Method: "GET", Path: "/users/42"},
			Response: &stub.Response{Body: v}}, Origin: "bench"},
		{Stub: stub.Stub{ID: "other", Request: stub.Request{Method: "GET", Path: "/orders/{id}"},
			Response: &stub.Response{Body: stub.Text("x")}}, Origin: "bench"},
	}
	snap, errs := engine.Compile(srcs, engine.WithCORS(cors))
	if errs != nil {
		tb.Fatal(errs)
	}
	return New(Options{Engine: engine.New(snap), Journal: journal.New(journalSize, 1024), ServerTiming: serverTiming})
}

// serveOne runs one request through the HTTP/1.1 handler and serializes the
// response, as the connection loop does.
func serveOne(s *Server, ctx *fasthttp.RequestCtx, raw []byte, br *bufio.Reader, r *rereader, bw *bufio.Writer) error {
	r.reset(raw)
	br.Reset(r)
	ctx.Request.Reset()
	ctx.Response.Reset()
	if err := ctx.Request.Read(br); err != nil {
		return err
	}
	s.handleFast(ctx)
	if err := ctx.Response.Write(bw); err != nil {
		return err
	}
	return bw.Flush()
}

type rereader struct {
	b []byte
	i int
}

func (r *rereader) reset(b []byte) { r.b, r.i = b, 0 }
func (r *rereader) Read(p []byte) (int, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.i:])
	r.i += n
	return n, nil
}

var rawGet = []byte("GET /users/42 HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n")

// rawGetOrigin is rawGet from a page on another origin.
var rawGetOrigin = []byte("GET /users/42 HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\nOrigin: http://localhost:3000\r\n\r\n")

// The CORS settings the static-stub path is measured under: any origin
// (headers baked in at load), and an origin list (the page's answer made
// on its first request).
var (
	corsAny  = &engine.CORS{}
	corsList = &engine.CORS{Origins: []string{"https://app.example", "http://localhost:3000"}}
)

// staticCases are the server settings the static-stub benchmarks run
// with, on every path; origin sends the request from a page on another
// origin.
var staticCases = []struct {
	name         string
	journal      int
	serverTiming bool
	cors         *engine.CORS
	origin       bool
}{
	{"journal-off", 0, false, nil, false}, {"journal-on", 10000, false, nil, false}, {"server-timing", 0, true, nil, false},
	{"cors-any", 0, false, corsAny, true}, {"cors-origin-list", 0, false, corsList, true},
}

// BenchmarkStaticStub measures decoy's work for one HTTP/1.1 request to a
// static stub: parse, match, statistics, journal, write. It must allocate
// nothing.
func BenchmarkStaticStub(b *testing.B) {
	for _, c := range staticCases {
		b.Run(c.name, func(b *testing.B) {
			s := benchServerCORS(b, c.journal, c.serverTiming, c.cors)
			ctx, br, bw, r := newBenchCtx()
			raw := rawGet
			if c.origin {
				raw = rawGetOrigin
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := serveOne(s, ctx, raw, br, r, bw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchConn stands for a client connection: only its addresses are used.
type benchConn struct{ net.Conn }

var benchRemote = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000}

func (benchConn) RemoteAddr() net.Addr { return benchRemote }
func (benchConn) LocalAddr() net.Addr  { return benchRemote }

func newBenchCtx() (*fasthttp.RequestCtx, *bufio.Reader, *bufio.Writer, *rereader) {
	ctx := &fasthttp.RequestCtx{}
	// The request arrives on a tracked connection, as in the server, so
	// its per-connection counting is measured too.
	ctx.Init2(&conn{Conn: benchConn{}}, nil, false)
	r := &rereader{}
	return ctx, bufio.NewReaderSize(r, 4096), bufio.NewWriterSize(io.Discard, 4096), r
}

// TestStaticStubAllocs holds the hot path to zero allocations per request,
// statistics and Server-Timing included, and checks that the request was
// counted.
func TestStaticStubAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items: allocation counts mean nothing")
	}
	for _, serverTiming := range []bool{false, true} {
		s := benchServer(t, 10000, serverTiming)
		ctx, allocs := requestAllocs(t, s)
		if allocs != 0 {
			t.Fatalf("server-timing=%v: a static-stub request allocates %v times; want 0", serverTiming, allocs)
		}
		if got := ctx.Response.StatusCode(); got != 200 {
			t.Fatalf("status %d", got)
		}
		const total = allocsWarm + allocsRuns + 1 // AllocsPerRun runs once more than asked
		stats := s.o.Engine.Snapshot().Get("user").Stats().Read()
		if n := stats.Requests(); n != total || stats.BytesOut != total*uint64(len(body168)) {
			t.Errorf("stub statistics: %d requests, %d bytes out; want %d and %d", n, stats.BytesOut, total, total*len(body168))
		}
		if n := ctx.Conn().(*conn).mc.Requests[metrics.HTTP11].Load(); n != total {
			t.Errorf("connection counted %d HTTP/1.1 requests, want %d", n, total)
		}
		timing := string(ctx.Response.Header.Peek("Server-Timing"))
		if serverTiming != strings.HasPrefix(timing, "decoy;dur=") {
			t.Errorf("server-timing=%v: Server-Timing %q", serverTiming, timing)
		}
	}
}

// requestAllocs first serves allocsWarm requests (enough to fill the
// journal ring, so that its slots have buffers), then measures allocsRuns.
const allocsWarm, allocsRuns = 20000, 1000

// requestAllocs serves rawGet on one context allocsWarm times, then
// returns the context and the allocations per request over allocsRuns more.
func requestAllocs(t *testing.T, s *Server) (*fasthttp.RequestCtx, float64) {
	t.Helper()
	return requestAllocsOf(t, s, rawGet)
}

// requestAllocsOf is requestAllocs for the request raw.
func requestAllocsOf(t *testing.T, s *Server, raw []byte) (*fasthttp.RequestCtx, float64) {
	t.Helper()
	ctx, br, bw, r := newBenchCtx()
	for range allocsWarm {
		if err := serveOne(s, ctx, raw, br, r, bw); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(allocsRuns, func() {
		if err := serveOne(s, ctx, raw, br, r, bw); err != nil {
			t.Fatal(err)
		}
	})
	return ctx, allocs
}

// corsAllocCases are the CORS settings the allocation tests run a page's
// request under, and the Access-Control-Allow-Origin it gets.
var corsAllocCases = []struct {
	name  string
	cors  *engine.CORS
	allow string
}{{"any origin", corsAny, "*"}, {"origin list", corsList, "http://localhost:3000"}}

// TestStaticStubCORSAllocs: with CORS on, a page's request to a static
// stub allocates nothing either (any origin: the headers are in the
// response; an origin list: the page's answer was made on its first
// request), and carries the headers.
func TestStaticStubCORSAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items: allocation counts mean nothing")
	}
	for _, c := range corsAllocCases {
		s := benchServerCORS(t, 10000, false, c.cors)
		ctx, allocs := requestAllocsOf(t, s, rawGetOrigin)
		if allocs != 0 {
			t.Errorf("%s: a static-stub request allocates %v times; want 0", c.name, allocs)
		}
		if got := string(ctx.Response.Header.Peek("Access-Control-Allow-Origin")); got != c.allow {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", c.name, got, c.allow)
		}
	}
}

func TestAppendServerTiming(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d, delay time.Duration
		want     string
	}{
		{0, 0, "decoy;dur=0.000"},
		{12 * time.Microsecond, 0, "decoy;dur=0.012"},
		{12*time.Microsecond + 999, 0, "decoy;dur=0.012"}, // truncated to the microsecond
		{1500 * time.Microsecond, 0, "decoy;dur=1.500"},
		{-time.Millisecond, 0, "decoy;dur=0.000"},
		{42 * time.Microsecond, 250*time.Millisecond + 3*time.Microsecond, "decoy;dur=0.042, delay;dur=250.003"},
		{2 * time.Second, 0, "decoy;dur=2000.000"},
	}
	for _, tt := range tests {
		if got := string(appendServerTiming(nil, tt.d, tt.delay)); got != tt.want {
			t.Errorf("appendServerTiming(%v, %v) = %q, want %q", tt.d, tt.delay, got, tt.want)
		}
	}
}
