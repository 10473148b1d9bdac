package httpfront

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/decoy-dev/decoy/internal/h1loop"
	"github.com/decoy-dev/decoy/internal/metrics"
)

// loopGet is rawGet as the loop's parser leaves it.
func loopGet() *h1loop.Request {
	return &h1loop.Request{
		Method: []byte("GET"), URI: []byte("/users/42"), Path: []byte("/users/42"), HTTP11: true,
		Headers: []h1loop.Field{
			{Name: []byte("Host"), Value: []byte("localhost:8080")},
			{Name: []byte("User-Agent"), Value: []byte("wrk")},
			{Name: []byte("Accept"), Value: []byte("*/*")},
		},
		RawHeaders: []byte("Host: localhost:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"),
	}
}

// loopGetOrigin is loopGet from a page on another origin.
func loopGetOrigin() *h1loop.Request {
	r := loopGet()
	r.Headers = append(r.Headers, h1loop.Field{Name: []byte("Origin"), Value: []byte("http://localhost:3000")})
	r.RawHeaders = []byte("Host: localhost:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\nOrigin: http://localhost:3000\r\n\r\n")
	return r
}

func loopConn() *h1loop.Conn {
	return &h1loop.Conn{Remote: netip.MustParseAddrPort("127.0.0.1:50000"), User: &conn{}}
}

// BenchmarkLoopStaticStub is decoy's own work per request on the HTTP/1.1
// loops (match, render, count, journal), without the system calls.
func BenchmarkLoopStaticStub(b *testing.B) {
	for _, c := range staticCases {
		b.Run(c.name, func(b *testing.B) {
			s := benchServerCORS(b, c.journal, c.serverTiming, c.cors)
			h, r, lc := loopHandler{s}, loopGet(), loopConn()
			if c.origin {
				r = loopGetOrigin()
			}
			out := make([]byte, 0, 4096)
			b.ReportAllocs()
			for b.Loop() {
				var ok bool
				if out, ok = h.Serve(lc, r, out[:0]); !ok {
					b.Fatal("handed off")
				}
				lc.User.(*conn).loopSeqs = lc.User.(*conn).loopSeqs[:0]
			}
		})
	}
}

func TestLoopStaticStubAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items: allocation counts mean nothing")
	}
	s := benchServer(t, 10000, false)
	lc := loopConn()
	out, allocs := loopAllocs(t, s, loopGet(), lc)
	if allocs != 0 {
		t.Fatalf("a static-stub request on the loops allocates %v times; want 0", allocs)
	}
	if !bytes.HasPrefix(out, []byte("HTTP/1.1 200 OK\r\nServer: decoy\r\nDate: ")) || !bytes.HasSuffix(out, []byte("\r\n\r\n"+body168)) {
		t.Fatalf("answer %q", out)
	}
	if n := lc.User.(*conn).mc.Requests[metrics.HTTP11].Load(); n != allocsWarm+allocsRuns+1 {
		t.Errorf("connection counted %d requests, want %d", n, allocsWarm+allocsRuns+1)
	}
}

// loopAllocs serves r on the loops over and over, from lc, and returns
// the last answer and the allocations per request once warm.
func loopAllocs(t *testing.T, s *Server, r *h1loop.Request, lc *h1loop.Conn) ([]byte, float64) {
	t.Helper()
	h := loopHandler{s}
	out := make([]byte, 0, 4096)
	serve := func() {
		var ok bool
		if out, ok = h.Serve(lc, r, out[:0]); !ok {
			t.Fatal("handed off")
		}
		lc.User.(*conn).loopSeqs = lc.User.(*conn).loopSeqs[:0]
	}
	for range allocsWarm {
		serve()
	}
	allocs := testing.AllocsPerRun(allocsRuns, serve)
	return out, allocs
}

// TestLoopStaticStubCORSAllocs: on the loops too, a page's request to a
// static stub allocates nothing with CORS on, and carries the headers.
func TestLoopStaticStubCORSAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items: allocation counts mean nothing")
	}
	for _, c := range corsAllocCases {
		out, allocs := loopAllocs(t, benchServerCORS(t, 10000, false, c.cors), loopGetOrigin(), loopConn())
		if allocs != 0 {
			t.Errorf("%s: a static-stub request on the loops allocates %v times; want 0", c.name, allocs)
		}
		if want := "\r\nAccess-Control-Allow-Origin: " + c.allow + "\r\n"; !bytes.Contains(out, []byte(want)) {
			t.Errorf("%s: answer %q lacks %q", c.name, out, want)
		}
	}
}
