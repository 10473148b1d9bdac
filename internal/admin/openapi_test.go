package admin_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/admin"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/stub"
)

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func openAPIDoc(t *testing.T, e *env) map[string]any {
	t.Helper()
	var doc map[string]any
	e.do("GET", "/openapi.json", "", nil).want(t, 200).decode(t, &doc)
	return doc
}

// TestOpenAPICoversRoutes fails when a route is added without its
// description, or a description outlives its route.
func TestOpenAPICoversRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	doc := openAPIDoc(t, e)
	if v, _ := doc["openapi"].(string); !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		t.Fatalf("openapi %q, want 3.1.x", v)
	}
	if v := doc["info"].(map[string]any)["version"]; v != "1.2.3-test" {
		t.Errorf("info.version %v, want the Version option", v)
	}
	paths := doc["paths"].(map[string]any)

	served := map[string]bool{}
	for _, rt := range admin.Routes() {
		method, path := strings.ToLower(rt[0]), rt[1]
		served[method+" "+path] = true
		item, ok := paths[path].(map[string]any)
		if !ok {
			t.Errorf("route %s %s: path missing from openapi.json", rt[0], path)
			continue
		}
		op, ok := item[method].(map[string]any)
		if !ok {
			t.Errorf("route %s %s: operation missing from openapi.json", rt[0], path)
			continue
		}
		if resp, _ := op["responses"].(map[string]any); len(resp) == 0 {
			t.Errorf("route %s %s: no responses described", rt[0], path)
		}
		if id, _ := op["operationId"].(string); id == "" {
			t.Errorf("route %s %s: no operationId", rt[0], path)
		}
		// Every path parameter is declared.
		var declared []string
		for _, ps := range []any{item["parameters"], op["parameters"]} {
			l, _ := ps.([]any)
			for _, p := range l {
				pm := p.(map[string]any)
				if pm["in"] == "path" {
					declared = append(declared, pm["name"].(string))
				}
			}
		}
		for _, m := range regexp.MustCompile(`\{(\w+)\}`).FindAllStringSubmatch(path, -1) {
			if !slices.Contains(declared, m[1]) {
				t.Errorf("route %s %s: path parameter %s not declared", rt[0], path, m[1])
			}
		}
		// The route really is served (not the mux's 404 or 405).
		target := strings.ReplaceAll(path, "{id}", "hello")
		r := e.do(rt[0], target, "", nil)
		if r.status == 405 || (r.status == 404 && strings.Contains(string(r.body), "no such endpoint")) {
			t.Errorf("route %s %s is not served: %d %s", rt[0], path, r.status, r.body)
		}
	}

	ids := map[string]bool{}
	for path, item := range paths {
		for _, m := range httpMethods {
			op, ok := item.(map[string]any)[m].(map[string]any)
			if !ok {
				continue
			}
			if !served[m+" "+path] {
				t.Errorf("openapi.json describes %s %s, which is not served", strings.ToUpper(m), path)
			}
			id, _ := op["operationId"].(string)
			if ids[id] {
				t.Errorf("operationId %q used twice", id)
			}
			ids[id] = true
		}
	}

	// Every $ref resolves.
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				if resolve(doc, ref) == nil {
					t.Errorf("%s: $ref %q does not resolve", at, ref)
				}
			}
			for k, c := range x {
				walk(c, at+"/"+k)
			}
		case []any:
			for _, c := range x {
				walk(c, at+"/[]")
			}
		}
	}
	walk(doc, "#")
}

func resolve(doc map[string]any, ref string) any {
	if !strings.HasPrefix(ref, "#/") {
		return nil
	}
	var cur any = doc
	for _, part := range strings.Split(ref[2:], "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")]
	}
	return cur
}

// TestOpenAPISchemasMatchModel fails when a field is added to the stub model
// (or the journal entry) without its description.
func TestOpenAPISchemasMatchModel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	doc := openAPIDoc(t, e)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	props := func(path ...any) []string {
		var cur any = schemas
		for _, p := range path {
			switch k := p.(type) {
			case string:
				cur = cur.(map[string]any)[k]
			case int:
				cur = cur.([]any)[k]
			}
		}
		var out []string
		m, _ := cur.(map[string]any)
		pm, _ := m["properties"].(map[string]any)
		if pm == nil {
			t.Errorf("schema %v has no properties", path)
		}
		for k := range pm {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	tests := []struct {
		typ  reflect.Type
		path []any
	}{
		{reflect.TypeFor[stub.Stub](), []any{"Stub"}},
		{reflect.TypeFor[stub.Request](), []any{"RequestMatcher"}},
		{reflect.TypeFor[stub.StringMatcher](), []any{"StringMatcher", "oneOf", 1}},
		{reflect.TypeFor[stub.BodyMatcher](), []any{"BodyMatcher"}},
		{reflect.TypeFor[stub.JSONPathMatcher](), []any{"JSONPathMatcher"}},
		{reflect.TypeFor[stub.Response](), []any{"Response"}},
		{reflect.TypeFor[stub.Generate](), []any{"Generate"}},
		{reflect.TypeFor[journal.Entry](), []any{"RequestEntry"}},
		{reflect.TypeFor[metrics.Report](), []any{"ClientList"}},
		{reflect.TypeFor[metrics.ClientReport](), []any{"Client"}},
		{reflect.TypeFor[metrics.Versions](), []any{"Client", "properties", "httpVersions"}},
		{reflect.TypeFor[metrics.Finding](), []any{"Finding"}},
	}
	for _, tt := range tests {
		var want []string
		for i := range tt.typ.NumField() {
			name, _, _ := strings.Cut(tt.typ.Field(i).Tag.Get("json"), ",")
			if name != "" && name != "-" {
				want = append(want, name)
			}
		}
		if tt.path[0] == "RequestEntry" {
			want = append(want, "worker") // added by the supervisor of --workers
		}
		sort.Strings(want)
		if got := props(tt.path...); !slices.Equal(got, want) {
			t.Errorf("schema %v has properties %v; %s has %v", tt.path, got, tt.typ, want)
		}
	}
	// The stored stub adds origin and calls, as the API returns it.
	if got := props("StoredStub"); !slices.Equal(got, []string{"calls", "origin"}) {
		t.Errorf("StoredStub adds %v", got)
	}
	var p map[string]any
	b, _ := json.Marshal(e.list().Stubs[0])
	_ = json.Unmarshal(b, &p)
	for _, k := range []string{"id", "request", "origin", "calls"} {
		if _, ok := p[k]; !ok {
			t.Errorf("a listed stub has no %q: %s", k, b)
		}
	}
}
