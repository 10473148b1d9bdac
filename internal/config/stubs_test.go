package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/stub"
	"github.com/goccy/go-yaml/ast"
)

func fieldError(field, msg string) stub.FieldError { return stub.FieldError{Field: field, Msg: msg} }

// writeTree writes files (slash-separated names relative to root) and
// returns root.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func problemsOf(t *testing.T, err error) Problems {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %v (%T) is not Problems", err, err)
	}
	return ps
}

func sourceIDs(l *Loaded) []string {
	var out []string
	for _, s := range l.Sources {
		out = append(out, s.Stub.ID)
	}
	return out
}

func TestLoadStubsTree(t *testing.T) {
	t.Parallel()
	root := writeTree(t, map[string]string{
		"a.yaml": `# a list of stubs
- request: {method: GET, path: /a}
  response: {status: 200}
- id: login
  request: {method: POST, path: /login}
  response: {status: 204}
`,
		"b.json": `{
  "stubs": [
    {"request": {"path": "/b1"}, "response": {"status": 201}},
    {"request": {"path": "/b2"}, "response": {"body": {"z": 1, "a": 2}}}
  ]
}
`,
		"c.yml": `request:
  path: /c
response:
  body: see
`,
		"multi.yaml": `request: {path: /m1}
response: {status: 200}
---
# second document
request: {path: /m2}
response: {status: 202}
`,
		"UPPER.YAML":             "- {request: {path: /upper}, response: {}}\n",
		"sub/d.yaml":             "request: {path: /d}\nresponse: {bodyFile: bodies/user.json}\n",
		"sub/bodies/user.json":   `{"name": "Ada"}`,
		"sub/bodies/list.json":   `[1, 2, 3]`,
		"sub/bodies/objs.json":   `[{"name": "x"}, {"request": {}}]`,
		"sub/bodies/config.yaml": "name: not a stub\nport: 8080\n",
		"sub/empty.yaml":         "",
		"sub/comment.yaml":       "# nothing here\n",
		"sub/scalar.yaml":        "just text\n",
		".hidden.yaml":           "- {id: hidden, request: {path: /h}, response: {}}\n",
		".git/x.yaml":            "- {id: git, request: {path: /g}, response: {}}\n",
		"notes.txt":              "- {id: txt, request: {path: /t}, response: {}}\n",
		"README.md":              "# readme\n",
	})
	l, err := LoadStubs([]string{root})
	if err != nil {
		t.Fatalf("LoadStubs: %v", err)
	}
	want := []string{"UPPER-1", "a-1", "login", "b-1", "b-2", "c-1", "multi-1", "multi-2", "d-1"}
	if got := sourceIDs(l); !slices.Equal(got, want) {
		t.Fatalf("IDs = %v, want %v", got, want)
	}
	origins := map[string]string{
		"a-1":     filepath.Join(root, "a.yaml") + ":2",
		"login":   filepath.Join(root, "a.yaml") + ":4",
		"b-2":     filepath.Join(root, "b.json") + ":4",
		"c-1":     filepath.Join(root, "c.yml") + ":1",
		"multi-2": filepath.Join(root, "multi.yaml") + ":5",
		"d-1":     filepath.Join(root, "sub", "d.yaml") + ":1",
	}
	for _, s := range l.Sources {
		if o, ok := origins[s.Stub.ID]; ok && s.Origin != o {
			t.Errorf("%s: Origin = %q, want %q", s.Stub.ID, s.Origin, o)
		}
		if s.Stub.ID == "d-1" && s.Dir != filepath.Join(root, "sub") {
			t.Errorf("d-1: Dir = %q", s.Dir)
		}
	}
	for _, f := range []string{"a.yaml", "b.json", "c.yml", "multi.yaml", "UPPER.YAML", "sub/d.yaml"} {
		if !slices.Contains(l.Files, filepath.Join(root, filepath.FromSlash(f))) {
			t.Errorf("Files %v lacks %s", l.Files, f)
		}
	}
	for _, f := range []string{".hidden.yaml", ".git/x.yaml", "notes.txt", "README.md", "sub/bodies/user.json", "sub/bodies/list.json", "sub/empty.yaml"} {
		if slices.Contains(l.Files, filepath.Join(root, filepath.FromSlash(f))) {
			t.Errorf("Files holds %s, which must be skipped", f)
		}
	}

	// The whole set compiles, and relative body files resolve next to their
	// stub file.
	snap, errs := engine.Compile(l.Sources)
	if errs != nil {
		t.Fatalf("Compile: %v", l.Locate(errs))
	}
	body := func(id string) string { return string(snap.Get(id).Responses()[0].Body) }
	if got := body("d-1"); got != `{"name": "Ada"}` {
		t.Errorf("d-1 body = %q", got)
	}
	if got := body("b-2"); got != `{"z":1,"a":2}` {
		t.Errorf("b-2 body = %q (JSON key order must be kept)", got)
	}
	if got := body("c-1"); got != "see" {
		t.Errorf("c-1 body = %q", got)
	}
	if got := snap.Get("multi-2").Responses()[0].Status; got != 202 {
		t.Errorf("multi-2 status = %d", got)
	}
}

// Several paths, files and folders, load in the order given.
func TestLoadStubsSeveralPaths(t *testing.T) {
	t.Parallel()
	root := writeTree(t, map[string]string{
		"one/x.yaml": "- {request: {path: /1}, response: {}}\n",
		"two.yaml":   "- {request: {path: /2}, response: {}}\n",
	})
	l, err := LoadStubs([]string{filepath.Join(root, "two.yaml"), filepath.Join(root, "one")})
	if err != nil {
		t.Fatal(err)
	}
	if got := sourceIDs(l); !slices.Equal(got, []string{"two-1", "x-1"}) {
		t.Errorf("IDs = %v", got)
	}
	if len(l.Files) != 2 {
		t.Errorf("Files = %v", l.Files)
	}
}

// A file named on the command line must hold stubs; one found in a folder
// is skipped when it does not look like stubs.
func TestLoadStubsExplicitFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content string
		ids     []string // when it loads
		line    int      // of the single problem otherwise
		msg     string   // part of the problem's message
	}{
		{"body file", `{"name": "Ada"}`, nil, 1, `unknown field "name"`},
		{"list of numbers", "[1, 2]", nil, 1, "a stub is a mapping"},
		{"block list of strings", "- a\n- b\n", nil, 1, "a stub is a mapping"},
		{"empty", "", nil, 0, "holds no stubs"},
		{"comment only", "# nothing\n", nil, 0, "holds no stubs"},
		{"scalar", "\n\nhello\n", nil, 3, "a stub file holds a list of stubs"},
		{"stubs not a list", "stubs: 5\n", nil, 1, "must be a list of stubs"},
		{"stubs with another key", "stubs: []\nversion: 2\n", nil, 2, `unknown field "version"`},
		{"stub without request", "response: {status: 200}\n", []string{"f-1"}, 0, ""},
		{"any extension", "- {request: {path: /a}, response: {}}\n", []string{"f-1"}, 0, ""},
		{"empty list", "[]\n", nil, 0, "holds no stubs"},
		{"empty stubs", "stubs: []\n", nil, 0, "holds no stubs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := writeTree(t, map[string]string{"f.txt": tt.content})
			name := filepath.Join(root, "f.txt")
			l, err := LoadStubs([]string{name})
			if tt.ids != nil {
				if err != nil {
					t.Fatalf("LoadStubs: %v", err)
				}
				if got := sourceIDs(l); !slices.Equal(got, tt.ids) {
					t.Errorf("IDs = %v, want %v", got, tt.ids)
				}
				return
			}
			if err == nil {
				t.Fatalf("LoadStubs loaded %v, want a problem", sourceIDs(l))
			}
			ps := problemsOf(t, err)
			if len(ps) == 0 {
				t.Fatal("no problems")
			}
			if ps[0].File != name || ps[0].Line != tt.line || !strings.Contains(ps[0].Msg, tt.msg) {
				t.Errorf("problem = %+v, want %s:%d %q", ps[0], name, tt.line, tt.msg)
			}
		})
	}
}

func TestLoadStubsExplicitHiddenFile(t *testing.T) {
	t.Parallel()
	root := writeTree(t, map[string]string{".h.yaml": "- {request: {path: /h}, response: {}}\n"})
	l, err := LoadStubs([]string{filepath.Join(root, ".h.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Sources) != 1 {
		t.Errorf("a hidden file named explicitly is loaded: got %d stubs", len(l.Sources))
	}
}

func TestLoadStubsMissingPath(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	missing := filepath.Join(root, "nope.yaml")
	_, err := LoadStubs([]string{missing, filepath.Join(root, "nope-dir")})
	ps := problemsOf(t, err)
	if len(ps) != 2 {
		t.Fatalf("problems = %v, want two", ps)
	}
	if ps[0].File != missing || ps[0].Msg != "no such file or folder" {
		t.Errorf("problem = %+v", ps[0])
	}
	if got := ps[0].Error(); got != missing+": no such file or folder" {
		t.Errorf("Error() = %q", got)
	}
}

// A link whose target is gone, in a folder or given by name, is named as
// a link, with where it points.
func TestLoadStubsDanglingLink(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "a.yaml"), []byte("- request: {path: /a}\n  response: {body: a}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "b.yaml")
	if err := os.Symlink("gone.yaml", link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	for _, paths := range [][]string{{root}, {link}} {
		_, err := LoadStubs(paths)
		ps := problemsOf(t, err)
		if len(ps) != 1 || ps[0].File != link || ps[0].Msg != "a symbolic link to gone.yaml, which does not exist: fix or remove the link" {
			t.Errorf("LoadStubs(%q) problems = %v, want one naming the link to gone.yaml", paths, ps)
		}
	}
}

// A folder with nothing decoy reads in it loads, with a warning; one with
// only .proto files (read by the gRPC loader) gets none.
func TestLoadStubsEmptyFolder(t *testing.T) {
	t.Parallel()
	empty, protos := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(protos, "a.proto"), []byte(`syntax = "proto3";`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir  string
		note bool
	}{{empty, true}, {protos, false}}
	for _, tt := range tests {
		l, err := LoadStubs([]string{tt.dir})
		if err != nil {
			t.Fatal(err)
		}
		got := slices.ContainsFunc(l.Notes, func(n string) bool { return strings.HasPrefix(n, tt.dir+": no stub files") })
		if got != tt.note {
			t.Errorf("%s: notes %q, want the empty-folder warning: %v", tt.dir, l.Notes, tt.note)
		}
	}
}

type wantProblem struct {
	file  string // relative to the temp root
	line  int
	field string
	msg   string // a part of the message
}

func checkProblems(t *testing.T, root string, ps Problems, want []wantProblem) {
	t.Helper()
	if len(ps) != len(want) {
		t.Fatalf("problems:\n%v\nwant %d", ps, len(want))
	}
	for i, w := range want {
		p := ps[i]
		file := filepath.Join(root, filepath.FromSlash(w.file))
		if p.File != file || p.Line != w.line || p.Field != w.field || !strings.Contains(p.Msg, w.msg) {
			t.Errorf("problem %d = %s:%d field %q msg %q\n        want %s:%d field %q msg containing %q",
				i, p.File, p.Line, p.Field, p.Msg, file, w.line, w.field, w.msg)
		}
	}
}

// Every problem names its file and line: those found while reading, and
// those found by the compiler (through Locate).
func TestLoadStubsProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  []wantProblem
	}{
		{"syntax error", map[string]string{"s.yaml": "- request: {path: /a\n  response: {}\n"},
			[]wantProblem{{"s.yaml", 2, "", "must be specified"}}},
		{"tab indentation", map[string]string{"s.yaml": "- request:\n\tpath: /a\n"},
			[]wantProblem{{"s.yaml", 2, "", ""}}},
		{"unknown field", map[string]string{"s.yaml": "- request:\n    path: /a\n    methd: GET\n  response: {}\n"},
			[]wantProblem{{"s.yaml", 3, "[0].request.methd", `unknown field "methd"; did you mean "method"?`}}},
		{"unknown field in stubs root", map[string]string{"s.yaml": "stubs:\n  - request: {path: /a}\n    respons: {}\n"},
			[]wantProblem{{"s.yaml", 3, "stubs[0].respons", `unknown field "respons"; did you mean "response"?`}}},
		{"unknown field in single stub", map[string]string{"s.yaml": "request: {path: /a}\nresponse: {}\nprio: 1\n"},
			[]wantProblem{{"s.yaml", 3, "prio", `unknown field "prio"; did you mean "priority"?`}}},
		{"unknown field in a header matcher", map[string]string{"s.yaml": "- request: {path: /a, headers: {X-Id: {equalz: 1}}}\n  response: {}\n"},
			[]wantProblem{{"s.yaml", 1, "[0].request.headers.X-Id.equalz", `unknown field "equalz"; did you mean "equals"?`}}},
		{"unknown field in a fault list", map[string]string{"s.yaml": "- request: {path: /a}\n  response:\n    faults:\n      - {kind: reset, probabilty: 0.1}\n"},
			[]wantProblem{{"s.yaml", 4, "[0].response.faults[0].probabilty", `did you mean "probability"?`}}},
		{"unknown field in a WebSocket answer", map[string]string{"s.yaml": "- request: {path: /ws}\n  response:\n    websocket: {echoo: true}\n"},
			[]wantProblem{{"s.yaml", 3, "[0].response.websocket.echoo", `unknown field "echoo"; did you mean "echo"?`}}},
		{"unknown field in JSON", map[string]string{"s.json": "[{\"request\": {\"path\": \"/a\"},\n  \"response\": {\"staus\": 201}}]\n"},
			[]wantProblem{{"s.json", 2, "[0].response.staus", `unknown field "staus"; did you mean "status"?`}}},
		{"unknown field like no other", map[string]string{"s.yaml": "- request: {path: /a}\n  response: {zzzzzz: 1}\n"},
			[]wantProblem{{"s.yaml", 2, "[0].response.zzzzzz", `unknown field "zzzzzz"; known fields: body, bodyBase64,`}}},
		{"unknown field with CRLF line ends", map[string]string{"s.yaml": "- request: {path: /a}\r\n  response:\r\n    staus: 201\r\n"},
			[]wantProblem{{"s.yaml", 3, "[0].response.staus", `did you mean "status"?`}}},
		{"wrong type", map[string]string{"s.yaml": "- request: {path: /a}\n  response:\n    status: abc\n"},
			[]wantProblem{{"s.yaml", 3, "[0].response.status", `want an integer, got "abc"`}}},
		{"fraction for an integer", map[string]string{"s.yaml": "- request: {path: /a}\n  response:\n    status: 200.5\n"},
			[]wantProblem{{"s.yaml", 3, "[0].response.status", "want an integer, got 200.5"}}},
		{"fraction for an integer in JSON", map[string]string{"s.json": "{\"stubs\": [\n  {\"request\": {\"path\": \"/a\"},\n   \"response\": {\"status\": 200.5}}]}\n"},
			[]wantProblem{{"s.json", 3, "stubs[0].response.status", "want an integer, got 200.5"}}},
		{"fraction for an integer in a fault", map[string]string{"s.yaml": "- request: {path: /a}\n  response:\n    faults:\n      - {kind: error, status: 502.25}\n"},
			[]wantProblem{{"s.yaml", 4, "[0].response.faults[0].status", "want an integer, got 502.25"}}},
		{"fraction for an integer in a gRPC stub", map[string]string{"s.yaml": "- request: {path: /p.S/M}\n  response:\n    grpc: {push: true, repeat: 2.5}\n"},
			[]wantProblem{{"s.yaml", 3, "[0].response.grpc.repeat", "want an integer, got 2.5"}}},
		{"wrong type in JSON", map[string]string{"s.json": "[\n  {\"request\": {\"path\": \"/a\"},\n   \"response\": {\"status\": [200]}}\n]\n"},
			[]wantProblem{{"s.json", 3, "[0].response.status", "want an integer, got a list"}}},
		{"stub not a mapping", map[string]string{"s.yaml": "- request: {path: /a}\n  response: {}\n- just text\n"},
			[]wantProblem{{"s.yaml", 3, "[1]", "a stub is a mapping"}}},
		{"bad gRPC status", map[string]string{"s.yaml": "- request: {path: /p.S/M}\n  response:\n    grpc: {status: NOPE}\n"},
			[]wantProblem{{"s.yaml", 3, "[0].response.grpc.status", `"NOPE" is not a gRPC status code`}}},
		{"bad gRPC status of a fault", map[string]string{"s.yaml": "- request: {path: /p.S/M}\n  response:\n    faults:\n      - {kind: error, grpcStatus: [1]}\n"},
			[]wantProblem{{"s.yaml", 4, "[0].response.faults[0].grpcStatus", "a gRPC status is a name such as NOT_FOUND or a number"}}},
		{"bad gRPC status in JSON", map[string]string{"s.json": "[{\"request\": {\"path\": \"/p.S/M\"},\n  \"response\": {\"grpc\": {\"status\": 99}}}]\n"},
			[]wantProblem{{"s.json", 2, "[0].response.grpc.status", "99 is not a gRPC status code (0-16)"}}},
		{"bad duration", map[string]string{"s.yaml": "- request: {path: /a}\n  response:\n    delay: 5 parsecs\n"},
			[]wantProblem{{"s.yaml", 3, "[0].response.delay", "not a duration"}}},
		{"negative duration", map[string]string{"s.yaml": "- request: {path: /a}\n  response:\n    status: 200\n    delay: -5\n"},
			[]wantProblem{{"s.yaml", 4, "[0].response.delay", "cannot be negative"}}},
		{"negative size", map[string]string{"s.yaml": "- request: {path: /a}\n  response:\n    generate:\n      size: -1\n"},
			[]wantProblem{{"s.yaml", 4, "[0].response.generate.size", "cannot be negative"}}},
		{"bad size", map[string]string{"s.yaml": "- request: {path: /a}\n  response:\n    generate: {size: 5 parsecs}\n"},
			[]wantProblem{{"s.yaml", 3, "[0].response.generate.size", "not a size"}}},
		{"bad header value", map[string]string{"s.yaml": "- request: {path: /a}\n  response:\n    headers:\n      X-A: {b: 1}\n"},
			[]wantProblem{{"s.yaml", 4, "[0].response.headers.X-A", "header value"}}},
		{"bad regex", map[string]string{"s.yaml": "- request:\n    path: /a\n    headers:\n      X-Id:\n        regex: '['\n  response: {}\n"},
			[]wantProblem{{"s.yaml", 5, "[0].request.headers.X-Id.regex", "bad regular expression"}}},
		{"bad path regex", map[string]string{"s.yaml": "stubs:\n  - request: {path: /ok}\n    response: {}\n  - request:\n      pathRegex: (\n    response: {}\n"},
			[]wantProblem{{"s.yaml", 5, "stubs[1].request.pathRegex", "bad regular expression"}}},
		{"missing body file", map[string]string{"s.yaml": "- request: {path: /a}\n  response:\n    status: 200\n    bodyFile: nope.json\n"},
			[]wantProblem{{"s.yaml", 4, "[0].response.bodyFile", "cannot read"}}},
		{"sequence entry", map[string]string{"s.yaml": "- request: {path: /a}\n  responses:\n    - {status: 200}\n    - status: 42\n"},
			[]wantProblem{{"s.yaml", 4, "[0].responses[1].status", "not an HTTP status"}}},
		{"single stub root", map[string]string{"s.yaml": "request:\n  path: users\nresponse: {}\n"},
			[]wantProblem{{"s.yaml", 2, "request.path", "must start with /"}}},
		{"duplicate id", map[string]string{"s.yaml": "- id: x\n  request: {path: /a}\n  response: {}\n- id: x\n  request: {path: /b}\n  response: {}\n"},
			[]wantProblem{{"s.yaml", 4, "[1].id", `"x" is already used`}}},
		{"missing response", map[string]string{"s.yaml": "- request: {path: /a}\n- request: {path: /b}\n  response: {}\n"},
			[]wantProblem{{"s.yaml", 1, "[0].response", "missing"}}},
		{"collections nested too deep", map[string]string{"s.yaml": "- request: {path: /a}\n  response:\n    body: " + strings.Repeat("[", 30000) + strings.Repeat("]", 30000) + "\n"},
			[]wantProblem{{"s.yaml", 3, "", "nested more than 1000 levels deep"}}},
		{"JSON nested too deep", map[string]string{"s.json": "{\"request\": {\"path\": \"/a\"},\n \"response\": {\"body\": " + strings.Repeat("[", 30000) + strings.Repeat("]", 30000) + "}}\n"},
			[]wantProblem{{"s.json", 2, "", "nested more than 1000 levels deep"}}},
		{"aliases of aliases", map[string]string{"s.yaml": "- request: {path: /a}\n  response: {body: &a [x, x, x, x, x, x, x, x, x, x]}\n" +
			"- request: {path: /b}\n  response: {body: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]}\n" +
			"- request: {path: /c}\n  response: {body: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]}\n" +
			"- request: {path: /d}\n  response: {body: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]}\n" +
			"- request: {path: /e}\n  response: {body: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]}\n" +
			"- request: {path: /f}\n  response: {body: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]}\n" +
			"- request: {path: /g}\n  response: {body: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]}\n"},
			[]wantProblem{{"s.yaml", 4, "", "aliases expand this document to at least"}}},
		{"header name with a dot", map[string]string{"s.yaml": "- request:\n    path: /a\n    headers:\n      X.Id:\n        regex: '['\n  response: {}\n"},
			[]wantProblem{{"s.yaml", 5, "[0].request.headers.X.Id.regex", "bad regular expression"}}},
		{"compile problems in a multi-document file", map[string]string{"s.yaml": "request: {path: /a}\nresponse: {}\n---\nrequest: {path: /b}\nresponse: {status: 1}\n"},
			[]wantProblem{{"s.yaml", 5, "response.status", "not an HTTP status"}}},
		{"every problem of every file", map[string]string{
			"a.yaml": "- request: {path: /a}\n  response:\n    stats: 200\n- request: {path: /b}\n  respons: {}\n",
			"b.yaml": "- request: {path: /c}\n  response: {status: x}\n",
		}, []wantProblem{
			{"a.yaml", 3, "[0].response.stats", `unknown field "stats"; did you mean "status"?`},
			{"a.yaml", 5, "[1].respons", `unknown field "respons"; did you mean "response"?`},
			{"b.yaml", 2, "[0].response.status", `want an integer, got "x"`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := writeTree(t, tt.files)
			l, err := LoadStubs([]string{root})
			if err != nil {
				checkProblems(t, root, problemsOf(t, err), tt.want)
				return
			}
			_, errs := engine.Compile(l.Sources)
			if errs == nil {
				t.Fatalf("loaded and compiled %v, want problems", sourceIDs(l))
			}
			checkProblems(t, root, l.Locate(errs), tt.want)
		})
	}
}

func TestLocateUnknownIndex(t *testing.T) {
	t.Parallel()
	l, err := LoadStubBytes("x.yaml", []byte("- {request: {path: /a}, response: {}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ps := l.Locate(engine.Errors{
		{Index: 5, Origin: "api", FieldError: fieldError("request.path", "bad")},
		{Index: -1, Origin: "", FieldError: fieldError("", "worse")},
	})
	if len(ps) != 2 {
		t.Fatalf("problems = %v", ps)
	}
	if ps[0].File != "api" || ps[0].Line != 0 || ps[0].Field != "request.path" || ps[0].Msg != "bad" {
		t.Errorf("problem = %+v", ps[0])
	}
	if got := ps[0].Error(); got != "api: request.path: bad" {
		t.Errorf("Error() = %q", got)
	}
}

func TestProblemError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "a.yaml", Msg: "m"}, "a.yaml: m"},
		{Problem{File: "a.yaml", Line: 3, Msg: "m"}, "a.yaml:3: m"},
		{Problem{File: "a.yaml", Line: 3, Col: 7, Msg: "m"}, "a.yaml:3:7: m"},
		{Problem{File: "a.yaml", Col: 7, Msg: "m"}, "a.yaml: m"},
		{Problem{File: "a.yaml", Line: 3, Field: "[0].id", Msg: "m"}, "a.yaml:3: [0].id: m"},
	}
	for _, tt := range tests {
		if got := tt.p.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	ps := Problems{{File: "a", Msg: "1"}, {File: "b", Line: 2, Msg: "2"}}
	if got := ps.Error(); got != "a: 1\nb:2: 2" {
		t.Errorf("Problems.Error() = %q", got)
	}
}

func TestLoadStubsAutoIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"numbered by position", map[string]string{"users.yaml": "- {request: {path: /a}, response: {}}\n- {id: mine, request: {path: /b}, response: {}}\n- {request: {path: /c}, response: {}}\n"},
			[]string{"users-1", "mine", "users-3"}},
		{"same file name in two folders", map[string]string{
			"a/x.yaml": "- {request: {path: /a}, response: {}}\n",
			"b/x.yaml": "- {request: {path: /b}, response: {}}\n",
		}, []string{"x-1", "x-1-2"}},
		{"de-duplicated against an earlier explicit id", map[string]string{
			"a.yaml": "- {id: b-1, request: {path: /a}, response: {}}\n",
			"b.yaml": "- {request: {path: /b}, response: {}}\n",
		}, []string{"b-1", "b-1-2"}},
		{"unsafe characters", map[string]string{"my stubs (v2).yaml": "- {request: {path: /a}, response: {}}\n"},
			[]string{"my-stubs-v2--1"}},
		{"json extension", map[string]string{"api.v1.json": `[{"request": {"path": "/a"}, "response": {}}]`},
			[]string{"api.v1-1"}},
		{"multi-document numbering continues", map[string]string{"m.yaml": "request: {path: /a}\nresponse: {}\n---\nrequest: {path: /b}\nresponse: {}\n"},
			[]string{"m-1", "m-2"}},
		// An auto ID must not take an ID that a stub gives explicitly,
		// even when that stub comes later.
		{"later explicit id in the same file", map[string]string{"a.yaml": "- {request: {path: /a}, response: {}}\n- {id: a-1, request: {path: /b}, response: {}}\n"},
			nil},
		{"later explicit id in a later file", map[string]string{
			"a.yaml": "- {request: {path: /a}, response: {}}\n",
			"b.yaml": "- {id: a-1, request: {path: /b}, response: {}}\n",
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := writeTree(t, tt.files)
			l, err := LoadStubs([]string{root})
			if err != nil {
				t.Fatalf("LoadStubs: %v", err)
			}
			got := sourceIDs(l)
			if tt.want != nil && !slices.Equal(got, tt.want) {
				t.Errorf("IDs = %v, want %v", got, tt.want)
			}
			// Whatever the IDs, they are unique and the set compiles.
			if _, errs := engine.Compile(l.Sources); errs != nil {
				t.Errorf("IDs %v do not compile: %v", got, l.Locate(errs))
			}
		})
	}
}

// A JSON stub file may use any JSON string escape in a response body:
// \uXXXX (Python's json.dumps writes them by default), \/ (PHP's
// json_encode), and escaped control characters.
func TestLoadStubBytesJSONEscapesInBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string // JSON text of the body
		want string // the body decoy sends
	}{
		{"plain", `"hello"`, "hello"},
		{"quote", `"say \"hi\""`, `say "hi"`},
		{"newline", `"a\nb"`, "a\nb"},
		{"slash", `"a\/b"`, "a/b"},
		{"unicode", `"caf\u00e9"`, "café"},
		{"surrogate pair", `"\ud83d\ude00"`, "😀"},
		{"NUL", `"a\u0000b"`, "a\x00b"},
		{"unicode in object", `{"name": "Jos\u00e9"}`, `{"name":"José"}`},
		{"NUL in object", `{"k": "a\u0000b"}`, `{"k":"a\u0000b"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := `[{"id": "x", "request": {"path": "/a"}, "response": {"body": ` + tt.body + `}}]`
			l, err := LoadStubBytes("s.json", []byte(data))
			if err != nil {
				t.Fatalf("LoadStubBytes(%s): %v", data, err)
			}
			snap, errs := engine.Compile(l.Sources)
			if errs != nil {
				t.Fatal(errs)
			}
			if got := string(snap.Get("x").Responses()[0].Body); got != tt.want {
				t.Errorf("body = %q, want %q", got, tt.want)
			}
		})
	}
}

// YAML anchors and aliases (and merge keys) work across the stubs of a
// file, the usual way to share headers or responses.
func TestLoadStubBytesAnchors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
	}{
		{"alias inside one stub", "- id: b\n  request: {path: /b}\n  response: {status: 201, headers: &h {X: y}, body: *h}\n"},
		{"alias to a mapping in an earlier stub", "- id: a\n  request: {path: /a, headers: &h {X: '1'}}\n  response: {status: 201}\n- id: b\n  request: {path: /b, headers: *h}\n  response: {status: 201}\n"},
		{"alias to an earlier response", "- id: a\n  request: {path: /a}\n  response: &r {status: 201}\n- id: b\n  request: {path: /b}\n  response: *r\n"},
		{"alias in a body to an anchor in the request", "- id: b\n  request: {path: &p /b}\n  response: {status: 201, body: {path: *p}}\n"},
		{"merge key with a key of its own", "- id: a\n  request: {path: /a}\n  response: &r {status: 500, headers: {X: y}}\n- id: b\n  request: {path: /b}\n  response:\n    <<: *r\n    status: 201\n"},
		{"merge of a list: the earlier wins", "- id: a\n  request: {path: /a}\n  response: &r1 {status: 201}\n- id: c\n  request: {path: /c}\n  response: &r2 {status: 500, body: x}\n- id: b\n  request: {path: /b}\n  response: {<<: [*r1, *r2]}\n"},
		{"anchor under an x- key beside stubs", "x-common: &c {status: 201}\nstubs:\n  - id: b\n    request: {path: /b}\n    response: *c\n"},
		{"merge under stubs", "stubs:\n  - id: a\n    request: {path: /a}\n    response: &r {status: 500, body: a}\n  - id: b\n    request: {path: /b}\n    response: {<<: *r, status: 201}\n"},
		{"byte order mark", "\xef\xbb\xbf- id: b\n  request: {path: /b}\n  response: {status: 201}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := LoadStubBytes("s.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatalf("LoadStubBytes: %v", err)
			}
			snap, errs := engine.Compile(l.Sources)
			if errs != nil {
				t.Fatal(errs)
			}
			if s := snap.Get("b"); s == nil || s.Responses()[0].Status != 201 {
				t.Errorf("stub b = %+v", s)
			}
		})
	}
}

func TestLoadStubBytes(t *testing.T) {
	t.Parallel()
	l, err := LoadStubBytes("demo.yaml", []byte("# demo\n- request: {path: /a}\n  response: {body: {b: 1, a: 2}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Sources) != 1 || l.Sources[0].Stub.ID != "demo-1" || l.Sources[0].Origin != "demo.yaml:2" || l.Sources[0].Dir != "." {
		t.Errorf("Sources = %+v", l.Sources)
	}
	if !slices.Equal(l.Files, []string{"demo.yaml"}) {
		t.Errorf("Files = %v", l.Files)
	}
	if got := string(l.Sources[0].Stub.Response.Body.JSON()); got != `{"b":1,"a":2}` {
		t.Errorf("body = %s", got)
	}
	// Like an explicit file, bytes that hold no stub are a problem.
	_, err = LoadStubBytes("demo.yaml", []byte(`{"name": "x"}`))
	if ps := problemsOf(t, err); len(ps) != 1 || ps[0].File != "demo.yaml" || ps[0].Line != 1 {
		t.Errorf("problems = %v", ps)
	}
}

func TestLoadStubsTooLarge(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	name := filepath.Join(root, "big.yaml")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxStubFile + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = LoadStubs([]string{name})
	ps := problemsOf(t, err)
	if len(ps) != 1 || !strings.Contains(ps[0].Msg, "larger than 64 MiB") {
		t.Errorf("problems = %v", ps)
	}
}

// Build reports the decoding problems of some files and the compile
// problems of the stubs that did decode, all at once, each with its line.
func TestBuild(t *testing.T) {
	t.Parallel()
	root := writeTree(t, map[string]string{
		"a.yaml": "- request: {path: /a}\n  response:\n    stauts: 200\n",
		"b.yaml": "- request: {path: /b}\n  response: {}\n- request:\n    pathRegex: '('\n  response: {}\n",
	})
	l, store, err := Build([]string{root})
	if l != nil || store != nil {
		t.Errorf("Build returned %v, %v with problems", l, store)
	}
	checkProblems(t, root, problemsOf(t, err), []wantProblem{
		{"a.yaml", 3, "[0].response.stauts", `unknown field "stauts"; did you mean "status"?`},
		{"b.yaml", 4, "[1].request.pathRegex", "bad regular expression"},
	})

	root = writeTree(t, map[string]string{
		"a.yaml":      "- {id: a, request: {path: /a}, response: {status: 201}}\n",
		"body/x.json": `{"not": "a stub"}`,
	})
	l, store, err = Build([]string{root})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if !slices.Equal(l.Files, []string{filepath.Join(root, "a.yaml")}) {
		t.Errorf("Files = %v, want only a.yaml", l.Files)
	}
	if s := store.Engine().Match(&engine.Request{Method: "GET", Path: "/a"}); s == nil || s.Next().Status != 201 {
		t.Errorf("the store does not serve /a")
	}
}

func TestBuildBytes(t *testing.T) {
	t.Parallel()
	l, store, err := BuildBytes("demo.yaml", []byte("- {id: a, request: {path: /a}, response: {}}\n"))
	if err != nil || l == nil || store == nil || store.Engine().Snapshot().Len() != 1 {
		t.Fatalf("BuildBytes = %v, %v, %v", l, store, err)
	}
	_, _, err = BuildBytes("demo.yaml", []byte("- {id: a, request: {path: a}, response: {}}\n- {id: a, request: {path: /b}, response: {}}\n"))
	ps := problemsOf(t, err)
	if len(ps) != 2 || ps[0].Line != 1 || ps[0].Field != "[0].request.path" || ps[1].Line != 2 || ps[1].Field != "[1].id" {
		t.Errorf("problems = %v", ps)
	}
}

// TestNoRequestNoted: a stub without request answers every request; that is
// noted, since a forgotten block would otherwise take every request in
// silence. request: {} says it is meant.
func TestNoRequestNoted(t *testing.T) {
	t.Parallel()
	l, err := LoadStubBytes("s.yaml", []byte("- response: {body: x}\n- request: {}\n  response: {body: y}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Notes) != 1 || !strings.Contains(l.Notes[0], "s.yaml:1: [0]: no request") {
		t.Errorf("Notes = %q, want one for the stub on line 1", l.Notes)
	}
}

// TestLoadManyStubs loads lists long enough to be decoded in parts on
// several CPUs (see decodeStubs): every stub comes out in its place, an
// alias finds an anchor in another part, and a stub that does not decode
// is reported at its line, whichever part it is in.
func TestLoadManyStubs(t *testing.T) {
	t.Parallel()
	const n = 4 * decodePart
	list := func(bad int) []byte {
		var b strings.Builder
		b.WriteString("- id: s0\n  request: {path: /s0}\n  response: &r {status: 201, body: shared}\n") // line 1
		for i := 1; i < n; i++ {
			fmt.Fprintf(&b, "- id: s%d\n  request: {path: /s%d}\n", i, i)
			switch {
			case i == bad:
				b.WriteString("  respons: {status: 200}\n")
			case i%2 == 0:
				b.WriteString("  response: *r\n")
			default:
				b.WriteString("  response: {<<: *r, body: own}\n")
			}
		}
		return []byte(b.String())
	}
	l, err := LoadStubBytes("many.yaml", list(-1))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Sources) != n {
		t.Fatalf("%d stubs, want %d", len(l.Sources), n)
	}
	snap, errs := engine.Compile(l.Sources)
	if errs != nil {
		t.Fatal(errs)
	}
	for i := range n {
		want := "own"
		if i%2 == 0 {
			want = "shared"
		}
		src := l.Sources[i]
		s := snap.Get(fmt.Sprintf("s%d", i))
		if src.Origin != fmt.Sprintf("many.yaml:%d", 3*i+1) || s == nil || s.Responses()[0].Status != 201 || string(s.Responses()[0].Body) != want {
			t.Fatalf("stub %d: origin %s, %+v; want status 201 and body %q", i, src.Origin, s, want)
		}
	}
	for _, bad := range []int{1, n / 2, n - 1} {
		// Each stub but the misspelt one decoded in its part.
		f, err := stub.ParseYAML(list(bad))
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range decodeStubs(f.Docs[0].Body.(*ast.SequenceNode).Values) {
			if (s == nil) != (i == bad) || s != nil && s.ID != fmt.Sprintf("s%d", i) {
				t.Fatalf("stub %d of a list with %d misspelt decoded as %+v", i, bad, s)
			}
		}
		_, err = LoadStubBytes("many.yaml", list(bad))
		if ps := problemsOf(t, err); len(ps) != 1 || ps[0].Line != 3*bad+3 || !strings.Contains(ps[0].Msg, "respons") {
			t.Errorf("stub %d misspelt: problems %v, want one at line %d", bad, ps, 3*bad+3)
		}
	}
}
