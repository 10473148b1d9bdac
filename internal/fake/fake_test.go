package fake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compile reads a JSON schema (2020-12) for the checks below.
func compile(t *testing.T, schema string) (*jsonschema.Schema, any) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		t.Fatalf("schema %s: %v", schema, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseRegexpEngine(compileECMA)
	if err := c.AddResource("mem:///s.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("mem:///s.json")
	if err != nil {
		t.Fatalf("schema %s: %v", schema, err)
	}
	dec := json.NewDecoder(strings.NewReader(schema))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		t.Fatal(err)
	}
	return s, tree
}

// ecmaRegexp is a pattern compiled as ECMA-262, as JSON Schema says.
type ecmaRegexp struct{ re *regexp2.Regexp }

func (r ecmaRegexp) MatchString(s string) bool {
	ok, err := r.re.MatchString(s)
	return ok && err == nil
}

func (r ecmaRegexp) String() string { return r.re.String() }

func compileECMA(s string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(s, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	re.MatchTimeout = time.Second
	return ecmaRegexp{re}, nil
}

// resolver follows local refs inside one tree.
func resolver(root any) Resolver {
	return func(base, ref string) (any, string, error) {
		_, frag, _ := strings.Cut(ref, "#")
		cur := root
		for _, tok := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
			if tok == "" {
				continue
			}
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, "", fmt.Errorf("%s: not found", ref)
			}
			cur = m[tok]
		}
		return cur, base, nil
	}
}

func TestKeywordsGiveValidData(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, schema string }{
		{"integer bounds", `{"type":"integer","minimum":18,"maximum":20}`},
		{"exclusive number", `{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1}`},
		{"multipleOf", `{"type":"integer","minimum":7,"multipleOf":5}`},
		{"string lengths", `{"type":"string","minLength":12,"maxLength":14}`},
		{"pattern with minLength", `{"type":"string","pattern":"^[a-zA-Z0-9_\\-]*","minLength":1,"maxLength":100}`},
		{"pattern exact length", `{"type":"string","pattern":"^[0-9a-fA-F]+$","minLength":40,"maxLength":40}`},
		{"pattern big repeat", `{"type":"string","pattern":"^arn:[a-z]{0,1023}$","minLength":5}`},
		{"pattern unicode escape", `{"type":"string","pattern":"^[\\u0041-\\u005A]+$"}`},
		{"pattern with lookahead", `{"type":"string","pattern":"(?!^[0-9]+$)([a-zA-Z0-9\\-_' ']+)"}`},
		{"pattern with negative lookahead inside", `{"type":"string","pattern":"^([\\+-]?\\d{4}(?!\\d{2}\\b))-[0-9]{2}$"}`},
		{"pattern beside a format", `{"type":"string","format":"byte","pattern":".* maxLength: 8"}`},
		{"formats", `{"type":"object","required":["a","b","c","d","e","f"],"properties":{"a":{"type":"string","format":"date-time"},"b":{"type":"string","format":"uuid"},"c":{"type":"string","format":"email"},"d":{"type":"string","format":"ipv6"},"e":{"type":"string","format":"date"},"f":{"type":"string","format":"uri"}}}`},
		{"enum", `{"enum":["x","y",null]}`},
		{"const", `{"const":{"k":[1,2]}}`},
		{"array bounds unique", `{"type":"array","items":{"type":"integer","minimum":1,"maximum":3},"minItems":3,"uniqueItems":true}`},
		{"prefixItems", `{"type":"array","prefixItems":[{"type":"string"},{"type":"boolean"}]}`},
		{"required not declared", `{"type":"object","required":["x"],"additionalProperties":{"type":"integer"}}`},
		{"maxProperties", `{"type":"object","maxProperties":1,"properties":{"a":{"type":"string"},"b":{"type":"string"},"c":{"type":"string"}}}`},
		{"minProperties", `{"type":"object","minProperties":2,"additionalProperties":{"type":"boolean"}}`},
		{"allOf merges properties", `{"allOf":[{"type":"object","properties":{"data":{"type":"array","items":{"type":"object"}}}},{"properties":{"data":{"items":{"required":["id"],"properties":{"id":{"type":"integer"}}}}}}]}`},
		{"allOf additionalProperties of a member", `{"type":"object","additionalProperties":{"type":"object"},"properties":{"p":{"type":"object"}},"allOf":[{"properties":{"etag":{"type":"string"}}}]}`},
		{"oneOf overlapping: optional property left out", `{"oneOf":[{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}}},{"type":"object","required":["b"],"properties":{"b":{"type":"string"}}}]}`},
		{"oneOf told apart by type of a property", `{"oneOf":[{"type":"object","properties":{"v":{"type":"string"}}},{"type":"object","properties":{"v":{"type":"integer"}}}]}`},
		{"oneOf nullable", `{"$defs":{"o":{"type":"object"}},"anyOf":[{"oneOf":[{"$ref":"#/$defs/o"},{"$ref":"#/$defs/o"}]},{"type":"null"}]}`},
		{"discriminator mapping", `{"$defs":{"Cat":{"type":"object","required":["kind"],"properties":{"kind":{"enum":["cat"]},"meow":{"type":"boolean"}}},"Dog":{"type":"object","required":["kind"],"properties":{"kind":{"enum":["dog"]}}}},"oneOf":[{"$ref":"#/$defs/Cat"},{"$ref":"#/$defs/Dog"}],"discriminator":{"propertyName":"kind","mapping":{"cat":"#/$defs/Cat","dog":"#/$defs/Dog"}}}`},
		{"recursion bounded", `{"$defs":{"n":{"type":"object","properties":{"child":{"$ref":"#/$defs/n"},"name":{"type":"string"}}}},"$ref":"#/$defs/n"}`},
		{"type list", `{"type":["null","integer"],"minimum":3}`},
		// JSON Schema 2019+ keywords (QA D).
		{"if then else (then: variant 0)", `{"type":"object","required":["kind"],"properties":{"kind":{"enum":["a","b"]},"x":{"type":"integer"}},"if":{"properties":{"kind":{"const":"a"}}},"then":{"required":["x"],"properties":{"x":{"minimum":100,"maximum":100}}},"else":{"not":{"required":["x"]}}}`},
		{"patternProperties with minProperties", `{"type":"object","minProperties":2,"patternProperties":{"^x-[a-z]+$":{"type":"integer"}},"additionalProperties":false}`},
		{"contains with minContains", `{"type":"array","minItems":3,"contains":{"type":"string","const":"needle"},"minContains":2,"items":{"type":"string"}}`},
		{"contains", `{"type":"array","contains":{"type":"integer","minimum":5}}`},
		{"propertyNames", `{"type":"object","minProperties":1,"propertyNames":{"pattern":"^[A-Z]+$"},"additionalProperties":{"type":"integer"}}`},
		{"$dynamicRef items and property left out", `{"$dynamicAnchor":"node","type":"object","properties":{"children":{"type":"array","items":{"$dynamicRef":"#node"}},"next":{"$dynamicRef":"#node"},"v":{"type":"integer"}},"required":["v"]}`},
		{"minProperties without additionalProperties", `{"type":"object","minProperties":2,"required":["a"],"properties":{"a":{"type":"string"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, tree := compile(t, tt.schema)
			if tt.name == "oneOf nullable" {
				// 3.0's nullable form, which the generator reads.
				tree = map[string]any{"$defs": tree.(map[string]any)["$defs"], "nullable": true,
					"oneOf": []any{map[string]any{"$ref": "#/$defs/o"}, map[string]any{"$ref": "#/$defs/o"}}}
			}
			variants := 3
			if strings.Contains(tt.name, "variant 0") {
				// The else branch is tried after the then branch; a
				// value made for it may meet the if (the generator does
				// not negate schemas), as here.
				variants = 1
			}
			for variant := range variants {
				v, err := Generate(tree, "mem", "GET /x", Options{Seed: 1, Resolve: resolver(tree), Variant: variant})
				if err != nil {
					t.Fatal(err)
				}
				data, _ := json.Marshal(v)
				inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Validate(inst); err != nil {
					t.Errorf("variant %d: %s does not validate: %v", variant, data, err)
				}
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	_, tree := compile(t, `{"type":"object","required":["id","name","tags","when","r"],"properties":{"id":{"type":"integer"},"name":{"type":"string"},"tags":{"type":"array","items":{"type":"string","format":"uuid"},"minItems":3},"when":{"type":"string","format":"date-time"},"r":{"type":"number"}},"additionalProperties":{"type":"integer"}}`)
	gen := func(seed uint64, key string) string {
		v, err := Generate(tree, "mem", key, Options{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	tests := []struct {
		name       string
		seedA      uint64
		keyA       string
		seedB      uint64
		keyB       string
		wantSameAs bool
	}{
		{"same seed and key", 1, "GET /a", 1, "GET /a", true},
		{"other key", 1, "GET /a", 1, "GET /b", false},
		{"other seed", 1, "GET /a", 2, "GET /a", false},
	}
	for _, tt := range tests {
		a, b := gen(tt.seedA, tt.keyA), gen(tt.seedB, tt.keyB)
		for range 5 { // and on every call
			if again := gen(tt.seedA, tt.keyA); again != a {
				t.Fatalf("%s: not deterministic:\n%s\n%s", tt.name, a, again)
			}
		}
		if (a == b) != tt.wantSameAs {
			t.Errorf("%s: same=%v, want %v:\n%s\n%s", tt.name, a == b, tt.wantSameAs, a, b)
		}
	}
}

func TestEndless(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, schema string
		endless      bool
	}{
		{"optional recursion", `{"$defs":{"n":{"type":"object","properties":{"next":{"$ref":"#/$defs/n"}}}},"$ref":"#/$defs/n"}`, false},
		{"required recursion", `{"$defs":{"n":{"type":"object","required":["next"],"properties":{"next":{"$ref":"#/$defs/n"}}}},"$ref":"#/$defs/n"}`, true},
		{"minItems recursion", `{"$defs":{"n":{"type":"array","minItems":1,"items":{"$ref":"#/$defs/n"}}},"$ref":"#/$defs/n"}`, true},
	}
	for _, tt := range tests {
		_, tree := compile(t, tt.schema)
		v, err := Generate(tree, "mem", "k", Options{Seed: 1, Resolve: resolver(tree)})
		var e *EndlessError
		if got := errors.As(err, &e); got != tt.endless {
			t.Errorf("%s: err = %v, want endless %v", tt.name, err, tt.endless)
		}
		if tt.endless && (v == nil || !strings.Contains(err.Error(), "#/$defs/n")) {
			t.Errorf("%s: value %v, err %v: want a value and the schema named", tt.name, v, err)
		}
	}
}

// TestFlattenRequiredOnce: an allOf's required names are united, each
// once, in the order first seen; entries that are not names are dropped.
func TestFlattenRequiredOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, schema string
		want         string
	}{
		{"disjoint", `{"allOf":[{"required":["a"]},{"required":["b"]}]}`, `["a","b"]`},
		{"shared", `{"allOf":[{"required":["id","a"]},{"required":["id","b","a"]}]}`, `["id","a","b"]`},
		{"repeated in one member", `{"required":["a","a"],"allOf":[{"required":["a"]}]}`, `["a"]`},
		{"not names", `{"allOf":[{"required":[1,"a",null]},{"required":"b"}]}`, `["a"]`},
		{"none", `{"allOf":[{"type":"object"}]}`, `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s map[string]any
			if err := json.Unmarshal([]byte(tt.schema), &s); err != nil {
				t.Fatal(err)
			}
			g := &gen{o: Options{MaxDepth: 6}}
			out, _ := g.flatten(s, "mem", 0)
			if got, _ := json.Marshal(out["required"]); string(got) != tt.want {
				t.Errorf("required = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestSelfRequiringChoice: a oneOf (or anyOf) whose alternative is the
// schema itself with a required property adds a level at each turn; each
// level used to copy every required name of the levels before, so that
// one 46-byte schema took about 12 GB of allocations and 10 s. It is
// given up as too large, with work bounded as for any schema. Not
// parallel: the allocations counted are the process's.
func TestSelfRequiringChoice(t *testing.T) {
	for _, schema := range []string{
		`{"oneOf":[{"$ref":"object","required":["x"]}]}`,
		`{"oneOf":[{"$ref":"#","required":["x","y"]},{"type":"object","required":["x"]}]}`,
		`{"anyOf":[{"allOf":[{"$ref":"#"},{"required":["x"]}]}]}`,
		`{"oneOf":[{"$ref":"#","required":[1]}]}`,
	} {
		var tree any
		if err := json.Unmarshal([]byte(schema), &tree); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		v, err := Generate(tree, "mem", "k", Options{Seed: 1, Resolve: resolver(tree)})
		runtime.ReadMemStats(&after)
		if v != nil || !errors.Is(err, errTooLarge) {
			t.Errorf("%s: %v, %v; want no value and %v", schema, v, err, errTooLarge)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 512<<20 {
			t.Errorf("%s: %d MiB allocated, want at most 512", schema, n>>20)
		}
	}
}

// TestMemoSameValues checks that a Memo shared by many calls changes no
// value nor error: each is what a call without one gives.
func TestMemoSameValues(t *testing.T) {
	t.Parallel()
	schemas := []string{
		// allOf chains, as documents build types on each other.
		`{"$defs":{"entity":{"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}},"user":{"allOf":[{"$ref":"#/$defs/entity"},{"type":"object","properties":{"name":{"type":"string"},"manager":{"anyOf":[{"$ref":"#/$defs/user"},{"type":"null"}]},"reports":{"type":"array","items":{"$ref":"#/$defs/user"}}}}]}},"type":"object","properties":{"value":{"type":"array","minItems":2,"items":{"$ref":"#/$defs/user"}}}}`,
		// keywords beside oneOf alternatives, merged with each.
		`{"$defs":{"a":{"type":"object","required":["kind"],"properties":{"kind":{"const":"a"},"x":{"type":"integer","minimum":3}}},"b":{"type":"object","required":["kind"],"properties":{"kind":{"const":"b"},"y":{"type":"string"}}}},"type":"array","minItems":3,"items":{"required":["n"],"properties":{"n":{"type":"integer"}},"oneOf":[{"$ref":"#/$defs/a"},{"$ref":"#/$defs/b"}]}}`,
		// 3.1: keywords beside $ref.
		`{"$defs":{"p":{"type":"object","properties":{"q":{"type":"string"}}}},"type":"object","required":["r","s"],"properties":{"r":{"$ref":"#/$defs/p","required":["q"]},"s":{"$ref":"#/$defs/p","maxProperties":1}}}`,
		// additionalProperties of one member against another's.
		`{"allOf":[{"properties":{"a":{"type":"string"}},"additionalProperties":false},{"required":["a"],"properties":{"b":{"type":"integer"}}}]}`,
		// recursion that never ends: the $ref named must be the same,
		// here the last one an allOf's merge followed.
		`{"$defs":{"base":{"type":"object"},"n":{"allOf":[{"$ref":"#/$defs/base"},{"required":["next"],"properties":{"next":{"allOf":[{"$ref":"#/$defs/n"}]}}}]}},"$ref":"#/$defs/n"}`,
		`{"$defs":{"n":{"allOf":[{"type":"object","required":["next"],"properties":{"next":{"$ref":"#/$defs/n"}}}]}},"$ref":"#/$defs/n"}`,
	}
	for i, schema := range schemas {
		_, tree := compile(t, schema)
		memo := NewMemo()
		for _, o := range []Options{{Seed: 1}, {Seed: 2, Variant: 1}, {Seed: 1, Examples: true}, {Seed: 3, Request: true}} {
			for _, key := range []string{"a", "b", "a"} {
				o.Resolve = resolver(tree)
				want, wantErr := Generate(tree, "mem", key, o)
				o.Memo = memo
				got, gotErr := Generate(tree, "mem", key, o)
				o.Memo = nil
				w, _ := json.Marshal(want)
				g, _ := json.Marshal(got)
				if string(w) != string(g) || fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
					t.Errorf("schema %d, key %s, %+v: with a memo\n%s (%v)\nwithout\n%s (%v)", i, key, o, g, gotErr, w, wantErr)
				}
			}
		}
		if len(memo.flat) == 0 {
			t.Errorf("schema %d: nothing memoised", i)
		}
	}
}

// TestShallow checks that a schema too large to generate at full depth
// gets a shallower value that still validates, and that one too large at
// every depth gets an error.
func TestShallow(t *testing.T) {
	t.Parallel()
	// wide builds an object type of n optional properties, each of which
	// is the next type (the last one's refer back to the first).
	wide := func(types, n int, required bool) string {
		var defs []string
		for i := range types {
			var props, req []string
			for j := range n {
				props = append(props, fmt.Sprintf(`"p%d":{"$ref":"#/$defs/t%d"}`, j, (i+1)%types))
				req = append(req, fmt.Sprintf(`"p%d"`, j))
			}
			r := ""
			if required {
				r = `"required":[` + strings.Join(req, ",") + `],`
			}
			defs = append(defs, fmt.Sprintf(`"t%d":{"type":"object",%s"properties":{%s}}`, i, r, strings.Join(props, ",")))
		}
		return `{"$defs":{` + strings.Join(defs, ",") + `},"$ref":"#/$defs/t0"}`
	}
	tests := []struct {
		name   string
		schema string
		depth  int // of the ShallowError; 0: none, -1: no value
	}{
		{"small enough at full depth", wide(2, 3, false), 0},
		{"too large at depth 6", wide(2, 10, false), 3},
		{"too large at depth 3", wide(3, 40, false), 1},
		{"too large at every depth", wide(2, 10, true), -1},
	}
	for _, tt := range tests {
		sch, tree := compile(t, tt.schema)
		v, err := Generate(tree, "mem", "k", Options{Seed: 1, Resolve: resolver(tree)})
		var shallow *ShallowError
		switch {
		case tt.depth < 0:
			if v != nil || !errors.Is(err, errTooLarge) {
				t.Errorf("%s: got %.80v, %v; want no value and %v", tt.name, v, err, errTooLarge)
			}
			continue
		case tt.depth == 0 && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.depth > 0 && (!errors.As(err, &shallow) || shallow.Depth != tt.depth || shallow.Full != 6):
			t.Errorf("%s: err %v, want a *ShallowError at depth %d", tt.name, err, tt.depth)
		}
		b, _ := json.Marshal(v)
		inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s: %.200s does not validate: %v", tt.name, b, err)
		}
	}
}

func TestGoPattern(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`^a{0,1023}$`, `^a{0,1000}$`},
		{`^a{2,5}$`, `^a{2,5}$`},
		{`^a{1001}$`, `^a{1001}$`},
		{`[\u0009\u0020-\u007E]*`, `[\x{0009}\x{0020}-\x{007E}]*`},
		{`\\u0041`, `\\u0041`},
		{`\u12`, `\u12`},
	}
	for _, tt := range tests {
		if got := GoPattern(tt.in); got != tt.want {
			t.Errorf("GoPattern(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzGenerate feeds arbitrary schemas to the generator: it must return a
// value or an error, never panic or loop.
func FuzzGenerate(f *testing.F) {
	f.Add(`{"type":"string","pattern":"^(a|b)+[0-9]{2,}$","minLength":3}`)
	f.Add(`{"oneOf":[{"$ref":"#"},{"type":"object","required":["x"]}]}`)
	f.Add(`{"allOf":[{"properties":{"a":{"items":{"$ref":"#"}}}},{"additionalProperties":false}]}`)
	f.Fuzz(func(t *testing.T, schema string) {
		dec := json.NewDecoder(strings.NewReader(schema))
		dec.UseNumber()
		var tree any
		if dec.Decode(&tree) != nil {
			return
		}
		want, wantErr := Generate(tree, "mem", "k", Options{Seed: 1, Resolve: resolver(tree)})
		// A memo, shared with a call before, changes nothing.
		memo := NewMemo()
		_, _ = Generate(tree, "mem", "j", Options{Seed: 2, Resolve: resolver(tree), Memo: memo})
		got, gotErr := Generate(tree, "mem", "k", Options{Seed: 1, Resolve: resolver(tree), Memo: memo})
		w, _ := json.Marshal(want)
		g, _ := json.Marshal(got)
		if string(w) != string(g) || fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
			t.Fatalf("with a memo\n%s (%v)\nwithout\n%s (%v)", g, gotErr, w, wantErr)
		}
	})
}
