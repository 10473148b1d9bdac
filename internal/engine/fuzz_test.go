package engine

import (
	"testing"

	"github.com/decoy-dev/decoy/internal/stub"
)

// FuzzCompileAndMatch builds stubs from a fuzzed path template, path regex
// and method and matches a fuzzed request against them. Nothing may panic,
// and the template trie must agree with the stub's own path matcher.
func FuzzCompileAndMatch(f *testing.F) {
	seeds := []struct{ tmpl, re, method, reqMethod, reqPath string }{
		{"/users/{id}", `^/users/\d+$`, "GET", "GET", "/users/42"},
		{"/files/{rest*}", `files`, "ANY", "HEAD", "/files/a/b"},
		{"/files/{name}.json", `(?i)JSON$`, "", "POST", "/files/x.json"},
		{"/a//{b}/", `^/a//`, "get", "GET", "/a//x/"},
		{"/{a}/{b}/{c*}", `.*`, "*", "DELETE", "//x/"},
		{"/", `^$`, "HEAD", "HEAD", ""},
		{"*", `[`, "G E T", "GET", "*"},
		{"/{x*}/y", `a{1001}`, "POST", "POST", "/x/y"},
		{"/v{major}.{minor}/{rest*}", `^/v\d`, "PUT", "PUT", "/v1.2/a/b"},
		{"/ü/{ä}", `\p{L}+`, "GET", "GET", "/ü/ö"},
		{"/v1/{name}:complete", `:`, "GET", "GET", "/v1/a:b:complete"},
		{"/{a}-{b}/{c}.x", `-`, "GET", "GET", "/--/.x.x"},
	}
	for _, s := range seeds {
		f.Add(s.tmpl, s.re, s.method, s.reqMethod, s.reqPath)
	}
	f.Fuzz(func(t *testing.T, tmpl, re, method, reqMethod, reqPath string) {
		if len(tmpl) > 512 || len(re) > 512 || len(reqPath) > 1024 {
			return
		}
		r := &Request{Method: reqMethod, Path: reqPath, Fields: fields{}}

		candidates := [][]Source{
			{{Stub: stub.Stub{ID: "tmpl", Request: stub.Request{Path: tmpl, Method: method}, Response: ok200()}}},
			{{Stub: stub.Stub{ID: "re", Request: stub.Request{PathRegex: re, Method: method}, Response: ok200()}}},
			{{Stub: stub.Stub{ID: "prefix", Request: stub.Request{PathPrefix: tmpl}, Response: ok200()}}},
			// Everything together, with a sequence, to exercise ranking.
			{
				{Stub: stub.Stub{ID: "a", Request: stub.Request{Path: tmpl}, Responses: []stub.Response{{}, {Status: 201}}}},
				{Stub: stub.Stub{ID: "b", Priority: 3, Request: stub.Request{PathRegex: re}, Response: ok200()}},
				{Stub: stub.Stub{ID: "c", Request: stub.Request{Path: reqPath, Method: method}, Response: ok200()}},
				{Stub: stub.Stub{ID: "d", Request: stub.Request{Path: "/{rest*}"}, Response: ok200()}},
			},
		}
		for _, srcs := range candidates {
			snap, errs := Compile(srcs)
			if errs != nil {
				if snap != nil {
					t.Fatalf("Compile returned a snapshot and errors: %v", errs)
				}
				for _, e := range errs {
					if e.Index < 0 || e.Index >= len(srcs) {
						t.Fatalf("error index %d out of range: %v", e.Index, e)
					}
					_ = e.Error()
				}
				continue
			}
			m := snap.Match(r)
			if m != nil {
				_ = m.Next()
				if !m.matchPath(r.Path) || !m.matchMethod(r.Method) {
					t.Fatalf("Match returned %s, whose path or method does not match %q %q", m.ID, r.Method, r.Path)
				}
			}
			misses := snap.Explain(r, 3)
			if m == nil && len(misses) == 0 && snap.Len() > 0 {
				t.Fatalf("no match and no explanation for %q %q", r.Method, r.Path)
			}
			for _, miss := range misses {
				if m != nil && miss.Stub == m.ID {
					t.Fatalf("Explain lists the matching stub %s", m.ID)
				}
				if len(miss.Reasons) == 0 {
					t.Fatalf("miss without a reason: %+v", miss)
				}
			}
			// With a single stub that takes any method, Match must agree with
			// the stub's own path matcher (the template trie against
			// matchSegments, the exact map against ==, ...).
			if len(srcs) == 1 {
				s := snap.Stubs()[0]
				if s.matchMethod(r.Method) {
					if want := s.matchPath(r.Path); (m != nil) != want {
						t.Fatalf("stub %s (kind %d, %q): Match = %v, matchPath = %v for %q",
							s.ID, s.pathKind, srcs[0].Stub.Request.Path, m != nil, want, r.Path)
					}
				}
			}
		}
	})
}
