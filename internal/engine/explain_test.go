package engine

import (
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/stub"
)

func TestExplainRanking(t *testing.T) {
	t.Parallel()
	type M = map[string]stub.StringMatcher
	snap := mustCompile(t, []Source{
		{Stub: withID("path-miss", meth("GET", path("/other"))), Origin: "a.yaml:1"},
		{Stub: withID("method-miss", meth("POST", path("/users"))), Origin: "a.yaml:5"},
		{Stub: withID("header-miss", hdr(M{"X-Env": eq("dev")}, meth("GET", path("/users")))), Origin: "a.yaml:9"},
		{Stub: withID("two-headers-miss", hdr(M{"X-Env": eq("dev"), "X-Id": {Present: true}}, meth("GET", path("/users")))), Origin: "a.yaml:14"},
		{Stub: withID("path-and-method-miss", meth("DELETE", path("/nope"))), Origin: "a.yaml:20"},
	})
	r := rq{method: "GET", path: "/users", header: map[string]string{"X-Env": "prod"}}.req()
	if m := snap.Match(r); m != nil {
		t.Fatalf("Match = %q, want none", m.ID)
	}
	got := snap.Explain(r, 10)
	var ids []string
	for _, m := range got {
		ids = append(ids, m.Stub)
	}
	want := []string{"header-miss", "two-headers-miss", "method-miss", "path-miss", "path-and-method-miss"}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("Explain order = %v, want %v", ids, want)
	}
	if got[0].Origin != "a.yaml:9" {
		t.Errorf("Origin = %q, want a.yaml:9", got[0].Origin)
	}
	// n limits the report; the closest come first.
	if top := snap.Explain(r, 2); len(top) != 2 || top[0].Stub != "header-miss" || top[1].Stub != "two-headers-miss" {
		t.Errorf("Explain(r, 2) = %+v", top)
	}
	if none := snap.Explain(r, 0); len(none) != 0 {
		t.Errorf("Explain(r, 0) = %+v, want empty", none)
	}
}

func TestExplainReasons(t *testing.T) {
	t.Parallel()
	type M = map[string]stub.StringMatcher
	type S = map[string]string
	tests := []struct {
		name string
		s    stub.Stub
		r    rq
		want []string // each reason, in order
	}{
		{"exact path", meth("GET", path("/users")), rq{path: "/orders"},
			[]string{"path /users does not match /orders"}},
		{"template path", path("/users/{id}"), rq{path: "/users"},
			[]string{"path /users/{id} does not match /users"}},
		{"mixed template path", path("/f/{name}.json"), rq{path: "/f/a.xml"},
			[]string{"path /f/{name}.json does not match /f/a.xml"}},
		{"regex path", pathRegex(`^/v\d+$`), rq{path: "/x"},
			[]string{`path /^/v\d+$/ does not match /x`}},
		{"prefix path", prefix("/api/"), rq{path: "/x"},
			[]string{"path /api/* does not match /x"}},
		{"method", meth("POST", path("/a")), rq{method: "GET", path: "/a"},
			[]string{"method is GET, want POST"}},
		{"path and method", meth("POST", path("/a")), rq{method: "GET", path: "/b"},
			[]string{"path /a does not match /b", "method is GET, want POST"}},
		{"header differs", hdr(M{"X-Env": eq("dev")}, path("/a")), rq{path: "/a", header: S{"X-Env": "prod"}},
			[]string{`header X-Env is "prod", want "dev"`}},
		{"header missing", hdr(M{"X-Env": eq("dev")}, path("/a")), rq{path: "/a"},
			[]string{"header X-Env is missing"}},
		{"header must be absent", hdr(M{"X-Debug": {Absent: true}}, path("/a")), rq{path: "/a", header: S{"X-Debug": "1"}},
			[]string{"header X-Debug is present but must be absent"}},
		{"header contains", hdr(M{"Accept": {Contains: "json"}}, path("/a")), rq{path: "/a", header: S{"Accept": "text/html"}},
			[]string{`header Accept is "text/html", want it to contain "json"`}},
		{"header regex", hdr(M{"X-Id": {Regex: `^\d+$`}}, path("/a")), rq{path: "/a", header: S{"X-Id": "abc"}},
			[]string{`header X-Id is "abc", want it to match /^\d+$/`}},
		{"query", qry(M{"page": eq("2")}, path("/a")), rq{path: "/a", query: S{"page": "3"}},
			[]string{`query parameter page is "3", want "2"`}},
		{"cookie", ck(M{"session": {Present: true}}, path("/a")), rq{path: "/a"},
			[]string{"cookie session is missing"}},
		{"body equals", body(stub.BodyMatcher{Equals: sp("a")}, path("/a")), rq{path: "/a", body: "b"},
			[]string{`body is "b", want "a"`}},
		{"body contains", body(stub.BodyMatcher{Contains: "x"}, path("/a")), rq{path: "/a", body: "abc"},
			[]string{`body does not contain "x"`}},
		{"body regex", body(stub.BodyMatcher{Regex: `^z`}, path("/a")), rq{path: "/a", body: "abc"},
			[]string{`body does not match /^z/`}},
		{"body not json", body(stub.BodyMatcher{JSON: map[string]any{"a": 1}}, path("/a")), rq{path: "/a", body: "abc"},
			[]string{"body is not valid JSON"}},
		{"body json differs", body(stub.BodyMatcher{JSON: map[string]any{"a": 1}}, path("/a")), rq{path: "/a", body: `{"a":2}`},
			[]string{"body is not the JSON value the stub wants"}},
		{"jsonPath nothing", body(stub.BodyMatcher{JSONPath: []stub.JSONPathMatcher{{Path: "$.id"}}}, path("/a")), rq{path: "/a", body: `{}`},
			[]string{"body has nothing at $.id"}},
		{"jsonPath equals", body(stub.BodyMatcher{JSONPath: []stub.JSONPathMatcher{jp("$.id", 1)}}, path("/a")), rq{path: "/a", body: `{"id":2}`},
			[]string{"body at $.id is 2, want 1"}},
		// The selected value and the wanted one are both written as JSON, so
		// a number and a string are told apart.
		{"jsonPath equals string, body has number", body(stub.BodyMatcher{JSONPath: []stub.JSONPathMatcher{jp("$.id", "1")}}, path("/a")), rq{path: "/a", body: `{"id":1}`},
			[]string{`body at $.id is 1, want "1"`}},
		{"jsonPath equals number, body has string", body(stub.BodyMatcher{JSONPath: []stub.JSONPathMatcher{jp("$.id", 1)}}, path("/a")), rq{path: "/a", body: `{"id":"1"}`},
			[]string{`body at $.id is "1", want 1`}},
		{"jsonPath contains", body(stub.BodyMatcher{JSONPath: []stub.JSONPathMatcher{{Path: "$.name", Contains: "z"}}}, path("/a")), rq{path: "/a", body: `{"name":"ada"}`},
			[]string{`body at $.name is "ada", want it to contain "z"`}},
		{"jsonPath absent", body(stub.BodyMatcher{JSONPath: []stub.JSONPathMatcher{{Path: "$.id", Absent: true}}}, path("/a")), rq{path: "/a", body: `{"id":2}`},
			[]string{"body has $.id but it must be absent"}},
		{"everything at once", ck(M{"c": eq("1")}, qry(M{"q": eq("1")}, hdr(M{"H": eq("1")}, meth("PUT", path("/a"))))), rq{method: "GET", path: "/b"},
			[]string{"path /a does not match /b", "method is GET, want PUT", "query parameter q is missing", "header H is missing", "cookie c is missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := mustCompile(t, []Source{{Stub: withID("x", tt.s), Origin: "o"}})
			r := tt.r.req()
			if m := snap.Match(r); m != nil {
				t.Fatalf("Match = %q, want none", m.ID)
			}
			got := snap.Explain(r, 3)
			if len(got) != 1 {
				t.Fatalf("Explain = %+v, want one miss", got)
			}
			if got[0].Stub != "x" || got[0].Origin != "o" {
				t.Errorf("Miss = %+v", got[0])
			}
			if strings.Join(got[0].Reasons, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Reasons:\n  %q\nwant\n  %q", got[0].Reasons, tt.want)
			}
		})
	}
}

// A stub that matches is not a miss.
func TestExplainSkipsMatching(t *testing.T) {
	t.Parallel()
	snap := mustCompile(t, srcs(withID("hit", path("/a")), withID("miss", path("/b"))))
	got := snap.Explain(rq{path: "/a"}.req(), 5)
	if len(got) != 1 || got[0].Stub != "miss" {
		t.Errorf("Explain = %+v, want only miss", got)
	}
}

// Explain must not crash on a negative count (a caller's mistake): it
// reports nothing.
func TestExplainNegativeCount(t *testing.T) {
	t.Parallel()
	snap := mustCompile(t, srcs(withID("miss", path("/b"))))
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("Explain(r, -1) panicked: %v", p)
		}
	}()
	if got := snap.Explain(rq{path: "/a"}.req(), -1); len(got) != 0 {
		t.Errorf("Explain(r, -1) = %+v, want empty", got)
	}
}

// A wrong path weighs less the more leading segments the stub's path shares
// with the request's, but always more than a wrong method or header.
func TestExplainPathCloseness(t *testing.T) {
	t.Parallel()
	type M = map[string]stub.StringMatcher
	snap := mustCompile(t, []Source{
		{Stub: withID("other", path("/other"))},
		{Stub: withID("v2-template", path("/api/v2/users/{id}"))},
		{Stub: withID("v1-list", path("/api/v1/users"))},
		{Stub: withID("v1-prefix", prefix("/api/v1/orders/"))},
		{Stub: withID("deep", path("/api/v1/users/42/x"))},
		{Stub: withID("method", meth("POST", path("/api/v1/users/42")))},
		{Stub: withID("header", hdr(M{"X": eq("1")}, path("/api/v1/users/42")))},
	})
	r := rq{path: "/api/v1/users/42"}.req()
	var ids []string
	for _, m := range snap.Explain(r, 10) {
		ids = append(ids, m.Stub)
	}
	want := []string{"header", "method", "deep", "v1-list", "v1-prefix", "v2-template", "other"}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("Explain order = %v, want %v", ids, want)
	}
}
