package wiremock

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/decoy-dev/decoy/internal/stub"
	"github.com/goccy/go-yaml/ast"
)

// mapping converts one mapping and, unless it is skipped, adds it.
func (c *conv) mapping(n ast.Node, path string, index int) {
	c.line, c.skip, c.pending, c.path = lineOf(n), "", nil, path
	defer func() { c.path = "" }()
	before := len(c.probs)
	m, ok := c.object(n, "")
	if !ok {
		return
	}
	var s stub.Stub
	name := ""
	if v := m.get("name"); !isNull(v) {
		name, _ = c.str(v, m.sub("name"))
	}
	for _, k := range []string{"id", "uuid"} {
		if v := m.get(k); !isNull(v) && s.ID == "" {
			s.ID, _ = c.str(v, m.sub(k))
		}
	}
	c.label = "mapping"
	switch {
	case name != "":
		c.label = fmt.Sprintf("mapping %q", name)
	case s.ID != "":
		c.label = "mapping " + s.ID
	}
	s.Description = name

	for _, k := range m.keys() {
		v := m.get(k)
		f := m.sub(k)
		switch k {
		case "id", "uuid", "name", "request", "response", "metadata", "persistent", "insertionIndex":
		case "priority":
			if p, ok := c.integer(v, f, 1, 1<<31-1); ok {
				s.Priority = int(p)
			}
		case "scenarioName", "newScenarioState":
			if !isNull(v) {
				c.str(v, f)
			}
		case "requiredScenarioState":
			if st, ok := c.str(v, f); ok && st != "Started" {
				c.unsupported(f, fmt.Sprintf("scenario state %q: decoy serves a scenario's mappings for its starting state (\"Started\") only", st))
			}
		case "postServeActions", "serveEventListeners":
			c.note(f, "webhooks and other post-serve actions are not run; the response is served")
		default:
			c.note(f, "not a field decoy knows; ignored")
		}
	}
	if st := m.get("newScenarioState"); !isNull(st) && c.skip == "" {
		c.note("newScenarioState", "scenario states do not change in decoy; the mappings of later states are not served")
	}

	if rn := m.get("request"); isNull(rn) {
		c.note("request", "missing: the mapping answers every request")
	} else if ro, ok := c.object(rn, m.sub("request")); ok {
		s.Request = c.request(ro)
	}
	resp := &stub.Response{}
	if rn := m.get("response"); !isNull(rn) {
		if ro, ok := c.object(rn, m.sub("response")); ok {
			resp = c.response(ro)
		}
	}
	s.Response = resp

	if len(c.probs) > before {
		return
	}
	where := fmt.Sprintf("%s:%d: %s", c.file, c.line, c.label)
	if c.skip != "" {
		c.res.Notes = append(c.res.Notes, where+": not served: "+c.skip)
		return
	}
	for _, p := range c.pending {
		c.res.Notes = append(c.res.Notes, where+": "+p)
	}
	c.res.Mappings = append(c.res.Mappings, Mapping{Stub: s, Node: n, Path: path, Name: name, Index: index})
}

// request converts a mapping's request.
func (c *conv) request(r obj) stub.Request {
	var q stub.Request
	urlKeys := 0
	var form map[string]stub.StringMatcher // formParameters
	var formField string
	for _, k := range r.keys() {
		v := r.get(k)
		f := r.sub(k)
		switch k {
		case "method":
			if m, ok := c.str(v, f); ok && !strings.EqualFold(m, "ANY") {
				q.Method = strings.ToUpper(m)
			}
		case "url", "urlPath", "urlPattern", "urlPathPattern", "urlPathTemplate":
			if isNull(v) {
				continue
			}
			urlKeys++
			if urlKeys > 1 {
				c.fail(v, f, "give one of url, urlPath, urlPattern, urlPathPattern and urlPathTemplate")
				continue
			}
			c.url(&q, k, v, f, r)
		case "queryParameters", "headers", "cookies", "formParameters":
			if isNull(v) {
				continue
			}
			ms, ok := c.object(v, f)
			if !ok {
				continue
			}
			out := map[string]stub.StringMatcher{}
			for _, name := range ms.keys() {
				if sm, ok := c.matcher(ms.get(name), ms.sub(name)); ok {
					out[name] = sm
				}
			}
			switch k {
			case "queryParameters":
				if q.Query == nil {
					q.Query = out
					continue
				}
				// url's query is there already.
				for name, sm := range out {
					if _, dup := q.Query[name]; dup {
						c.unsupported(ms.sub(name), "a query parameter given by both url and queryParameters")
					}
					q.Query[name] = sm
				}
			case "headers":
				if q.Headers == nil {
					q.Headers = map[string]stub.StringMatcher{}
				}
				for name, sm := range out {
					for have := range q.Headers {
						if strings.EqualFold(have, name) {
							c.unsupported(ms.sub(name), "two conditions on one header (basicAuthCredentials sets Authorization)")
						}
					}
					q.Headers[name] = sm
				}
			case "cookies":
				q.Cookies = out
			case "formParameters":
				if len(out) > 0 {
					form, formField = out, f
				}
			}
		case "pathParameters":
			// Read with urlPathTemplate.
		case "basicAuthCredentials":
			a, ok := c.object(v, f)
			if !ok {
				continue
			}
			u, ok1 := c.str(a.get("username"), a.sub("username"))
			p, ok2 := c.str(a.get("password"), a.sub("password"))
			if !ok1 || !ok2 {
				continue
			}
			if q.Headers == nil {
				q.Headers = map[string]stub.StringMatcher{}
			}
			for have := range q.Headers {
				if strings.EqualFold(have, "Authorization") {
					c.unsupported(f, "two conditions on one header (basicAuthCredentials sets Authorization)")
				}
			}
			q.Headers["Authorization"] = stub.Eq("Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)))
		case "bodyPatterns":
			if isNull(v) {
				continue
			}
			if items, ok := c.list(v, f); ok {
				q.Body = c.bodyPatterns(items, f)
			}
		case "multipartPatterns", "host", "scheme", "port", "clientIp", "customMatcher":
			if !isNull(v) {
				c.unsupported(f, "decoy does not match on it")
			}
		default:
			c.unsupported(f, "not a request field decoy knows")
		}
	}
	if form != nil {
		// After bodyPatterns, which may come later in the mapping.
		switch {
		case q.Body == nil:
			q.Body = &stub.BodyMatcher{Form: form}
		case q.Body.JSON != nil || len(q.Body.JSONPath) > 0:
			c.unsupported(formField, "form parameters beside a JSON body pattern (a body is a form or JSON)")
		default:
			q.Body.Form = form
		}
	}
	if r.get("pathParameters") != nil && r.get("urlPathTemplate") == nil {
		c.fail(r.get("pathParameters"), r.sub("pathParameters"), "pathParameters go with urlPathTemplate")
	}
	return q
}

// url converts url, urlPath, urlPattern, urlPathPattern or urlPathTemplate.
func (c *conv) url(q *stub.Request, key string, v ast.Node, f string, r obj) {
	s, ok := c.strictStr(v, f)
	if !ok {
		return
	}
	switch key {
	case "url":
		p, rawQuery, hasQuery := strings.Cut(s, "?")
		setPath(q, p)
		if hasQuery && rawQuery != "" {
			vals, err := url.ParseQuery(rawQuery)
			if err != nil {
				c.fail(v, f, "bad query string: "+err.Error())
				return
			}
			q.Query = map[string]stub.StringMatcher{}
			for name, vs := range vals {
				if len(vs) > 1 {
					c.unsupported(f, fmt.Sprintf("query parameter %s given more than once (decoy matches a parameter's first value)", name))
				}
				q.Query[name] = stub.Eq(vs[0])
			}
		}
	case "urlPath":
		setPath(q, s)
	case "urlPattern", "urlPathPattern":
		if key == "urlPattern" && queryInRegex(s) {
			c.unsupported(f, "a regular expression over the query string (decoy matches urlPattern against the path; match query parameters with queryParameters)")
			return
		}
		if re, ok := c.regex(f, s); ok {
			q.PathRegex = re
		}
	case "urlPathTemplate":
		c.template(q, s, r)
	}
}

// setPath matches p exactly; a path with braces, which decoy would read
// as a template, becomes a regular expression.
func setPath(q *stub.Request, p string) {
	if strings.ContainsAny(p, "{}") {
		q.PathRegex = "^" + regexp.QuoteMeta(p) + "$"
		return
	}
	q.Path = p
}

// queryInRegex reports whether a urlPattern tries to match a query
// string: it has a literal question mark.
func queryInRegex(re string) bool {
	return strings.Contains(re, `\?`) || strings.Contains(re, `[?]`) || strings.Contains(re, `\x3f`) || strings.Contains(re, `\Q`)
}

// regex checks a WireMock regular expression (Java syntax, matched whole)
// and returns decoy's (RE2, anchored).
func (c *conv) regex(f, re string) (string, bool) {
	if _, err := regexp.Compile(re); err != nil {
		c.unsupported(f, fmt.Sprintf("regular expression %q is not RE2 syntax (%v); Java-only constructs such as lookarounds and backreferences are not supported", re, reErr(err)))
		return "", false
	}
	return "^(?:" + re + ")$", true
}

func reErr(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}

var templateParam = regexp.MustCompile(`\{([^{}]*)\}`)

// template converts urlPathTemplate and its pathParameters.
func (c *conv) template(q *stub.Request, tpl string, r obj) {
	params := map[string]bool{}
	for _, m := range templateParam.FindAllStringSubmatch(tpl, -1) {
		params[m[1]] = true
	}
	pn := r.get("pathParameters")
	if isNull(pn) {
		q.Path = tpl
		return
	}
	po, ok := c.object(pn, r.sub("pathParameters"))
	if !ok {
		return
	}
	res := map[string]string{}
	for _, name := range po.keys() {
		pf := po.sub(name)
		if !params[name] {
			c.fail(po.get(name), pf, fmt.Sprintf("urlPathTemplate %q has no parameter {%s}", tpl, name))
			continue
		}
		sm, ok := c.matcher(po.get(name), pf)
		if !ok {
			continue
		}
		re := ""
		switch {
		case sm.Absent || sm.Present:
			c.unsupported(pf, "absent on a path parameter")
			continue
		case sm.Equals != nil:
			re = regexp.QuoteMeta(*sm.Equals)
		case sm.Contains != "":
			re = "[^/]*" + regexp.QuoteMeta(sm.Contains) + "[^/]*"
		case sm.Regex != "":
			re = sm.Regex // anchored already: ^(?:...)$
			re = strings.TrimSuffix(strings.TrimPrefix(re, "^"), "$")
		}
		if sm.IgnoreCase {
			re = "(?i:" + re + ")"
		}
		res[name] = re
	}
	var b strings.Builder
	b.WriteByte('^')
	last := 0
	for _, loc := range templateParam.FindAllStringSubmatchIndex(tpl, -1) {
		b.WriteString(regexp.QuoteMeta(tpl[last:loc[0]]))
		if re, ok := res[tpl[loc[2]:loc[3]]]; ok {
			b.WriteString("(?:" + re + ")")
		} else {
			b.WriteString("[^/]+")
		}
		last = loc[1]
	}
	b.WriteString(regexp.QuoteMeta(tpl[last:]))
	b.WriteByte('$')
	q.PathRegex = b.String()
}

// matcher converts a WireMock string pattern ({"equalTo": "x"}, ...) for a
// query parameter, header, cookie or path parameter.
func (c *conv) matcher(n ast.Node, f string) (stub.StringMatcher, bool) {
	var sm stub.StringMatcher
	o, ok := c.object(n, f)
	if !ok {
		return sm, false
	}
	ops := 0
	for _, k := range o.keys() {
		v := o.get(k)
		kf := o.sub(k)
		switch k {
		case "equalTo":
			if s, ok := c.str(v, kf); ok {
				sm.Equals = &s
				ops++
			}
		case "contains":
			if s, ok := c.str(v, kf); ok {
				sm.Contains = s
				ops++
			}
		case "matches":
			if s, ok := c.str(v, kf); ok {
				if re, ok := c.regex(kf, s); ok {
					sm.Regex = re
				}
				ops++
			}
		case "caseInsensitive":
			if b, ok := c.boolean(v, kf); ok {
				sm.IgnoreCase = b
			}
		case "absent":
			if b, ok := c.boolean(v, kf); ok {
				sm.Absent, sm.Present = b, !b
				ops++
			}
		case "hasExactly", "includes":
			items, ok := c.list(v, kf)
			if !ok {
				continue
			}
			if len(items) != 1 {
				c.unsupported(kf, "more than one value pattern (decoy matches a parameter's or header's first value)")
				continue
			}
			inner, ok := c.matcher(items[0], kf+"[0]")
			if ok {
				sm = inner
				ops++
			}
		default:
			c.unsupported(kf, "decoy cannot match a query parameter, header or cookie this way (it can: equalTo, caseInsensitive, contains, matches, absent)")
			ops++
		}
	}
	if ops == 0 {
		c.fail(n, f, "no pattern: give equalTo, contains, matches or absent")
		return sm, false
	}
	if ops > 1 {
		c.fail(n, f, "give one pattern (equalTo, contains, matches, absent, ...), not several")
		return sm, false
	}
	if sm.IgnoreCase && sm.Equals == nil {
		c.fail(o.get("caseInsensitive"), o.sub("caseInsensitive"), "goes with equalTo")
		return sm, false
	}
	return sm, true
}
