package match

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"math/big"
	"reflect"
	"regexp"
	"slices"
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
	form      []formField // by name
	// exact is set when the stub compares an integer float64 cannot hold
	// (2^53 or more in magnitude, as 64-bit IDs are): bodies are then
	// decoded with json.Number and integers compared digit for digit.
	// Other stubs decode numbers to float64, which is exact for every
	// integer they can equal, and cheaper.
	exact bool
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
	b.exact = needsExact(m.JSON)
	for _, p := range m.JSONPath {
		b.exact = b.exact || needsExact(p.Equals)
	}
	norm := normalize
	if b.exact {
		norm = exactValue
	}
	if m.JSON != nil {
		b.json, b.hasJSON = norm(m.JSON), true
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
			jp.equals, jp.hasEquals = norm(p.Equals), true
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
	if m.Form != nil {
		if len(m.Form) == 0 {
			errs = append(errs, stub.FieldError{Field: "form", Msg: "no fields: give a matcher for at least one field (e.g. form: {Action: AssumeRole})"})
		}
		if m.JSON != nil || len(m.JSONPath) > 0 {
			errs = append(errs, stub.FieldError{Field: "form", Msg: "a body is a form or JSON, not both: drop form, or json and jsonPath"})
		}
		for _, name := range slices.Sorted(maps.Keys(m.Form)) {
			sm, fe := CompileString(m.Form[name])
			for _, e := range fe {
				errs = append(errs, stub.FieldError{Field: stub.Join("form", name, e.Field), Msg: e.Msg})
			}
			b.form = append(b.form, formField{name: name, m: sm})
		}
	}
	return b, errs
}

// NeedsForm reports whether matching needs the body read as a form
// (MatchForm).
func (b *Body) NeedsForm() bool { return len(b.form) > 0 }

// MatchForm reports whether the form satisfies b's form fields.
func (b *Body) MatchForm(form *Form) bool {
	for i := range b.form {
		if !b.form[i].match(form) {
			return false
		}
	}
	return true
}

// WhyForm returns, for each of b's form fields form does not satisfy,
// what differs.
func (b *Body) WhyForm(form *Form) []string {
	var out []string
	for i := range b.form {
		if !b.form[i].match(form) {
			out = append(out, b.form[i].why(form))
		}
	}
	return out
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

// decode parses body as one JSON value: numbers as float64, or as
// json.Number when b compares integers exactly.
func (b *Body) decode(body []byte) (any, bool) {
	var doc any
	if !b.exact {
		return doc, json.Unmarshal(body, &doc) == nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&doc) != nil {
		return nil, false
	}
	// As json.Unmarshal: nothing but white space after the value.
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return doc, true
}

// NeedsJSON reports whether matching needs the body parsed as JSON.
func (b *Body) NeedsJSON() bool { return b.hasJSON || len(b.paths) > 0 }

// Match reports whether body satisfies b's conditions on the raw body and
// on JSON (all but form fields: see MatchForm).
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
	doc, ok := b.decode(body)
	if !ok {
		return "body is not valid JSON"
	}
	if b.hasJSON && !equal(doc, b.json) {
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
	if p.hasEquals && !equal(v, p.equals) {
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

// maxExact is 2^53: every integer of smaller magnitude is a float64 of its
// own, and 2^53 is where neighbours start to share one (2^53+1 reads as
// 2^53).
const maxExact = 1 << 53

// needsExact reports whether v (a stub's value, from YAML or JSON) holds an
// integer that float64 cannot tell from its neighbours.
func needsExact(v any) bool {
	switch v := v.(type) {
	case int:
		return v >= maxExact || v <= -maxExact
	case int64:
		return v >= maxExact || v <= -maxExact
	case uint64:
		return v >= maxExact
	case uint:
		return v >= maxExact
	case json.Number:
		if !isInteger(v) {
			return false
		}
		i, err := strconv.ParseInt(string(v), 10, 64)
		return err != nil || i >= maxExact || i <= -maxExact
	case map[string]any:
		for _, e := range v {
			if needsExact(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if needsExact(e) {
				return true
			}
		}
	}
	return false
}

// exactValue is normalize for exact matching: the shapes a json.Decoder
// with UseNumber produces, integers written out digit for digit. A float
// keeps the shortest form that reads back as itself, so it compares as
// the float it is.
func exactValue(v any) any {
	switch v := v.(type) {
	case nil, bool, string, json.Number:
		return v
	case int:
		return json.Number(strconv.FormatInt(int64(v), 10))
	case int64:
		return json.Number(strconv.FormatInt(v, 10))
	case int32:
		return json.Number(strconv.FormatInt(int64(v), 10))
	case uint:
		return json.Number(strconv.FormatUint(uint64(v), 10))
	case uint64:
		return json.Number(strconv.FormatUint(v, 10))
	case uint32:
		return json.Number(strconv.FormatUint(uint64(v), 10))
	case float64:
		return json.Number(strconv.FormatFloat(v, 'g', -1, 64))
	case float32:
		return json.Number(strconv.FormatFloat(float64(v), 'g', -1, 32))
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = exactValue(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = exactValue(e)
		}
		return out
	}
	// Another shape (a typed map or slice): through JSON, numbers kept.
	raw, err := json.Marshal(v)
	if err != nil {
		return v
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if dec.Decode(&out) != nil {
		return v
	}
	return exactValue(out)
}

// equal compares two decoded JSON values. Numbers that are both integers
// as written compare exactly; other numbers compare as float64.
func equal(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		bn, ok := b.(json.Number)
		return ok && numberEqual(a, bn)
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			w, ok := bm[k]
			if !ok || !equal(v, w) {
				return false
			}
		}
		return true
	case []any:
		bl, ok := b.([]any)
		if !ok || len(a) != len(bl) {
			return false
		}
		for i := range a {
			if !equal(a[i], bl[i]) {
				return false
			}
		}
		return true
	case float64:
		bf, ok := b.(float64)
		return ok && a == bf
	}
	return reflect.DeepEqual(a, b)
}

func numberEqual(a, b json.Number) bool {
	if a == b {
		return true
	}
	if isInteger(a) && isInteger(b) {
		x, errx := strconv.ParseInt(string(a), 10, 64)
		y, erry := strconv.ParseInt(string(b), 10, 64)
		if errx == nil && erry == nil {
			return x == y
		}
		var bx, by big.Int
		_, okx := bx.SetString(string(a), 10)
		_, oky := by.SetString(string(b), 10)
		return okx && oky && bx.Cmp(&by) == 0
	}
	x, errx := strconv.ParseFloat(string(a), 64)
	y, erry := strconv.ParseFloat(string(b), 64)
	return errx == nil && erry == nil && x == y && !math.IsInf(x, 0)
}

// isInteger reports whether n is written as an integer: digits, perhaps
// after a minus sign.
func isInteger(n json.Number) bool {
	s := string(n)
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
