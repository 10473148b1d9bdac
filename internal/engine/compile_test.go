package engine

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/stub"
)

type errKey struct {
	Index int
	Field string
}

func errKeys(errs Errors) []errKey {
	out := make([]errKey, 0, len(errs))
	for _, e := range errs {
		out = append(out, errKey{e.Index, e.Field})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Index != out[j].Index {
			return out[i].Index < out[j].Index
		}
		return out[i].Field < out[j].Field
	})
	return out
}

// Compile reports every problem of every stub, each with the index of its
// source and the path of the field.
func TestCompileReportsAllErrors(t *testing.T) {
	t.Parallel()
	type M = map[string]stub.StringMatcher
	sources := []Source{
		/* 0 */ {Stub: withID("bad-regex", pathRegex(`(`))},
		/* 1 */ {Stub: withID("good", path("/ok"))},
		/* 2 */ {Stub: stub.Stub{ID: "two-problems", Request: stub.Request{Path: "/a", Headers: M{"X-Id": {Regex: "["}}}, Response: status(42)}},
		/* 3 */ {Stub: withID("good", path("/dup")), Origin: "b.yaml:7"},
		/* 4 */ {Stub: stub.Stub{ID: "no-response", Request: stub.Request{Path: "/a"}}},
		/* 5 */ {Stub: stub.Stub{ID: "seq", Responses: []stub.Response{{Status: 200}, {BodyBase64: "!!!"}}}},
		/* 6 */ {Stub: withID("empty-matcher", qry(M{"q": {}}, path("/a")))},
		/* 7 */ {Stub: withID("two-paths", stub.Stub{Request: stub.Request{Path: "/a", PathPrefix: "/b"}})},
		/* 8 */ {Stub: stub.Stub{ID: "bad-seq", Response: ok200(), Sequence: "loop"}},
		/* 9 */ {Stub: withID("neg-priority", pri(-1, path("/a")))},
		/* 10 */ {Stub: withID("bad-method", meth("GE T", path("/a")))},
		/* 11 */ {Stub: stub.Stub{Request: stub.Request{Path: "/a"}, Response: ok200()}},
		/* 12 */ {Stub: withID("bad-jsonpath", body(stub.BodyMatcher{JSONPath: []stub.JSONPathMatcher{{Path: "$["}, {Path: ""}, {Path: "$.a", Regex: "(", Absent: true}}}, path("/a")))},
		/* 13 */ {Stub: withID("rest-not-last", path("/a/{rest*}/b"))},
		/* 14 */ {Stub: withID("absent-and-equals", ck(M{"c": {Absent: true, Equals: sp("x")}}, path("/a")))},
		/* 15 */ {Stub: withID("bad-header-name", hdr(M{"X Id": eq("1")}, path("/a")))},
		/* 16 */ {Stub: withID("relative-path", path("users"))},
		/* 17 */ {Stub: withID("relative-prefix", prefix("users"))},
		/* 18 */ {Stub: withID("bad-segment", path("/a/{id/b"))},
		/* 19 */ {Stub: stub.Stub{ID: "both-responses", Response: ok200(), Responses: []stub.Response{{}}}},
		/* 20 */ {Stub: withID("body-regex", body(stub.BodyMatcher{Regex: "a{2,1}"}, path("/a")))},
		/* 21 */ {Stub: stub.Stub{ID: "resp-headers", Response: &stub.Response{Headers: map[string]stub.HeaderValues{"Content-Length": {"1"}, "X-A": {"ok", "bad\r\nX-Evil: 1"}}}}},
	}
	snap, errs := Compile(sources)
	if snap != nil {
		t.Errorf("Compile returned a snapshot along with errors")
	}
	want := []errKey{
		{0, "request.pathRegex"},
		{2, "request.headers.X-Id.regex"},
		{2, "response.status"},
		{3, "id"},
		{4, "response"},
		{5, "responses[1].bodyBase64"},
		{6, "request.query.q"},
		{7, "request.path"},
		{8, "sequence"},
		{9, "priority"},
		{10, "request.method"},
		{11, "id"},
		{12, "request.body.jsonPath[0].path"},
		{12, "request.body.jsonPath[1].path"},
		{12, "request.body.jsonPath[2].absent"},
		{12, "request.body.jsonPath[2].regex"},
		{13, "request.path"},
		{14, "request.cookies.c.absent"},
		{15, "request.headers.X Id"},
		{16, "request.path"},
		{17, "request.pathPrefix"},
		{18, "request.path"},
		{19, "response"},
		{20, "request.body.regex"},
		{21, "response.headers.Content-Length"},
		{21, "response.headers.X-A"},
	}
	got := errKeys(errs)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("errors (index, field):\n got %v\nwant %v\nall:\n%v", got, want, errs)
	}
	// Duplicate ids name where the first one is.
	for _, e := range errs {
		if e.Index == 3 && !strings.Contains(e.Msg, `"good" is already used`) {
			t.Errorf("duplicate id message = %q", e.Msg)
		}
		if e.Index == 3 && e.Origin != "b.yaml:7" {
			t.Errorf("duplicate id origin = %q", e.Origin)
		}
		if e.Index == 11 && e.Msg != "missing" {
			t.Errorf("missing id message = %q", e.Msg)
		}
	}
}

func TestCompileErrorMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  Source
		want string // the whole Error() text of the single error
	}{
		{"origin and field", Source{Stub: withID("x", pathRegex("(")), Origin: "s.yaml:3"},
			"s.yaml:3: request.pathRegex: bad regular expression: error parsing regexp: missing closing ): `(`"},
		{"no origin uses the index", Source{Stub: withID("x", path("users"))},
			`stubs[0]: request.path: "users" must start with / (or be * for any path)`},
		{"bad sequence", Source{Stub: stub.Stub{ID: "x", Response: ok200(), Sequence: "loop"}},
			`stubs[0]: sequence: "loop": want stick or repeat`},
		{"status", Source{Stub: stub.Stub{ID: "x", Response: status(1000)}},
			`stubs[0]: response.status: 1000 is not an HTTP status (100-999)`},
		{"interim status", Source{Stub: stub.Stub{ID: "x", Response: status(101)}, Origin: "s.yaml:4"},
			`s.yaml:4: response.status: 101 is an interim (1xx) status, not an answer: give a final status, 200-999 (a websocket stub answers 101 by itself)`},
		{"interim status in a sequence", Source{Stub: stub.Stub{ID: "x", Responses: []stub.Response{{Status: 200}, {Status: 103}}}},
			`stubs[0]: responses[1].status: 103 is an interim (1xx) status, not an answer: give a final status, 200-999 (a websocket stub answers 101 by itself)`},
		{"interim status of an error fault", Source{Stub: stub.Stub{ID: "x", Response: &stub.Response{Faults: stub.Faults{{Kind: "error", Status: 100}}}}},
			`stubs[0]: response.faults[0].status: 100 is an interim (1xx) status, not an answer: give an error status, 400-999`},
		{"success status of an error fault", Source{Stub: stub.Stub{ID: "x", Response: &stub.Response{Faults: stub.Faults{{Kind: "error", Status: 200}}}}, Origin: "s.yaml:7"},
			`s.yaml:7: response.faults[0].status: 200 is not an error: an error fault answers 400-999 (a success or redirect is the response's status)`},
		{"header regex", Source{Stub: withID("x", hdr(map[string]stub.StringMatcher{"X": {Regex: "a**"}}, path("/a")))},
			"stubs[0]: request.headers.X.regex: bad regular expression: invalid nested repetition operator: \"**\""},
		{"rest not last", Source{Stub: withID("x", path("/{rest*}/a"))},
			"stubs[0]: request.path: {rest*} must be the last segment"},
		{"bad segment", Source{Stub: withID("x", path("/a/{x"))},
			`stubs[0]: request.path: segment "{x": a parameter is written {name}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, errs := Compile([]Source{tt.src})
			if len(errs) != 1 {
				t.Fatalf("errors = %v, want one", errs)
			}
			if got := errs[0].Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if errs.Error() != errs[0].Error() {
				t.Errorf("Errors.Error() = %q", errs.Error())
			}
		})
	}
}

func TestCompileErrorsJoin(t *testing.T) {
	t.Parallel()
	_, errs := Compile([]Source{{Stub: withID("x", path("a"))}, {Stub: withID("x", path("/b"))}})
	if len(errs) != 2 {
		t.Fatalf("errors = %v", errs)
	}
	if got := strings.Count(errs.Error(), "\n"); got != 1 {
		t.Errorf("Errors.Error() has %d newlines, want 1: %q", got, errs.Error())
	}
}

func TestCompileAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    stub.Stub
	}{
		{"minimal", stub.Stub{ID: "x", Response: &stub.Response{}}},
		{"status 200", stub.Stub{ID: "x", Response: status(200)}},
		{"websocket 101", stub.Stub{ID: "x", Response: &stub.Response{Status: 101, WebSocket: &stub.WebSocket{Echo: true}}}},
		{"status 999", stub.Stub{ID: "x", Response: status(999)}},
		{"priority 1", pri(1, withID("x", path("/a")))},
		{"star path", withID("x", path("*"))},
		{"template", withID("x", path("/a/{b}/{c*}"))},
		{"sequence stick", stub.Stub{ID: "x", Responses: []stub.Response{{}, {}}, Sequence: "stick"}},
		{"matcher absent alone", withID("x", hdr(map[string]stub.StringMatcher{"X": {Absent: true}}, path("/a")))},
		{"matcher ignoreCase with equals", withID("x", hdr(map[string]stub.StringMatcher{"X": {Equals: sp("a"), IgnoreCase: true}}, path("/a")))},
		{"jsonPath only path", withID("x", body(stub.BodyMatcher{JSONPath: []stub.JSONPathMatcher{{Path: "$..id"}}}, path("/a")))},
		{"extension method", withID("x", meth("PROPFIND", path("/a")))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, errs := Compile([]Source{{Stub: tt.s}}); errs != nil {
				t.Errorf("Compile: %v", errs)
			}
		})
	}
}
