package openapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/message"
)

// A oneOf or anyOf with a discriminator (OpenAPI 3.0 and 3.1,
// Discriminator Object) is checked, in requests, as OpenAPI says: an
// object whose discriminating property is set must be valid against the
// schema that the property's value names (by the discriminator's mapping,
// else by the name of a component the alternatives $ref), and a value
// that names none is a violation that lists the ones that do. JSON Schema
// alone knows nothing of discriminators: it checks the oneOf, which
// accepts {"petType": "cat", ...} when it is a valid Dog and not a valid
// Cat. An object without the property (or any other value) is checked
// against the oneOf or anyOf as before.
//
// The request view of the schemas (see discriminated) replaces such a
// oneOf or anyOf with the keyword discKeyword, which the request
// validator's vocabulary (discVocab) compiles and checks. Responses are
// checked as before: a document's examples are served as they were.

// discKeyword holds, in the request view, a oneOf or anyOf with a
// discriminator: {"propertyName": p, "mapping": {value: schema},
// "otherwise": {"oneOf": [...]}}.
const discKeyword = "x-decoy-discriminator"

// discriminated returns the tree v (a JSON Schema tree of the request
// view) with each oneOf or anyOf that has a discriminator replaced by
// discKeyword; follows reports whether a $ref of the tree resolves (a
// mapping that does not checks nothing, rather than leaving the whole
// schema uncompiled). Nothing is copied where nothing changes, as in
// dropRequired.
func discriminated(v any, follows func(ref string) bool) any {
	out, _ := discWalk(v, follows)
	return out
}

func discWalk(v any, follows func(string) bool) (any, bool) {
	switch x := v.(type) {
	case []any:
		var out []any
		for i, e := range x {
			if ne, ch := discWalk(e, follows); ch {
				if out == nil {
					out = slices.Clone(x)
				}
				out[i] = ne
			}
		}
		if out == nil {
			return x, false
		}
		return out, true
	case map[string]any:
		var out map[string]any
		for k, e := range x {
			if literal[k] {
				continue // data: an example may hold a "discriminator"
			}
			if ne, ch := discWalk(e, follows); ch {
				if out == nil {
					out = maps.Clone(x)
				}
				out[k] = ne
			}
		}
		src := x
		if out != nil {
			src = out
		}
		if d, ok := discOf(src, follows); ok {
			if out == nil {
				out = maps.Clone(x)
			}
			delete(out, d.list)
			out[discKeyword] = d.keyword(src[d.list])
		}
		if out == nil {
			return x, false
		}
		return out, true
	}
	return v, false
}

// disc is a discriminator read from a schema.
type disc struct {
	list    string            // "oneOf" or "anyOf"
	prop    string            // the discriminating property
	targets map[string]string // value -> $ref ("" when decoy cannot follow it: any object passes)
}

// discOf reads the discriminator of the schema m, if it has one beside a
// oneOf or anyOf and it names at least one schema.
func discOf(m map[string]any, follows func(string) bool) (disc, bool) {
	dm, _ := m["discriminator"].(map[string]any)
	prop, _ := dm["propertyName"].(string)
	if prop == "" {
		return disc{}, false
	}
	d := disc{prop: prop, targets: map[string]string{}}
	var alts []any
	for _, kw := range []string{"oneOf", "anyOf"} {
		if l, ok := m[kw].([]any); ok {
			d.list, alts = kw, l
			break
		}
	}
	if d.list == "" {
		return disc{}, false
	}
	mapped := map[string]bool{}
	mapping, _ := dm["mapping"].(map[string]any)
	for value, t := range mapping {
		ref, ok := t.(string)
		if !ok {
			continue
		}
		if !strings.ContainsAny(ref, "#/") && !strings.HasSuffix(ref, ".json") &&
			!strings.HasSuffix(ref, ".yaml") && !strings.HasSuffix(ref, ".yml") {
			ref = "#/components/schemas/" + escape(ref) // a schema's name
		}
		mapped[ref] = true
		if file, _, _ := strings.Cut(ref, "#"); isURI(file) || !follows(ref) {
			ref = "" // remote (decoy reads no network) or missing: it checks nothing
		}
		d.targets[value] = ref
	}
	// Without a mapping, or for the alternatives it does not name, the
	// value is the name of the component an alternative $refs.
	for _, a := range alts {
		am, _ := a.(map[string]any)
		ref, _ := am["$ref"].(string)
		_, frag, _ := strings.Cut(ref, "#")
		name, ok := strings.CutPrefix(frag, "/components/schemas/")
		if !ok || strings.Contains(name, "/") || mapped[ref] {
			continue
		}
		if u, err := url.PathUnescape(name); err == nil {
			name = u
		}
		name = strings.NewReplacer("~1", "/", "~0", "~").Replace(name)
		if _, taken := d.targets[name]; !taken {
			d.targets[name] = ref
		}
	}
	return d, len(d.targets) > 0
}

// keyword is the value of discKeyword for d, whose oneOf or anyOf is alts.
func (d disc) keyword(alts any) map[string]any {
	mapping := make(map[string]any, len(d.targets))
	for value, ref := range d.targets {
		if ref == "" {
			mapping[value] = true
		} else {
			mapping[value] = map[string]any{"$ref": ref}
		}
	}
	return map[string]any{"propertyName": d.prop, "mapping": mapping, "otherwise": map[string]any{d.list: alts}}
}

// discVocab compiles discKeyword for the request validator.
var discVocab = &jsonschema.Vocabulary{
	URL: "https://github.com/decoy-dev/decoy/vocab/discriminator",
	Subschemas: []jsonschema.SchemaPath{
		{jsonschema.Prop(discKeyword), jsonschema.Prop("mapping"), jsonschema.AllProp{}},
		{jsonschema.Prop(discKeyword), jsonschema.Prop("otherwise")},
	},
	Compile: compileDisc,
}

func compileDisc(ctx *jsonschema.CompilerContext, obj map[string]any) (jsonschema.SchemaExt, error) {
	kw, ok := obj[discKeyword].(map[string]any)
	if !ok {
		return nil, nil
	}
	prop, _ := kw["propertyName"].(string)
	mapping, _ := kw["mapping"].(map[string]any)
	if prop == "" || len(mapping) == 0 {
		return nil, fmt.Errorf("%s: no propertyName or mapping", discKeyword)
	}
	e := &discExt{prop: prop, by: make(map[string]*jsonschema.Schema, len(mapping))}
	for value := range mapping {
		e.by[value] = ctx.Enqueue([]string{discKeyword, "mapping", value})
		e.values = append(e.values, value)
	}
	slices.Sort(e.values)
	if _, ok := kw["otherwise"]; ok {
		e.otherwise = ctx.Enqueue([]string{discKeyword, "otherwise"})
	}
	return e, nil
}

// discExt is discKeyword compiled.
type discExt struct {
	prop      string
	by        map[string]*jsonschema.Schema // by the property's value
	values    []string                      // the keys of by, sorted
	otherwise *jsonschema.Schema            // the oneOf or anyOf, for a value without the property
}

var _ jsonschema.SchemaExt = (*discExt)(nil)

func (e *discExt) Validate(ctx *jsonschema.ValidatorContext, v any) {
	obj, isObj := v.(map[string]any)
	pv, set := obj[e.prop]
	if !isObj || !set {
		if e.otherwise != nil {
			if err := ctx.Validate(e.otherwise, v, nil); err != nil {
				ctx.AddErr(err)
			}
		}
		return
	}
	s, _ := pv.(string)
	sch, known := e.by[s]
	if _, isStr := pv.(string); !isStr || !known {
		ctx.AddError(&discValue{prop: e.prop, got: pv, want: e.values})
		return
	}
	if err := ctx.Validate(sch, v, nil); err != nil {
		ctx.AddErr(err)
	}
}

// discValue is the violation of a discriminating property whose value
// names no schema. appendErrs places it at the property.
type discValue struct {
	prop string
	got  any
	want []string
}

func (k *discValue) KeywordPath() []string { return []string{discKeyword} }

func (k *discValue) LocalizedString(*message.Printer) string {
	got, _ := json.Marshal(k.got)
	want := make([]string, len(k.want))
	for i, w := range k.want {
		want[i] = fmt.Sprintf("%q", w)
	}
	return fmt.Sprintf("%s names no schema of the discriminator: send one of %s", got, strings.Join(want, ", "))
}
