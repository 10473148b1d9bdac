package openapi

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/fake"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Bodies generated from a schema vary with the request: an operation's
// data is a function of the seed, the operation and the request's path and
// declared query parameters, so GET /users/1 and /users/2 get different
// users and each the same bytes every time. A response property named like
// a path parameter echoes the request's value when its schema allows it
// ({"id": 42} for /users/42). Examples never vary.
//
// A body is made on a request key's first request (generated, echoed,
// validated against the response schema: a body that does not validate
// is replaced by the one rendered at load) and kept, up to maxVaried keys
// per operation; past that the operation's bodies start over.

// maxVaried is how many request keys an operation keeps bodies for.
const maxVaried = 4096

// generated is what render1 kept of a default response whose body was
// generated: how to generate it again for another request.
type generated struct {
	m       *media
	fkey    string
	variant int
	// examples: the schema's own examples were used where they exist
	// (those properties do not vary).
	examples bool
	// text: the media type is not JSON, so a string value is sent as it
	// is, not as a JSON string (as render1 does).
	text bool
	// xml: the media type is XML, so a value that is not a string is
	// written as XML (see encodeXML).
	xml bool
}

// varyShared is what an OpenAPI document's variers share: the document (to
// follow $refs) and a lock, since generation reads the document's lazily
// loaded files.
type varyShared struct {
	mu   sync.Mutex
	f    *files
	seed uint64
	memo *fake.Memo // filled as requests come (not the load's: that one is dropped)
}

// varier makes the body of one operation's generated response per request.
type varier struct {
	sh     *varyShared
	g      generated
	schema *jsonschema.Schema // the response schema, compiled at load
	segs   int                // the path template's number of segments
	params map[string]pathVar // the path parameters, by name
	rest   bool               // the template ends with {name*}
	query  []string           // declared query parameters, sorted
	cache  sync.Map           // key → *varied
	n      atomic.Int64
}

type varied struct {
	base *engine.Response
	resp *engine.Response
}

// newVarier returns the varier of a generated response, or nil when the
// operation has no path or query parameter (its body cannot vary) or the
// schema does not compile.
func (b *builder) newVarier(full string, g generated, query []string) engine.Varier {
	segs := strings.Count(full, "/")
	params := pathVars(full)
	if len(params) == 0 && len(query) == 0 {
		return nil
	}
	schema, err := b.val.schema(g.m.file, g.m.schemaAt, g.m.schema)
	if err != nil {
		return nil
	}
	sort.Strings(query)
	v := &varier{sh: b.vshared, g: g, schema: schema, segs: segs, params: params, query: query}
	for _, p := range params {
		v.rest = v.rest || p.rest
	}
	return v
}

// key is what identifies a request for v: the path, and the declared query
// parameters' values in a fixed order.
func (v *varier) key(r *engine.Request) string {
	if len(v.query) == 0 {
		return r.Path
	}
	var sb strings.Builder
	sb.WriteString(r.Path)
	for _, name := range v.query {
		vals := queryValues(r, name)
		if len(vals) == 0 {
			continue
		}
		sb.WriteByte('?')
		sb.WriteString(name)
		for _, val := range vals {
			sb.WriteByte('=')
			sb.WriteString(val)
		}
	}
	return sb.String()
}

// Vary returns base with the body for r's key.
func (v *varier) Vary(r *engine.Request, base *engine.Response) *engine.Response {
	k := v.key(r)
	if e, ok := v.cache.Load(k); ok {
		if e := e.(*varied); e.base == base {
			return e.resp
		}
	}
	body := v.body(r, k)
	if body == nil {
		return base
	}
	nr := *base
	nr.Body = body
	if v.n.Add(1) > maxVaried {
		v.cache.Clear()
		v.n.Store(1)
	}
	// k may view the front door's reused buffer (the HTTP/1.1 loop's
	// decoded path is not copied): a key kept past the request must be
	// copied, or the next request on the connection rewrites it and
	// /items/xyz finds the body of /items/abc.
	v.cache.Store(strings.Clone(k), &varied{base: base, resp: &nr})
	return &nr
}

// body generates the body for a request key, with the path parameters
// echoed where the schema allows; nil to keep the body made at load.
func (v *varier) body(r *engine.Request, k string) []byte {
	v.sh.mu.Lock()
	o := fake.Options{Seed: v.sh.seed, Resolve: v.sh.f.resolve, Variant: v.g.variant, Examples: v.g.examples, Memo: v.sh.memo}
	val, err := fake.Generate(v.g.m.schema, v.g.m.file, v.g.fkey+"|"+k, o)
	v.sh.mu.Unlock()
	if err != nil && val == nil {
		return nil
	}
	echoed := false
	if pv := v.pathValues(r.Path); len(pv) > 0 {
		echoed = echo(val, pv)
	}
	if b, ok := v.valid(val); ok {
		return v.encoded(val, b)
	}
	if echoed {
		// The echoed values do not fit the schema: the generated ones do.
		v.sh.mu.Lock()
		val, _ = fake.Generate(v.g.m.schema, v.g.m.file, v.g.fkey+"|"+k, o)
		v.sh.mu.Unlock()
		if b, ok := v.valid(val); ok {
			return v.encoded(val, b)
		}
	}
	return nil
}

// encoded is the body sent for val, whose JSON is b: a string as it is in
// a media type that is not JSON (text/plain), as render1 sends it.
func (v *varier) encoded(val any, b []byte) []byte {
	if s, ok := val.(string); ok && v.g.text {
		return []byte(s)
	}
	if v.g.xml {
		return v.g.m.encodeXML(v.sh.f.deref, val)
	}
	return b
}

// valid encodes val and checks it against the response schema.
func (v *varier) valid(val any) ([]byte, bool) {
	b := marshal(val)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil || v.schema.Validate(inst) != nil {
		return nil, false
	}
	return b, true
}

// pathValues maps the path parameters' names to the request's values.
func (v *varier) pathValues(path string) map[string]string {
	if len(v.params) == 0 {
		return nil
	}
	if n := strings.Count(path, "/"); n != v.segs && !(v.rest && n > v.segs) {
		return nil
	}
	out := make(map[string]string, len(v.params))
	for name, pv := range v.params {
		if s, ok := pv.value(path); ok {
			out[name] = s
		}
	}
	return out
}

// echo sets the properties named like path parameters, in the top-level
// object or in the objects of a top-level array, to the request's values,
// converted to the generated value's type. It reports whether it set any.
func echo(val any, pv map[string]string) bool {
	set := false
	apply := func(obj map[string]any) {
		for name, s := range pv {
			old, ok := obj[name]
			if !ok {
				continue
			}
			if nv, ok := convertLike(old, s); ok {
				obj[name] = nv
				set = true
			}
		}
	}
	switch x := val.(type) {
	case map[string]any:
		apply(x)
	case []any:
		for _, it := range x {
			if obj, ok := it.(map[string]any); ok {
				apply(obj)
			}
		}
	}
	return set
}

// convertLike converts s to the JSON type of like.
func convertLike(like any, s string) (any, bool) {
	switch like.(type) {
	case string:
		return s, true
	case bool:
		b, err := strconv.ParseBool(s)
		return b, err == nil
	case json.Number, float64, int, int64:
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, true
		}
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
	return nil, false
}

// queryNames returns the names of an operation's declared query parameters
// (the path item's and the operation's).
func (b *builder) queryNames(op map[string]any, file string) []string {
	var names []string
	seen := map[string]bool{}
	add := func(list []any, f string) {
		for _, p := range list {
			m, _, err := b.f.deref(p, f)
			if err != nil {
				continue
			}
			if in, _ := m["in"].(string); in != "query" {
				continue
			}
			if n, _ := m["name"].(string); n != "" && !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	add(b.itemParams, b.itemFile)
	if l, ok := op["parameters"].([]any); ok {
		add(l, file)
	}
	return names
}
