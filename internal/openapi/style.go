package openapi

import (
	"fmt"
	"iter"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/decoy-dev/decoy/internal/engine"
)

// style is how a parameter's value is serialised (OpenAPI 3 style, or a
// Swagger 2.0 collectionFormat read as one).
type style uint8

const (
	styleSimple style = iota // path and header default: 1,2,3
	styleForm                // query and cookie default: id=1&id=2, id=1,2
	styleLabel               // path: .1.2 or .1,2
	styleMatrix              // path: ;id=1;id=2 or ;id=1,2
	styleSpace               // query: id=1%202
	stylePipe                // query: id=1|2
	styleDeep                // query: id[role]=admin
	styleTab                 // Swagger 2.0 tsv: id=1%092
)

// styleOf reads a parameter's style and explode, with OpenAPI's defaults
// (form for query and cookie, simple for path and header; explode true
// for form only). A Swagger 2.0 collectionFormat maps to the same styles.
func styleOf(in string, m map[string]any, v2 bool) (style, bool) {
	if v2 {
		switch m["collectionFormat"] {
		case "ssv":
			return styleSpace, false
		case "tsv":
			return styleTab, false
		case "pipes":
			return stylePipe, false
		case "multi":
			return styleForm, true
		}
		if in == "query" || in == "formData" || in == "cookie" {
			return styleForm, false // csv
		}
		return styleSimple, false
	}
	s := styleSimple
	if in == "query" || in == "cookie" {
		s = styleForm
	}
	switch m["style"] {
	case "form":
		s = styleForm
	case "label":
		s = styleLabel
	case "matrix":
		s = styleMatrix
	case "spaceDelimited":
		s = styleSpace
	case "pipeDelimited":
		s = stylePipe
	case "deepObject":
		s = styleDeep
	case "simple":
		s = styleSimple
	}
	explode := s == styleForm
	if e, ok := m["explode"].(bool); ok {
		explode = e
	}
	return s, explode
}

// queryStringer is a request's fields that also give the raw query string
// (without '?'), so that repeated and deepObject parameters can be read.
// Front doors implement it; without it only the first value of a name is
// seen.
type queryStringer interface{ QueryString() string }

// nextPair cuts the first name=value pair off a raw query string, decoding
// both as form values; ok is false when q is empty.
func nextPair(q string) (k, v, rest string, ok bool) {
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if kv == "" {
			continue
		}
		k, v, _ = strings.Cut(kv, "=")
		return formUnescape(k), formUnescape(v), q, true
	}
	return "", "", "", false
}

func formUnescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// queryPairs calls yield with each name=value pair of the request's raw
// query string, decoded, in order; false when the fields do not give it.
func queryPairs(r *engine.Request) (iter.Seq2[string, string], bool) {
	qs, ok := r.Fields.(queryStringer)
	if !ok {
		return nil, false
	}
	return func(yield func(k, v string) bool) {
		q := qs.QueryString()
		for {
			k, v, rest, ok := nextPair(q)
			if !ok || !yield(k, v) {
				return
			}
			q = rest
		}
	}, true
}

// queryValues returns every value of the named query parameter, in order.
func queryValues(r *engine.Request, name string) []string {
	pairs, ok := queryPairs(r)
	if !ok {
		if v, ok := r.Fields.Query(name); ok {
			return []string{v}
		}
		return nil
	}
	var out []string
	for k, v := range pairs {
		if k == name {
			out = append(out, v)
		}
	}
	return out
}

// headerValues is a request's fields that also give every value of a
// header sent in several fields. Front doors implement it.
type headerValues interface {
	Values(name string, f func(string) bool)
}

// headerList is the value of a header sent in several fields as one
// comma-separated list (X-Ids: 1 and X-Ids: 2 are X-Ids: 1,2, as RFC 9110
// section 5.3 says).
func headerList(r *engine.Request, name string) (string, bool) {
	hv, ok := r.Fields.(headerValues)
	if !ok {
		return r.Fields.Header(name)
	}
	var list string
	n := 0
	hv.Values(name, func(v string) bool {
		if n > 0 {
			list += ","
		}
		list += v
		n++
		return true
	})
	return list, n > 0
}

// cookieValues returns every value of the named cookie, in order.
func cookieValues(r *engine.Request, name string) []string {
	var out []string
	h, ok := r.Fields.Header("Cookie")
	if !ok {
		if v, ok := r.Fields.Cookie(name); ok {
			return []string{v}
		}
		return nil
	}
	for part := range strings.SplitSeq(h, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && k == name {
			out = append(out, strings.Trim(v, `"`))
		}
	}
	if len(out) == 0 {
		// HTTP/2 may send cookies in several fields.
		if v, ok := r.Fields.Cookie(name); ok {
			return []string{v}
		}
	}
	return out
}

// delim is the separator of a non-exploded array or object value.
func (s style) delim() string {
	switch s {
	case styleSpace:
		return " "
	case stylePipe:
		return "|"
	case styleTab:
		return "\t"
	}
	return ","
}

// scalarText strips a path parameter's label or matrix prefix; ok is
// false (with a message) when the prefix is missing.
func (p *param) scalarText(v string) (string, string) {
	switch p.style {
	case styleLabel:
		if t, ok := strings.CutPrefix(v, "."); ok {
			return t, ""
		}
		return v, `expected label style ".value"`
	case styleMatrix:
		if t, ok := strings.CutPrefix(v, ";"+p.name+"="); ok {
			return t, ""
		}
		if v == ";"+p.name {
			return "", ""
		}
		return v, `expected matrix style ";` + p.name + `=value"`
	}
	return v, ""
}

// composite reads an array or object parameter from r by its style: the
// instance to validate, whether the parameter was sent, and a message
// when it cannot be read in that style.
func (c *reqCheck) composite(p *param, r *engine.Request) (any, bool, string) {
	var raw string
	switch p.in {
	case "path":
		v, ok := c.value(p, r)
		if !ok {
			return nil, false, ""
		}
		raw = v
	case "header":
		v, ok := headerList(r, p.name)
		if !ok {
			return nil, false, ""
		}
		raw = v
	case "query", "formData":
		return c.queryComposite(p, r)
	case "cookie":
		if p.typ == "object" && p.explode {
			// Each property is a cookie of its own: role=admin; name=alex.
			obj := map[string]any{}
			for k, t := range p.props {
				if vs := cookieValues(r, k); len(vs) > 0 {
					obj[k] = coerce(vs[0], t, "")
				}
			}
			return obj, len(obj) > 0, ""
		}
		vs := cookieValues(r, p.name)
		if len(vs) == 0 {
			return nil, false, ""
		}
		if p.typ == "array" && p.explode {
			return p.items(vs), true, ""
		}
		raw = vs[0]
	default:
		return nil, false, ""
	}
	if p.typ == "array" {
		parts, msg := p.pathParts(raw)
		if msg != "" {
			return nil, true, msg
		}
		return p.items(parts), true, ""
	}
	// An object.
	if p.in == "path" && p.explode && (p.style == styleMatrix) {
		// ;role=admin;name=alex
		obj := map[string]any{}
		for part := range strings.SplitSeq(strings.TrimPrefix(raw, ";"), ";") {
			k, v, ok := strings.Cut(part, "=")
			if !ok {
				return nil, true, `expected matrix style ";name=value;..."`
			}
			obj[k] = coerce(v, p.props[k], "")
		}
		return obj, true, ""
	}
	parts, msg := p.pathParts(raw)
	if msg != "" {
		return nil, true, msg
	}
	return p.object(parts, p.explode)
}

// pathParts splits a path, header or cookie value into its items by style.
func (p *param) pathParts(raw string) ([]string, string) {
	sep := p.style.delim() // ",", or a Swagger 2.0 ssv, tsv or pipes
	switch p.style {
	case styleLabel:
		t, ok := strings.CutPrefix(raw, ".")
		if !ok {
			return nil, `expected label style ".value"`
		}
		raw = t
		if p.explode {
			sep = "."
		}
	case styleMatrix:
		if p.explode && p.typ == "array" {
			var out []string
			for part := range strings.SplitSeq(strings.TrimPrefix(raw, ";"), ";") {
				v, ok := strings.CutPrefix(part, p.name+"=")
				if !ok {
					return nil, `expected matrix style ";` + p.name + `=value;` + p.name + `=value"`
				}
				out = append(out, v)
			}
			return out, ""
		}
		t, ok := strings.CutPrefix(raw, ";"+p.name+"=")
		if !ok {
			return nil, `expected matrix style ";` + p.name + `=value"`
		}
		raw = t
	}
	if raw == "" {
		return nil, ""
	}
	parts := strings.Split(raw, sep)
	if p.in == "header" {
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
	}
	return parts, ""
}

// queryComposite reads an array or object query parameter.
func (c *reqCheck) queryComposite(p *param, r *engine.Request) (any, bool, string) {
	if p.typ == "object" {
		switch {
		case p.style == styleDeep:
			return deepObject(p, r)
		case p.free:
			return freeForm(p, r)
		case p.explode && p.style == styleForm:
			// Each property is a parameter of its own: ?role=admin&name=alex.
			obj := map[string]any{}
			for k, t := range p.props {
				if vs := queryValues(r, k); len(vs) > 0 {
					obj[k] = coerce(vs[0], t, "")
				}
			}
			if len(obj) == 0 {
				return nil, false, ""
			}
			return obj, true, ""
		}
		vs := queryValues(r, p.name)
		if len(vs) == 0 {
			return nil, false, ""
		}
		if vs[0] == "" {
			return map[string]any{}, true, ""
		}
		return p.object(strings.Split(vs[0], p.style.delim()), false)
	}
	vs := queryValues(r, p.name)
	if len(vs) == 0 {
		return nil, false, ""
	}
	if p.explode {
		return p.items(vs), true, ""
	}
	if vs[0] == "" {
		return []any{}, true, ""
	}
	return p.items(strings.Split(vs[0], p.style.delim())), true, ""
}

// freeForm reads an exploded form object that admits properties of any
// name (additionalProperties): every query parameter that no other
// parameter of the operation takes (see freeOthers) is one of its
// properties.
func freeForm(p *param, r *engine.Request) (any, bool, string) {
	pairs, ok := queryPairs(r)
	if !ok {
		return nil, false, ""
	}
	var obj map[string]any
	for k, v := range pairs {
		if slices.Contains(p.others, k) || slices.ContainsFunc(p.brackets, func(b string) bool { return strings.HasPrefix(k, b) }) {
			continue
		}
		if obj == nil {
			obj = map[string]any{}
		}
		if _, dup := obj[k]; !dup {
			obj[k] = p.deep.child(k).read(v)
		}
	}
	if obj == nil {
		return nil, false, ""
	}
	return obj, true, ""
}

// maxDeep bounds the brackets of a deepObject key (name[a][b]...).
const maxDeep = 32

// deepObject reads ?name[a]=1&name[b][c]=2 into {"a": 1, "b": {"c": 2}},
// each value as the type its schema gives it at that place. An array
// property is read as clients write one: repeated (name[a]=1&name[a]=2),
// with empty brackets (name[a][]=1, qs's "brackets") or indices
// (name[a][0]=1, qs's default; name[a][0][b]=1 for an array of objects);
// a value with a comma is one item.
func deepObject(p *param, r *engine.Request) (any, bool, string) {
	pairs, ok := queryPairs(r)
	if !ok {
		return nil, false, ""
	}
	var obj map[string]any
	var segs []string
	for k, v := range pairs {
		if !strings.HasPrefix(k, p.name+"[") {
			continue
		}
		var msg string
		if segs, msg = bracketKey(k, segs[:0]); msg == "malformed" {
			return nil, true, "malformed deepObject key " + k
		} else if msg != "" {
			return nil, true, "deepObject key " + msg + " " + k
		}
		if obj == nil {
			obj = map[string]any{}
		}
		deepSet(obj, p.deep, segs[1:], v)
	}
	if obj == nil {
		return nil, false, ""
	}
	return obj, true, ""
}

// bracketKey splits name[a][b] into name, a, b (appended to segs); msg
// says why k is not such a key: "malformed", or nested deeper than
// maxDeep.
func bracketKey(k string, segs []string) (_ []string, msg string) {
	name, tail, ok := strings.Cut(k, "[")
	if !ok || name == "" {
		return nil, "malformed"
	}
	segs = append(segs, name)
	for {
		key, after, ok := strings.Cut(tail, "]")
		if !ok {
			return nil, "malformed"
		}
		segs = append(segs, key)
		if after == "" {
			return segs, ""
		}
		if tail, ok = strings.CutPrefix(after, "["); !ok {
			return nil, "malformed"
		}
		if len(segs) > maxDeep {
			return nil, fmt.Sprintf("nested deeper than %d levels:", maxDeep)
		}
	}
}

// deepSet puts the value v of the key path segs into obj, whose schema
// is sh (nil: unknown, values stay strings).
func deepSet(obj map[string]any, sh *shape, segs []string, v string) {
	key, rest := segs[0], segs[1:]
	sub := sh.child(key)
	if sub != nil && sub.typ == "array" {
		list, _ := obj[key].([]any)
		switch {
		case len(rest) == 0:
			// name[a]=1&name[a]=2: each value one item. A comma is data
			// (name[a]=1,2 is the item "1,2"): OpenAPI defines no
			// arrays in a deepObject, and qs writes commas only when
			// asked to (arrayFormat "comma").
			obj[key] = append(list, sub.items.read(v))
			return
		case len(rest) == 1 && isIndex(rest[0]):
			// name[a][]=1, name[a][0]=1.
			obj[key] = append(list, sub.items.read(v))
			return
		case isIndex(rest[0]):
			// name[a][0][b]=1: an item that is an object.
			var elem map[string]any
			if n, err := strconv.Atoi(rest[0]); err == nil && n >= 0 && n < len(list) {
				elem, _ = list[n].(map[string]any)
			}
			if elem == nil {
				elem = map[string]any{}
				list = append(list, elem)
			}
			obj[key] = list
			deepSet(elem, sub.items, rest[1:], v)
			return
		}
	}
	if len(rest) == 0 {
		obj[key] = sub.read(v)
		return
	}
	m, _ := obj[key].(map[string]any)
	if m == nil {
		m = map[string]any{}
		obj[key] = m
	}
	deepSet(m, sub, rest, v)
}

// isIndex reports whether a bracket holds an array index: empty or digits.
func isIndex(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// items reads array items as the item type.
func (p *param) items(parts []string) []any {
	out := make([]any, len(parts))
	for i, s := range parts {
		out[i] = coerce(s, p.itemTyp, "")
	}
	return out
}

// object reads name,value pairs (explode false: role,admin,name,alex) or
// name=value items (explode true: role=admin,name=alex).
func (p *param) object(parts []string, explode bool) (any, bool, string) {
	obj := make(map[string]any, len(parts)/2+1)
	if explode {
		for _, s := range parts {
			k, v, ok := strings.Cut(s, "=")
			if !ok {
				return nil, true, "expected name=value pairs"
			}
			obj[k] = coerce(v, p.props[k], "")
		}
		return obj, true, ""
	}
	if len(parts)%2 != 0 {
		return nil, true, "expected name,value pairs"
	}
	for i := 0; i < len(parts); i += 2 {
		obj[parts[i]] = coerce(parts[i+1], p.props[parts[i]], "")
	}
	return obj, true, ""
}

// shape is the part of a schema that tells how to read text at a place
// of a value: the type there, and the shapes of properties and items.
type shape struct {
	typ   string
	props map[string]*shape
	addl  *shape // additionalProperties, when a schema
	items *shape
}

// child is the shape of the property key; nil when unknown.
func (s *shape) child(key string) *shape {
	if s == nil {
		return nil
	}
	if c, ok := s.props[key]; ok {
		return c
	}
	return s.addl
}

// read reads text as the shape's type (a string when it has none).
func (s *shape) read(v string) any {
	if s == nil {
		return v
	}
	it := ""
	if s.items != nil {
		it = s.items.typ
	}
	return coerce(v, s.typ, it)
}
