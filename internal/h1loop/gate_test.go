package h1loop

import (
	"strings"
	"testing"
)

// TestGate: a Gate finds the malformed request among many, as Check finds
// a first one, however the bytes are split across reads, and passes on
// the requests before it and, when none of the malformed one was passed
// yet, its first byte only.
func TestGate(t *testing.T) {
	t.Parallel()
	const (
		ok      = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
		body    = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nG\r\n\r\n"
		chunked = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n0\r\nT: 1\r\n\r\n"
	)
	for _, tt := range []struct {
		name, in string
		status   int
		why      string
		// passed is how many bytes are passed on when they come in one
		// read (-1: all); in pieces, those of the malformed request's
		// lines that were already judged fine are passed on too.
		passed int
	}{
		{"good requests", ok + body + chunked + "\r\n" + ok, 0, "", -1},
		{"an upgrade ends the gate", ok + "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\nnot HTTP at all\r\n\r\n", 0, "", -1},
		{"CONNECT ends the gate", "CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n\x16\x03\x01", 0, "", -1},
		{"a body that looks like a request", body + "GET / HTTP/1.1\r\n\r\n", 400, "an HTTP/1.1 request without a Host", len(body) + 1},
		{"second request broken", ok + "GET / HTTP/1.1\r\nHost: x\r\nX Y: z\r\n\r\n", 400, "a header field name", len(ok) + 1},
		{"garbage after a request", ok + "hello\r\n", 400, "the request line is no HTTP/1.x request line", len(ok) + 1},
		{"CL and TE after a chunked body", chunked + "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "both Transfer-Encoding", len(chunked) + 1},
		{"bad chunk", ok + "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n", 400, "a chunk size is followed by", len(ok) + len("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3")},
		{"trailer without final CRLF", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + ok, 400, "a trailer field name", len("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nGET ")},
		{"headers too long", ok + "GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 300) + "\r\n\r\n", 431, "", len(ok) + 1},
		{"request line too long", ok + "GET /" + strings.Repeat("a", 300), 414, "the request line exceeds", len(ok) + 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, split := range []int{1, 2, 3, 7, 64, 1 << 20} {
				g := NewGate(256)
				b := []byte(tt.in)
				passed := 0
				var v Verdict
				for len(b) > 0 && v.Status == 0 {
					k := min(split, len(b))
					var n int
					n, v = g.Feed(b[:k])
					passed += n
					b = b[k:]
				}
				want := tt.passed
				if want < 0 {
					want = len(tt.in)
				}
				if split < len(tt.in) && passed >= want && passed < len(tt.in) {
					want = passed
				}
				if v.Status != tt.status || !strings.HasPrefix(v.Why, tt.why) || passed != want {
					t.Errorf("split %d: %d %q, %d bytes passed on; want %d %q..., %d", split, v.Status, v.Why, passed, tt.status, tt.why, want)
				}
				if v.Status != 0 && g.Verdict().Status != v.Status {
					t.Errorf("split %d: Verdict() = %d, want %d", split, g.Verdict().Status, v.Status)
				}
			}
		})
	}
}

// FuzzGate: whatever comes in, however split, the Gate does not panic,
// reaches the same verdict, passes on no more than it was given, and
// quotes only bytes it was given.
func FuzzGate(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /o HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n",
		"POST /o HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\nT: v\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\nhello\r\n",
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, b []byte, split uint8) {
		whole := NewGate(128)
		n1, v1 := whole.Feed(b)
		g := NewGate(128)
		step := int(split)%17 + 1
		passed := 0
		var v2 Verdict
		for rest := b; len(rest) > 0 && v2.Status == 0; {
			k := min(step, len(rest))
			var n int
			n, v2 = g.Feed(rest[:k])
			passed += n
			rest = rest[k:]
		}
		if v1.Status != v2.Status {
			t.Fatalf("whole: %d %s; split by %d: %d %s", v1.Status, v1.Why, step, v2.Status, v2.Why)
		}
		if n1 > len(b) || passed > len(b) {
			t.Fatalf("passed %d and %d of %d bytes", n1, passed, len(b))
		}
		if v1.Status == 0 && n1 != len(b) {
			t.Fatalf("no verdict, but %d of %d bytes passed", n1, len(b))
		}
	})
}

// gateReq is a request as a load generator sends it.
const gateReq = "GET /users/42 HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"

// TestGateAllocs: judging requests that arrive whole allocates nothing.
// Not parallel: AllocsPerRun counts every allocation in the process.
func TestGateAllocs(t *testing.T) {
	g := NewGate(8 << 10)
	b := []byte(gateReq + gateReq)
	if n := testing.AllocsPerRun(100, func() { g.Feed(b) }); n != 0 {
		t.Errorf("%v allocations per Feed, want 0", n)
	}
}

// BenchmarkGate is the cost a Gate adds to a request fasthttp reads.
func BenchmarkGate(b *testing.B) {
	g := NewGate(8 << 10)
	req := []byte(gateReq)
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	for b.Loop() {
		if _, v := g.Feed(req); v.Status != 0 {
			b.Fatal(v.Why)
		}
	}
}
