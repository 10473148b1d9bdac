package wiremock

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/decoy-dev/decoy/internal/match"
	"github.com/decoy-dev/decoy/internal/stub"
	"github.com/goccy/go-yaml/ast"
)

// bodyPatterns converts request.bodyPatterns, every one of which must
// hold, into decoy's body matcher: its equals, contains, regex and json
// conditions take one pattern each, its jsonPath list any number.
func (c *conv) bodyPatterns(items []ast.Node, f string) *stub.BodyMatcher {
	b := &stub.BodyMatcher{}
	for i, it := range items {
		pf := f + "[" + strconv.Itoa(i) + "]"
		o, ok := c.object(it, pf)
		if !ok {
			continue
		}
		c.bodyPattern(b, o, pf)
	}
	if b.Equals == nil && b.Contains == "" && b.Regex == "" && b.JSON == nil && len(b.JSONPath) == 0 {
		return nil
	}
	return b
}

func (c *conv) bodyPattern(b *stub.BodyMatcher, o obj, f string) {
	caseless := false
	if v := o.get("caseInsensitive"); v != nil {
		caseless, _ = c.boolean(v, o.sub("caseInsensitive"))
	}
	// A literal goes to equals or contains, or, when that is taken, to
	// regex as a quoted expression.
	setRegex := func(re, field string) {
		if b.Regex != "" {
			c.unsupported(field, "a second body pattern decoy can only check as a regular expression (it checks one)")
			return
		}
		b.Regex = re
	}
	var op string
	for _, k := range o.keys() {
		switch k {
		case "caseInsensitive", "ignoreArrayOrder", "ignoreExtraElements":
			continue
		}
		if op != "" {
			c.fail(o.get(k), o.sub(k), "give one pattern per entry of bodyPatterns, not "+op+" and "+k)
			return
		}
		op = k
	}
	if op == "" {
		c.fail(o.m, f, "no pattern: give equalTo, contains, matches, equalToJson, matchesJsonPath or binaryEqualTo")
		return
	}
	v := o.get(op)
	vf := o.sub(op)
	if caseless && op != "equalTo" {
		c.fail(o.get("caseInsensitive"), o.sub("caseInsensitive"), "goes with equalTo")
		return
	}
	switch op {
	case "equalTo":
		s, ok := c.str(v, vf)
		if !ok {
			return
		}
		switch {
		case caseless:
			setRegex("(?i)^"+regexp.QuoteMeta(s)+"$", vf)
		case b.Equals == nil:
			b.Equals = &s
		default:
			setRegex("^"+regexp.QuoteMeta(s)+"$", vf)
		}
	case "contains":
		s, ok := c.str(v, vf)
		if !ok {
			return
		}
		if b.Contains == "" {
			b.Contains = s
		} else {
			setRegex(regexp.QuoteMeta(s), vf)
		}
	case "matches":
		s, ok := c.str(v, vf)
		if !ok {
			return
		}
		if re, ok := c.regex(vf, s); ok {
			setRegex(re, vf)
		}
	case "binaryEqualTo":
		s, ok := c.strictStr(v, vf)
		if !ok {
			return
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			c.fail(v, vf, "not base64: "+err.Error())
			return
		}
		t := string(raw)
		if b.Equals == nil {
			b.Equals = &t
		} else {
			setRegex("^"+regexp.QuoteMeta(t)+"$", vf)
		}
	case "equalToJson":
		c.equalToJSON(b, o, v, vf)
	case "matchesJsonPath":
		c.matchesJSONPath(b, v, vf)
	default:
		c.unsupported(vf, "decoy cannot match a body this way (it can: equalTo, contains, matches, binaryEqualTo, equalToJson, matchesJsonPath)")
	}
}

// equalToJSON converts equalToJson. Its value is JSON, or a string
// holding JSON.
func (c *conv) equalToJSON(b *stub.BodyMatcher, o obj, v ast.Node, f string) {
	var text []byte
	if s, isStr, ok := scalar(v); ok && isStr {
		text = []byte(s)
	} else {
		t, ok := c.jsonText(v, f)
		if !ok {
			return
		}
		text = t
	}
	want, err := decodeJSON(text)
	if err != nil {
		c.fail(v, f, "not JSON: "+err.Error())
		return
	}
	if strings.Contains(string(text), "${json-unit.") {
		c.unsupported(f, "JSON placeholders (${json-unit.any-string}, ...)")
		return
	}
	flag := func(k string) bool {
		if n := o.get(k); n != nil {
			on, _ := c.boolean(n, o.sub(k))
			return on
		}
		return false
	}
	ignoreOrder, ignoreExtra := flag("ignoreArrayOrder"), flag("ignoreExtraElements")
	if ignoreOrder && hasLongArray(want) {
		c.unsupported(o.sub("ignoreArrayOrder"), "decoy compares arrays in order")
		return
	}
	if _, isObj := want.(map[string]any); ignoreExtra && isObj {
		// Each value the mapping gives must be there; other members may
		// be too: one JSONPath condition per value.
		leafPaths("$", want, &b.JSONPath)
		return
	}
	if b.JSON != nil {
		c.unsupported(f, "a second equalToJson (decoy checks one whole-body JSON equality)")
		return
	}
	if want == nil {
		want = json.RawMessage("null")
	}
	b.JSON = want
}

// hasLongArray reports whether v holds an array of two or more elements,
// whose order ignoreArrayOrder would ignore.
func hasLongArray(v any) bool {
	switch v := v.(type) {
	case []any:
		if len(v) > 1 {
			return true
		}
		for _, e := range v {
			if hasLongArray(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if hasLongArray(e) {
				return true
			}
		}
	}
	return false
}

// leafPaths adds a JSONPath condition per value of v below path: members
// of objects one by one (so that others may be there), arrays and
// scalars as they are.
func leafPaths(path string, v any, out *[]stub.JSONPathMatcher) {
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			v = json.RawMessage("null")
		}
		*out = append(*out, stub.JSONPathMatcher{Path: path, Equals: v})
		return
	}
	if len(m) == 0 {
		// Any object: decoy's equals on {} would want an empty one.
		*out = append(*out, stub.JSONPathMatcher{Path: path})
		return
	}
	keys := slices.Sorted(maps.Keys(m))
	for _, k := range keys {
		leafPaths(path+"['"+escapeName(k)+"']", m[k], out)
	}
}

// escapeName escapes a member name for a JSONPath name selector in single
// quotes (RFC 9535).
func escapeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\'' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteString(`\u00`)
			const hex = "0123456789abcdef"
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xf])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// matchesJSONPath converts matchesJsonPath: an expression, or an object
// with an expression and a pattern its value must match.
func (c *conv) matchesJSONPath(b *stub.BodyMatcher, v ast.Node, f string) {
	var jp stub.JSONPathMatcher
	if s, isStr, ok := scalar(v); ok && isStr {
		jp.Path = s
	} else {
		o, ok := c.object(v, f)
		if !ok {
			return
		}
		expr, ok := c.strictStr(o.get("expression"), o.sub("expression"))
		if !ok {
			return
		}
		jp.Path = expr
		caseless := false
		if n := o.get("caseInsensitive"); n != nil {
			caseless, _ = c.boolean(n, o.sub("caseInsensitive"))
		}
		ops := 0
		for _, k := range o.keys() {
			n := o.get(k)
			kf := o.sub(k)
			switch k {
			case "expression", "caseInsensitive":
				continue
			case "equalTo":
				// WireMock compares the selected value as text: a number
				// 42 equals "42". decoy's regex does too.
				if s, ok := c.str(n, kf); ok {
					jp.Regex = "^" + regexp.QuoteMeta(s) + "$"
					if caseless {
						jp.Regex = "(?i)" + jp.Regex
					}
				}
			case "contains":
				if s, ok := c.str(n, kf); ok {
					jp.Contains = s
				}
			case "matches":
				if s, ok := c.str(n, kf); ok {
					if re, ok := c.regex(kf, s); ok {
						jp.Regex = re
					}
				}
			case "absent":
				if on, ok := c.boolean(n, kf); ok {
					jp.Absent = on
				}
			case "equalToJson":
				var text []byte
				if s, isStr, ok := scalar(n); ok && isStr {
					text = []byte(s)
				} else if t, ok := c.jsonText(n, kf); ok {
					text = t
				} else {
					continue
				}
				want, err := decodeJSON(text)
				if err != nil {
					c.fail(n, kf, "not JSON: "+err.Error())
					continue
				}
				if want == nil {
					want = json.RawMessage("null")
				}
				jp.Equals = want
			default:
				c.unsupported(kf, "decoy cannot match a JSONPath value this way (it can: equalTo, contains, matches, absent, equalToJson)")
			}
			ops++
		}
		if ops > 1 {
			c.fail(o.m, f, "give one pattern beside expression, not several")
			return
		}
	}
	// The expression must be one decoy reads (RFC 9535).
	if _, errs := match.CompileBody(stub.BodyMatcher{JSONPath: []stub.JSONPathMatcher{jp}}); len(errs) > 0 {
		c.unsupported(f, "JSONPath "+strconv.Quote(jp.Path)+": "+errs[0].Msg+" (decoy reads RFC 9535 JSONPath; Jayway-only syntax is not supported)")
		return
	}
	b.JSONPath = append(b.JSONPath, jp)
}
