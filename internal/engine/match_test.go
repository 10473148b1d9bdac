package engine

import (
	"testing"

	"github.com/decoy-dev/decoy/internal/stub"
)

type matchCase struct {
	name  string
	stubs []stub.Stub // named s0, s1, ... by position unless they set an ID
	req   rq
	want  string // ID of the stub that answers; "" for none
}

func runMatchCases(t *testing.T, tests []matchCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := mustCompile(t, srcs(tt.stubs...))
			got := matchedID(snap.Match(tt.req.req()))
			if got != tt.want {
				t.Errorf("Match(%s %s) = %q, want %q", tt.req.req().Method, tt.req.req().Path, got, tt.want)
			}
			// The engine gives the same answer as the snapshot.
			if e := New(snap); matchedID(e.Match(tt.req.req())) != got {
				t.Errorf("Engine.Match differs from Snapshot.Match")
			}
		})
	}
}

func path(p string) stub.Stub          { return stub.Stub{Request: stub.Request{Path: p}} }
func prefix(p string) stub.Stub        { return stub.Stub{Request: stub.Request{PathPrefix: p}} }
func pathRegex(p string) stub.Stub     { return stub.Stub{Request: stub.Request{PathRegex: p}} }
func anyPath() stub.Stub               { return stub.Stub{} }
func pri(n int, s stub.Stub) stub.Stub { s.Priority = n; return s }
func meth(m string, s stub.Stub) stub.Stub {
	s.Request.Method = m
	return s
}

func TestMatchPath(t *testing.T) {
	t.Parallel()
	runMatchCases(t, []matchCase{
		// exact
		{"exact hit", []stub.Stub{path("/users")}, rq{path: "/users"}, "s0"},
		{"exact is case-sensitive", []stub.Stub{path("/users")}, rq{path: "/Users"}, ""},
		{"exact does not match a trailing slash", []stub.Stub{path("/users")}, rq{path: "/users/"}, ""},
		{"exact with trailing slash needs it", []stub.Stub{path("/users/")}, rq{path: "/users"}, ""},
		{"exact with trailing slash", []stub.Stub{path("/users/")}, rq{path: "/users/"}, "s0"},
		{"exact is not a prefix", []stub.Stub{path("/users")}, rq{path: "/users/1"}, ""},
		{"exact root", []stub.Stub{path("/")}, rq{path: "/"}, "s0"},
		{"exact root only", []stub.Stub{path("/")}, rq{path: "/x"}, ""},
		{"exact keeps empty segments", []stub.Stub{path("/a//b")}, rq{path: "/a//b"}, "s0"},
		{"exact empty segment differs", []stub.Stub{path("/a//b")}, rq{path: "/a/b"}, ""},
		{"exact regex metacharacters are literal", []stub.Stub{path("/a.b")}, rq{path: "/aXb"}, ""},
		{"star path answers OPTIONS *", []stub.Stub{path("*")}, rq{method: "OPTIONS", path: "*"}, "s0"},
		{"star path is any path", []stub.Stub{path("*")}, rq{path: "/a/b"}, "s0"},
		{"star path ranks as any path", []stub.Stub{path("*"), prefix("/a")}, rq{path: "/a/b"}, "s1"},

		// templates
		{"template hit", []stub.Stub{path("/users/{id}")}, rq{path: "/users/42"}, "s0"},
		{"template needs the parameter", []stub.Stub{path("/users/{id}")}, rq{path: "/users"}, ""},
		{"template parameter is not empty", []stub.Stub{path("/users/{id}")}, rq{path: "/users/"}, ""},
		{"template parameter is one segment", []stub.Stub{path("/users/{id}")}, rq{path: "/users/42/posts"}, ""},
		{"template no trailing slash", []stub.Stub{path("/users/{id}")}, rq{path: "/users/42/"}, ""},
		{"template literal is case-sensitive", []stub.Stub{path("/users/{id}")}, rq{path: "/USERS/42"}, ""},
		{"template with trailing slash", []stub.Stub{path("/users/{id}/")}, rq{path: "/users/42/"}, "s0"},
		{"template with trailing slash needs it", []stub.Stub{path("/users/{id}/")}, rq{path: "/users/42"}, ""},
		{"template two parameters", []stub.Stub{path("/users/{id}/posts/{post}")}, rq{path: "/users/1/posts/2"}, "s0"},
		{"template two parameters, literal differs", []stub.Stub{path("/users/{id}/posts/{post}")}, rq{path: "/users/1/notes/2"}, ""},
		{"template parameter first", []stub.Stub{path("/{tenant}/items")}, rq{path: "/acme/items"}, "s0"},
		{"template parameter first, empty", []stub.Stub{path("/{tenant}/items")}, rq{path: "//items"}, ""},
		{"template empty literal segment", []stub.Stub{path("/a//{id}")}, rq{path: "/a//x"}, "s0"},
		{"template empty literal segment missing", []stub.Stub{path("/a//{id}")}, rq{path: "/a/x"}, ""},
		{"template parameter does not match empty segment", []stub.Stub{path("/a/{id}/b")}, rq{path: "/a//b"}, ""},
		{"template parameter holds dots and dashes", []stub.Stub{path("/users/{id}")}, rq{path: "/users/a.b-c_d~e"}, "s0"},
		{"template parameter name with dot", []stub.Stub{path("/v/{a.b}")}, rq{path: "/v/1"}, "s0"},

		// rest parameter
		{"rest one segment", []stub.Stub{path("/files/{rest*}")}, rq{path: "/files/a"}, "s0"},
		{"rest several segments", []stub.Stub{path("/files/{rest*}")}, rq{path: "/files/a/b/c"}, "s0"},
		{"rest trailing slash", []stub.Stub{path("/files/{rest*}")}, rq{path: "/files/a/"}, "s0"},
		{"rest needs something", []stub.Stub{path("/files/{rest*}")}, rq{path: "/files"}, ""},
		{"rest needs more than a slash", []stub.Stub{path("/files/{rest*}")}, rq{path: "/files/"}, ""},
		{"rest prefix must be a segment", []stub.Stub{path("/files/{rest*}")}, rq{path: "/filesystem/a"}, ""},
		{"rest at root", []stub.Stub{path("/{rest*}")}, rq{path: "/anything/at/all"}, "s0"},
		{"rest at root needs something", []stub.Stub{path("/{rest*}")}, rq{path: "/"}, ""},
		{"rest after parameter", []stub.Stub{path("/u/{id}/{rest*}")}, rq{path: "/u/1/x/y"}, "s0"},
		{"rest after parameter needs rest", []stub.Stub{path("/u/{id}/{rest*}")}, rq{path: "/u/1"}, ""},

		// mixed segments (matched as a regular expression)
		{"mixed hit", []stub.Stub{path("/files/{name}.json")}, rq{path: "/files/report.json"}, "s0"},
		{"mixed other extension", []stub.Stub{path("/files/{name}.json")}, rq{path: "/files/report.xml"}, ""},
		{"mixed dot is literal", []stub.Stub{path("/files/{name}.json")}, rq{path: "/files/reportXjson"}, ""},
		{"mixed parameter not empty", []stub.Stub{path("/files/{name}.json")}, rq{path: "/files/.json"}, ""},
		{"mixed parameter is one segment", []stub.Stub{path("/files/{name}.json")}, rq{path: "/files/a/b.json"}, ""},
		{"mixed anchored at the end", []stub.Stub{path("/files/{name}.json")}, rq{path: "/files/a.json/x"}, ""},
		{"mixed anchored at the start", []stub.Stub{path("/files/{name}.json")}, rq{path: "/x/files/a.json"}, ""},
		{"mixed two parameters", []stub.Stub{path("/files/{name}.{ext}")}, rq{path: "/files/a.tar"}, "s0"},
		{"mixed with plain parameter", []stub.Stub{path("/u/{id}/avatar-{size}.png")}, rq{path: "/u/7/avatar-64.png"}, "s0"},
		{"mixed with plain parameter, empty", []stub.Stub{path("/u/{id}/avatar-{size}.png")}, rq{path: "/u//avatar-64.png"}, ""},
		{"mixed prefix text", []stub.Stub{path("/v{version}/items")}, rq{path: "/v2/items"}, "s0"},
		{"mixed regex metacharacters literal", []stub.Stub{path("/a+b/{x}.(json)")}, rq{path: "/a+b/1.(json)"}, "s0"},
		{"mixed regex metacharacters not special", []stub.Stub{path("/a+b/{x}.(json)")}, rq{path: "/aab/1.json"}, ""},

		// prefix
		{"prefix equal", []stub.Stub{prefix("/api")}, rq{path: "/api"}, "s0"},
		{"prefix deeper", []stub.Stub{prefix("/api/")}, rq{path: "/api/v1/x"}, "s0"},
		{"prefix is textual", []stub.Stub{prefix("/api")}, rq{path: "/apix"}, "s0"},
		{"prefix miss", []stub.Stub{prefix("/api/")}, rq{path: "/ap"}, ""},
		{"prefix is case-sensitive", []stub.Stub{prefix("/api/")}, rq{path: "/API/x"}, ""},

		// regex
		{"regex anchored hit", []stub.Stub{pathRegex(`^/v[0-9]+/items$`)}, rq{path: "/v12/items"}, "s0"},
		{"regex anchored miss", []stub.Stub{pathRegex(`^/v[0-9]+/items$`)}, rq{path: "/v12/items/1"}, ""},
		{"regex is unanchored", []stub.Stub{pathRegex(`items`)}, rq{path: "/x/items/y"}, "s0"},
		{"regex case-insensitive flag", []stub.Stub{pathRegex(`(?i)^/ITEMS$`)}, rq{path: "/items"}, "s0"},

		// any path
		{"any path root", []stub.Stub{anyPath()}, rq{path: "/"}, "s0"},
		{"any path deep", []stub.Stub{anyPath()}, rq{path: "/a/b/c"}, "s0"},
		{"any path star", []stub.Stub{anyPath()}, rq{path: "*"}, "s0"},

		// no stubs
		{"no stubs", nil, rq{path: "/"}, ""},
	})
}

func TestMatchMethod(t *testing.T) {
	t.Parallel()
	runMatchCases(t, []matchCase{
		{"GET answers GET", []stub.Stub{meth("GET", path("/a"))}, rq{method: "GET", path: "/a"}, "s0"},
		{"GET answers HEAD", []stub.Stub{meth("GET", path("/a"))}, rq{method: "HEAD", path: "/a"}, "s0"},
		{"GET does not answer POST", []stub.Stub{meth("GET", path("/a"))}, rq{method: "POST", path: "/a"}, ""},
		{"HEAD does not answer GET", []stub.Stub{meth("HEAD", path("/a"))}, rq{method: "GET", path: "/a"}, ""},
		{"HEAD answers HEAD", []stub.Stub{meth("HEAD", path("/a"))}, rq{method: "HEAD", path: "/a"}, "s0"},
		{"POST does not answer HEAD", []stub.Stub{meth("POST", path("/a"))}, rq{method: "HEAD", path: "/a"}, ""},
		{"lowercase stub method", []stub.Stub{meth("post", path("/a"))}, rq{method: "POST", path: "/a"}, "s0"},
		{"stub method is trimmed", []stub.Stub{meth(" PUT ", path("/a"))}, rq{method: "PUT", path: "/a"}, "s0"},
		{"request method is case-sensitive", []stub.Stub{meth("POST", path("/a"))}, rq{method: "post", path: "/a"}, ""},
		{"ANY", []stub.Stub{meth("ANY", path("/a"))}, rq{method: "DELETE", path: "/a"}, "s0"},
		{"any lowercase", []stub.Stub{meth("any", path("/a"))}, rq{method: "PATCH", path: "/a"}, "s0"},
		{"star", []stub.Stub{meth("*", path("/a"))}, rq{method: "OPTIONS", path: "/a"}, "s0"},
		{"empty", []stub.Stub{meth("", path("/a"))}, rq{method: "BREW", path: "/a"}, "s0"},
		{"extension method", []stub.Stub{meth("M-SEARCH", anyPath())}, rq{method: "M-SEARCH", path: "*"}, "s0"},
		{"HEAD on template GET", []stub.Stub{meth("GET", path("/u/{id}"))}, rq{method: "HEAD", path: "/u/1"}, "s0"},
		{"HEAD on prefix GET", []stub.Stub{meth("GET", prefix("/u"))}, rq{method: "HEAD", path: "/u/1"}, "s0"},
		{"method picks among stubs on one path",
			[]stub.Stub{meth("GET", path("/a")), meth("POST", path("/a")), meth("DELETE", path("/a"))},
			rq{method: "POST", path: "/a"}, "s1"},
		{"method picks among templates",
			[]stub.Stub{meth("GET", path("/a/{id}")), meth("PUT", path("/a/{id}"))},
			rq{method: "PUT", path: "/a/1"}, "s1"},
		{"HEAD prefers an explicit HEAD stub loaded first",
			[]stub.Stub{meth("HEAD", path("/a")), meth("GET", path("/a"))},
			rq{method: "HEAD", path: "/a"}, "s0"},
	})
}

func hdr(m map[string]stub.StringMatcher, s stub.Stub) stub.Stub {
	s.Request.Headers = m
	return s
}

func qry(m map[string]stub.StringMatcher, s stub.Stub) stub.Stub {
	s.Request.Query = m
	return s
}

func ck(m map[string]stub.StringMatcher, s stub.Stub) stub.Stub {
	s.Request.Cookies = m
	return s
}

func TestMatchQueryHeaderCookie(t *testing.T) {
	t.Parallel()
	h := func(m map[string]stub.StringMatcher) []stub.Stub { return []stub.Stub{hdr(m, path("/a"))} }
	q := func(m map[string]stub.StringMatcher) []stub.Stub { return []stub.Stub{qry(m, path("/a"))} }
	c := func(m map[string]stub.StringMatcher) []stub.Stub { return []stub.Stub{ck(m, path("/a"))} }
	type M = map[string]stub.StringMatcher
	type S = map[string]string
	runMatchCases(t, []matchCase{
		// headers
		{"header equals", h(M{"X-Env": eq("dev")}), rq{path: "/a", header: S{"X-Env": "dev"}}, "s0"},
		{"header equals differs", h(M{"X-Env": eq("dev")}), rq{path: "/a", header: S{"X-Env": "prod"}}, ""},
		{"header equals is case-sensitive", h(M{"X-Env": eq("dev")}), rq{path: "/a", header: S{"X-Env": "DEV"}}, ""},
		{"header missing", h(M{"X-Env": eq("dev")}), rq{path: "/a"}, ""},
		{"header name case-insensitive (stub lower)", h(M{"x-env": eq("dev")}), rq{path: "/a", header: S{"X-Env": "dev"}}, "s0"},
		{"header name case-insensitive (request lower)", h(M{"X-ENV": eq("dev")}), rq{path: "/a", header: S{"x-env": "dev"}}, "s0"},
		{"header equals empty string", h(M{"X-Env": eq("")}), rq{path: "/a", header: S{"X-Env": ""}}, "s0"},
		{"header equals empty string needs presence", h(M{"X-Env": eq("")}), rq{path: "/a"}, ""},
		{"header contains", h(M{"Accept": {Contains: "json"}}), rq{path: "/a", header: S{"Accept": "application/json; q=1"}}, "s0"},
		{"header contains miss", h(M{"Accept": {Contains: "json"}}), rq{path: "/a", header: S{"Accept": "text/html"}}, ""},
		{"header contains is case-sensitive", h(M{"Accept": {Contains: "json"}}), rq{path: "/a", header: S{"Accept": "application/JSON"}}, ""},
		{"header regex", h(M{"X-Id": {Regex: `^[0-9]+$`}}), rq{path: "/a", header: S{"X-Id": "123"}}, "s0"},
		{"header regex miss", h(M{"X-Id": {Regex: `^[0-9]+$`}}), rq{path: "/a", header: S{"X-Id": "12a"}}, ""},
		{"header regex unanchored", h(M{"X-Id": {Regex: `[0-9]`}}), rq{path: "/a", header: S{"X-Id": "ab7cd"}}, "s0"},
		{"header present", h(M{"Authorization": {Present: true}}), rq{path: "/a", header: S{"Authorization": "x"}}, "s0"},
		{"header present empty value", h(M{"Authorization": {Present: true}}), rq{path: "/a", header: S{"Authorization": ""}}, "s0"},
		{"header present missing", h(M{"Authorization": {Present: true}}), rq{path: "/a"}, ""},
		{"header absent", h(M{"Authorization": {Absent: true}}), rq{path: "/a"}, "s0"},
		{"header absent but present", h(M{"Authorization": {Absent: true}}), rq{path: "/a", header: S{"authorization": "x"}}, ""},
		{"header ignoreCase equals", h(M{"X-Env": {Equals: sp("Dev"), IgnoreCase: true}}), rq{path: "/a", header: S{"X-Env": "dEV"}}, "s0"},
		{"header ignoreCase equals miss", h(M{"X-Env": {Equals: sp("Dev"), IgnoreCase: true}}), rq{path: "/a", header: S{"X-Env": "prod"}}, ""},
		{"header ignoreCase contains", h(M{"Accept": {Contains: "JSON", IgnoreCase: true}}), rq{path: "/a", header: S{"Accept": "application/json"}}, "s0"},
		{"header ignoreCase regex", h(M{"X-Id": {Regex: `^abc$`, IgnoreCase: true}}), rq{path: "/a", header: S{"X-Id": "ABC"}}, "s0"},
		{"header contains and regex both hold", h(M{"X-Id": {Contains: "b", Regex: `^a`}}), rq{path: "/a", header: S{"X-Id": "abc"}}, "s0"},
		{"header contains and regex, one fails", h(M{"X-Id": {Contains: "z", Regex: `^a`}}), rq{path: "/a", header: S{"X-Id": "abc"}}, ""},
		{"header equals and regex", h(M{"X-Id": {Equals: sp("abc"), Regex: `^x`}}), rq{path: "/a", header: S{"X-Id": "abc"}}, ""},
		{"two headers both hold", h(M{"A": eq("1"), "B": eq("2")}), rq{path: "/a", header: S{"A": "1", "B": "2"}}, "s0"},
		{"two headers one fails", h(M{"A": eq("1"), "B": eq("2")}), rq{path: "/a", header: S{"A": "1", "B": "3"}}, ""},

		// query
		{"query equals", q(M{"page": eq("2")}), rq{path: "/a", query: S{"page": "2"}}, "s0"},
		{"query equals miss", q(M{"page": eq("2")}), rq{path: "/a", query: S{"page": "3"}}, ""},
		{"query name case-sensitive", q(M{"page": eq("2")}), rq{path: "/a", query: S{"Page": "2"}}, ""},
		{"query missing", q(M{"page": eq("2")}), rq{path: "/a"}, ""},
		{"query contains", q(M{"q": {Contains: "shoe"}}), rq{path: "/a", query: S{"q": "red shoes"}}, "s0"},
		{"query regex", q(M{"id": {Regex: `^[a-f0-9]{8}$`}}), rq{path: "/a", query: S{"id": "deadbeef"}}, "s0"},
		{"query present", q(M{"debug": {Present: true}}), rq{path: "/a", query: S{"debug": ""}}, "s0"},
		{"query absent", q(M{"debug": {Absent: true}}), rq{path: "/a", query: S{"other": "1"}}, "s0"},
		{"query absent but present", q(M{"debug": {Absent: true}}), rq{path: "/a", query: S{"debug": ""}}, ""},
		{"query ignoreCase", q(M{"sort": {Equals: sp("ASC"), IgnoreCase: true}}), rq{path: "/a", query: S{"sort": "asc"}}, "s0"},

		// cookies
		{"cookie equals", c(M{"session": eq("abc")}), rq{path: "/a", cookie: S{"session": "abc"}}, "s0"},
		{"cookie equals miss", c(M{"session": eq("abc")}), rq{path: "/a", cookie: S{"session": "abd"}}, ""},
		{"cookie missing", c(M{"session": eq("abc")}), rq{path: "/a"}, ""},
		{"cookie contains", c(M{"prefs": {Contains: "dark"}}), rq{path: "/a", cookie: S{"prefs": "theme=dark"}}, "s0"},
		{"cookie regex", c(M{"session": {Regex: `^s-`}}), rq{path: "/a", cookie: S{"session": "s-1"}}, "s0"},
		{"cookie present", c(M{"session": {Present: true}}), rq{path: "/a", cookie: S{"session": "x"}}, "s0"},
		{"cookie absent", c(M{"session": {Absent: true}}), rq{path: "/a", cookie: S{"other": "x"}}, "s0"},
		{"cookie absent but present", c(M{"session": {Absent: true}}), rq{path: "/a", cookie: S{"session": "x"}}, ""},
		{"cookie ignoreCase contains", c(M{"prefs": {Contains: "DARK", IgnoreCase: true}}), rq{path: "/a", cookie: S{"prefs": "theme=dark"}}, "s0"},

		// combined: a query matcher does not look at headers and vice versa
		{"query not satisfied by header", q(M{"token": eq("1")}), rq{path: "/a", header: S{"token": "1"}}, ""},
		{"cookie not satisfied by query", c(M{"token": eq("1")}), rq{path: "/a", query: S{"token": "1"}}, ""},
		{"all three",
			[]stub.Stub{ck(M{"c": eq("3")}, qry(M{"q": eq("2")}, hdr(M{"H": eq("1")}, path("/a"))))},
			rq{path: "/a", header: S{"h": "1"}, query: S{"q": "2"}, cookie: S{"c": "3"}}, "s0"},
		{"all three, cookie wrong",
			[]stub.Stub{ck(M{"c": eq("3")}, qry(M{"q": eq("2")}, hdr(M{"H": eq("1")}, path("/a"))))},
			rq{path: "/a", header: S{"h": "1"}, query: S{"q": "2"}, cookie: S{"c": "4"}}, ""},
	})
}

func body(m stub.BodyMatcher, s stub.Stub) stub.Stub {
	s.Request.Body = &m
	return s
}

func jp(path string, equals any) stub.JSONPathMatcher {
	return stub.JSONPathMatcher{Path: path, Equals: equals}
}

func TestMatchBody(t *testing.T) {
	t.Parallel()
	b := func(m stub.BodyMatcher) []stub.Stub { return []stub.Stub{body(m, meth("POST", path("/a")))} }
	post := func(body string) rq { return rq{method: "POST", path: "/a", body: body} }
	type JP = []stub.JSONPathMatcher
	doc := `{"user": {"id": 42, "name": "Ada", "tags": ["a", "b"], "addr": {"city": "Paris", "zip": "75001"}}, "items": [{"id": 1}, {"id": 2}], "ok": true, "none": null}`
	runMatchCases(t, []matchCase{
		{"equals", b(stub.BodyMatcher{Equals: sp("hello")}), post("hello"), "s0"},
		{"equals is exact", b(stub.BodyMatcher{Equals: sp("hello")}), post("hello\n"), ""},
		{"equals empty", b(stub.BodyMatcher{Equals: sp("")}), post(""), "s0"},
		{"equals empty, body given", b(stub.BodyMatcher{Equals: sp("")}), post("x"), ""},
		{"contains", b(stub.BodyMatcher{Contains: "needle"}), post("hay needle hay"), "s0"},
		{"contains miss", b(stub.BodyMatcher{Contains: "needle"}), post("hay"), ""},
		{"regex", b(stub.BodyMatcher{Regex: `^\d+$`}), post("12345"), "s0"},
		{"regex miss", b(stub.BodyMatcher{Regex: `^\d+$`}), post("123a"), ""},
		{"regex multi-line body", b(stub.BodyMatcher{Regex: `(?s)^a.*z$`}), post("a\nb\nz"), "s0"},

		// json equality
		{"json same", b(stub.BodyMatcher{JSON: map[string]any{"a": 1, "b": "x"}}), post(`{"a":1,"b":"x"}`), "s0"},
		{"json key order ignored", b(stub.BodyMatcher{JSON: map[string]any{"a": 1, "b": "x"}}), post(`{"b":"x","a":1}`), "s0"},
		{"json whitespace ignored", b(stub.BodyMatcher{JSON: map[string]any{"a": 1, "b": "x"}}), post("{\n  \"b\" : \"x\" ,\n\t\"a\": 1\n}\n"), "s0"},
		{"json number forms equal", b(stub.BodyMatcher{JSON: map[string]any{"a": 1}}), post(`{"a":1.0}`), "s0"},
		{"json exponent equal", b(stub.BodyMatcher{JSON: map[string]any{"a": 1000}}), post(`{"a":1e3}`), "s0"},
		{"json extra key", b(stub.BodyMatcher{JSON: map[string]any{"a": 1}}), post(`{"a":1,"b":2}`), ""},
		{"json missing key", b(stub.BodyMatcher{JSON: map[string]any{"a": 1, "b": 2}}), post(`{"a":1}`), ""},
		{"json value type matters", b(stub.BodyMatcher{JSON: map[string]any{"a": 1}}), post(`{"a":"1"}`), ""},
		{"json array order matters", b(stub.BodyMatcher{JSON: []any{1, 2}}), post(`[2,1]`), ""},
		{"json array", b(stub.BodyMatcher{JSON: []any{1, "two", map[string]any{"three": 3}}}), post(` [1, "two", {"three": 3}] `), "s0"},
		{"json nested key order", b(stub.BodyMatcher{JSON: map[string]any{"o": map[string]any{"x": 1, "y": 2}}}), post(`{"o":{"y":2,"x":1}}`), "s0"},
		{"json not json", b(stub.BodyMatcher{JSON: map[string]any{"a": 1}}), post(`a=1`), ""},
		{"json empty body", b(stub.BodyMatcher{JSON: map[string]any{}}), post(``), ""},
		{"json scalar string", b(stub.BodyMatcher{JSON: "hi"}), post(`"hi"`), "s0"},

		// JSONPath
		{"jsonPath equals number", b(stub.BodyMatcher{JSONPath: JP{jp("$.user.id", 42)}}), post(doc), "s0"},
		{"jsonPath equals number as float", b(stub.BodyMatcher{JSONPath: JP{jp("$.user.id", 42.0)}}), post(doc), "s0"},
		{"jsonPath equals number differs", b(stub.BodyMatcher{JSONPath: JP{jp("$.user.id", 43)}}), post(doc), ""},
		{"jsonPath equals number vs string", b(stub.BodyMatcher{JSONPath: JP{jp("$.user.id", "42")}}), post(doc), ""},
		{"jsonPath equals string", b(stub.BodyMatcher{JSONPath: JP{jp("$.user.name", "Ada")}}), post(doc), "s0"},
		{"jsonPath equals string differs", b(stub.BodyMatcher{JSONPath: JP{jp("$.user.name", "ada")}}), post(doc), ""},
		{"jsonPath equals bool", b(stub.BodyMatcher{JSONPath: JP{jp("$.ok", true)}}), post(doc), "s0"},
		{"jsonPath equals object", b(stub.BodyMatcher{JSONPath: JP{jp("$.user.addr", map[string]any{"zip": "75001", "city": "Paris"})}}), post(doc), "s0"},
		{"jsonPath equals object, missing key", b(stub.BodyMatcher{JSONPath: JP{jp("$.user.addr", map[string]any{"city": "Paris"})}}), post(doc), ""},
		{"jsonPath equals array", b(stub.BodyMatcher{JSONPath: JP{jp("$.user.tags", []any{"a", "b"})}}), post(doc), "s0"},
		{"jsonPath equals any of several nodes", b(stub.BodyMatcher{JSONPath: JP{jp("$.items[*].id", 2)}}), post(doc), "s0"},
		{"jsonPath equals none of several nodes", b(stub.BodyMatcher{JSONPath: JP{jp("$.items[*].id", 3)}}), post(doc), ""},
		{"jsonPath contains on string", b(stub.BodyMatcher{JSONPath: JP{{Path: "$.user.name", Contains: "d"}}}), post(doc), "s0"},
		{"jsonPath contains on number text", b(stub.BodyMatcher{JSONPath: JP{{Path: "$.user.id", Contains: "4"}}}), post(doc), "s0"},
		{"jsonPath contains on object JSON", b(stub.BodyMatcher{JSONPath: JP{{Path: "$.user.addr", Contains: `"city":"Paris"`}}}), post(doc), "s0"},
		{"jsonPath contains miss", b(stub.BodyMatcher{JSONPath: JP{{Path: "$.user.name", Contains: "z"}}}), post(doc), ""},
		{"jsonPath regex", b(stub.BodyMatcher{JSONPath: JP{{Path: "$.user.addr.zip", Regex: `^75\d{3}$`}}}), post(doc), "s0"},
		{"jsonPath regex on number", b(stub.BodyMatcher{JSONPath: JP{{Path: "$.user.id", Regex: `^4\d$`}}}), post(doc), "s0"},
		{"jsonPath regex miss", b(stub.BodyMatcher{JSONPath: JP{{Path: "$.user.addr.zip", Regex: `^69`}}}), post(doc), ""},
		{"jsonPath absent", b(stub.BodyMatcher{JSONPath: JP{{Path: "$.user.email", Absent: true}}}), post(doc), "s0"},
		{"jsonPath absent but present", b(stub.BodyMatcher{JSONPath: JP{{Path: "$.user.name", Absent: true}}}), post(doc), ""},
		{"jsonPath absent, null counts as present", b(stub.BodyMatcher{JSONPath: JP{{Path: "$.none", Absent: true}}}), post(doc), ""},
		{"jsonPath exists", b(stub.BodyMatcher{JSONPath: JP{{Path: "$.user.addr"}}}), post(doc), "s0"},
		{"jsonPath exists, null value", b(stub.BodyMatcher{JSONPath: JP{{Path: "$.none"}}}), post(doc), "s0"},
		{"jsonPath exists miss", b(stub.BodyMatcher{JSONPath: JP{{Path: "$.user.email"}}}), post(doc), ""},
		{"jsonPath filter", b(stub.BodyMatcher{JSONPath: JP{{Path: `$.items[?@.id > 1]`}}}), post(doc), "s0"},
		{"jsonPath filter miss", b(stub.BodyMatcher{JSONPath: JP{{Path: `$.items[?@.id > 5]`}}}), post(doc), ""},
		{"jsonPath all must hold", b(stub.BodyMatcher{JSONPath: JP{jp("$.user.id", 42), jp("$.user.name", "Ada")}}), post(doc), "s0"},
		{"jsonPath all must hold, one fails", b(stub.BodyMatcher{JSONPath: JP{jp("$.user.id", 42), jp("$.user.name", "Bob")}}), post(doc), ""},
		{"jsonPath on non-JSON body", b(stub.BodyMatcher{JSONPath: JP{{Path: "$.a"}}}), post(`not json`), ""},
		{"jsonPath on empty body", b(stub.BodyMatcher{JSONPath: JP{{Path: "$.a", Absent: true}}}), post(``), ""},
		{"contains and jsonPath", b(stub.BodyMatcher{Contains: "Ada", JSONPath: JP{jp("$.ok", true)}}), post(doc), "s0"},
		{"contains fails before jsonPath", b(stub.BodyMatcher{Contains: "Bob", JSONPath: JP{jp("$.ok", true)}}), post(doc), ""},
	})
}

func TestMatchRanking(t *testing.T) {
	t.Parallel()
	type M = map[string]stub.StringMatcher
	runMatchCases(t, []matchCase{
		// priority
		{"lower priority number wins", []stub.Stub{pri(3, path("/a")), pri(1, path("/a")), pri(2, path("/a"))}, rq{path: "/a"}, "s1"},
		{"default priority is 5: 4 beats it", []stub.Stub{path("/a"), pri(4, path("/a"))}, rq{path: "/a"}, "s1"},
		{"default priority is 5: 6 loses", []stub.Stub{pri(6, path("/a")), path("/a")}, rq{path: "/a"}, "s1"},
		{"explicit 5 ties with default, load order", []stub.Stub{path("/a"), pri(5, path("/a"))}, rq{path: "/a"}, "s0"},
		{"explicit 5 ties with default, load order reversed", []stub.Stub{pri(5, path("/a")), path("/a")}, rq{path: "/a"}, "s0"},
		{"priority beats specificity: any-path over exact", []stub.Stub{path("/a"), pri(1, anyPath())}, rq{path: "/a"}, "s1"},
		{"priority beats specificity: prefix over template", []stub.Stub{path("/a/{id}"), pri(2, prefix("/a/"))}, rq{path: "/a/1"}, "s1"},
		{"priority beats specificity: regex over exact", []stub.Stub{path("/a/1"), pri(4, pathRegex(`^/a`))}, rq{path: "/a/1"}, "s1"},
		{"priority beats specificity: template over exact", []stub.Stub{path("/a/1"), pri(4, path("/a/{id}"))}, rq{path: "/a/1"}, "s1"},
		{"a better stub that does not match leaves the next", []stub.Stub{pri(1, hdr(M{"X": eq("1")}, path("/a"))), pri(9, path("/a"))}, rq{path: "/a"}, "s1"},

		// specificity with equal priority, loaded least specific first
		{"exact beats all", []stub.Stub{anyPath(), prefix("/a"), pathRegex(`^/a/b$`), path("/a/{x}"), path("/a/b")}, rq{path: "/a/b"}, "s4"},
		{"template beats regex, prefix, any", []stub.Stub{anyPath(), prefix("/a"), pathRegex(`^/a/b$`), path("/a/{x}")}, rq{path: "/a/b"}, "s3"},
		{"rest template beats regex", []stub.Stub{pathRegex(`^/a/b$`), path("/a/{rest*}")}, rq{path: "/a/b"}, "s1"},
		{"regex beats prefix, any", []stub.Stub{anyPath(), prefix("/a"), pathRegex(`^/a/b$`)}, rq{path: "/a/b"}, "s2"},
		{"prefix beats any", []stub.Stub{anyPath(), prefix("/a")}, rq{path: "/a/b"}, "s1"},
		{"any alone", []stub.Stub{anyPath(), prefix("/z")}, rq{path: "/a/b"}, "s0"},
		{"mixed segment before a parameter", []stub.Stub{path("/f/{name}"), path("/f/{name}.json")}, rq{path: "/f/a.json"}, "s1"},
		{"mixed segment before a parameter, reversed", []stub.Stub{path("/f/{name}.json"), path("/f/{name}")}, rq{path: "/f/a.json"}, "s0"},
		{"a parameter still answers what the mixed segment does not", []stub.Stub{path("/f/{name}"), path("/f/{name}.json")}, rq{path: "/f/a.xml"}, "s0"},
		{"verb after a parameter", []stub.Stub{path("/v1/{name}"), path("/v1/{catalog}:complete")}, rq{path: "/v1/abc:complete"}, "s1"},
		{"mixed segment before a pathRegex", []stub.Stub{pathRegex(`^/f/`), path("/f/{name}.json")}, rq{path: "/f/a.json"}, "s1"},
		{"mixed segment before a prefix", []stub.Stub{prefix("/f/"), path("/f/{name}.json")}, rq{path: "/f/a.json"}, "s1"},
		{"text before a mixed segment", []stub.Stub{path("/f/{name}.json"), path("/f/a.json")}, rq{path: "/f/a.json"}, "s1"},
		{"the leftmost difference decides", []stub.Stub{path("/{v}/x.json"), path("/v1/{name}.json")}, rq{path: "/v1/x.json"}, "s1"},
		{"several shapes on one node", []stub.Stub{path("/f/{a}.json"), path("/f/{a}.xml"), path("/f/x{a}"), path("/f/{a}-{b}")}, rq{path: "/f/x-y.xml"}, "s1"},
		{"shape without closing text", []stub.Stub{path("/f/{a}.json"), path("/f/x{a}")}, rq{path: "/f/xy"}, "s1"},
		{"two stubs of one shape", []stub.Stub{meth("POST", path("/f/{a}.json")), path("/f/{b}.json")}, rq{path: "/f/y.json"}, "s1"},
		{"mixed segment then more", []stub.Stub{path("/f/{a}.d/{b}"), path("/f/{a}/{b}")}, rq{path: "/f/x.d/y"}, "s0"},
		{"mixed segment then rest", []stub.Stub{path("/f/{a}.d/{b*}")}, rq{path: "/f/x.d/y/z"}, "s0"},
		{"mixed segment needs a character", []stub.Stub{path("/f/{a}.json")}, rq{path: "/f/.json"}, ""},
		{"exact beats template on the literal", []stub.Stub{path("/users/{id}"), path("/users/me")}, rq{path: "/users/me"}, "s1"},
		{"template still answers other values", []stub.Stub{path("/users/{id}"), path("/users/me")}, rq{path: "/users/you"}, "s0"},

		// a HEAD stub before a GET one, for HEAD
		{"HEAD stub over an earlier GET stub", []stub.Stub{meth("GET", path("/a")), meth("HEAD", path("/a"))}, rq{method: "HEAD", path: "/a"}, "s1"},
		{"HEAD stub over an earlier any-method stub", []stub.Stub{path("/a"), meth("HEAD", path("/a"))}, rq{method: "HEAD", path: "/a"}, "s1"},
		{"GET still answers GET beside a HEAD stub", []stub.Stub{meth("GET", path("/a")), meth("HEAD", path("/a"))}, rq{method: "GET", path: "/a"}, "s0"},
		{"HEAD template after an exact GET", []stub.Stub{meth("GET", path("/a/b")), meth("HEAD", path("/a/{x}"))}, rq{method: "HEAD", path: "/a/b"}, "s0"},

		// load order among equals
		{"load order exact", []stub.Stub{path("/a"), path("/a")}, rq{path: "/a"}, "s0"},
		{"load order template", []stub.Stub{path("/a/{x}"), path("/a/{y}")}, rq{path: "/a/1"}, "s0"},
		{"leftmost text wins between templates on different branches", []stub.Stub{path("/u/{id}/posts"), path("/u/me/{what}")}, rq{path: "/u/me/posts"}, "s1"},
		{"leftmost text wins between templates on different branches, reversed", []stub.Stub{path("/u/me/{what}"), path("/u/{id}/posts")}, rq{path: "/u/me/posts"}, "s0"},
		{"template before rest", []stub.Stub{path("/a/{rest*}"), path("/a/{id}")}, rq{path: "/a/1"}, "s1"},
		{"template before rest, reversed", []stub.Stub{path("/a/{id}"), path("/a/{rest*}")}, rq{path: "/a/1"}, "s0"},
		{"deep template before shallow rest", []stub.Stub{path("/{rest*}"), path("/a/b/{c}")}, rq{path: "/a/b/c"}, "s1"},
		{"priority before shape", []stub.Stub{pri(4, path("/v1/{name}")), path("/v1/{catalog}:complete")}, rq{path: "/v1/abc:complete"}, "s0"},
		{"deep template with better priority than shallow rest", []stub.Stub{path("/{rest*}"), pri(1, path("/a/b/{c}"))}, rq{path: "/a/b/c"}, "s1"},
		{"load order regex", []stub.Stub{pathRegex(`a`), pathRegex(`^/a`)}, rq{path: "/a"}, "s0"},
		{"load order prefix", []stub.Stub{prefix("/a/b"), prefix("/a")}, rq{path: "/a/b/c"}, "s0"},
		{"load order any", []stub.Stub{anyPath(), anyPath()}, rq{path: "/a"}, "s0"},
		{"priority across lists: scan stub outranks exact", []stub.Stub{pri(6, path("/a")), pri(2, prefix("/"))}, rq{path: "/a"}, "s1"},
		{"priority across lists: template outranks exact", []stub.Stub{pri(6, path("/a/b")), pri(2, path("/a/{x}"))}, rq{path: "/a/b"}, "s1"},
		{"priority across lists: exact outranks scan", []stub.Stub{pri(2, prefix("/")), pri(1, path("/a"))}, rq{path: "/a"}, "s1"},
	})
}

// Every stub kind lands where it is tried, and the ranking order of
// Snapshot.Stubs follows priority, then kind, then load order.
func TestSnapshotOrder(t *testing.T) {
	t.Parallel()
	snap := mustCompile(t, []Source{
		{Stub: withID("any", anyPath())},
		{Stub: withID("prefix", prefix("/a"))},
		{Stub: withID("regex", pathRegex(`^/a`))},
		{Stub: withID("mixed", path("/a/{x}.json"))},
		{Stub: withID("tmpl", path("/a/{x}"))},
		{Stub: withID("exact", path("/a"))},
		{Stub: withID("p1-any", pri(1, anyPath()))},
		{Stub: withID("p9-exact", pri(9, path("/a")))},
		{Stub: withID("exact2", path("/b"))},
	})
	var got []string
	for _, s := range snap.Stubs() {
		got = append(got, s.ID)
	}
	want := []string{"p1-any", "exact", "exact2", "mixed", "tmpl", "regex", "prefix", "any", "p9-exact"}
	if len(got) != len(want) {
		t.Fatalf("Stubs() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Stubs() = %v, want %v", got, want)
		}
	}
	if snap.Len() != len(want) {
		t.Errorf("Len() = %d, want %d", snap.Len(), len(want))
	}
	if s := snap.Get("tmpl"); s == nil || s.ID != "tmpl" {
		t.Errorf("Get(tmpl) = %v", s)
	}
	if s := snap.Get("nope"); s != nil {
		t.Errorf("Get(nope) = %v, want nil", s.ID)
	}
}

func TestEngineSwap(t *testing.T) {
	t.Parallel()
	a := mustCompile(t, srcs(withID("a", path("/x"))))
	b := mustCompile(t, srcs(withID("b", path("/x"))))
	e := New(a)
	if e.Snapshot() != a {
		t.Fatal("Snapshot() is not the one given to New")
	}
	if got := matchedID(e.Match(rq{path: "/x"}.req())); got != "a" {
		t.Fatalf("Match = %q, want a", got)
	}
	if old := e.Swap(b); old != a {
		t.Errorf("Swap returned %p, want %p", old, a)
	}
	if got := matchedID(e.Match(rq{path: "/x"}.req())); got != "b" {
		t.Errorf("after Swap Match = %q, want b", got)
	}
}

// countingFields counts header lookups.
type countingFields struct {
	fields
	lookups map[string]int
}

func (c *countingFields) Header(name string) (string, bool) {
	c.lookups[name]++
	return c.fields.Header(name)
}

// A request without a header pays one lookup for a row of stubs that need
// it (an OpenAPI operation's Prefer stubs before its answer), and stubs
// that want it absent, or present with a value, still match as before.
func TestAbsentHeaderLookedUpOnce(t *testing.T) {
	t.Parallel()
	prefer := func(id, re string) stub.Stub {
		return stub.Stub{ID: id, Request: stub.Request{Path: "/x", Headers: map[string]stub.StringMatcher{"Prefer": {Regex: re}}}}
	}
	absent := stub.Stub{ID: "absent", Request: stub.Request{Path: "/x", Headers: map[string]stub.StringMatcher{"Prefer": {Absent: true}, "X-Only": {Present: true}}}}
	plain := stub.Stub{ID: "plain", Request: stub.Request{Path: "/x"}}
	snap := mustCompile(t, srcs(pri(1, prefer("p1", "a")), pri(2, prefer("p2", "b")), pri(3, prefer("p3", "c")), pri(4, absent), pri(5, plain)))
	for _, tt := range []struct {
		name    string
		header  map[string]string
		want    string
		lookups int // of Prefer
	}{
		{"no Prefer", nil, "plain", 2}, // p1 (absent, remembered), then absent's own matcher
		{"Prefer b", map[string]string{"Prefer": "b"}, "p2", 2},
		{"Prefer z", map[string]string{"Prefer": "z"}, "plain", 4},
		{"absent with X-Only", map[string]string{"X-Only": "1"}, "absent", 2},
	} {
		f := &countingFields{fields: fields{header: tt.header}, lookups: map[string]int{}}
		got := matchedID(snap.Match(&Request{Method: "GET", Path: "/x", Fields: f}))
		if got != tt.want || f.lookups["Prefer"] != tt.lookups {
			t.Errorf("%s: %q after %d Prefer lookups, want %q after %d", tt.name, got, f.lookups["Prefer"], tt.want, tt.lookups)
		}
	}
}
