// Package fake makes deterministic data from a JSON Schema (the dialects of
// OpenAPI 3.0, 3.1 and Swagger 2.0): the same schema, seed and key always
// give the same value. Schemas are generic decoded JSON (map[string]any,
// []any, string, json.Number or float64, bool); $refs are followed through
// a Resolver, so schemas split over several files and circular schemas
// work (recursion is bounded).
package fake

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Resolver follows a $ref found in a schema that came from base (a file
// name or URL): it returns the schema referred to and the base of that
// schema.
type Resolver func(base, ref string) (schema any, newBase string, err error)

// Options tune a Generator.
type Options struct {
	// Seed is the global seed.
	Seed uint64
	// Resolve follows $refs; without it a $ref gives an error.
	Resolve Resolver
	// Examples uses a schema's example/examples, at any depth, before
	// generating (Prefer: dynamic=true turns this off).
	Examples bool
	// Request generates a request body (skips readOnly properties);
	// otherwise a response (skips writeOnly properties).
	Request bool
	// Variant picks other oneOf/anyOf alternatives (the first by default):
	// a caller whose value does not validate can try the next.
	Variant int
	// MaxDepth bounds nesting: past it only required properties and the
	// fewest items are generated. 0 means 6.
	MaxDepth int
	// Memo, when set, keeps the merged allOf members it works out for
	// the next calls, which share it (see Memo).
	Memo *Memo
}

// Memo keeps what generation works out about a schema (the merge of an
// allOf's members) across the Generate calls over one set of documents,
// so that a document whose schemas build on each other is merged once
// per schema rather than once per value. The schemas it has seen must
// not change while it is in use. It is not safe for concurrent use.
type Memo struct {
	flat  map[memoKey]*merged
	names map[uintptr]sortedNames // of a properties map
}

// NewMemo returns an empty Memo.
func NewMemo() *Memo {
	return &Memo{flat: map[memoKey]*merged{}, names: map[uintptr]sortedNames{}}
}

// sortedNames are the names of src, sorted (src is held for the reason
// merged holds its schema).
type sortedNames struct {
	src   map[string]any
	names []string
}

// maxMemo bounds a Memo's entries (schemas merged at run time, such as a
// 3.1 $ref with keywords beside it, are new maps each time).
const maxMemo = 1 << 18

// memoKey names a merge: of schema s (from base) itself, or of the
// keywords beside its alternative alt of oneOf/anyOf (kw) with it.
type memoKey struct {
	s    uintptr
	base string
	kw   string
	alt  int
}

// merged is a merge's outcome. It holds the schema merged, which keeps its
// address from naming another map while the entry lives.
type merged struct {
	src      map[string]any
	out      map[string]any
	base     string
	lastRef  string
	followed bool // whether a $ref was followed (which sets lastRef)
}

// flatMemo is flatten through the Memo, for s or for the merge of s's
// keywords other than kw with alternative alt (which build is called to
// make when it is not known).
func (g *gen) flatMemo(s map[string]any, base, kw string, alt int, build func() map[string]any) (map[string]any, string) {
	memo := g.o.Memo
	if memo == nil {
		return g.flatten(build(), base, 0)
	}
	k := memoKey{s: reflect.ValueOf(s).Pointer(), base: base, kw: kw, alt: alt}
	if m, ok := memo.flat[k]; ok {
		if m.followed {
			g.lastRef = m.lastRef
		}
		return m.out, m.base
	}
	refs := g.refs
	out, ob := g.flatten(build(), base, 0)
	if len(memo.flat) < maxMemo {
		memo.flat[k] = &merged{src: s, out: out, base: ob, lastRef: g.lastRef, followed: g.refs != refs}
	}
	return out, ob
}

// Generate returns a value that satisfies schema, as a function of the
// seed, key (an operation, a response) and the schema alone.
//
// A schema whose value at MaxDepth would take more than maxSteps values
// (wide types that refer to each other) is tried again at shallower
// depths, which leave out more optional properties; a value found so
// comes with a *ShallowError.
func Generate(schema any, base, key string, o Options) (v any, err error) {
	if o.MaxDepth == 0 {
		o.MaxDepth = 6
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	seed := h.Sum64()
	v, err = generate(schema, base, o, seed)
	full := o.MaxDepth
	for _, d := range shallower {
		if !errors.Is(err, errTooLarge) {
			break
		}
		if d >= full {
			continue
		}
		o.MaxDepth = d
		v, err = generate(schema, base, o, seed)
		if err == nil {
			err = &ShallowError{Depth: d, Full: full}
		}
	}
	return v, err
}

// shallower are the depths tried, in turn, for a schema too large to
// generate at the one asked for.
var shallower = []int{3, 1}

// errTooLarge is why a value was given up: it took more than maxSteps.
var errTooLarge = errors.New("schema too large to generate")

func generate(schema any, base string, o Options, seed uint64) (v any, err error) {
	g := &gen{o: o, rng: rand.New(rand.NewPCG(o.Seed, seed))}
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(genError); ok {
				v, err = nil, e.err
				return
			}
			// A schema no check foresaw (an invalid document) must not
			// take the server down: it gets no generated value.
			v, err = nil, fmt.Errorf("cannot generate a value for this schema: %v", r)
		}
	}()
	v = g.value(schema, base, 0, "")
	if g.endless != "" {
		return v, &EndlessError{Schema: g.endless}
	}
	return v, nil
}

// ShallowError is returned, with a value, when the schema was too large
// to generate at the depth asked for (Full) and was generated at Depth:
// below it only required properties and the fewest items are made.
type ShallowError struct {
	Depth, Full int
}

func (e *ShallowError) Error() string {
	return fmt.Sprintf("the schema is too large to generate at depth %d (more than %d values), so its optional properties are made to depth %d only", e.Full, maxSteps, e.Depth)
}

// EndlessError is returned, with a value, when a schema requires itself
// without end (a required property, or minItems, whose schema is the
// object itself): no finite value satisfies it, so the value holds null
// where the recursion was cut.
type EndlessError struct {
	Schema string // the $ref that requires itself, when known
}

func (e *EndlessError) Error() string {
	what := "a schema"
	if e.Schema != "" && e.Schema != "?" {
		what = e.Schema
	}
	return what + " requires itself without end (a required property or minItems refers back to it): no finite value satisfies it, so null stands where the recursion is cut"
}

type genError struct{ err error }

type gen struct {
	o     Options
	rng   *rand.Rand
	steps int
	res   map[string]matcher // compiled patterns
	// endless is set when recursion was cut at the depth bound; lastRef
	// is the last $ref followed.
	endless, lastRef string
	refs             int // $refs followed
	// skip names optional properties the next object leaves out (so that
	// a oneOf alternative's value does not match another alternative).
	skip map[string]bool
}

// maxSteps bounds the work for one value, whatever the schema.
const maxSteps = 20000

func (g *gen) fail(format string, a ...any) {
	panic(genError{fmt.Errorf(format, a...)})
}

// deref follows $ref chains (at most 32 long).
func (g *gen) deref(s map[string]any, base string) (map[string]any, string) {
	for i := 0; i < 32; i++ {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s, base
		}
		if g.o.Resolve == nil {
			g.fail("cannot follow $ref %q", ref)
		}
		g.lastRef = ref
		g.refs++
		t, nb, err := g.o.Resolve(base, ref)
		if err != nil {
			g.fail("%v", err)
		}
		tm, ok := t.(map[string]any)
		if !ok {
			if b, ok := t.(bool); ok {
				tm = map[string]any{}
				if !b {
					tm["not"] = map[string]any{}
				}
			} else {
				g.fail("$ref %q is not a schema", ref)
			}
		}
		if len(s) > 1 {
			// 3.1: keywords beside $ref apply too.
			return g.besideRef(s, base, tm, nb), base
		}
		s, base = tm, nb
	}
	g.fail("$ref chain too long")
	return nil, ""
}

// besideRef returns the schema s, which has keywords beside its $ref to
// schema t (from tbase), as the allOf of both; the same map each time for
// the same s when there is a Memo (so that its merge is memoised too).
func (g *gen) besideRef(s map[string]any, base string, t map[string]any, tbase string) map[string]any {
	build := func() map[string]any {
		return map[string]any{"allOf": []any{refAt{t, tbase}, without(s, "$ref")}}
	}
	memo := g.o.Memo
	if memo == nil {
		return build()
	}
	k := memoKey{s: reflect.ValueOf(s).Pointer(), base: base, kw: "$ref"}
	if m, ok := memo.flat[k]; ok {
		return m.out
	}
	out := build()
	if len(memo.flat) < maxMemo {
		memo.flat[k] = &merged{src: s, out: out, base: base}
	}
	return out
}

// refAt is a schema that lives in another file, inside a merged schema.
type refAt struct {
	s    map[string]any
	base string
}

func without(m map[string]any, key string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func (g *gen) value(schema any, base string, depth int, name string) any {
	g.steps++
	if g.steps > maxSteps {
		panic(genError{errTooLarge})
	}
	var s map[string]any
	switch x := schema.(type) {
	case nil:
		return "string"
	case bool:
		return "string"
	case refAt:
		s, base = x.s, x.base
	case map[string]any:
		s = x
	default:
		g.fail("a schema is an object, not %T", schema)
	}
	s, base = g.deref(s, base)
	if depth > g.o.MaxDepth+8 {
		// A schema that requires itself without end has no finite
		// instance: stop with null.
		if g.endless == "" {
			g.endless = g.lastRef
		}
		if g.endless == "" {
			g.endless = "?"
		}
		return nil
	}
	if _, ok := s["if"]; ok {
		s, base = g.conditional(s, base)
	}
	if _, ok := s["allOf"]; ok {
		s, base = g.flatMemo(s, base, "", 0, func() map[string]any { return s })
	}
	if c, ok := s["const"]; ok {
		return c
	}
	if g.o.Examples {
		if ex, ok := s["example"]; ok && ex != nil {
			return ex
		}
		if exs, ok := s["examples"].([]any); ok && len(exs) > 0 {
			return exs[0]
		}
	}
	if e, ok := s["enum"].([]any); ok && len(e) > 0 {
		var nonNull []any
		for _, v := range e {
			if v != nil {
				nonNull = append(nonNull, v)
			}
		}
		if len(nonNull) == 0 {
			return nil
		}
		return nonNull[g.rng.IntN(len(nonNull))]
	}
	for _, k := range []string{"oneOf", "anyOf"} {
		if alts, ok := s[k].([]any); ok && len(alts) > 0 {
			return g.choice(s, k, alts, base, depth, name)
		}
	}
	t := typeOf(s)
	if t != "object" {
		g.skip = nil
	}
	switch t {
	case "null":
		return nil
	case "boolean":
		return g.rng.IntN(2) == 0
	case "integer":
		return g.integer(s)
	case "number":
		return g.number(s)
	case "array":
		return g.array(s, base, depth)
	case "object":
		return g.object(s, base, depth)
	case "file":
		return "file"
	default:
		return g.str(s, name)
	}
}

// dynamicRef reports whether the schema v is a $dynamicRef, which the
// generator does not follow.
func dynamicRef(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	_, ok = m["$dynamicRef"]
	return ok
}

// conditional resolves an if/then/else (JSON Schema 2019+) of s into one
// schema to generate from: the value is made to satisfy the if and the
// then together (so the then is the branch that applies), or, for an odd
// Variant, the else alone (a caller whose value does not validate tries
// the next variant). An if with neither then nor else constrains nothing.
func (g *gen) conditional(s map[string]any, base string) (map[string]any, string) {
	then, hasThen := s["then"]
	els, hasElse := s["else"]
	rest := without(without(without(s, "if"), "then"), "else")
	if !hasThen && !hasElse {
		return rest, base
	}
	branch := g.o.Variant % 2
	if branch == 1 && !hasElse {
		branch = 0
	}
	return g.flatMemo(s, base, "if", branch, func() map[string]any {
		if branch == 1 {
			return map[string]any{"allOf": []any{rest, els}}
		}
		members := []any{rest, s["if"]}
		if hasThen {
			members = append(members, then)
		}
		return map[string]any{"allOf": members}
	})
}

// onlyAnnotations reports whether m's keywords, but for except, only
// annotate (none of them constrains a value).
func onlyAnnotations(m map[string]any, except string) bool {
	for k := range m {
		switch k {
		case except, "description", "title", "discriminator", "nullable", "x-nullable", "example", "examples", "readOnly", "writeOnly", "deprecated", "externalDocs", "xml":
		default:
			return false
		}
	}
	return true
}

// choice generates a value for a oneOf or anyOf (kw) of alts. For oneOf it
// tries each alternative (from the Variant-th) until the value is one that
// no other alternative admits, leaving out optional properties that other
// alternatives require when that tells them apart; a discriminator's
// property is set to the chosen alternative's mapping key.
func (g *gen) choice(s map[string]any, kw string, alts []any, base string, depth int, name string) any {
	plain := onlyAnnotations(s, kw) // nothing beside the alternatives to merge
	one := func(idx int) any {
		alt := alts[idx]
		if plain {
			return g.value(alt, base, depth, name)
		}
		merged, mb := g.flatMemo(s, base, kw, idx, func() map[string]any {
			return map[string]any{"allOf": []any{without(s, kw), alt}}
		})
		return g.value(merged, mb, depth, name)
	}
	skip := g.skip // for the object this choice makes
	n := len(alts)
	var first any
	found := false
	for i := 0; i < n; i++ {
		idx := (i + g.o.Variant) % n
		alt := alts[idx]
		if m, ok := alt.(map[string]any); ok && typeOf(m) == "null" && n > 1 {
			continue
		}
		g.skip = skip
		v := g.discriminate(s, alt, base, one(idx))
		if !found {
			first, found = v, true
		}
		if kw != "oneOf" || depth > g.o.MaxDepth {
			return v
		}
		others := g.othersAdmitting(alts, idx, base, v)
		if len(others) == 0 {
			return v
		}
		// Leave out the optional properties the other alternatives
		// require, and try once more.
		drop := map[string]bool{}
		for _, o := range others {
			for _, r := range requiredOf(o) {
				drop[r] = true
			}
		}
		if len(drop) > 0 {
			for k := range skip {
				drop[k] = true
			}
			g.skip = drop
			w := g.discriminate(s, alt, base, one(idx))
			g.skip = nil
			if len(g.othersAdmitting(alts, idx, base, w)) == 0 {
				return w
			}
		}
	}
	if !found {
		return one(0)
	}
	if kw == "oneOf" && nullable(s) {
		// No alternative's value is told apart from the others', but null
		// is admitted beside them.
		return nil
	}
	return first
}

// nullable reports whether s admits null besides its alternatives: 3.0's
// nullable, Swagger's x-nullable, or a type list with null.
func nullable(s map[string]any) bool {
	if s["nullable"] == true || s["x-nullable"] == true {
		return true
	}
	if l, ok := s["type"].([]any); ok {
		return slices.Contains(l, any("null"))
	}
	return s["type"] == "null"
}

// othersAdmitting returns the alternatives other than alts[idx] that may
// admit v, flattened.
func (g *gen) othersAdmitting(alts []any, idx int, base string, v any) []map[string]any {
	var out []map[string]any
	for j, a := range alts {
		if j == idx {
			continue
		}
		m, b := g.peek(a, base)
		if _, ok := m["allOf"]; ok {
			m, b = g.flatMemo(m, b, "", 0, func() map[string]any { return m })
		}
		if !g.rejects(m, b, v, 0) {
			out = append(out, m)
		}
	}
	return out
}

func requiredOf(s map[string]any) []string {
	var out []string
	l, _ := s["required"].([]any)
	for _, r := range l {
		if k, ok := r.(string); ok {
			out = append(out, k)
		}
	}
	return out
}

// rejects reports whether v certainly does not satisfy s: a wrong type, a
// value outside enum or const, a missing required property, a property
// additionalProperties forbids, or a property s rejects. false means
// "maybe".
func (g *gen) rejects(s map[string]any, base string, v any, depth int) bool {
	if depth > 4 {
		return false
	}
	if c, ok := s["const"]; ok && !same(c, v) {
		return true
	}
	if e, ok := s["enum"].([]any); ok && len(e) > 0 && !slices.ContainsFunc(e, func(x any) bool { return same(x, v) }) {
		return true
	}
	if !typeAdmits(s, v) {
		return true
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return false
	}
	props, _ := s["properties"].(map[string]any)
	for _, r := range requiredOf(s) {
		if _, ok := obj[r]; !ok && !g.leftOut(props[r], base) {
			return true
		}
	}
	_, hasPat := s["patternProperties"]
	for k, pv := range obj {
		ps, declared := props[k]
		if !declared {
			if s["additionalProperties"] == false && !hasPat {
				return true
			}
			continue
		}
		pm, pb := g.peek(ps, base)
		if _, ok := pm["allOf"]; ok {
			pm, pb = g.flatMemo(pm, pb, "", 0, func() map[string]any { return pm })
		}
		if g.rejects(pm, pb, pv, depth+1) {
			return true
		}
	}
	return false
}

// typeAdmits reports whether s's type (when it has one) admits v.
func typeAdmits(s map[string]any, v any) bool {
	var types []string
	switch t := s["type"].(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			if str, ok := x.(string); ok {
				types = append(types, str)
			}
		}
	default:
		return true
	}
	if s["nullable"] == true || s["x-nullable"] == true {
		types = append(types, "null")
	}
	for _, t := range types {
		switch x := v.(type) {
		case nil:
			if t == "null" {
				return true
			}
		case bool:
			if t == "boolean" {
				return true
			}
		case string:
			if t == "string" || t == "file" {
				return true
			}
		case json.Number:
			if t == "number" || t == "integer" && !strings.ContainsAny(string(x), ".eE") {
				return true
			}
		case float64:
			if t == "number" || t == "integer" && x == math.Trunc(x) {
				return true
			}
		case []any:
			if t == "array" {
				return true
			}
		case map[string]any:
			if t == "object" {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// discriminate sets the discriminator property of an object generated
// for alt to alt's mapping key (or, without a mapping, to the name of the
// schema alt refers to), when alt admits that value.
func (g *gen) discriminate(s map[string]any, alt any, base string, v any) any {
	d, ok := s["discriminator"].(map[string]any)
	obj, isObj := v.(map[string]any)
	if !ok || !isObj {
		return v
	}
	prop, _ := d["propertyName"].(string)
	am, _ := alt.(map[string]any)
	ref, _ := am["$ref"].(string)
	if prop == "" || ref == "" {
		return v
	}
	key := ""
	if mapping, ok := d["mapping"].(map[string]any); ok {
		for _, k := range sortedKeys(mapping) {
			if target, _ := mapping[k].(string); target == ref || "#/components/schemas/"+target == ref || strings.HasSuffix(ref, "/"+target) {
				key = k
				break
			}
		}
	}
	if key == "" {
		key = ref[strings.LastIndex(ref, "/")+1:]
	}
	m, b := g.peek(alt, base)
	if _, ok := m["allOf"]; ok {
		m, b = g.flatMemo(m, b, "", 0, func() map[string]any { return m })
	}
	props, _ := m["properties"].(map[string]any)
	if ps, ok := props[prop]; ok {
		pm, pb := g.peek(ps, b)
		if g.rejects(pm, pb, key, 0) {
			return v
		}
	}
	obj[prop] = key
	return obj
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// typeOf picks the type to generate: the first non-null of a 3.1 type
// array, or one inferred from the keywords present.
func typeOf(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if x != "null" {
				if str, ok := x.(string); ok {
					return str
				}
			}
		}
		if len(t) > 0 {
			return "null"
		}
	}
	switch {
	case s["properties"] != nil || s["additionalProperties"] != nil || s["required"] != nil ||
		s["patternProperties"] != nil || s["propertyNames"] != nil || s["minProperties"] != nil:
		return "object"
	case s["items"] != nil || s["prefixItems"] != nil || s["contains"] != nil:
		return "array"
	case s["minimum"] != nil || s["maximum"] != nil || s["multipleOf"] != nil:
		return "number"
	}
	return "string"
}

// flatten merges allOf into one schema: properties and required united,
// bounds tightened, the first value kept for other keywords.
func (g *gen) flatten(s map[string]any, base string, depth int) (map[string]any, string) {
	if depth > 16 {
		return s, base
	}
	out := map[string]any{}
	props := map[string]any{}
	// required united: each name once, so that a schema that requires
	// itself through a oneOf does not grow by a copy a level.
	var req []any
	reqd := map[string]bool{}
	add := func(m map[string]any, b string) {
		for k, v := range m {
			switch k {
			case "allOf", "$ref":
			case "properties":
				if pm, ok := v.(map[string]any); ok {
					for pk, pv := range pm {
						if b != base {
							pv = refAt{asMap(pv), b}
						}
						if prev, seen := props[pk]; seen {
							// Declared by several members: all apply.
							pv = map[string]any{"allOf": []any{prev, pv}}
						}
						props[pk] = pv
					}
				}
			case "required":
				l, _ := v.([]any)
				for _, r := range l {
					if k, ok := r.(string); ok && !reqd[k] {
						reqd[k] = true
						req = append(req, k)
					}
				}
			case "minimum", "minLength", "minItems", "exclusiveMinimum", "minProperties":
				out[k] = maxNum(out[k], v)
			case "maximum", "maxLength", "maxItems", "exclusiveMaximum", "maxProperties":
				out[k] = minNum(out[k], v)
			default:
				sub := k == "items" || k == "additionalProperties"
				if _, isMap := v.(map[string]any); sub && b != base && isMap {
					v = refAt{asMap(v), b}
				}
				prev, seen := out[k]
				switch {
				case !seen:
					out[k] = v
				case sub && prev != false && v != false && prev != true && v != true:
					// Item (or extra property) schemas of several members
					// all apply.
					if _, tuple := v.([]any); !tuple {
						if _, tuple := prev.([]any); !tuple {
							out[k] = map[string]any{"allOf": []any{prev, v}}
						}
					}
				case sub && v == false:
					out[k] = false
				}
			}
		}
	}
	type closedSchema struct {
		declared map[string]bool
		ap       any
		base     string
	}
	var closed []closedSchema
	var walk func(m map[string]any, b string, d int)
	walk = func(m map[string]any, b string, d int) {
		if d > 16 {
			return
		}
		m, b = g.deref(m, b)
		add(m, b)
		if ap, ok := m["additionalProperties"]; ok && ap != true {
			c := closedSchema{declared: map[string]bool{}, ap: ap, base: b}
			pm, _ := m["properties"].(map[string]any)
			for k := range pm {
				c.declared[k] = true
			}
			closed = append(closed, c)
		}
		if l, ok := m["allOf"].([]any); ok {
			for _, x := range l {
				switch y := x.(type) {
				case map[string]any:
					walk(y, b, d+1)
				case refAt:
					walk(y.s, y.base, d+1)
				}
			}
		}
	}
	walk(s, base, depth)
	// additionalProperties of one member applies to the properties the
	// others add: an optional one it does not admit is left out, a
	// required one must satisfy both.
	for _, c := range closed {
		for k, pv := range props {
			if c.declared[k] || c.ap == true {
				continue
			}
			switch {
			case !reqd[k]:
				delete(props, k)
			case c.ap != false:
				props[k] = map[string]any{"allOf": []any{pv, refAt{asMap(c.ap), c.base}}}
			}
		}
	}
	if len(props) > 0 {
		out["properties"] = props
	}
	if len(req) > 0 {
		out["required"] = req
	}
	if _, ok := out["type"]; !ok && len(props) > 0 {
		out["type"] = "object"
	}
	return out, base
}

func asMap(v any) map[string]any {
	switch x := v.(type) {
	case map[string]any:
		return x
	case refAt:
		return x.s
	case bool:
		if !x {
			return map[string]any{"not": map[string]any{}}
		}
	}
	return map[string]any{}
}

// Number reads a number as Generate returns it (a json.Number) or as a
// schema may give it (json.Number, float64, int, int64, uint64).
func Number(v any) (float64, bool) { return num(v) }

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

func maxNum(a, b any) any {
	x, okA := num(a)
	y, okB := num(b)
	if okA && okB && x > y {
		return a
	}
	if !okB && a != nil {
		return a
	}
	return b
}

func minNum(a, b any) any {
	x, okA := num(a)
	y, okB := num(b)
	if okA && okB && x < y {
		return a
	}
	if !okB && a != nil {
		return a
	}
	return b
}

// bounds reads minimum/maximum with their 3.0 (boolean) and 3.1 (number)
// exclusive forms.
func bounds(s map[string]any) (lo, hi float64, loX, hiX, hasLo, hasHi bool) {
	lo, hasLo = num(s["minimum"])
	hi, hasHi = num(s["maximum"])
	switch x := s["exclusiveMinimum"].(type) {
	case bool:
		loX = x && hasLo
	default:
		if v, ok := num(x); ok && (!hasLo || v >= lo) {
			lo, hasLo, loX = v, true, true
		}
	}
	switch x := s["exclusiveMaximum"].(type) {
	case bool:
		hiX = x && hasHi
	default:
		if v, ok := num(x); ok && (!hasHi || v <= hi) {
			hi, hasHi, hiX = v, true, true
		}
	}
	return
}

func (g *gen) integer(s map[string]any) any {
	lo, hi, loX, hiX, hasLo, hasHi := bounds(s)
	l, h := int64(1), int64(1000)
	if hasLo {
		l = int64(math.Ceil(lo))
		if loX && float64(l) == lo {
			l++
		}
	}
	if hasHi {
		h = int64(math.Floor(hi))
		if hiX && float64(h) == hi {
			h--
		}
	}
	if hasLo && !hasHi {
		h = l + 999
	} else if hasHi && !hasLo {
		l = min(1, h)
		if h-l > 999 {
			l = h - 999
		}
		if l > h {
			l = h
		}
	}
	if h < l {
		h = l
	}
	v := l + g.rng.Int64N(h-l+1)
	if m, ok := num(s["multipleOf"]); ok && m >= 1 && m == math.Trunc(m) {
		mi := int64(m)
		v = (v / mi) * mi
		if v < l {
			v += mi
		}
	}
	return json.Number(strconv.FormatInt(v, 10))
}

func (g *gen) number(s map[string]any) any {
	lo, hi, loX, hiX, hasLo, hasHi := bounds(s)
	l, h := 1.0, 1000.0
	if hasLo {
		l = lo
	}
	if hasHi {
		h = hi
	}
	if hasLo && !hasHi {
		h = l + 1000
	} else if hasHi && !hasLo {
		l = math.Min(1, h) - 1000
		if h >= 1 {
			l = math.Max(h-1000, math.Min(0, h))
		}
	}
	if m, ok := num(s["multipleOf"]); ok && m > 0 {
		k := math.Ceil(l / m)
		v := k * m
		if loX && v <= l {
			v += m
		}
		return json.Number(strconv.FormatFloat(v, 'f', -1, 64))
	}
	if h < l {
		h = l
	}
	// Two decimals inside the bounds, away from exclusive ends.
	span := h - l
	v := l + span*(0.1+0.8*g.rng.Float64())
	v = math.Round(v*100) / 100
	if v < l || (loX && v <= l) || v > h || (hiX && v >= h) {
		v = l + span/2
	}
	return json.Number(strconv.FormatFloat(v, 'f', -1, 64))
}

var words = []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"}

func (g *gen) str(s map[string]any, name string) any {
	minL, _ := num(s["minLength"])
	maxL, hasMax := num(s["maxLength"])
	// Negative lengths are invalid; read them as no bound.
	minL = max(minL, 0)
	if maxL < 0 {
		hasMax = false
	}
	format, _ := s["format"].(string)
	var v string
	r := g.rng
	switch format {
	case "date-time":
		v = fmt.Sprintf("20%02d-%02d-%02dT%02d:%02d:%02dZ", 20+r.IntN(6), 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60))
	case "date":
		v = fmt.Sprintf("20%02d-%02d-%02d", 20+r.IntN(6), 1+r.IntN(12), 1+r.IntN(28))
	case "time":
		v = fmt.Sprintf("%02d:%02d:%02dZ", r.IntN(24), r.IntN(60), r.IntN(60))
	case "uuid":
		b := make([]byte, 16)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		v = fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
	case "email":
		v = words[r.IntN(len(words))] + "@example.com"
	case "uri", "url", "uri-reference", "iri", "iri-reference":
		v = "https://example.com/" + words[r.IntN(len(words))]
	case "hostname", "idn-hostname":
		v = words[r.IntN(len(words))] + ".example.com"
	case "ipv4":
		v = fmt.Sprintf("192.0.2.%d", 1+r.IntN(254))
	case "ipv6":
		v = fmt.Sprintf("2001:db8::%x", 1+r.IntN(0xfffe))
	case "byte":
		v = base64.StdEncoding.EncodeToString([]byte(words[r.IntN(len(words))]))
	case "duration":
		v = fmt.Sprintf("PT%dM", 1+r.IntN(59))
	default:
		if pat, ok := s["pattern"].(string); ok {
			hi := -1
			if hasMax {
				hi = int(maxL)
			}
			if v, ok := g.fromPattern(pat, int(minL), hi); ok {
				return v
			}
		}
		if name != "" && minL == 0 && !hasMax {
			v = name + "-" + strconv.Itoa(1+r.IntN(999))
		} else {
			v = words[r.IntN(len(words))]
		}
	}
	if pat, ok := s["pattern"].(string); ok && format != "" {
		// A format's value that the pattern refuses gives way to one made
		// from the pattern.
		if m := g.regexp(pat); m != nil && !m.MatchString(v) {
			hi := -1
			if hasMax {
				hi = int(maxL)
			}
			if pv, ok := g.fromPattern(pat, int(minL), hi); ok {
				return pv
			}
		}
	}
	if n := int(minL); len(v) < n {
		v += strings.Repeat("x", n-len(v))
	}
	if hasMax && len(v) > int(maxL) && format == "" {
		v = v[:int(maxL)]
	}
	return v
}

func (g *gen) array(s map[string]any, base string, depth int) any {
	minI, _ := num(s["minItems"])
	maxI, hasMax := num(s["maxItems"])
	n := 1
	if depth >= g.o.MaxDepth || dynamicRef(s["items"]) {
		// A $dynamicRef is not followed (it names a schema by the
		// dynamic scope), so no item is made for one unless minItems
		// asks: an empty array meets the schema whatever it resolves to.
		n = 0
	}
	if n < int(minI) {
		n = int(minI)
	}
	if hasMax && n > int(maxI) {
		n = int(maxI)
	}
	items := s["items"]
	if ia, ok := items.([]any); ok { // 2019 tuple form
		out := make([]any, 0, len(ia))
		for _, it := range ia {
			out = append(out, g.value(it, base, depth+1, ""))
		}
		return out
	}
	out := make([]any, 0, n)
	if pi, ok := s["prefixItems"].([]any); ok {
		for _, it := range pi {
			out = append(out, g.value(it, base, depth+1, ""))
		}
	}
	if c, ok := s["contains"]; ok && c != false {
		// minContains items (1 by default) satisfy both items and
		// contains; the others are plain items.
		need := 1
		if mc, ok := num(s["minContains"]); ok {
			need = int(mc)
		}
		if hasMax && need > int(maxI)-len(out) {
			need = max(int(maxI)-len(out), 0)
		}
		cs, cb := g.flatMemo(s, base, "contains", 0, func() map[string]any {
			members := []any{c}
			if items != nil {
				members = append(members, items)
			}
			return map[string]any{"allOf": members}
		})
		for i := 0; i < need; i++ {
			out = append(out, g.value(cs, cb, depth+1, ""))
		}
		if n < len(out) {
			n = len(out)
		}
	}
	unique, _ := s["uniqueItems"].(bool)
	for tries := 0; len(out) < n && tries < n+10; tries++ {
		v := g.value(items, base, depth+1, "")
		if unique && slices.ContainsFunc(out, func(o any) bool { return same(o, v) }) {
			continue
		}
		out = append(out, v)
	}
	return out
}

func same(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func (g *gen) object(s map[string]any, base string, depth int) any {
	skip := g.skip
	g.skip = nil
	out := map[string]any{}
	reqs, _ := s["required"].([]any)
	required := func(k string) bool {
		for _, r := range reqs {
			if r == any(k) {
				return true
			}
		}
		return false
	}
	props, _ := s["properties"].(map[string]any)
	names := g.names(props)
	maxP, hasMaxP := num(s["maxProperties"])
	for _, k := range names {
		if required(k) && !g.leftOut(props[k], base) {
			out[k] = g.value(props[k], base, depth+1, k)
		}
	}
	for _, k := range names {
		ps := props[k]
		if required(k) || depth >= g.o.MaxDepth || hasMaxP && len(out) >= int(maxP) || skip[k] {
			continue
		}
		if g.leftOut(ps, base) {
			continue
		}
		if pm, _ := g.peek(ps, base); dynamicRef(pm) {
			continue // an optional $dynamicRef is left out (see array)
		}
		out[k] = g.value(ps, base, depth+1, k)
	}
	for _, k := range requiredOf(s) { // in order: each value draws from the source
		if _, ok := out[k]; !ok && !g.leftOut(props[k], base) {
			if ap, ok := s["additionalProperties"]; ok && ap != false {
				out[k] = g.value(ap, base, depth+1, k)
			} else {
				out[k] = "string"
			}
		}
	}
	minP, _ := num(s["minProperties"])
	if pp, ok := s["patternProperties"].(map[string]any); ok && len(pp) > 0 && len(out) < int(minP) {
		// Names made from the patterns, each with its pattern's schema:
		// they are no additional properties, so additionalProperties:
		// false admits them.
		pats := sortedKeys(pp)
		for i := 0; len(out) < int(minP) && i < 100; i++ {
			p := pats[i%len(pats)]
			k, ok := g.str(map[string]any{"type": "string", "pattern": p}, "").(string)
			if _, taken := out[k]; !ok || taken {
				continue
			}
			out[k] = g.value(pp[p], base, depth+1, k)
		}
	}
	ap, hasAP := s["additionalProperties"]
	// Additional properties: in a map-like object (additionalProperties
	// and no properties), and wherever minProperties asks for more than
	// there are (additionalProperties absent admits any).
	if (!hasAP || ap != false) && (hasAP && len(props) == 0 && depth < g.o.MaxDepth || len(out) < int(minP)) {
		for i := 1; len(out) < max(int(minP), 1) && i < 100; i++ {
			k := g.keyName(s, base, i)
			if _, ok := out[k]; !ok {
				out[k] = g.value(ap, base, depth+1, "")
			}
		}
	}
	return out
}

// keyName is the i-th name of an additional property of s: "key1", or a
// string made from s's propertyNames schema (its pattern, length, enum or
// format) when it has one.
func (g *gen) keyName(s map[string]any, base string, i int) string {
	pn, ok := s["propertyNames"].(map[string]any)
	if !ok {
		return "key" + strconv.Itoa(i)
	}
	ps := make(map[string]any, len(pn)+1)
	for k, v := range pn {
		ps[k] = v
	}
	ps["type"] = "string"
	if k, ok := g.value(ps, base, 0, "").(string); ok {
		return k
	}
	return "key" + strconv.Itoa(i)
}

// names returns the names of props, sorted; the same slice each time for
// the same props when there is a Memo (the caller must not change it).
func (g *gen) names(props map[string]any) []string {
	sorted := func() []string {
		names := make([]string, 0, len(props))
		for k := range props {
			names = append(names, k)
		}
		sort.Strings(names)
		return names
	}
	memo := g.o.Memo
	if memo == nil || len(props) < 2 {
		return sorted()
	}
	k := reflect.ValueOf(props).Pointer()
	if n, ok := memo.names[k]; ok {
		return n.names
	}
	names := sorted()
	if len(memo.names) < maxMemo {
		memo.names[k] = sortedNames{src: props, names: names}
	}
	return names
}

// peek resolves a property schema to read its flags.
// leftOut reports whether the property schema ps is left out of the
// value, required or not: readOnly in a request, writeOnly in a response
// (OpenAPI: required applies to the other direction only). A readOnly or
// writeOnly beside a 3.0 $ref counts.
func (g *gen) leftOut(ps any, base string) bool {
	if ps == nil {
		return false
	}
	key := "writeOnly"
	if g.o.Request {
		key = "readOnly"
	}
	if m, ok := ps.(map[string]any); ok && m[key] == true {
		return true
	}
	pm, _ := g.peek(ps, base)
	return pm[key] == true
}

func (g *gen) peek(ps any, base string) (map[string]any, string) {
	switch x := ps.(type) {
	case map[string]any:
		return g.deref(x, base)
	case refAt:
		return g.deref(x.s, x.base)
	}
	return map[string]any{}, base
}
