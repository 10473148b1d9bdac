package httpfront

import (
	"bytes"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/stub"
)

// delayServer serves GET /users/42 with body168 after a fixed latency of d.
func delayServer(tb testing.TB, journalSize int, d time.Duration) *Server {
	tb.Helper()
	v, err := stub.JSONValue([]byte(body168))
	if err != nil {
		tb.Fatal(err)
	}
	lat := stub.Duration(d)
	snap, errs := engine.Compile([]engine.Source{{Stub: stub.Stub{ID: "slow", Request: stub.Request{Method: "GET", Path: "/users/42"},
		Response: &stub.Response{Body: v, Latency: &stub.Latency{Fixed: &lat}}}, Origin: "bench"}})
	if errs != nil {
		tb.Fatal(errs)
	}
	return New(Options{Engine: engine.New(snap), Journal: journal.New(journalSize, 1024)})
}

// BenchmarkDelayedStub runs one HTTP/1.1 request to a stub with a fixed
// latency of 1 µs through the handler, the delay included. Its ns/op is
// mostly the wait for the runtime to wake the goroutine (Go's poller sleeps
// in whole milliseconds when nothing else runs); what it checks is B/op and
// allocs/op of the delayed path: 0 (TestDelayedStubAllocs holds that).
func BenchmarkDelayedStub(b *testing.B) {
	for _, c := range []struct {
		name    string
		journal int
	}{{"journal-off", 0}, {"journal-on", 10000}} {
		b.Run(c.name, func(b *testing.B) {
			s := delayServer(b, c.journal, time.Microsecond)
			ctx, br, bw, r := newBenchCtx()
			b.ReportAllocs()
			for b.Loop() {
				if err := serveOne(s, ctx, rawGet, br, r, bw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDelayedStubAllocs holds the delayed path to zero allocations per
// request: a delay parks the goroutine on a pooled timer.
func TestDelayedStubAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items: allocation counts mean nothing")
	}
	ctx, allocs := requestAllocs(t, delayServer(t, 10000, time.Microsecond))
	if allocs != 0 {
		t.Fatalf("a delayed-stub request allocates %v times; want 0", allocs)
	}
	if got := ctx.Response.StatusCode(); got != 200 || len(ctx.Response.Body()) != len(body168) {
		t.Fatalf("status %d, %d body bytes", got, len(ctx.Response.Body()))
	}
}

// TestLoopDelayedStubAllocs: on the loops, a delayed stub's answer is
// rendered at once, for the loop to hold until due, with no allocation;
// the request says when.
func TestLoopDelayedStubAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items: allocation counts mean nothing")
	}
	r := loopGet()
	r.DoneAt = 1000
	out, allocs := loopAllocs(t, delayServer(t, 10000, 50*time.Millisecond), r, loopConn())
	if allocs != 0 {
		t.Fatalf("a delayed-stub request on the loops allocates %v times; want 0", allocs)
	}
	if want := r.DoneAt + int64(50*time.Millisecond); r.Due != want {
		t.Errorf("Due %d, want %d (read at %d, 50 ms)", r.Due, want, r.DoneAt)
	}
	if !bytes.HasSuffix(out, []byte("\r\n\r\n"+body168)) {
		t.Errorf("answer %q", out)
	}
}
