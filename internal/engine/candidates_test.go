package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/decoy-dev/decoy/internal/stub"
)

// scanMatch is what Match must return: the first stub in rank order that
// answers r, every stub tried in turn.
func scanMatch(snap *Snapshot, r *Request) *Stub {
	for _, s := range snap.Stubs() {
		if s.matches(r, true) {
			return s
		}
	}
	return nil
}

// gen builds stubs and requests from a small alphabet of names and values,
// so that stubs share paths and fields and requests hit them.
type gen struct{ r *rand.Rand }

func (g gen) pick(l ...string) string { return l[g.r.IntN(len(l))] }

func (g gen) matcher() stub.StringMatcher {
	v := g.pick("a", "b", "c", "A", "")
	switch g.r.IntN(8) {
	case 0:
		return stub.StringMatcher{Equals: &v, IgnoreCase: true}
	case 1:
		return stub.StringMatcher{Contains: g.pick("a", "b")}
	case 2:
		return stub.StringMatcher{Present: true}
	case 3:
		return stub.StringMatcher{Absent: true}
	case 4:
		return stub.StringMatcher{Equals: &v, Regex: "^[ab]"}
	}
	return stub.Eq(v)
}

func (g gen) fields(names ...string) map[string]stub.StringMatcher {
	n := g.r.IntN(3)
	if n == 0 {
		return nil
	}
	m := make(map[string]stub.StringMatcher, n)
	for range n {
		m[g.pick(names...)] = g.matcher()
	}
	return m
}

func (g gen) stubs(n int) []Source {
	out := make([]Source, n)
	for i := range out {
		req := stub.Request{Method: g.pick("GET", "POST", "")}
		switch g.r.IntN(10) {
		case 0:
			req.Path = "/{x}"
		case 1:
			req.PathPrefix = "/"
		case 2:
			req.Path = "*"
		default:
			req.Path = g.pick("/p", "/q")
		}
		// Mostly one header told apart by its value, as real stub sets do.
		req.Headers = g.fields("X-V", "x-v", "X-W")
		if g.r.IntN(2) == 0 {
			v := g.pick("a", "b", "c", "d", "e", "f")
			if req.Headers == nil {
				req.Headers = map[string]stub.StringMatcher{}
			}
			req.Headers["X-V"] = stub.Eq(v)
		}
		req.Query = g.fields("q", "Q")
		req.Cookies = g.fields("c")
		out[i] = Source{Stub: stub.Stub{ID: fmt.Sprint("s", i), Priority: []int{0, 0, 1, 9}[g.r.IntN(4)],
			Request: req, Response: ok200()}}
	}
	return out
}

func (g gen) values(names ...string) map[string]string {
	m := map[string]string{}
	for _, n := range names {
		if g.r.IntN(3) > 0 {
			m[n] = g.pick("a", "b", "c", "d", "e", "f", "A", "")
		}
	}
	return m
}

func (g gen) request() *Request {
	return rq{method: g.pick("GET", "HEAD", "POST"), path: g.pick("/p", "/q", "/z"),
		header: g.values(g.pick("X-V", "x-v"), "X-W"), query: g.values("q", "Q"), cookie: g.values("c")}.req()
}

// TestIndexedMatchAgreesWithScan: with fields indexed, Match still answers
// what trying every stub in rank order answers.
func TestIndexedMatchAgreesWithScan(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(1, 2))}
	indexed := 0
	for set := range 300 {
		snap, errs := Compile(g.stubs(4 + g.r.IntN(60)))
		if errs != nil {
			continue // absent combined with another condition
		}
		for _, c := range snap.exact {
			if c.ix != nil {
				indexed++
			}
		}
		for range 50 {
			r := g.request()
			if got, want := snap.Match(r), scanMatch(snap, r); got != want {
				t.Fatalf("set %d: Match(%s %s %+v) = %q, want %q", set, r.Method, r.Path, r.Fields, matchedID(got), matchedID(want))
			}
		}
	}
	if indexed < 100 {
		t.Fatalf("only %d lists indexed: the test does not exercise the index", indexed)
	}
}

func TestIndexChoice(t *testing.T) {
	hdr := func(id, name string, m stub.StringMatcher) Source {
		return Source{Stub: withID(id, stub.Stub{Request: stub.Request{Path: "/v",
			Headers: map[string]stub.StringMatcher{name: m}}})}
	}
	query := func(id, name, v string) Source {
		return Source{Stub: withID(id, stub.Stub{Request: stub.Request{Path: "/v",
			Query: map[string]stub.StringMatcher{name: eq(v)}}})}
	}
	tests := []struct {
		name   string
		srcs   []Source
		want   string // "" for no index
		values int
		others int
	}{
		{"three are too few", []Source{hdr("a", "X-V", eq("1")), hdr("b", "X-V", eq("2")), hdr("c", "X-V", eq("3"))}, "", 0, 0},
		{"four on one header", []Source{hdr("a", "X-V", eq("1")), hdr("b", "X-V", eq("2")), hdr("c", "X-V", eq("3")), hdr("d", "X-V", eq("4"))}, "0:x-v", 4, 0},
		{"header names in any case are one field", []Source{hdr("a", "X-V", eq("1")), hdr("b", "x-v", eq("2")), hdr("c", "X-v", eq("2")), hdr("d", "x-V", eq("4")), hdr("e", "X-V", stub.StringMatcher{Present: true})}, "0:x-v", 3, 1},
		{"ignoreCase is not exact", []Source{hdr("a", "X-V", eq("1")), hdr("b", "X-V", eq("2")), hdr("c", "X-V", eq("3")),
			hdr("d", "X-V", stub.StringMatcher{Equals: sp("4"), IgnoreCase: true})}, "", 0, 0},
		{"the field most ask for", []Source{query("a", "q", "1"), query("b", "q", "2"), query("c", "q", "3"), query("d", "q", "4"), query("e", "q", "5"),
			hdr("f", "X-V", eq("1")), hdr("g", "X-V", eq("2")), hdr("h", "X-V", eq("3")), hdr("i", "X-V", eq("4"))}, "1:q", 5, 4},
		{"query names keep their case", []Source{query("a", "q", "1"), query("b", "Q", "2"), query("c", "q", "3"), query("d", "Q", "4")}, "", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := mustCompile(t, tt.srcs)
			ix := snap.exact["/v"].ix
			if tt.want == "" {
				if ix != nil {
					t.Fatalf("indexed %d:%s, want no index", ix.field.kind, ix.field.name)
				}
				return
			}
			if ix == nil {
				t.Fatalf("no index, want %s", tt.want)
			}
			if got := fmt.Sprintf("%d:%s", ix.field.kind, ix.field.name); got != tt.want {
				t.Fatalf("indexed %s, want %s", got, tt.want)
			}
			if len(ix.byValue) != tt.values || len(ix.others) != tt.others {
				t.Fatalf("%d values and %d others, want %d and %d", len(ix.byValue), len(ix.others), tt.values, tt.others)
			}
		})
	}
}

// FuzzIndexedMatch: stubs and a request drawn from the fuzzer's seed;
// Match must agree with trying every stub in turn.
func FuzzIndexedMatch(f *testing.F) {
	for _, s := range [][2]uint64{{1, 2}, {3, 4}, {5, 6}, {7, 8}} {
		f.Add(s[0], s[1], uint8(20))
	}
	f.Fuzz(func(t *testing.T, a, b uint64, n uint8) {
		g := gen{rand.New(rand.NewPCG(a, b))}
		snap, errs := Compile(g.stubs(1 + int(n)%80))
		if errs != nil {
			return
		}
		for range 20 {
			r := g.request()
			if got, want := snap.Match(r), scanMatch(snap, r); got != want {
				t.Fatalf("Match(%s %s %+v) = %q, want %q", r.Method, r.Path, r.Fields, matchedID(got), matchedID(want))
			}
		}
	})
}
