package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/stub"
)

// try is a request a stub answers, built from its matchers for the
// banner's "Try:" lines: a path with its parameters filled in, and the
// query, headers, cookies and body the matchers want.
type try struct {
	method  string
	path    string // escaped as a URL's path
	query   []string
	headers []string
	cookies []string
	body    string
	hasBody bool
	binary  bool // the answer is a file: print its size, not its bytes
}

var paramRe = regexp.MustCompile(`\{[^}/]+\}`)

// tryOf builds the request, and false when the stub has no obvious one:
// no plain path, or a regular expression, or a body it cannot write.
func tryOf(s *engine.Stub) (try, bool) {
	r := s.Spec.Request
	if r.Path == "" {
		return try{}, false
	}
	if rs := s.Responses(); len(rs) > 0 && rs[0].Status == 405 {
		return try{}, false // the answer to the methods a path does not take
	}
	if s.WebSocket() != nil {
		return try{}, false // curl would get the 426; websocket.md shows clients
	}
	path := r.Path
	var ex engine.Example
	e, checked := s.RequestCheck().(engine.Exampler)
	if checked {
		var ok bool
		if ex, ok = e.Example(path); !ok {
			return try{}, false
		}
		path = ex.Path
	}
	t := try{method: method(s), path: escapePath(paramRe.ReplaceAllString(path, "42"))}
	var ok bool
	if t.query, ok = exampleValues(r.Query, func(k, v string) string { return url.QueryEscape(k) + "=" + url.QueryEscape(v) }); !ok {
		return try{}, false
	}
	if t.headers, ok = exampleValues(r.Headers, func(k, v string) string {
		if strings.EqualFold(k, "Content-Type") && v == "json" {
			v = "application/json"
		}
		return k + ": " + v
	}); !ok {
		return try{}, false
	}
	if t.cookies, ok = exampleValues(r.Cookies, func(k, v string) string { return k + "=" + v }); !ok {
		return try{}, false
	}
	t.headers = append(t.headers, pairs(ex.Headers, ": ")...)
	for _, kv := range ex.Query {
		t.query = append(t.query, url.QueryEscape(kv[0])+"="+url.QueryEscape(kv[1]))
	}
	t.cookies = append(t.cookies, pairs(ex.Cookies, "=")...)
	if ex.HasBody {
		t.headers = append(t.headers, "Content-Type: "+ex.ContentType)
		t.body, t.hasBody = ex.Body, true
	} else if r.Body != nil {
		if t.body, ok = exampleBody(r.Body); !ok {
			return try{}, false
		}
		t.hasBody = true
	} else if !checked && (t.method == "POST" || t.method == "PUT" || t.method == "PATCH") {
		// A stub from a document gave its example, body or none; any
		// other takes a JSON object, sent as one (curl -d alone says
		// form).
		if !slices.ContainsFunc(t.headers, func(h string) bool { return len(h) > 13 && strings.EqualFold(h[:13], "Content-Type:") }) {
			t.headers = append(t.headers, "Content-Type: application/json")
		}
		t.body, t.hasBody = "{}", true
	}
	if rs := s.Responses(); len(rs) > 0 && rs[0].ContentType == "application/octet-stream" {
		t.binary = true
	}
	return t, true
}

// pairs joins name, value pairs with sep.
func pairs(kvs [][2]string, sep string) []string {
	out := make([]string, len(kvs))
	for i, kv := range kvs {
		out[i] = kv[0] + sep + kv[1]
	}
	return out
}

// get reports whether the request is a GET without a body.
func (t try) get() bool {
	return (t.method == "GET" || t.method == "ANY") && !t.hasBody
}

// curl is the request as a curl command line.
func (t try) curl(base string) string { return t.curlWith("-s", base) }

// curlWith is the request as a curl command line with curl's options opts
// first.
func (t try) curlWith(opts, base string) string {
	var b strings.Builder
	b.WriteString("curl " + opts)
	switch t.method {
	case "GET", "ANY":
	case "HEAD":
		b.WriteString(" -I")
	default:
		b.WriteString(" -X " + t.method)
	}
	for _, h := range t.headers {
		b.WriteString(" -H " + shellQuote(h))
	}
	if len(t.cookies) > 0 {
		b.WriteString(" -b " + shellQuote(strings.Join(t.cookies, "; ")))
	}
	if t.hasBody {
		b.WriteString(" -d " + shellQuote(t.body))
	}
	if t.binary {
		b.WriteString(` -o /dev/null -w '%{size_download} bytes\n'`)
	}
	u := base + t.path
	if len(t.query) > 0 {
		u += "?" + strings.Join(t.query, "&")
	}
	b.WriteString(" " + shellQuote(u))
	return b.String()
}

// exampleValues gives each matcher a value it accepts, formatted by f, in
// name order; false when one needs a regular expression satisfied.
func exampleValues(ms map[string]stub.StringMatcher, f func(name, value string) string) ([]string, bool) {
	names := make([]string, 0, len(ms))
	for name := range ms {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []string
	for _, name := range names {
		m := ms[name]
		var v string
		switch {
		case m.Equals != nil:
			v = *m.Equals
		case m.Regex != "":
			return nil, false
		case m.Contains != "":
			v = m.Contains
		case m.Absent:
			continue
		default: // present, or no condition
			v = "x"
		}
		out = append(out, f(name, v))
	}
	return out, true
}

// exampleBody is a body the matcher accepts; false when there is no
// obvious one.
func exampleBody(m *stub.BodyMatcher) (string, bool) {
	switch {
	case m.Regex != "":
		return "", false
	case m.Equals != nil:
		return *m.Equals, true
	case m.JSON != nil:
		b, err := json.Marshal(m.JSON)
		return string(b), err == nil
	case len(m.JSONPath) > 0:
		var doc any
		for _, jp := range m.JSONPath {
			var v any
			switch {
			case jp.Absent:
				continue
			case jp.Regex != "":
				return "", false
			case jp.Equals != nil:
				v = jp.Equals
			case jp.Contains != "":
				v = jp.Contains
			default:
				v = "x"
			}
			var ok bool
			if doc, ok = setPath(doc, jp.Path, v); !ok {
				return "", false
			}
		}
		if doc == nil {
			doc = map[string]any{}
		}
		b, err := json.Marshal(doc)
		return string(b), err == nil
	case len(m.Form) > 0:
		// curl -d sends it as application/x-www-form-urlencoded.
		fields, ok := exampleValues(m.Form, func(k, v string) string { return url.QueryEscape(k) + "=" + url.QueryEscape(v) })
		return strings.Join(fields, "&"), ok
	case m.Contains != "":
		return m.Contains, true
	}
	return "", true
}

// pathStep is one step of a JSONPath of names and indexes: $.a.b[0].
var pathStep = regexp.MustCompile(`^(?:\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\['([^'\\]*)'\])`)

// setPath sets the value at path (a JSONPath of names and indexes only) in
// doc, making the objects and arrays on the way; false for another path.
func setPath(doc any, path string, v any) (any, bool) {
	rest, ok := strings.CutPrefix(path, "$")
	if !ok {
		return nil, false
	}
	if rest == "" {
		return v, true
	}
	m := pathStep.FindStringSubmatch(rest)
	if m == nil || len(m[0]) == 0 {
		return nil, false
	}
	next := "$" + rest[len(m[0]):]
	if m[2] != "" {
		i, err := strconv.Atoi(m[2])
		if err != nil || i > 100 {
			return nil, false
		}
		arr, _ := doc.([]any)
		if doc != nil && arr == nil {
			return nil, false
		}
		for len(arr) <= i {
			arr = append(arr, nil)
		}
		el, ok := setPath(arr[i], next, v)
		if !ok {
			return nil, false
		}
		arr[i] = el
		return arr, true
	}
	key := m[1] + m[3]
	obj, _ := doc.(map[string]any)
	if doc != nil && obj == nil {
		return nil, false
	}
	if obj == nil {
		obj = map[string]any{}
	}
	el, ok := setPath(obj[key], next, v)
	if !ok {
		return nil, false
	}
	obj[key] = el
	return obj, true
}

// escapePath escapes what a URL's path cannot hold as it is (spaces,
// '%', '?', '#', control and non-ASCII bytes); decoy decodes it back
// before matching.
func escapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= ' ' || c >= 0x7f || c == '%' || c == '?' || c == '#' || c == '\'' || c == '"' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
