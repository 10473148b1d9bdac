package openapi

import (
	"maps"
	"sync"
)

// The two views of a document's schemas. OpenAPI (3.0 and 3.1, Schema
// Object readOnly/writeOnly; Swagger 2.0 readOnly) says that a readOnly
// property is not sent in requests and a writeOnly one not in responses,
// and that a `required` naming one applies to the other direction only.
// So requests are checked against the schemas with their readOnly
// properties taken out of `required`, and responses with their writeOnly
// ones (the generator leaves writeOnly properties out of responses, even
// when required).
const (
	viewResponse = "writeOnly" // the keyword whose properties a response need not have
	viewRequest  = "readOnly"  // the keyword whose properties a request need not have
)

// maxFlagDepth bounds the $refs and allOf members followed to find
// whether a property is readOnly or writeOnly.
const maxFlagDepth = 8

// trees holds each file's tree rewritten as JSON Schema (ToJSONSchema),
// shared by the request and the response validators: a view that changes
// nothing is the tree itself, and one that does shares what it does not
// change (see dropRequired).
type trees struct {
	mu    sync.Mutex
	oas31 bool
	m     map[string]any
}

func (t *trees) get(path string, doc any) any {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.m[path]; ok {
		return s
	}
	s := ToJSONSchema(doc, t.oas31)
	t.m[path] = s
	return s
}

// dropRequired returns the tree v (a JSON Schema tree from ToJSONSchema of
// the file at file) with the properties marked key (viewRequest or
// viewResponse) taken out of each `required` list: the properties of the
// same schema, of its allOf members (through $refs), and, for a schema
// inside an allOf, oneOf or anyOf, those of the schema around it. A
// property is marked when its schema, the schema its $ref names (a
// readOnly beside a 3.0 $ref counts: ToJSONSchema keeps it), or one of
// its allOf members says key: true. Nothing is copied where nothing
// changes: the result shares v's unchanged subtrees, and is v itself when
// nothing changes.
func dropRequired(f *files, v any, file, key string) any {
	d := dropper{f: f, file: file, key: key}
	out, _ := d.walk(v, nil)
	return out
}

type dropper struct {
	f         *files
	file, key string
}

func (d *dropper) walk(v any, outer map[string]bool) (any, bool) {
	switch x := v.(type) {
	case []any:
		var out []any
		for i, e := range x {
			ne, ch := d.walk(e, outer)
			if ch {
				if out == nil {
					out = append([]any(nil), x...)
				}
				out[i] = ne
			}
		}
		if out == nil {
			return x, false
		}
		return out, true
	case map[string]any:
		marked := d.marked(x, d.file, 0)
		for n := range outer {
			if marked == nil {
				marked = map[string]bool{}
			}
			marked[n] = true
		}
		var out map[string]any
		set := func(k string, nv any) {
			if out == nil {
				out = maps.Clone(x)
			}
			out[k] = nv
		}
		for k, e := range x {
			var inner map[string]bool
			switch k {
			case "required":
				if _, list := e.([]any); list {
					continue // below
				}
			case "allOf", "oneOf", "anyOf":
				inner = marked
			}
			if ne, ch := d.walk(e, inner); ch {
				set(k, ne)
			}
		}
		if req, ok := x["required"].([]any); ok && len(marked) > 0 {
			keep := make([]any, 0, len(req))
			for _, r := range req {
				if s, ok := r.(string); !ok || !marked[s] {
					keep = append(keep, r)
				}
			}
			if len(keep) != len(req) {
				set("required", keep)
			}
		}
		if out == nil {
			return x, false
		}
		return out, true
	}
	return v, false
}

// marked returns the names of the properties of schema m (in file),
// and of its allOf members, that are marked d.key; nil when none are.
func (d *dropper) marked(m map[string]any, file string, depth int) map[string]bool {
	var out map[string]bool
	if props, ok := m["properties"].(map[string]any); ok {
		for name, p := range props {
			if d.isMarked(p, file, depth) {
				if out == nil {
					out = map[string]bool{}
				}
				out[name] = true
			}
		}
	}
	if all, ok := m["allOf"].([]any); ok && depth < maxFlagDepth {
		for _, e := range all {
			em, efile, err := d.f.deref(e, file)
			if err != nil {
				continue
			}
			for n := range d.marked(em, efile, depth+1) {
				if out == nil {
					out = map[string]bool{}
				}
				out[n] = true
			}
		}
	}
	return out
}

// isMarked reports whether the property schema p (in file) is marked
// d.key, itself, through its $ref or through an allOf member.
func (d *dropper) isMarked(p any, file string, depth int) bool {
	pm, ok := p.(map[string]any)
	if !ok {
		return false
	}
	if pm[d.key] == true {
		return true
	}
	if depth >= maxFlagDepth {
		return false
	}
	if _, isRef := pm["$ref"]; isRef {
		m, mfile, err := d.f.deref(pm, file)
		return err == nil && d.isMarked(m, mfile, depth+1)
	}
	all, _ := pm["allOf"].([]any)
	for _, e := range all {
		if d.isMarked(e, file, depth+1) {
			return true
		}
	}
	return false
}
