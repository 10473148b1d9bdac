package engine

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/decoy-dev/decoy/internal/stub"
)

func exactStubs(n int) []Source {
	out := make([]Source, n)
	for i := range out {
		out[i] = Source{Stub: stub.Stub{
			ID:       "e" + strconv.Itoa(i),
			Request:  stub.Request{Method: "GET", Path: "/api/v1/resource" + strconv.Itoa(i)},
			Response: &stub.Response{Body: stub.Text("ok")},
		}}
	}
	return out
}

func templateStubs(n int) []Source {
	out := make([]Source, n)
	for i := range out {
		out[i] = Source{Stub: stub.Stub{
			ID:       "t" + strconv.Itoa(i),
			Request:  stub.Request{Method: "GET", Path: "/api/r" + strconv.Itoa(i) + "/items/{id}"},
			Response: &stub.Response{Body: stub.Text("ok")},
		}}
	}
	return out
}

func headerStubs(n int) []Source {
	out := make([]Source, n)
	for i := range out {
		out[i] = Source{Stub: stub.Stub{
			ID: "h" + strconv.Itoa(i),
			Request: stub.Request{Method: "GET", Path: "/variants",
				Headers: map[string]stub.StringMatcher{"X-Variant": stub.Eq(strconv.Itoa(i))}},
			Response: &stub.Response{Body: stub.Text("ok")},
		}}
	}
	return out
}

// verbStubs are Google-style operations: /v1/{name}:verbI, and /v1/{name}.
func verbStubs(n int) []Source {
	out := make([]Source, n+1)
	for i := range n {
		out[i] = Source{Stub: stub.Stub{
			ID:       "m" + strconv.Itoa(i),
			Request:  stub.Request{Method: "GET", Path: "/v1/{name}:verb" + strconv.Itoa(i)},
			Response: &stub.Response{Body: stub.Text("ok")},
		}}
	}
	out[n] = Source{Stub: stub.Stub{ID: "plain", Request: stub.Request{Method: "GET", Path: "/v1/{name}"},
		Response: &stub.Response{Body: stub.Text("ok")}}}
	return out
}

func BenchmarkMatch(b *testing.B) {
	benches := []struct {
		name string
		srcs []Source
		r    rq
		want string
	}{
		{"exact/10", exactStubs(10), rq{path: "/api/v1/resource7"}, "e7"},
		{"exact/10000", exactStubs(10000), rq{path: "/api/v1/resource7777"}, "e7777"},
		{"exact-miss/10000", exactStubs(10000), rq{path: "/api/v1/nope"}, ""},
		{"template/10000", templateStubs(10000), rq{path: "/api/r7777/items/42"}, "t7777"},
		{"header/100-last", headerStubs(100), rq{path: "/variants", header: map[string]string{"X-Variant": "99"}}, "h99"},
		{"header/100-first", headerStubs(100), rq{path: "/variants", header: map[string]string{"X-Variant": "0"}}, "h0"},
		{"mixed/10", verbStubs(10), rq{path: "/v1/abc:verb7"}, "m7"},
		{"mixed/1000", verbStubs(1000), rq{path: "/v1/abc:verb777"}, "m777"},
		{"beside-mixed/10", verbStubs(10), rq{path: "/v1/abc"}, "plain"},
		{"beside-mixed/1000", verbStubs(1000), rq{path: "/v1/abc"}, "plain"},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			snap := mustCompile(b, bb.srcs)
			r := bb.r.req()
			if got := matchedID(snap.Match(r)); got != bb.want {
				b.Fatalf("Match = %q, want %q", got, bb.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				snap.Match(r)
			}
		})
	}
}

func BenchmarkExplain(b *testing.B) {
	snap := mustCompile(b, exactStubs(1000))
	r := rq{path: "/api/v1/nope"}.req()
	b.ReportAllocs()
	for b.Loop() {
		snap.Explain(r, 3)
	}
}

func BenchmarkCompile(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			srcs := exactStubs(n)
			b.ReportAllocs()
			for b.Loop() {
				if _, errs := Compile(srcs); errs != nil {
					b.Fatal(errs)
				}
			}
		})
	}
}

// Matching a stub on an exact path with no other condition, and taking its
// response, allocates nothing. (Not parallel: AllocsPerRun measures the
// whole process.)
func TestMatchExactAllocs(t *testing.T) {
	tests := []struct {
		name string
		srcs []Source
		r    rq
	}{
		{"exact among 10", exactStubs(10), rq{path: "/api/v1/resource3"}},
		{"exact among 10000", exactStubs(10000), rq{path: "/api/v1/resource9999"}},
		{"HEAD on GET", exactStubs(10), rq{method: "HEAD", path: "/api/v1/resource3"}},
		{"miss", exactStubs(10), rq{path: "/none"}},
		{"template", templateStubs(100), rq{path: "/api/r50/items/9"}},
		{"header equals", headerStubs(10), rq{path: "/variants", header: map[string]string{"X-Variant": "9"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := mustCompile(t, tt.srcs)
			r := tt.r.req()
			allocs := testing.AllocsPerRun(1000, func() {
				if s := snap.Match(r); s != nil {
					_ = s.Next()
				}
			})
			if allocs != 0 {
				t.Errorf("Match allocates %v times per call, want 0", allocs)
			}
		})
	}
}
