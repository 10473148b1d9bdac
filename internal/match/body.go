package match

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"

	"github.com/decoy-dev/decoy/internal/stub"
	"github.com/theory/jsonpath"
)

// Body is a compiled stub.BodyMatcher.
type Body struct {
	equals    []byte
	hasEquals bool
	contains  []byte
	re        *regexp.Regexp
	json      any
	hasJSON   bool
	paths     []jsonPath
}

type jsonPath struct {
	expr      string
	path      *jsonpath.Path
	equals    any
	hasEquals bool
	contains  string
	re        *regexp.Regexp
	absent    bool
}

// CompileBody compiles m. Errors name the offending field relative to m.
func CompileBody(m stub.BodyMatcher) (*Body, []stub.FieldError) {
	var errs []stub.FieldError
	b := &Body{contains: []byte(m.Contains)}
	if m.Equals != nil {
		b.equals, b.hasEquals = []byte(*m.Equals), true
	}
	if m.Regex != "" {
		re, err := regexp.Compile(m.Regex)
		if err != nil {
			errs = append(errs, stub.FieldError{Field: "regex", Msg: "bad regular expression: " + reErr(err)})
		}
		b.re = re
	}
	if m.JSON != nil {
		b.json, b.hasJSON = normalize(m.JSON), true
	}
	for i, p := range m.JSONPath {
		field := fmt.Sprintf("jsonPath[%d]", i)
		jp := jsonPath{expr: p.Path, contains: p.Contains, absent: p.Absent}
		if p.Path == "" {
			errs = append(errs, stub.FieldError{Field: field + ".path", Msg: "missing JSONPath expression (e.g. $.user.id)"})
		} else if path, err := jsonpath.Parse(p.Path); err != nil {
			errs = append(errs, stub.FieldError{Field: field + ".path", Msg: "bad JSONPath expression: " + err.Error()})
		} else {
			jp.path = path
		}
		if p.Equals != nil {
			jp.equals, jp.hasEquals = normalize(p.Equals), true
		}
		if p.Regex != "" {
			re, err := regexp.Compile(p.Regex)
			if err != nil {
				errs = append(errs, stub.FieldError{Field: field + ".regex", Msg: "bad regular expression: " + reErr(err)})
			}
			jp.re = re
		}
		if p.Absent && (p.Equals != nil || p.Contains != "" || p.Regex != "") {
			errs = append(errs, stub.FieldError{Field: field + ".absent", Msg: "absent cannot be combined with another condition"})
		}
		b.paths = append(b.paths, jp)
	}
	return b, errs
}

// normalize turns any decoded value (from YAML or JSON) into the shapes
// encoding/json produces, so that values compare with reflect.DeepEqual.
func normalize(v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		return v
	}
	return out
}

// NeedsJSON reports whether matching needs the body parsed as JSON.
func (b *Body) NeedsJSON() bool { return b.hasJSON || len(b.paths) > 0 }

// Match reports whether body satisfies b.
func (b *Body) Match(body []byte) bool { return b.Why(body) == "" }

// Why returns "" when body matches, otherwise what differs.
func (b *Body) Why(body []byte) string {
	if b.hasEquals && !bytes.Equal(body, b.equals) {
		return fmt.Sprintf("body is %s, want %s", quote(string(body)), quote(string(b.equals)))
	}
	if len(b.contains) > 0 && !bytes.Contains(body, b.contains) {
		return fmt.Sprintf("body does not contain %s", quote(string(b.contains)))
	}
	if b.re != nil && !b.re.Match(body) {
		return fmt.Sprintf("body does not match /%s/", b.re.String())
	}
	if !b.NeedsJSON() {
		return ""
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return "body is not valid JSON"
	}
	if b.hasJSON && !reflect.DeepEqual(doc, b.json) {
		return "body is not the JSON value the stub wants"
	}
	for _, p := range b.paths {
		if p.path == nil {
			return "bad JSONPath " + p.expr
		}
		nodes := p.path.Select(doc)
		if p.absent {
			if len(nodes) > 0 {
				return fmt.Sprintf("body has %s but it must be absent", p.expr)
			}
			continue
		}
		if len(nodes) == 0 {
			return fmt.Sprintf("body has nothing at %s", p.expr)
		}
		if !anyNode(nodes, p.matches) {
			got := quote(text(nodes[0]))
			if p.hasEquals {
				got = asJSON(nodes[0])
			}
			return fmt.Sprintf("body at %s is %s, %s", p.expr, got, p.want())
		}
	}
	return ""
}

func anyNode(nodes []any, f func(any) bool) bool {
	for _, n := range nodes {
		if f(n) {
			return true
		}
	}
	return false
}

func (p *jsonPath) matches(v any) bool {
	if p.hasEquals && !reflect.DeepEqual(v, p.equals) {
		return false
	}
	if p.contains != "" && !bytes.Contains([]byte(text(v)), []byte(p.contains)) {
		return false
	}
	if p.re != nil && !p.re.MatchString(text(v)) {
		return false
	}
	return true
}

func (p *jsonPath) want() string {
	switch {
	case p.hasEquals:
		return "want " + asJSON(p.equals)
	case p.contains != "":
		return "want it to contain " + strconv.Quote(p.contains)
	case p.re != nil:
		return "want it to match /" + p.re.String() + "/"
	}
	return "no match"
}

// asJSON renders a value as JSON, shortened for messages.
func asJSON(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}

// text renders a JSON value for text matching: strings as they are, other
// values as JSON.
func text(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
