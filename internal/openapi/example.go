package openapi

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/decoy-dev/decoy/internal/engine"
)

// exampleValues are the values tried for a parameter, after its schema's
// first enum value: each passes a common kind of schema.
var exampleValues = []string{"42", "x", "true", "2024-01-01", "2024-01-01T00:00:00Z",
	"user@example.com", "00000000-0000-0000-0000-000000000000", "https://example.com", "0"}

// Example implements engine.Exampler: a value for each path parameter and
// required query, header and cookie parameter that its schema takes, the
// credentials of the first security alternative, and an empty JSON object
// for a required body, checked whole against the operation's rules.
func (c *reqCheck) Example(path string) (engine.Example, bool) {
	f := &exampleFields{}
	r := &engine.Request{Method: "GET", Path: path, Fields: f}
	ex := engine.Example{}
	if len(c.security) > 0 {
		for _, s := range c.security[0] {
			switch s.kind {
			case "basic":
				f.set("header", "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("user:password")))
			case "bearer":
				f.set("header", "Authorization", "Bearer token")
			case "apiKey":
				f.set(s.in, s.name, "key")
			}
		}
	}
	for i := range c.params {
		p := &c.params[i]
		if p.in != "path" && !p.required {
			continue
		}
		if p.typ == "array" || p.typ == "object" || p.typ == "json" || p.style == styleLabel || p.style == styleMatrix || p.style == styleDeep {
			return ex, false
		}
		cands := exampleValues
		if p.schema != nil && p.schema.Enum != nil && len(p.schema.Enum.Values) > 0 {
			cands = append([]string{fmt.Sprint(p.schema.Enum.Values[0])}, cands...)
		}
		found := false
		for _, v := range cands {
			if p.in == "path" {
				r.Path = strings.Replace(path, "{"+p.name+"}", v, 1)
			} else {
				f.set(p.in, p.name, v)
			}
			if !c.breaks(r, p.loc) {
				found = true
				break
			}
		}
		if !found {
			return ex, false
		}
		path = r.Path
	}
	if c.body != nil && c.body.required {
		for _, m := range c.body.media {
			if m.json {
				ct := m.typ
				if strings.Contains(ct, "*") {
					ct = "application/json"
				}
				f.set("header", "Content-Type", ct)
				r.Body = []byte("{}")
				ex.Body, ex.HasBody, ex.ContentType = "{}", true, ct
				break
			}
		}
	}
	if _, vs := c.violations(r); len(vs) > 0 {
		return ex, false
	}
	ex.Path = r.Path
	ex.Headers, ex.Query, ex.Cookies = f.header, f.query, f.cookie
	if ex.HasBody { // Content-Type goes with the body
		ex.Headers = f.without("Content-Type")
	}
	return ex, true
}

// breaks reports whether r breaks a rule of the parameter at loc.
func (c *reqCheck) breaks(r *engine.Request, loc string) bool {
	_, vs := c.violations(r)
	for _, v := range vs {
		if v.loc == loc {
			return true
		}
	}
	return false
}

// exampleFields are an example request's headers, query and cookies.
type exampleFields struct {
	header, query, cookie [][2]string
}

func (f *exampleFields) list(in string) *[][2]string {
	switch in {
	case "query":
		return &f.query
	case "cookie":
		return &f.cookie
	}
	return &f.header
}

func (f *exampleFields) set(in, name, v string) {
	l := f.list(in)
	for i := range *l {
		if (*l)[i][0] == name {
			(*l)[i][1] = v
			return
		}
	}
	*l = append(*l, [2]string{name, v})
}

func (f *exampleFields) get(in, name string) (string, bool) {
	for _, kv := range *f.list(in) {
		if in == "header" && strings.EqualFold(kv[0], name) || kv[0] == name {
			return kv[1], true
		}
	}
	return "", false
}

func (f *exampleFields) without(header string) [][2]string {
	var out [][2]string
	for _, kv := range f.header {
		if !strings.EqualFold(kv[0], header) {
			out = append(out, kv)
		}
	}
	return out
}

func (f *exampleFields) Header(name string) (string, bool) { return f.get("header", name) }
func (f *exampleFields) Query(name string) (string, bool)  { return f.get("query", name) }
func (f *exampleFields) Cookie(name string) (string, bool) { return f.get("cookie", name) }
