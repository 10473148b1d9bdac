package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/decoy-dev/decoy/internal/fake"
	"github.com/decoy-dev/decoy/internal/problem"
	"github.com/decoy-dev/decoy/internal/stub"
	"golang.org/x/net/http/httpguts"
)

func (b *builder) response(key string, code int, r map[string]any, file, ptr string, op map[string]any) response {
	out := response{code: code, key: key, headers: map[string]stub.HeaderValues{}}
	out.desc, _ = r["description"].(string)
	if b.v2 {
		types := strList(op["produces"])
		if len(types) == 0 {
			types = b.produces
		}
		if len(types) == 0 {
			types = []string{"application/json"}
		}
		exs, _ := r["examples"].(map[string]any)
		if r["schema"] != nil || len(exs) > 0 {
			for _, t := range orderTypes(types) {
				m := media{typ: t, file: file, ptr: ptr, schema: r["schema"], schemaAt: ptr + "/schema"}
				if ex, ok := exs[t]; ok {
					m.example, m.hasEx = ex, true
				}
				out.media = append(out.media, m)
			}
		}
	} else if content, ok := r["content"].(map[string]any); ok {
		for _, t := range orderTypes(sortedKeys(content)) {
			mo, _ := content[t].(map[string]any)
			mptr := ptr + "/content/" + escape(t)
			m := media{typ: t, file: file, ptr: mptr, schema: mo["schema"], schemaAt: mptr + "/schema"}
			if ex, ok := mo["example"]; ok {
				m.example, m.hasEx = ex, true
			}
			if exs, ok := mo["examples"].(map[string]any); ok {
				m.named = map[string]any{}
				for name, e := range exs {
					em, _, err := b.f.deref(e, file)
					if err != nil {
						b.problem(mptr+"/examples/"+escape(name), "%v", err)
						continue
					}
					if v, ok := em["value"]; ok {
						m.named[name] = v
					}
				}
			}
			out.media = append(out.media, m)
		}
	}
	if hs, ok := r["headers"].(map[string]any); ok {
		for _, name := range sortedKeys(hs) {
			if why := unsendable[strings.ToLower(name)]; why != "" {
				b.dropHeader(name, why)
				continue
			}
			if !httpguts.ValidHeaderFieldName(name) {
				b.dropHeader(name, "it is not a valid header name")
				continue
			}
			h, hfile, err := b.f.deref(hs[name], file)
			if err != nil {
				b.problem(ptr+"/headers/"+escape(name), "%v", err)
				continue
			}
			v := headerValue(h)
			if v == nil {
				schema := h["schema"]
				if b.v2 {
					schema = h
				}
				if schema != nil {
					g, err := fake.Generate(schema, hfile, ptr+"/headers/"+name, fake.Options{Seed: b.o.Seed, Resolve: b.f.resolve, Examples: true, Memo: b.memo})
					var endless *fake.EndlessError
					var shallow *fake.ShallowError
					if err != nil && !errors.As(err, &endless) && !errors.As(err, &shallow) {
						b.problem(ptr+"/headers/"+escape(name), "%v", err)
						continue
					}
					v = g
				}
			}
			if v != nil {
				sv := scalar(v)
				// No control character but a tab (RFC 9110 section 5.5):
				// what Go's HTTP/2 and net/http send.
				if !httpguts.ValidHeaderFieldValue(sv) {
					b.dropHeader(name, fmt.Sprintf("its value %.80q is not a valid header value (a control character such as a newline); give the header an example without one", sv))
					continue
				}
				out.headers[name] = stub.HeaderValues{sv}
			}
		}
	}
	return out
}

// unsendable holds the response headers (lower case) a document may
// declare that decoy leaves out of its answers, and why. Postman exports
// often declare them: sending them as declared would break the exchange,
// and the engine refuses some of them in a stub. A declared Content-Type
// is ignored, as OpenAPI says.
var unsendable = map[string]string{
	"connection":        hopByHop,
	"keep-alive":        hopByHop,
	"proxy-connection":  hopByHop,
	"transfer-encoding": hopByHop,
	"upgrade":           hopByHop,
	"te":                hopByHop,
	"trailer":           hopByHop,
	"content-type":      "OpenAPI says a declared Content-Type response header is ignored: the Content-Type decoy sends is the media type of the answer, chosen by Accept among the response's media types (declare the type there: content, or produces in Swagger 2.0)",
	"content-length":    "decoy sets it from the body it sends",
	"content-encoding":  "decoy sends bodies as they are, not compressed, so a client that decodes the declared encoding would fail",
}

const hopByHop = "it is a hop-by-hop header, which decoy's HTTP/1.1 and HTTP/2 servers set themselves for each connection (HTTP/2 forbids it)"

// dropHeader records that the response header name of the operation being
// built is not sent; operation warns once per header (its responses may
// all declare it).
func (b *builder) dropHeader(name, why string) {
	k := strings.ToLower(name)
	if b.dropped == nil {
		b.dropped = map[string][2]string{}
	}
	if _, ok := b.dropped[k]; !ok {
		b.dropped[k] = [2]string{name, why}
	}
}

// warnDropped warns of the response headers of the operation at ptr that
// are not sent (see dropHeader), in name order, and forgets them.
func (b *builder) warnDropped(ptr string) {
	for _, k := range slices.Sorted(maps.Keys(b.dropped)) {
		d := b.dropped[k]
		b.warn(ptr, "response header %q is not sent: %s", d[0], d[1])
	}
	b.dropped = nil
}

func headerValue(h map[string]any) any {
	if v, ok := h["example"]; ok {
		return v
	}
	if v, ok := h["x-example"]; ok {
		return v
	}
	if exs, ok := h["examples"].(map[string]any); ok {
		for _, k := range sortedKeys(exs) {
			if em, ok := exs[k].(map[string]any); ok && em["value"] != nil {
				return em["value"]
			}
		}
	}
	return nil
}

func scalar(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	j, _ := json.Marshal(v)
	return string(j)
}

// orderTypes puts JSON media types first (application/json before other
// +json types), then the rest in the document's (sorted) order.
func orderTypes(types []string) []string {
	out := append([]string(nil), types...)
	rank := func(t string) int {
		t = strings.ToLower(strings.SplitN(t, ";", 2)[0])
		switch {
		case t == "application/json":
			return 0
		case isJSON(t):
			return 1
		}
		return 2
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

func isJSON(t string) bool {
	t = strings.ToLower(strings.TrimSpace(strings.SplitN(t, ";", 2)[0]))
	return t == "application/json" || strings.HasSuffix(t, "+json") || strings.HasSuffix(t, "/json") || t == "*/*" || t == "application/*"
}

type renderMode int

const (
	renderDefault renderMode = iota
	renderNamed
	renderDynamic
)

// render makes the stub response for r in media type m (nil: no body).
func (b *builder) render(r *response, m *media, key string, mode renderMode, name string) *stub.Response {
	// Keyed by what identifies the body (not by pointers: the responses
	// of an operation are garbage once it is built, and their addresses
	// are reused by the next operation's).
	mt := "-"
	if m != nil {
		mt = m.typ
	}
	ck := fmt.Sprintf("%s|%s|%s|%d|%s", key, r.key, mt, mode, name)
	if c, ok := b.cache[ck]; ok {
		return c
	}
	out := b.render1(r, m, key, mode, name)
	b.cache[ck] = out
	return out
}

func (b *builder) render1(r *response, m *media, key string, mode renderMode, name string) *stub.Response {
	out := &stub.Response{Status: r.code, Headers: map[string]stub.HeaderValues{}}
	for k, v := range r.headers {
		out.Headers[k] = v
	}
	if m == nil {
		return out
	}
	ct := m.typ
	if strings.Contains(ct, "*") {
		ct = "application/json"
	}
	out.Headers["Content-Type"] = stub.HeaderValues{ct}
	fkey := fmt.Sprintf("%s:%d:%s", key, r.code, m.typ)
	var genErr error // the last generation that failed
	gen := func(examples bool, variant int) (any, bool) {
		if m.schema == nil {
			return nil, false
		}
		o := fake.Options{Seed: b.o.Seed, Resolve: b.f.resolve, Examples: examples, Variant: variant, Memo: b.memo}
		v, err := fake.Generate(m.schema, m.file, fkey, o)
		var endless *fake.EndlessError
		if errors.As(err, &endless) {
			b.warnOnce("endless "+m.schemaAt, m.schemaAt, err, true)
			return v, true
		}
		var shallow *fake.ShallowError
		if errors.As(err, &shallow) {
			b.warnOnce("shallow "+m.schemaAt, m.schemaAt, err, false)
			return v, true
		}
		if err != nil {
			b.warn(m.schemaAt, "no data generated: %v", err)
			genErr = err
			return nil, false
		}
		return v, true
	}
	// The candidates, best first, made only as far as needed: the first
	// that validates against the schema is served (the later ones, which
	// a large schema makes costly, are not generated at all).
	type cand struct {
		v       any
		from    string
		variant int
	}
	var cands []func() (cand, bool)
	value := func(v any, from string) func() (cand, bool) {
		return func() (cand, bool) { return cand{v: v, from: from}, true }
	}
	fresh := func(examples bool, variant int) func() (cand, bool) {
		return func() (cand, bool) {
			from := "generated"
			if examples {
				from = "schema examples"
			}
			v, ok := gen(examples, variant)
			return cand{v, from, variant}, ok
		}
	}
	switch mode {
	case renderNamed:
		cands = append(cands, value(m.named[name], "example "+name))
	case renderDynamic:
		cands = append(cands, fresh(false, 0))
	default:
		if m.hasEx {
			cands = append(cands, value(m.example, "example"))
		}
		if names := sortedKeys(m.named); len(names) > 0 {
			cands = append(cands, value(m.named[names[0]], "example "+names[0]))
		}
		cands = append(cands, fresh(true, 0), fresh(false, 0))
		for variant := 1; variant < 4 && m.schema != nil; variant++ {
			cands = append(cands, fresh(false, variant))
		}
		// When the generator cannot read the schema, its own example
		// still can be served (tried only then: the generator already
		// uses it with Examples).
		cands = append(cands, func() (cand, bool) {
			if genErr == nil {
				return cand{}, false
			}
			v, ok := schemaExample(m.schema)
			return cand{v: v, from: "schema example"}, ok
		})
	}
	json := isJSON(m.typ)
	var (
		chosen, failed cand
		body, data     []byte
		found, tried   bool
		failure        error
	)
	for _, next := range cands {
		c, ok := next()
		if !ok {
			continue
		}
		if tried {
			// The one before did not validate, and one comes after it.
			b.warn(m.schemaAt, "the %s does not validate against the schema, so it is not served: %v", failed.from, firstLine(failure))
		}
		data = marshal(c.v)
		if !json || m.schema == nil || mode == renderNamed {
			chosen, body, found = c, data, true
			break
		}
		err := b.val.check(m.file, m.schemaAt, m.schema, data)
		if err == nil {
			chosen, body, found = c, data, true
			break
		}
		if strings.HasPrefix(err.Error(), "schema does not compile") {
			b.warn(m.schemaAt, "%v", err)
			chosen, body, found = c, data, true
			break
		}
		failed, failure, tried = c, err, true
		body = data
	}
	if !found {
		if !tried {
			if m.schema != nil && genErr != nil {
				return b.noBody(out, m, mode, genErr)
			}
			return out
		}
		b.warn(m.schemaAt, "no example or generated body validates against the schema; serving the %s body: %v", failed.from, firstLine(failure))
		chosen = failed
	}
	if json && m.schema != nil && b.o.KeepRendered {
		b.res.Rendered = append(b.res.Rendered, Rendered{File: m.file, Pointer: m.schemaAt, Body: body, From: chosen.from, Named: mode == renderNamed})
	}
	if m.errCode != "" {
		// An error of AWS's query protocol: the document's own XML (an
		// example that is a string), else the protocol's error, fixed.
		if s, ok := chosen.v.(string); ok && (chosen.from == "example" || strings.HasPrefix(chosen.from, "example ")) {
			out.Body = stub.Text(s)
		} else {
			out.Body = stub.Text(string(m.aws.declaredError(r.code, m.errCode, chosen.v)))
		}
		return out
	}
	// A generated body varies with the request (see vary.go) in every
	// media type, not only JSON ones, and in the Prefer: dynamic=true
	// answer too: the varier generates again with the same fkey, variant
	// and examples as here, so a request's body is the one this rendering
	// would be for it.
	if mode != renderNamed && body != nil && (chosen.from == "generated" || chosen.from == "schema examples") {
		if b.generated == nil {
			b.generated = map[*stub.Response]generated{}
		}
		b.generated[out] = generated{m: m, fkey: fkey, variant: chosen.variant, examples: chosen.from == "schema examples", text: !json, xml: isXML(m.typ)}
	}
	if s, ok := chosen.v.(string); ok && !json {
		out.Body = stub.Text(s) // in XML too: the document's own XML
	} else if isXML(m.typ) {
		out.Body = stub.Text(string(m.encodeXML(b.f.deref, chosen.v)))
	} else {
		out.Body = stub.Text(string(body))
	}
	return out
}

// schemaExample is the example a schema gives at its top level (example,
// or the first of examples), without following a $ref.
func schemaExample(schema any) (any, bool) {
	sm, _ := schema.(map[string]any)
	if v, ok := sm["example"]; ok {
		return v, true
	}
	if l, ok := sm["examples"].([]any); ok && len(l) > 0 {
		return l[0], true
	}
	return nil, false
}

// noBody is the answer of a response whose schema gives no body at all
// (the generator cannot read it, and neither the document nor the schema
// has an example): a 500 problem that says so, since an empty 200 in a
// JSON media type is what no client can parse, and a client test asking
// for the success path must not pass on it by mistake. The load warns.
func (b *builder) noBody(out *stub.Response, m *media, mode renderMode, err error) *stub.Response {
	what := fmt.Sprintf("%d %s", out.Status, m.typ)
	if mode == renderDynamic {
		what = "Prefer: dynamic=true " + what
	}
	detail := fmt.Sprintf("decoy could not make the %s body from the schema at %s#%s: %v; give the media type an example", what, filepath.Base(m.file), m.schemaAt, firstLine(err))
	b.warn(m.schemaAt, "no body can be made for the %s answer, so it is a 500 application/problem+json: %v (give the media type an example)", what, firstLine(err))
	p := problem.New(500, detail)
	p.Title = "No body for this response"
	p.Type = docsNoBody
	// Only the Content-Type: the negotiator sends the other media types
	// with this stub's headers.
	res := &stub.Response{Status: 500, Headers: map[string]stub.HeaderValues{"Content-Type": {problem.ContentType}}}
	res.Body = stub.Text(string(p.JSON()))
	return res
}

// docsNoBody documents noBody's answer.
const docsNoBody = "https://github.com/decoy-dev/decoy/blob/main/docs/openapi.md#problems"

func firstLine(err error) string {
	s := err.Error()
	if i := strings.Index(s, "\n"); i >= 0 && strings.HasPrefix(s, "jsonschema validation failed") {
		s = s[i+1:]
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("null")
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}
