package httpfront

import (
	"bufio"
	"io"
	"net"
	"testing"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/stub"
	"github.com/valyala/fasthttp"
)

const body168 = `{"id":42,"name":"Ada Lovelace","email":"ada@example.com","role":"admin","team":"analytical-engines","active":true,"created":"2024-01-15T09:30:00Z","tags":["math"]}`

func benchServer(tb testing.TB, journalSize int) *Server {
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
	snap, errs := engine.Compile(srcs)
	if errs != nil {
		tb.Fatal(errs)
	}
	return New(Options{Engine: engine.New(snap), Journal: journal.New(journalSize, 1024)})
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

// BenchmarkStaticStub measures decoy's work for one HTTP/1.1 request to a
// static stub: parse, match, journal, write. It must allocate nothing.
func BenchmarkStaticStub(b *testing.B) {
	for _, jsize := range []int{0, 10000} {
		name := "journal-off"
		if jsize > 0 {
			name = "journal-on"
		}
		b.Run(name, func(b *testing.B) {
			s := benchServer(b, jsize)
			ctx, br, bw, r := newBenchCtx()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := serveOne(s, ctx, rawGet, br, r, bw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func newBenchCtx() (*fasthttp.RequestCtx, *bufio.Reader, *bufio.Writer, *rereader) {
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000}, nil)
	r := &rereader{}
	return ctx, bufio.NewReaderSize(r, 4096), bufio.NewWriterSize(io.Discard, 4096), r
}

// TestStaticStubAllocs holds the hot path to zero allocations per request.
func TestStaticStubAllocs(t *testing.T) {
	s := benchServer(t, 10000)
	ctx, br, bw, r := newBenchCtx()
	for range 20000 { // fill the journal ring so its slots have buffers
		if err := serveOne(s, ctx, rawGet, br, r, bw); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if err := serveOne(s, ctx, rawGet, br, r, bw); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a static-stub request allocates %v times; want 0", allocs)
	}
	if got := ctx.Response.StatusCode(); got != 200 {
		t.Fatalf("status %d", got)
	}
}
