package httpfront

import (
	"testing"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/openapi"
)

var rawSpecGet = []byte("GET /v1/pets/42 HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n")

func specServer(tb testing.TB) *Server {
	tb.Helper()
	res, err := openapi.Load("../../examples/openapi/petstore.yaml", nil, openapi.Options{Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	snap, errs := engine.Compile(res.Sources)
	if errs != nil {
		tb.Fatal(errs)
	}
	return New(Options{Engine: engine.New(snap), Journal: journal.New(10000, 1024)})
}

// TestSpecStubAllocs: a stub made from an OpenAPI operation (matched by
// method, path template and Accept header) is served with no allocation,
// like a native one.
func TestSpecStubAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items: allocation counts mean nothing")
	}
	s := specServer(t)
	ctx, br, bw, r := newBenchCtx()
	for range 20000 {
		if err := serveOne(s, ctx, rawSpecGet, br, r, bw); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if err := serveOne(s, ctx, rawSpecGet, br, r, bw); err != nil {
			t.Fatal(err)
		}
	})
	if got := ctx.Response.StatusCode(); got != 200 {
		t.Fatalf("status %d", got)
	}
	if allocs != 0 {
		t.Fatalf("a spec-backed request allocates %v times; want 0", allocs)
	}
}

// BenchmarkSpecStub is BenchmarkStaticStub for a stub from an OpenAPI
// document.
func BenchmarkSpecStub(b *testing.B) {
	s := specServer(b)
	ctx, br, bw, r := newBenchCtx()
	b.ReportAllocs()
	for b.Loop() {
		if err := serveOne(s, ctx, rawSpecGet, br, r, bw); err != nil {
			b.Fatal(err)
		}
	}
}
