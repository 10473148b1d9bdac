package openapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/engine"
)

// byID indexes a result's stubs.
func byID(t *testing.T, r *Result) map[string]engine.Source {
	t.Helper()
	m := map[string]engine.Source{}
	for _, s := range r.Sources {
		if _, dup := m[s.Stub.ID]; dup {
			t.Fatalf("duplicate stub id %q", s.Stub.ID)
		}
		m[s.Stub.ID] = s
	}
	return m
}

func body(t *testing.T, s engine.Source) map[string]any {
	t.Helper()
	text, _ := s.Stub.Response.Body.String()
	var v map[string]any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("%s: body %q: %v", s.Stub.ID, text, err)
	}
	return v
}

func TestLoad(t *testing.T) {
	tests := []struct {
		file  string
		id    string // the default stub (no Accept header)
		path  string
		code  int
		check func(t *testing.T, b map[string]any, s engine.Source)
	}{
		{"testdata/v30.yaml", "v30:getUser", "/users/{id}", 200, func(t *testing.T, b map[string]any, s engine.Source) {
			if _, ok := b["secret"]; ok {
				t.Error("writeOnly property in a response")
			}
			if a := b["age"].(float64); a < 18 || a > 20 {
				t.Errorf("age %v", a)
			}
			if sc := b["score"].(float64); sc <= 0 || sc > 1 {
				t.Errorf("score %v", sc)
			}
			if c := b["code"].(string); len(c) != 8 || c[3] != '-' {
				t.Errorf("pattern: %q", c)
			}
			if n := len(b["tags"].([]any)); n != 2 {
				t.Errorf("tags %v", b["tags"])
			}
			if h := s.Stub.Response.Headers["X-Rate-Limit"]; len(h) != 1 || h[0] != "10" {
				t.Errorf("X-Rate-Limit %v", h)
			}
			if h := s.Stub.Response.Headers["X-Trace"]; len(h) != 1 || h[0] != "abc" {
				t.Errorf("X-Trace %v", h)
			}
		}},
		{"testdata/v31.yaml", "v31:GET /things", "/things", 201, func(t *testing.T, b map[string]any, _ engine.Source) {
			if n := b["n"].(float64); n <= 5 || n > 7 {
				t.Errorf("n %v", n)
			}
			if b["v"] != "fixed" || b["e"] != "from-examples" {
				t.Errorf("const/examples: %v", b)
			}
			a := b["a"].(map[string]any)
			if _, ok := a["x"].(bool); !ok || !strings.Contains(a["y"].(string), ":") {
				t.Errorf("allOf: %v", a)
			}
		}},
		{"testdata/basepath.yaml", "basepath:GET /items", "/api/v2/items", 200, nil},
		{"testdata/circular.json", "circular:GET /tree", "/base/v3/tree", 200, func(t *testing.T, b map[string]any, _ engine.Source) {
			if _, ok := b["name"].(string); !ok {
				t.Errorf("circular: %v", b)
			}
		}},
		{"testdata/split/api.yaml", "api:GET /orders/{id}", "/orders/{id}", 200, func(t *testing.T, b map[string]any, _ engine.Source) {
			l := b["lines"].([]any)
			if sku := l[0].(map[string]any)["sku"].(string); len(sku) < 4 {
				t.Errorf("sku %q", sku)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r, err := Load(tt.file, nil, Options{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range r.Warnings {
				t.Errorf("warning: %s", w)
			}
			m := byID(t, r)
			s, ok := m[tt.id]
			if !ok {
				t.Fatalf("no stub %q in %v", tt.id, keysOf(m))
			}
			if s.Stub.Request.Path != tt.path || s.Stub.Response.Status != tt.code {
				t.Fatalf("stub %q: path %q status %d", tt.id, s.Stub.Request.Path, s.Stub.Response.Status)
			}
			if _, errs := engine.Compile(r.Sources); errs != nil {
				t.Fatal(errs)
			}
			if tt.check != nil && s.Stub.Response.Body.JSON() != nil {
				tt.check(t, body(t, s), s)
			}
			// Deterministic: the same bytes on every load.
			r2, _ := Load(tt.file, nil, Options{Seed: 1})
			for i := range r.Sources {
				a, _ := json.Marshal(r.Sources[i].Stub)
				b, _ := json.Marshal(r2.Sources[i].Stub)
				if string(a) != string(b) {
					t.Fatalf("not deterministic:\n%s\n%s", a, b)
				}
			}
		})
	}
}

func keysOf(m map[string]engine.Source) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestSeedChangesData(t *testing.T) {
	a, _ := Load("testdata/v30.yaml", nil, Options{Seed: 1})
	b, _ := Load("testdata/v30.yaml", nil, Options{Seed: 2})
	x, _ := json.Marshal(a.Sources[0].Stub.Response)
	y, _ := json.Marshal(b.Sources[0].Stub.Response)
	if string(x) == string(y) {
		t.Fatal("another seed gave the same data")
	}
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		// An unresolvable $ref: the ref, and the line where it appears.
		{"badref.yaml", "", "testdata/badref.yaml:11: #/paths/~1x/get/responses/200/content/application~1json/schema: component `#/components/schemas/Nope` does not exist"},
		// Another file: its name and why (QA #14), not "component `#/X`".
		{"x.yaml", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /b:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: 'missing.yaml#/X'}\n",
			`testdata/x.yaml:11: #/paths/~1b/get/responses/200/content/application~1json/schema: $ref "missing.yaml#/X": missing.yaml: no such file`},
		{"x.yaml", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /b:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: 'v30.yaml#/nope'}\n",
			`testdata/x.yaml:11: #/paths/~1b/get/responses/200/content/application~1json/schema: $ref "v30.yaml#/nope": "#/nope" does not exist in v30.yaml`},
		// A remote $ref is refused, not missing.
		{"x.yaml", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: 'https://example.com/schema.json'}\n",
			`testdata/x.yaml:11: #/paths/~1a/get/responses/200/content/application~1json/schema: $ref "https://example.com/schema.json": remote references are refused`},
		{"x.yaml", "openapi: 4.0.0\ninfo: {title: t, version: '1'}\npaths: {}\n", "not supported"},
		{"x.yaml", "openapi: 3.0.0\npaths: [\n", ""},
		{"x.json", `{"openapi": "3.0.0", "paths": {"/a": {"$ref": "missing.yaml"}}}`, "missing.yaml"},
	}
	for _, tt := range tests {
		var data []byte
		name := "testdata/" + tt.name
		if tt.data != "" {
			data = []byte(tt.data)
		}
		_, err := Load(name, data, Options{})
		var ps Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Errorf("%s: want problems, got %v", tt.name, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v; want it to mention %q", tt.name, err, tt.want)
		}
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte("openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200': {description: x, content: {application/json: {schema: {type: object}}}}\n"))
	f.Add([]byte(`{"swagger":"2.0","paths":{"/a":{"get":{"responses":{"200":{"schema":{"$ref":"#/definitions/A"}}}}}},"definitions":{"A":{"$ref":"#/definitions/A"}}}`))
	f.Add([]byte(`{"openapi":"3.1.0","paths":{"/a":{"get":{"responses":{"200":{"content":{"*/*":{"schema":{"allOf":[{"$ref":"#"}]}}}}}}}}}`))
	f.Add([]byte("openapi: 3.1.0\ninfo: {title: t, version: '1'}\nwebhooks: {w: {post: {responses: {'200': {description: x}}}}}\npaths:\n  /a:\n    get:\n      responses:\n        '200': {$ref: '#/nope'}\n"))
	f.Add([]byte(`{"openapi":"3.0.0","paths":{"/a":{"get":{"responses":{"200":{"content":{"application/json":{"schema":{"type":"string","pattern":"(?!x)(a|b){2,}\\1","minLength":3}}}}}}}}}`))
	// Schemas that are not valid JSON Schema.
	f.Add([]byte(`{"openapi":"3.1.0","paths":{"/a":{"get":{"responses":{"200":{"content":{"application/json":{"schema":{"type":"object","properties":{"a":{"type":"string","maxLength":-1},"b":{"type":5},"c":{"items":3,"minItems":-2},"d":{"pattern":"("},"e":{"enum":4}},"required":"a"}}}}}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Load("testdata/fuzz.yaml", data, Options{Seed: 1})
		_, _ = Load("testdata/fuzz.yaml", data, Options{Seed: 1, Lenient: true})
	})
}

// TestWideSchemaGetsBody checks that a response schema too large to
// generate at full depth (wide types that refer to each other) still gets
// a body, which validates, with a note saying so.
func TestWideSchemaGetsBody(t *testing.T) {
	var props []string
	for i := range 20 {
		props = append(props, fmt.Sprintf(`"p%d":{"$ref":"#/components/schemas/B"}`, i))
	}
	doc := `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"operationId":"getA","responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/A"}}}}}}}},
"components":{"schemas":{"A":{"type":"object","required":["id"],"properties":{"id":{"type":"string"},` + strings.Join(props, ",") + `}},
"B":{"type":"object","properties":{"name":{"type":"string"},"a":{"$ref":"#/components/schemas/A"},"more":{"type":"array","items":{"$ref":"#/components/schemas/A"}}}}}}}`
	res, err := Load("wide.json", []byte(doc), Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, byID(t, res)["wide:getA"])
	if _, ok := b["id"].(string); !ok {
		t.Errorf("body %.200v: no id", b)
	}
	if _, ok := b["p0"].(map[string]any); !ok {
		t.Errorf("body %.200v: optional properties at the top are left out", b)
	}
	var noted bool
	for _, w := range res.Warnings {
		if strings.Contains(w, "too large to generate at depth 6") {
			noted = true
		}
		if strings.Contains(w, "does not validate") || strings.Contains(w, "no data generated") {
			t.Errorf("warning: %s", w)
		}
	}
	if !noted {
		t.Errorf("no warning of a shallower body in %q", res.Warnings)
	}
}

// TestWorkersSameOutcome checks that building path items on several
// goroutines gives what building them one after another gives: the same
// stubs in the same order, the same warnings, notes and problems (reports
// made once per schema included).
func TestWorkersSameOutcome(t *testing.T) {
	var wide []string
	for i := range 20 {
		wide = append(wide, fmt.Sprintf(`"p%d":{"$ref":"#/components/schemas/B"}`, i))
	}
	var paths []string
	for i := range 40 {
		schema := []string{`{"$ref":"#/components/schemas/A"}`, `{"$ref":"#/components/schemas/E"}`, `{"type":"object","properties":{"n":{"type":"integer","minimum":` + fmt.Sprint(i) + `}}}`}[i%3]
		paths = append(paths, fmt.Sprintf(`"/r%d/{id}":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"integer"}}],
"get":{"parameters":[{"name":"q","in":"query","schema":{"type":"string","pattern":"^[a-z]+$"}}],"responses":{"200":{"description":"ok","content":{"application/json":{"schema":%s},"application/xml":{"schema":%s}}},"404":{"description":"no","content":{"application/json":{"example":{"nope":true},"schema":{"type":"string"}}}},"500":{"$ref":"#/components/responses/Err"}}},
"post":{"requestBody":{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/E"}}}},"responses":{"201":{"description":"made"}}}}`, i, schema, schema))
	}
	doc := `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{` + strings.Join(paths, ",") + `},
"components":{"responses":{"Err":{"description":"shared","content":{"application/json":{"schema":{"$ref":"#/components/schemas/E"}}}}},"schemas":{"A":{"type":"object","required":["id"],"properties":{"id":{"type":"string"},` + strings.Join(wide, ",") + `}},
"B":{"type":"object","properties":{"name":{"type":"string"},"a":{"$ref":"#/components/schemas/A"},"more":{"type":"array","items":{"$ref":"#/components/schemas/A"}}}},
"E":{"type":"object","required":["next"],"properties":{"next":{"$ref":"#/components/schemas/E"}}}}}}`
	dir := t.TempDir()
	big := dir + "/big.json"
	if err := os.WriteFile(big, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	docs, _ := filepath.Glob("testdata/*.yaml")
	docs = append(docs, "testdata/circular.json", "testdata/split/api.yaml", "testdata/dangling/spec.yaml", big)
	outcome := func(doc string, o Options) string {
		res, err := Load(doc, nil, o)
		var b strings.Builder
		fmt.Fprintf(&b, "error: %v\n", err)
		if res != nil {
			for _, s := range res.Sources {
				j, _ := json.Marshal(s.Stub)
				fmt.Fprintf(&b, "%s %s %v\n", s.Origin, j, s.Vary != nil)
			}
			fmt.Fprintf(&b, "warnings: %q\nnotes: %q\n", res.Warnings, res.Notes)
		}
		return b.String()
	}
	for _, doc := range docs {
		for _, lenient := range []bool{false, true} {
			one := outcome(doc, Options{Seed: 3, Lenient: lenient, workers: 1})
			for _, n := range []int{2, 5} {
				if many := outcome(doc, Options{Seed: 3, Lenient: lenient, workers: n}); many != one {
					t.Errorf("%s (lenient %v): %d workers differ from one:\n%.3000s\n----- one:\n%.3000s", doc, lenient, n, many, one)
				}
			}
			shared := "#/components/responses/Err/content/application~1json/schema: #/components/schemas/E requires itself"
			if doc == big && (!strings.Contains(one, "too large to generate") || strings.Count(one, shared) != 2) {
				t.Errorf("%s: want reports of too large schemas, and one warning and one note for the shared response:\n%.2000s", doc, one)
			}
		}
	}
}
