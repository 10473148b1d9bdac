package openapi

import (
	"bytes"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ToJSONSchema rewrites an OpenAPI document's tree so that its schemas read
// as JSON Schema 2020-12: 3.0's nullable and Swagger's x-nullable become a
// null type, boolean exclusiveMinimum/Maximum become numbers, keywords
// beside a 3.0 $ref are dropped (3.0 ignores them), except readOnly and
// writeOnly, which change nothing a validator checks and Swagger's type file
// is dropped. It returns a new tree; v is not changed.
func ToJSONSchema(v any, oas31 bool) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = ToJSONSchema(e, oas31)
		}
		return out
	case map[string]any:
		if ref, ok := x["$ref"].(string); ok && !oas31 {
			out := map[string]any{"$ref": ref}
			for _, k := range []string{viewRequest, viewResponse} {
				if x[k] == true {
					out[k] = true // annotations, kept for dropRequired
				}
			}
			return out
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = ToJSONSchema(e, oas31)
		}
		for _, side := range []string{"Minimum", "Maximum"} {
			ex := "exclusive" + side
			if b, ok := out[ex].(bool); ok {
				delete(out, ex)
				lim := strings.ToLower(side)
				if b && out[lim] != nil {
					out[ex] = out[lim]
					delete(out, lim)
				}
			}
		}
		if out["type"] == "file" {
			delete(out, "type")
		}
		nullable := out["nullable"] == true || out["x-nullable"] == true
		if nullable && !oas31 {
			delete(out, "nullable")
			delete(out, "x-nullable")
			switch t := out["type"].(type) {
			case string:
				out["type"] = []any{t, "null"}
				if e, ok := out["enum"].([]any); ok {
					out["enum"] = append(append([]any(nil), e...), nil)
				}
			default:
				return map[string]any{"anyOf": []any{out, map[string]any{"type": "null"}}}
			}
		}
		return out
	}
	return v
}

// validator checks values against the schemas of a document. It is safe
// for concurrent use: compiling is done under mu, one schema at a time,
// and the compiled schemas are safe for concurrent use.
type validator struct {
	mu    sync.Mutex
	c     *jsonschema.Compiler
	cache map[string]*jsonschema.Schema
	errs  map[string]error
	oas31 bool
	f     *files
	view  string // viewRequest or viewResponse (see dropRequired)
}

type treeLoader struct {
	f     *files
	oas31 bool
	trees *trees
	view  string
}

func (l treeLoader) Load(u string) (any, error) {
	p, err := url.Parse(u)
	if err == nil && p.Scheme != "file" {
		// The $id of a schema embedded in a document: the compiler finds
		// $ids only where a schema is expected, and an OpenAPI document's
		// components are not such a place.
		if node, ok := l.f.byID("", strings.TrimSuffix(u, "#")); ok {
			return viewOf(l.f, ToJSONSchema(node, l.oas31), "", l.view), nil
		}
		return nil, remoteRef(u)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot load %s", u)
	}
	path := filepath.FromSlash(p.Path)
	doc, err := l.f.get(path)
	if err != nil {
		return nil, err
	}
	return viewOf(l.f, l.trees.get(path, doc), path, l.view), nil
}

// viewOf is the JSON Schema tree v (of the file at file) as the view
// checks it: without the properties it need not have in `required` (see
// dropRequired), and for requests with discriminators followed (see
// discriminated).
func viewOf(f *files, v any, file, view string) any {
	v = dropRequired(f, v, file, view)
	if view == viewRequest {
		v = discriminated(v, func(ref string) bool {
			if file == "" {
				return true // a schema found by its $id: refs are read against it
			}
			_, _, err := f.resolve(file, ref)
			return err == nil
		})
	}
	return v
}

// newValidators returns the validators of a document's requests and of
// its responses (see dropRequired), which share the document's trees.
func newValidators(f *files, oas31 bool) (req, resp *validator) {
	t := &trees{oas31: oas31, m: map[string]any{}}
	return newValidator(f, oas31, t, viewRequest), newValidator(f, oas31, t, viewResponse)
}

func newValidator(f *files, oas31 bool, t *trees, view string) *validator {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(treeLoader{f: f, oas31: oas31, trees: t, view: view})
	c.UseRegexpEngine(compilePattern)
	if view == viewRequest {
		// Requests only: a oneOf or anyOf with a discriminator checks
		// the schema the discriminator names (see discriminator.go).
		c.AssertVocabs()
		c.RegisterVocabulary(discVocab)
		// Requests only: a document's own examples (an int32 that is a
		// timestamp in milliseconds) are served as they were.
		for _, f := range intFormats {
			c.RegisterFormat(f)
		}
	}
	return &validator{c: c, cache: map[string]*jsonschema.Schema{}, errs: map[string]error{}, oas31: oas31, f: f, view: view}
}

// patternTimeout bounds one match of a pattern that only ECMA-262 reads
// (a backtracking engine), so that no request waits on it for long.
const patternTimeout = 20 * time.Millisecond

// compilePattern compiles a schema's pattern: with Go's regexp when it
// reads it (linear in time, as the quick parameter checks use it), else
// as ECMA-262, which JSON Schema specifies, with dlclark/regexp2
// (lookarounds, backreferences, \uXXXX, counts over 1000). A match that
// runs out of time counts as a match: decoy does not refuse a request for
// its own engine's limit.
func compilePattern(s string) (jsonschema.Regexp, error) {
	if re, err := regexp.Compile(s); err == nil {
		return re, nil
	}
	re, err := regexp2.Compile(s, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	re.MatchTimeout = patternTimeout
	return ecmaPattern{re}, nil
}

// ecmaPattern is a pattern compiled as ECMA-262.
type ecmaPattern struct{ re *regexp2.Regexp }

func (p ecmaPattern) MatchString(s string) bool {
	ok, err := p.re.MatchString(s)
	return ok || err != nil
}

func (p ecmaPattern) String() string { return p.re.String() }

func fileURL(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

// check validates the JSON text body against the schema at ptr in file
// (node, the schema itself; see schema).
func (v *validator) check(file, ptr string, node any, body []byte) error {
	s, err := v.schema(file, ptr, node)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return err
	}
	if _, num, ok := hugeNumber(inst, ""); ok {
		return fmt.Errorf("%s", hugeMsg(num)) // the validator cannot read it
	}
	return s.Validate(inst)
}

// schema returns the compiled schema at ptr in file.
//
// Compiling a location of the document not seen before costs the
// compiler a copy of what it holds of the document, and a document with
// thousands of operations would make thousands of copies. So a schema
// that is a $ref alone is compiled where it points, once for every schema
// that names it, and another schema is compiled as a resource of its own
// (see detach); the named schemas it references are compiled in the
// document, once each.
func (v *validator) schema(file, ptr string, node any) (*jsonschema.Schema, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	doc := fileURL(file)
	loc := doc + "#" + ptr
	base, err := url.Parse(doc)
	if ref, ok := onlyRef(node, v.oas31); ok && err == nil {
		if t, err := base.Parse(ref); err == nil {
			loc = t.String()
		}
	}
	if s, ok := v.cache[loc]; ok {
		return s, nil
	}
	if err, bad := v.errs[loc]; bad {
		return nil, err
	}
	var s *jsonschema.Schema
	if base != nil {
		if res, tree, ok := v.detach(base, file, ptr, node); ok && v.c.AddResource(res, tree) == nil {
			s, err = v.c.Compile(res)
		}
	}
	if s == nil {
		// Not detached, or it does not compile so: where it is, which
		// also words the error as it is in the document.
		s, err = v.c.Compile(loc)
	}
	if err != nil {
		err = fmt.Errorf("schema does not compile: %v", err)
		v.errs[loc] = err
		return nil, err
	}
	v.cache[loc] = s
	return s, nil
}

// compileMem compiles schema (JSON Schema, not an OpenAPI one), which decoy
// made, as the resource loc; nil when it does not compile.
func (v *validator) compileMem(loc string, schema any) *jsonschema.Schema {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.c.AddResource(loc, schema); err != nil {
		return nil
	}
	s, _ := v.c.Compile(loc)
	return s
}

// detach returns an inline schema (node, at ptr in the document at base)
// as a resource of its own, at the URL res, with its references made
// absolute, so that compiling it costs no copy of the document (see
// schema); the schemas it references are compiled in the document, once
// each. ok is false for a
// schema that names resources or anchors of its own ($id, $anchor,
// $dynamicAnchor, $dynamicRef), which only the document can resolve.
func (v *validator) detach(base *url.URL, file, ptr string, node any) (res string, doc any, ok bool) {
	if _, isMap := node.(map[string]any); !isMap {
		return "", nil, false
	}
	m, _ := viewOf(v.f, ToJSONSchema(node, v.oas31), file, v.view).(map[string]any)
	if m == nil || !absoluteRefs(m, base) {
		return "", nil, false
	}
	return base.String() + "?schema=" + url.QueryEscape(ptr), m, true
}

// absoluteRefs rewrites, in place, each $ref of the schema m as an
// absolute URL against base, following the keywords whose values are
// schemas (so that a property named "default" is a schema, and an enum
// value with a "$ref" key is data). It returns false when the schema
// names resources or anchors of its own.
func absoluteRefs(m map[string]any, base *url.URL) bool {
	for k, e := range m {
		switch k {
		case "$id", "$anchor", "$dynamicAnchor", "$dynamicRef", "$recursiveAnchor", "$recursiveRef":
			return false
		case "$ref":
			if ref, ok := e.(string); ok {
				u, err := base.Parse(ref)
				if err != nil {
					return false
				}
				m[k] = u.String()
			}
		case "properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies":
			if named, ok := e.(map[string]any); ok {
				for _, sub := range named {
					if !subschemas(sub, base) {
						return false
					}
				}
			}
		case discKeyword:
			if kw, ok := e.(map[string]any); ok {
				mapping, _ := kw["mapping"].(map[string]any)
				for _, sub := range mapping {
					if !subschemas(sub, base) {
						return false
					}
				}
				if !subschemas(kw["otherwise"], base) {
					return false
				}
			}
		case "items", "prefixItems", "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
			"additionalProperties", "unevaluatedProperties", "unevaluatedItems", "additionalItems",
			"contains", "propertyNames", "contentSchema":
			if !subschemas(e, base) {
				return false
			}
		}
	}
	return true
}

// subschemas applies absoluteRefs to v, a schema or a list of them.
func subschemas(v any, base *url.URL) bool {
	switch x := v.(type) {
	case map[string]any:
		return absoluteRefs(x, base)
	case []any:
		for _, e := range x {
			if !subschemas(e, base) {
				return false
			}
		}
	}
	return true
}

// onlyRef returns the reference of a schema that is a $ref and nothing
// else (before 3.1, whatever is beside a $ref is ignored).
func onlyRef(node any, oas31 bool) (string, bool) {
	m, ok := node.(map[string]any)
	if !ok || oas31 && len(m) != 1 {
		return "", false
	}
	ref, ok := m["$ref"].(string)
	return ref, ok
}
