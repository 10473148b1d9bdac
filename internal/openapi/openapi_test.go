package openapi

import (
	"encoding/json"
	"errors"
	"fmt"
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
		{"badref.yaml", "", "testdata/badref.yaml:11: component `#/components/schemas/Nope` does not exist"},
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
