package match

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/stub"
	"github.com/goccy/go-yaml"
)

func TestBodyMatch(t *testing.T) {
	t.Parallel()
	const doc = `{"id": 7, "name": "Ada", "price": 9.5, "tags": ["x", "y"], "meta": {"a": 1, "b": [1, 2]}, "nil": null, "big": 12345678901234567890}`
	type JP = []stub.JSONPathMatcher
	tests := []struct {
		name string
		m    stub.BodyMatcher
		body string
		want bool
	}{
		{"nothing set matches anything", stub.BodyMatcher{}, "whatever", true},
		{"nothing set matches empty", stub.BodyMatcher{}, "", true},
		{"equals", stub.BodyMatcher{Equals: sp("x")}, "x", true},
		{"equals binary", stub.BodyMatcher{Equals: sp("\x00\xff")}, "\x00\xff", true},
		{"equals differs", stub.BodyMatcher{Equals: sp("x")}, "y", false},
		{"contains", stub.BodyMatcher{Contains: "Ada"}, doc, true},
		{"regex", stub.BodyMatcher{Regex: `"id":\s*\d+`}, doc, true},
		{"json equal", stub.BodyMatcher{JSON: map[string]any{"b": []any{1, 2}, "a": 1}}, `{"a":1,"b":[1,2]}`, true},
		{"json null is no condition", stub.BodyMatcher{JSON: nil}, `not json`, true},
		{"json large integer", stub.BodyMatcher{JSONPath: JP{{Path: "$.big", Equals: 12345678901234567890.0}}}, doc, true},
		{"jsonPath float", stub.BodyMatcher{JSONPath: JP{{Path: "$.price", Equals: 9.5}}}, doc, true},
		{"jsonPath int from YAML", stub.BodyMatcher{JSONPath: JP{{Path: "$.id", Equals: uint64(7)}}}, doc, true},
		{"jsonPath int64", stub.BodyMatcher{JSONPath: JP{{Path: "$.id", Equals: int64(7)}}}, doc, true},
		{"jsonPath object with mixed int types", stub.BodyMatcher{JSONPath: JP{{Path: "$.meta", Equals: map[string]any{"a": uint64(1), "b": []any{int64(1), 2}}}}}, doc, true},
		{"jsonPath descendant", stub.BodyMatcher{JSONPath: JP{{Path: "$..b[1]", Equals: 2}}}, doc, true},
		{"jsonPath index", stub.BodyMatcher{JSONPath: JP{{Path: "$.tags[0]", Equals: "x"}}}, doc, true},
		{"jsonPath negative index", stub.BodyMatcher{JSONPath: JP{{Path: "$.tags[-1]", Equals: "y"}}}, doc, true},
		{"jsonPath filter string", stub.BodyMatcher{JSONPath: JP{{Path: `$[?@.name == "Ada"]`}}}, `[{"name":"Ada"}]`, true},
		{"jsonPath wildcard any", stub.BodyMatcher{JSONPath: JP{{Path: "$.tags[*]", Equals: "y"}}}, doc, true},
		{"jsonPath contains on array JSON", stub.BodyMatcher{JSONPath: JP{{Path: "$.tags", Contains: `"y"`}}}, doc, true},
		{"jsonPath regex on float text", stub.BodyMatcher{JSONPath: JP{{Path: "$.price", Regex: `^9\.5$`}}}, doc, true},
		{"jsonPath null equals nothing set", stub.BodyMatcher{JSONPath: JP{{Path: "$.nil"}}}, doc, true},
		{"jsonPath root", stub.BodyMatcher{JSONPath: JP{{Path: "$", Equals: []any{1.0}}}}, `[1]`, true},
		{"jsonPath on scalar body", stub.BodyMatcher{JSONPath: JP{{Path: "$.a", Absent: true}}}, `42`, true},
		{"jsonPath body trailing garbage", stub.BodyMatcher{JSONPath: JP{{Path: "$.a"}}}, `{"a":1} x`, false},
		{"jsonPath body with BOM", stub.BodyMatcher{JSONPath: JP{{Path: "$.a"}}}, "\ufeff{\"a\":1}", false},
		{"contains fails", stub.BodyMatcher{Contains: "Bob", JSONPath: JP{{Path: "$.id"}}}, doc, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, errs := CompileBody(tt.m)
			if errs != nil {
				t.Fatalf("CompileBody: %v", errs)
			}
			if got := b.Match([]byte(tt.body)); got != tt.want {
				t.Errorf("Match = %v, want %v (why: %q)", got, tt.want, b.Why([]byte(tt.body)))
			}
			if why := b.Why([]byte(tt.body)); (why == "") != tt.want {
				t.Errorf("Why = %q, inconsistent with Match = %v", why, tt.want)
			}
		})
	}
}

// A JSONPath equals written in YAML compares like the same value written in
// JSON.
func TestBodyJSONPathFromYAML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		body string
		want bool
	}{
		{"int", "jsonPath: [{path: $.n, equals: 42}]", `{"n": 42}`, true},
		{"int vs float body", "jsonPath: [{path: $.n, equals: 42}]", `{"n": 42.0}`, true},
		{"float", "jsonPath: [{path: $.n, equals: 1.5}]", `{"n": 1.5}`, true},
		{"string", "jsonPath: [{path: $.s, equals: hi}]", `{"s": "hi"}`, true},
		{"quoted number is a string", `jsonPath: [{path: $.n, equals: "42"}]`, `{"n": 42}`, false},
		{"object", "jsonPath: [{path: $.o, equals: {b: 2, a: [1, x]}}]", `{"o": {"a": [1, "x"], "b": 2}}`, true},
		{"bool", "jsonPath: [{path: $.b, equals: true}]", `{"b": true}`, true},
		{"json object", "json: {a: 1, b: [true, null]}", `{"b":[true,null],"a":1}`, true},
		{"json object differs", "json: {a: 1}", `{"a":2}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var m stub.BodyMatcher
			if err := yaml.Unmarshal([]byte(tt.yaml), &m); err != nil {
				t.Fatal(err)
			}
			b, errs := CompileBody(m)
			if errs != nil {
				t.Fatal(errs)
			}
			if got := b.Match([]byte(tt.body)); got != tt.want {
				t.Errorf("Match = %v, want %v (why: %q)", got, tt.want, b.Why([]byte(tt.body)))
			}
		})
	}
}

func TestBodyFromJSON(t *testing.T) {
	t.Parallel()
	var m stub.BodyMatcher
	if err := json.Unmarshal([]byte(`{"jsonPath":[{"path":"$.user.id","equals":42},{"path":"$.user.name","regex":"^A"}],"json":null}`), &m); err != nil {
		t.Fatal(err)
	}
	b, errs := CompileBody(m)
	if errs != nil {
		t.Fatal(errs)
	}
	if !b.Match([]byte(`{"user":{"id":42,"name":"Ada"}}`)) {
		t.Error("no match")
	}
	if b.Match([]byte(`{"user":{"id":42,"name":"Bob"}}`)) {
		t.Error("matched Bob")
	}
	if !b.NeedsJSON() {
		t.Error("NeedsJSON() = false")
	}
}

func TestBodyNeedsJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		m    stub.BodyMatcher
		want bool
	}{
		{stub.BodyMatcher{}, false},
		{stub.BodyMatcher{Contains: "x", Regex: "y", Equals: sp("z")}, false},
		{stub.BodyMatcher{JSON: map[string]any{}}, true},
		{stub.BodyMatcher{JSONPath: []stub.JSONPathMatcher{{Path: "$"}}}, true},
	}
	for _, tt := range tests {
		b, _ := CompileBody(tt.m)
		if b.NeedsJSON() != tt.want {
			t.Errorf("NeedsJSON(%+v) = %v", tt.m, !tt.want)
		}
	}
}

func TestBodyWhy(t *testing.T) {
	t.Parallel()
	type JP = []stub.JSONPathMatcher
	tests := []struct {
		name string
		m    stub.BodyMatcher
		body string
		want string
	}{
		{"equals", stub.BodyMatcher{Equals: sp("a")}, "b", `body is "b", want "a"`},
		{"equals long", stub.BodyMatcher{Equals: sp("a")}, strings.Repeat("b", 70), `body is "` + strings.Repeat("b", 57) + `...", want "a"`},
		{"contains", stub.BodyMatcher{Contains: "a"}, "b", `body does not contain "a"`},
		{"regex", stub.BodyMatcher{Regex: `^a$`}, "b", `body does not match /^a$/`},
		{"not json", stub.BodyMatcher{JSONPath: JP{{Path: "$.a"}}}, "{", "body is not valid JSON"},
		{"json differs", stub.BodyMatcher{JSON: []any{1}}, "[2]", "body is not the JSON value the stub wants"},
		{"nothing at", stub.BodyMatcher{JSONPath: JP{{Path: "$.a"}}}, "{}", "body has nothing at $.a"},
		{"must be absent", stub.BodyMatcher{JSONPath: JP{{Path: "$.a", Absent: true}}}, `{"a":0}`, "body has $.a but it must be absent"},
		{"equals string", stub.BodyMatcher{JSONPath: JP{{Path: "$.a", Equals: "x"}}}, `{"a":"y"}`, `body at $.a is "y", want "x"`},
		{"equals number", stub.BodyMatcher{JSONPath: JP{{Path: "$.a", Equals: 1}}}, `{"a":2}`, `body at $.a is 2, want 1`},
		{"equals object", stub.BodyMatcher{JSONPath: JP{{Path: "$.a", Equals: map[string]any{"b": 1}}}}, `{"a":{"b":2}}`, `body at $.a is {"b":2}, want {"b":1}`},
		{"contains", stub.BodyMatcher{JSONPath: JP{{Path: "$.a", Contains: "z"}}}, `{"a":"y"}`, `body at $.a is "y", want it to contain "z"`},
		{"regex", stub.BodyMatcher{JSONPath: JP{{Path: "$.a", Regex: `^z`}}}, `{"a":"y"}`, `body at $.a is "y", want it to match /^z/`},
		{"second path fails", stub.BodyMatcher{JSONPath: JP{{Path: "$.a"}, {Path: "$.b"}}}, `{"a":1}`, "body has nothing at $.b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, errs := CompileBody(tt.m)
			if errs != nil {
				t.Fatal(errs)
			}
			if got := b.Why([]byte(tt.body)); got != tt.want {
				t.Errorf("Why = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCompileBodyErrors(t *testing.T) {
	t.Parallel()
	type JP = []stub.JSONPathMatcher
	tests := []struct {
		name   string
		m      stub.BodyMatcher
		fields []string
	}{
		{"bad regex", stub.BodyMatcher{Regex: "+"}, []string{"regex"}},
		{"missing path", stub.BodyMatcher{JSONPath: JP{{Equals: 1}}}, []string{"jsonPath[0].path"}},
		{"bad path", stub.BodyMatcher{JSONPath: JP{{Path: "$.a"}, {Path: "a.b"}}}, []string{"jsonPath[1].path"}},
		{"bad filter", stub.BodyMatcher{JSONPath: JP{{Path: "$[?@.a ==]"}}}, []string{"jsonPath[0].path"}},
		{"bad path regex", stub.BodyMatcher{JSONPath: JP{{Path: "$.a", Regex: "["}}}, []string{"jsonPath[0].regex"}},
		{"absent with equals", stub.BodyMatcher{JSONPath: JP{{Path: "$.a", Absent: true, Equals: 1}}}, []string{"jsonPath[0].absent"}},
		{"absent with contains", stub.BodyMatcher{JSONPath: JP{{Path: "$.a", Absent: true, Contains: "x"}}}, []string{"jsonPath[0].absent"}},
		{"several", stub.BodyMatcher{Regex: "(", JSONPath: JP{{Path: ""}, {Path: "$", Regex: ")"}}}, []string{"regex", "jsonPath[0].path", "jsonPath[1].regex"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, errs := CompileBody(tt.m)
			var got []string
			for _, e := range errs {
				got = append(got, e.Field)
				if e.Msg == "" {
					t.Errorf("empty message for %s", e.Field)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields = %v, want %v", got, tt.fields)
			}
		})
	}
}

// TestBodyLargeIntegers: integers float64 cannot tell apart (2^53 and
// beyond, as 64-bit IDs are) compare exactly, whether the stub was written
// in YAML or JSON (decoded with UseNumber, as the admin API does), under
// jsonPath equals and json equality alike.
func TestBodyLargeIntegers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		stub string // YAML, or JSON when it starts with {
		body string
		want bool
	}{
		{"id", "jsonPath: [{path: $.n, equals: 1790000000000000001}]", `{"n":1790000000000000001}`, true},
		{"id minus one", "jsonPath: [{path: $.n, equals: 1790000000000000001}]", `{"n":1790000000000000000}`, false},
		{"id plus 99", "jsonPath: [{path: $.n, equals: 1790000000000000001}]", `{"n":1790000000000000100}`, false},
		{"2^53+1", "jsonPath: [{path: $.n, equals: 9007199254740993}]", `{"n":9007199254740993}`, true},
		{"2^53+1 is not 2^53", "jsonPath: [{path: $.n, equals: 9007199254740993}]", `{"n":9007199254740992}`, false},
		{"2^53 is not 2^53+1", "jsonPath: [{path: $.n, equals: 9007199254740992}]", `{"n":9007199254740993}`, false},
		{"2^53-1", "jsonPath: [{path: $.n, equals: 9007199254740991}]", `{"n":9007199254740991}`, true},
		{"small stub, big body", "jsonPath: [{path: $.n, equals: 9007199254740991}]", `{"n":9007199254740992}`, false},
		{"-2^53-1", "jsonPath: [{path: $.n, equals: -9007199254740993}]", `{"n":-9007199254740992}`, false},
		{"int64 max", "jsonPath: [{path: $.n, equals: 9223372036854775807}]", `{"n":9223372036854775807}`, true},
		{"int64 max minus one", "jsonPath: [{path: $.n, equals: 9223372036854775807}]", `{"n":9223372036854775806}`, false},
		{"int64 min", "jsonPath: [{path: $.n, equals: -9223372036854775808}]", `{"n":-9223372036854775808}`, true},
		{"int64 min plus one", "jsonPath: [{path: $.n, equals: -9223372036854775808}]", `{"n":-9223372036854775807}`, false},
		{"uint64 max", "jsonPath: [{path: $.n, equals: 18446744073709551615}]", `{"n":18446744073709551615}`, true},
		{"uint64 max minus one", "jsonPath: [{path: $.n, equals: 18446744073709551615}]", `{"n":18446744073709551614}`, false},
		{"past uint64 in the body", "jsonPath: [{path: $.n, equals: 18446744073709551615}]", `{"n":18446744073709551616}`, false},
		{"a float body near the id", "jsonPath: [{path: $.n, equals: 1790000000000000001}]", `{"n":1.79e18}`, true},
		{"other fields beside", "jsonPath: [{path: $.n, equals: 1790000000000000001}, {path: $.f, equals: 1.5}]", `{"n":1790000000000000001,"f":1.5}`, true},
		{"json equality", "json: {n: 1790000000000000005}", `{"n":1790000000000000005}`, true},
		{"json equality neighbour", "json: {n: 1790000000000000005}", `{"n":1790000000000000004}`, false},
		{"json equality nested", "json: {a: [1, {n: 1790000000000000005}], s: x}", `{"s":"x","a":[1.0,{"n":1790000000000000005}]}`, true},
		{"JSON stub", `{"jsonPath":[{"path":"$.n","equals":1790000000000000001}]}`, `{"n":1790000000000000001}`, true},
		{"JSON stub neighbour", `{"jsonPath":[{"path":"$.n","equals":1790000000000000001}]}`, `{"n":1790000000000000000}`, false},
		{"JSON stub small", `{"jsonPath":[{"path":"$.n","equals":42}]}`, `{"n":42.0}`, true},
		{"trailing garbage", "jsonPath: [{path: $.n, equals: 1790000000000000001}]", `{"n":1790000000000000001} x`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var m stub.BodyMatcher
			if strings.HasPrefix(tt.stub, "{") {
				dec := json.NewDecoder(strings.NewReader(tt.stub))
				dec.UseNumber()
				if err := dec.Decode(&m); err != nil {
					t.Fatal(err)
				}
			} else if err := yaml.Unmarshal([]byte(tt.stub), &m); err != nil {
				t.Fatal(err)
			}
			b, errs := CompileBody(m)
			if errs != nil {
				t.Fatal(errs)
			}
			if got := b.Match([]byte(tt.body)); got != tt.want {
				t.Errorf("Match = %v, want %v (why: %q)", got, tt.want, b.Why([]byte(tt.body)))
			}
		})
	}
}
