package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/match"
	"github.com/decoy-dev/decoy/internal/problem"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// reqCheck is an operation's request rules compiled at load: parameters,
// the body by media type, and the security requirements. It implements
// engine.RequestCheck.
type reqCheck struct {
	report   bool
	stub     string   // the operation's stub id: the metrics' stub label
	offers   []string // every response media type the operation declares
	params   []param
	body     *bodyRule
	security [][]secReq // alternatives (any one suffices), each a list (all needed)
	realm    string     // WWW-Authenticate for a 401
	// queryOrForm: a query parameter the query lacks is read from a form
	// body (AWS's query protocol: see queryFormCheck).
	queryOrForm bool
	// aws: an operation of AWS's query protocol, whose refusals are the
	// protocol's errors (see aws.go).
	aws    *awsOp
	counts [nKinds]atomic.Uint64
}

// vkind is the kind of a violation, a label of
// decoy_validation_violations_total.
type vkind uint8

const (
	kindPath vkind = iota
	kindQuery
	kindHeader
	kindCookie
	kindBody
	kindSecurity
	kindMethod
	kindMediaType
	nKinds
)

// violationKinds are the kinds of violations counted, in the order of
// ViolationCounts.
var violationKinds = [nKinds]string{"path", "query", "header", "cookie", "body", "security", "method", "media-type"}

// kindOf is the kind of a violation at loc.
func kindOf(loc string) vkind {
	switch {
	case loc == "header.Content-Type" || loc == "header.Accept":
		return kindMediaType
	case strings.HasPrefix(loc, "path."):
		return kindPath
	case strings.HasPrefix(loc, "query."):
		return kindQuery
	case strings.HasPrefix(loc, "header."):
		return kindHeader
	case strings.HasPrefix(loc, "cookie."):
		return kindCookie
	case loc == "security":
		return kindSecurity
	}
	return kindBody
}

// ViolationCounts implements the metrics' violation source: the
// operation's stub id and the violations found so far, by kind (in the
// order of violationKinds).
func (c *reqCheck) ViolationCounts() (string, []string, []uint64) {
	n := make([]uint64, nKinds)
	for i := range n {
		n[i] = c.counts[i].Load()
	}
	return c.stub, violationKinds[:], n
}

// methodCheck counts the requests answered 405 for a path; it lets every
// request through to the 405 stub it is attached to.
type methodCheck struct {
	stub string
	n    atomic.Uint64
}

// Check implements engine.RequestCheck.
func (m *methodCheck) Check(*engine.Request) *engine.Verdict {
	m.n.Add(1)
	return nil
}

// ViolationCounts implements the metrics' violation source.
func (m *methodCheck) ViolationCounts() (string, []string, []uint64) {
	return m.stub, []string{violationKinds[kindMethod]}, []uint64{m.n.Load()}
}

type param struct {
	in, name string
	loc      string // "query.limit"
	required bool
	empty    bool   // allowEmptyValue: ?name= (or ?name) is valid
	typ      string // JSON type the text is read as
	itemTyp  string // for arrays
	style    style
	explode  bool
	props    map[string]string // for objects: the properties' types
	deep     *shape            // for a deepObject or free-form object: the types at each place
	free     bool              // an exploded form object that takes query parameters of any name
	others   []string          // for free: the query parameters others take (see freeOthers)
	brackets []string          // for free: "name[" of the operation's deepObject parameters
	schema   *jsonschema.Schema
	fast     *simple // nil: always ask schema
	seg      pathVar // for a path parameter: where it is (seg -1 when unknown)
}

type bodyRule struct {
	required bool
	media    []bodyMedia
}

type bodyMedia struct {
	typ     string // "application/json", "application/*", "*/*"
	json    bool
	anyJSON bool // a range (*/*, application/*) whose schema a JSON body is checked against
	form    bool
	multi   bool // multipart/form-data
	schema  *jsonschema.Schema
	props   map[string]string // form field types
	items   map[string]string // form array fields: their items' type
	binary  map[string]bool   // multipart fields that are files (format: binary)
	partCT  map[string]string // multipart fields: encoding.contentType
	delims  map[string]string // array fields sent as one value: the separator (Swagger 2.0, encoding style)
	shape   *shape            // the schema's types at each place, for name[key]=value fields
	jsonF   map[string]bool   // urlencoded fields sent as JSON (encoding contentType)
	id      uint64            // tells its entries apart in validBodies
}

// validBodies remembers JSON bodies found valid, by a hash of the body and
// the media type's id, so that a load test that sends the same body again
// and again pays for one validation: a fixed table, lock-free, where a
// newer body replaces an older one in its slot.
var validBodies [1 << 13]atomic.Uint64

var bodyIDs atomic.Uint64

func bodyKey(id uint64, body []byte) uint64 {
	k := xxhash.Sum64(body) ^ (id * 0x9e3779b97f4a7c15)
	if k == 0 {
		k = 1
	}
	return k
}

type secReq struct {
	kind string // "apiKey", "basic", "bearer"
	in   string // for apiKey: header, query, cookie
	name string
}

type violation struct{ loc, msg string }

var printer = message.NewPrinter(language.English)

// Check implements engine.RequestCheck.
func (c *reqCheck) Check(r *engine.Request) *engine.Verdict {
	status, vs := c.violations(r)
	if len(vs) == 0 {
		return nil
	}
	return c.verdict(status, vs)
}

// violations lists what r breaks, and the status that answers it.
func (c *reqCheck) violations(r *engine.Request) (int, []violation) {
	var vs []violation
	status := 0
	if len(c.security) > 0 && !c.secOK(r) {
		status = 401
		vs = append(vs, violation{"security", "missing credentials: " + c.realm})
	}
	if len(c.offers) > 0 {
		if a, ok := r.Fields.Header("Accept"); ok && a != "*/*" && Negotiate(a, c.offers) < 0 {
			vs = append(vs, violation{"header.Accept", fmt.Sprintf("%q admits none of %s", a, strings.Join(c.offers, ", "))})
			status = worse(status, 406)
		}
	}
	for i := range c.params {
		p := &c.params[i]
		if p.typ == "array" || p.typ == "object" {
			inst, ok, msg := c.composite(p, r)
			switch {
			case !ok && p.required:
				vs = append(vs, violation{p.loc, "is required"})
			case !ok:
				continue
			case msg != "":
				vs = append(vs, violation{p.loc, msg})
			case p.schema != nil:
				bad := validate(p.schema, inst, p.loc)
				if bad == nil {
					continue
				}
				vs = append(vs, bad...)
			default:
				continue
			}
			status = worse(status, 400)
			continue
		}
		v, ok := c.value(p, r)
		if !ok {
			if p.required {
				vs = append(vs, violation{p.loc, "is required"})
				status = worse(status, 400)
			}
			continue
		}
		if v == "" && p.empty {
			continue
		}
		if p.style == styleLabel || p.style == styleMatrix {
			var msg string
			if v, msg = p.scalarText(v); msg != "" {
				vs = append(vs, violation{p.loc, msg})
				status = worse(status, 400)
				continue
			}
		}
		if p.typ == "json" && p.schema != nil {
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(v))
			if err != nil {
				vs = append(vs, violation{p.loc, "not valid JSON: " + err.Error()})
				status = worse(status, 400)
			} else if bad := validate(p.schema, inst, p.loc); bad != nil {
				vs = append(vs, bad...)
				status = worse(status, 400)
			}
			continue
		}
		if p.schema == nil || (p.fast != nil && p.fast.ok(v)) {
			continue
		}
		if bad := validate(p.schema, coerce(v, p.typ, p.itemTyp), p.loc); bad != nil {
			vs = append(vs, bad...)
			status = worse(status, 400)
		}
	}
	if c.body != nil {
		s, v := c.checkBody(r)
		status = worse(status, s)
		vs = append(vs, v...)
	}
	return status, vs
}

// verdict counts the violations and words the answer to them.
func (c *reqCheck) verdict(status int, vs []violation) *engine.Verdict {
	for _, v := range vs {
		c.counts[kindOf(v.loc)].Add(1)
	}
	summary := summarize(vs)
	if c.report {
		return &engine.Verdict{Summary: summary}
	}
	return &engine.Verdict{Response: refusal(status, vs, summary, c.realm, c.aws)}
}

// summarize words violations in one line: "2 violations: path.id: must
// be >= 1; query.limit: must be <= 100".
func summarize(vs []violation) string {
	var sum strings.Builder
	fmt.Fprintf(&sum, "%d violation", len(vs))
	if len(vs) > 1 {
		sum.WriteByte('s')
	}
	sum.WriteString(": ")
	for i, v := range vs {
		if i > 0 {
			sum.WriteString("; ")
		}
		sum.WriteString(v.loc + ": " + v.msg)
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, sum.String())
}

// refusal is the answer to a request with the violations vs (summary
// words them; realm is WWW-Authenticate's for a 401): a problem of type
// #request-validation listing them, or AWS's error for an operation of
// its query protocol (aws not nil). The 406 of an Accept that admits
// none of the default answer's types is one too (see acceptRefusal).
func refusal(status int, vs []violation, summary, realm string, aws *awsOp) *engine.Response {
	if aws != nil {
		missing := false
		for _, v := range vs {
			missing = missing || isMissing(v.msg)
		}
		resp := aws.refusal(status, missing, summary)
		resp.Headers = append(resp.Headers, header("Cache-Control", "no-store"))
		if status == 406 {
			resp.Headers = append(resp.Headers, header("Vary", "Accept"))
		}
		return resp
	}
	p := problem.New(status, summary)
	p.Title = "Request does not match the OpenAPI document"
	switch status {
	case 401:
		p.Title = "Unauthorized"
	case 406:
		p.Title = "Not Acceptable"
	}
	for _, v := range vs {
		p.Errors = append(p.Errors, problem.Detail{Field: v.loc, Message: v.msg})
	}
	p.Type = "https://github.com/decoy-dev/decoy/blob/main/docs/openapi.md#request-validation"
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false) // "must be <= 100", not "\u003c="
	_ = enc.Encode(p)
	resp := &engine.Response{Status: status, ContentType: problem.ContentType, ContentTypeB: []byte(problem.ContentType),
		Body: bytes.TrimSuffix(body.Bytes(), []byte("\n"))}
	if status == 401 {
		resp.Headers = append(resp.Headers, header("WWW-Authenticate", realm))
	}
	resp.Headers = append(resp.Headers, header("Cache-Control", "no-store"))
	if status == 406 {
		resp.Headers = append(resp.Headers, header("Vary", "Accept"))
	}
	return resp
}

// worse is the status of a request with the violations of both a and b:
// missing credentials first, then a malformed request, then what the
// server cannot produce or take, then a body that breaks its schema.
func worse(a, b int) int {
	rank := func(s int) int {
		switch s {
		case 401:
			return 5
		case 400:
			return 4
		case 406:
			return 3
		case 415, 413:
			return 2
		case 422:
			return 1
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

func header(name, value string) engine.Header {
	return engine.Header{Name: name, Value: value, NameB: []byte(name), ValueB: []byte(value)}
}

func (c *reqCheck) value(p *param, r *engine.Request) (string, bool) {
	switch p.in {
	case "path":
		if p.seg.seg < 0 {
			return "", false
		}
		return p.seg.value(r.Path)
	case "query":
		if p.style == styleDeep {
			return "", false // a scalar cannot be a deepObject
		}
		if v, ok := r.Fields.Query(p.name); ok || !c.queryOrForm {
			return v, ok
		}
		return r.Form().First(p.name)
	case "header":
		return r.Fields.Header(p.name)
	case "cookie":
		return r.Fields.Cookie(p.name)
	}
	return "", false
}

func (c *reqCheck) secOK(r *engine.Request) bool {
	auth, _ := r.Fields.Header("Authorization")
	for _, alt := range c.security {
		ok := true
		for _, s := range alt {
			switch s.kind {
			case "basic":
				ok = ok && len(auth) > 6 && strings.EqualFold(auth[:6], "basic ")
			case "bearer":
				ok = ok && len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ")
			case "apiKey":
				var v string
				switch s.in {
				case "query":
					v, _ = r.Fields.Query(s.name)
				case "cookie":
					v, _ = r.Fields.Cookie(s.name)
				default:
					v, _ = r.Fields.Header(s.name)
				}
				ok = ok && v != ""
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (c *reqCheck) checkBody(r *engine.Request) (int, []violation) {
	b := c.body
	if len(r.Body) == 0 {
		if b.required {
			return 400, []violation{{"body", "is required"}}
		}
		return 0, nil
	}
	ct, _ := r.Fields.Header("Content-Type")
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	var err error
	var m *bodyMedia
	best := 0
	for i := range b.media {
		// The most specific declared type wins: application/json over
		// application/* over */* (OpenAPI 3.1, Media Types).
		if rank := mediaRank(b.media[i].typ, mt); rank > best {
			m, best = &b.media[i], rank
		}
	}
	if m == nil {
		types := make([]string, len(b.media))
		for i := range b.media {
			types[i] = b.media[i].typ
		}
		return 415, []violation{{"header.Content-Type", fmt.Sprintf("%q is not one of %s", ct, strings.Join(types, ", "))}}
	}
	if m.schema == nil {
		return 0, nil
	}
	asJSON := m.json || m.anyJSON && isJSONType(mt)
	if !asJSON && !m.form && !m.multi {
		return 0, nil
	}
	var inst any
	var key uint64 // of a JSON body, in validBodies
	switch {
	case asJSON:
		// A body seen valid before, as sent (compressed or not), is
		// valid again: nothing to decompress or parse. Whether it was
		// compressed is part of the key.
		id := m.id
		ce, coded := r.Fields.Header("Content-Encoding")
		if coded && !strings.EqualFold(strings.TrimSpace(ce), "identity") {
			id = ^id
		}
		key = bodyKey(id, r.Body)
		slot := &validBodies[key&(uint64(len(validBodies))-1)]
		if slot.Load() == key {
			return 0, nil
		}
		body, st, vs := r.Body, 0, []violation(nil)
		if coded {
			body, st, vs = decoded(ce, body)
		}
		if vs != nil {
			return st, vs
		}
		inst, err = jsonschema.UnmarshalJSON(bytes.NewReader(bytes.TrimPrefix(body, utf8BOM)))
		if err != nil {
			return 400, []violation{{"body", "not valid JSON: " + err.Error()}}
		}
	case m.multi:
		body, st, vs := plainBody(r)
		if vs != nil {
			return st, vs
		}
		obj, st, vs, skip := m.multipart(ct, body)
		if obj == nil {
			return st, vs
		}
		return fieldsChecked(m.schema, obj, st, vs, skip)
	default:
		body, st, vs := plainBody(r)
		if vs != nil {
			return st, vs
		}
		obj, st, vs, skip := m.formBody(string(body))
		return fieldsChecked(m.schema, obj, st, vs, skip)
	}
	if bad := validate(m.schema, inst, "body"); bad != nil {
		return 422, bad
	}
	if asJSON {
		validBodies[key&(uint64(len(validBodies))-1)].Store(key)
	}
	return 0, nil
}

// fieldsChecked validates a form or multipart body read into obj, with
// the violations st and vs its reading found (skip: the fields left out
// of obj for them), and returns them all: the status is the first kind's
// (see worse), as for the other parts of a request.
func fieldsChecked(schema *jsonschema.Schema, obj map[string]any, st int, vs []violation, skip map[string]bool) (int, []violation) {
	if bad := validate(schema, obj, "body"); bad != nil {
		n := len(vs)
		if vs = withoutSkipped(vs, bad, skip); len(vs) > n {
			st = worse(st, 422)
		}
	}
	return st, vs
}

func mediaMatch(declared, got string) bool { return mediaRank(declared, got) > 0 }

// mediaRank is how well the declared media type (or range) matches the
// request's: 3 the same type, 2 its type/*, 1 */*, 0 not at all.
func mediaRank(declared, got string) int {
	declared, _, _ = strings.Cut(declared, ";")
	declared = strings.TrimSpace(declared)
	switch {
	case strings.EqualFold(declared, got):
		return 3
	case declared == "*/*":
		return 1
	}
	if major, ok := strings.CutSuffix(declared, "/*"); ok {
		if len(got) > len(major) && got[len(major)] == '/' && strings.EqualFold(got[:len(major)], major) {
			return 2
		}
		return 0
	}
	// AWS's JSON protocols send application/x-amz-json-1.0 or -1.1 where
	// AWS's documents declare application/json.
	if strings.EqualFold(declared, "application/json") && len(got) > len(amzJSON) && strings.EqualFold(got[:len(amzJSON)], amzJSON) {
		return 3
	}
	return 0
}

// isJSONType reports whether a request's media type is JSON:
// application/json or a +json type.
func isJSONType(mt string) bool {
	return strings.EqualFold(mt, "application/json") ||
		len(mt) > 5 && strings.EqualFold(mt[len(mt)-5:], "+json")
}

var utf8BOM = []byte("\xef\xbb\xbf")

// plainBody is the request's body with its Content-Encoding undone.
func plainBody(r *engine.Request) ([]byte, int, []violation) {
	ce, ok := r.Fields.Header("Content-Encoding")
	if !ok {
		return r.Body, 0, nil
	}
	return decoded(ce, r.Body)
}

// decoded undoes a request body's Content-Encoding (gzip, deflate or
// identity) so that it can be validated; another coding is a 415, as RFC
// 9110 (section 8.4) says.
func decoded(ce string, body []byte) ([]byte, int, []violation) {
	out, err := match.Inflate(ce, body)
	switch {
	case err == nil:
		return out, 0, nil
	case errors.Is(err, match.ErrCoding):
		return nil, 415, []violation{{"header.Content-Encoding", fmt.Sprintf("%q cannot be read to validate the body: send it as gzip, deflate or identity", ce)}}
	case errors.Is(err, match.ErrInflatedSize):
		return nil, 413, []violation{{"body", err.Error()}}
	}
	return nil, 400, []violation{{"header.Content-Encoding", fmt.Sprintf("the body is not valid %s: %v", ce, err)}}
}

// amzJSON starts the content types of AWS's JSON protocols.
const amzJSON = "application/x-amz-json-"

// coerce reads a parameter's text as the JSON type its schema declares;
// text that does not parse stays a string, for the validator to reject.
func coerce(v, typ, item string) any {
	switch typ {
	case "integer", "number":
		if n := json.Number(v); isNumber(v) {
			return n
		}
	case "boolean":
		if b, err := strconv.ParseBool(v); err == nil && (v == "true" || v == "false") {
			return b
		}
	case "array":
		parts := strings.Split(v, ",")
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = coerce(p, item, "")
		}
		return out
	case "null":
		if v == "" {
			return nil
		}
	}
	return v
}

// isNumber reports whether v is a number's decimal text, of any size (a
// number past float64's range is still a number: the validator reads it
// exactly).
func isNumber(v string) bool {
	if v == "" {
		return false
	}
	_, err := strconv.ParseFloat(v, 64)
	return (err == nil || errors.Is(err, strconv.ErrRange)) && !strings.ContainsAny(v, "xXpP_ ") && !strings.EqualFold(v, "nan") && !strings.Contains(strings.ToLower(v), "inf")
}

// appendErrs flattens a validation error into violations at loc.
func appendErrs(vs []violation, loc string, err error) []violation {
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return append(vs, violation{loc, err.Error()})
	}
	var walk func(e *jsonschema.ValidationError)
	var out []violation
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		at := loc
		for _, t := range e.InstanceLocation {
			at += "." + t
		}
		if d, ok := e.ErrorKind.(*discValue); ok {
			at += "." + d.prop // about the property, not the object
		}
		if r, ok := e.ErrorKind.(*kind.Required); ok {
			for _, m := range r.Missing {
				out = append(out, violation{at + "." + m, "is required"})
			}
			return
		}
		out = append(out, violation{at, describe(e.ErrorKind)})
	}
	walk(ve)
	sort.SliceStable(out, func(i, j int) bool { return out[i].loc < out[j].loc })
	// The alternatives of a oneOf or anyOf may each say the same
	// ("body.petType: is required"): once is enough.
	seen := make(map[violation]bool, len(out))
	for _, v := range out {
		if !seen[v] {
			seen[v] = true
			vs = append(vs, v)
		}
	}
	return vs
}

func describe(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Type:
		return "expected " + strings.Join(k.Want, " or ") + ", got " + k.Got
	case *kind.Maximum:
		return "must be <= " + ratText(k.Want)
	case *kind.Minimum:
		return "must be >= " + ratText(k.Want)
	case *kind.ExclusiveMaximum:
		return "must be < " + ratText(k.Want)
	case *kind.ExclusiveMinimum:
		return "must be > " + ratText(k.Want)
	case *kind.MaxLength:
		return "must be at most " + characters(k.Want)
	case *kind.MinLength:
		return "must be at least " + characters(k.Want)
	case *kind.Pattern:
		return fmt.Sprintf("must match %s", k.Want)
	case *kind.AdditionalProperties:
		return "unexpected " + strings.Join(k.Properties, ", ")
	case *kind.Format:
		switch k.Want {
		case "int32":
			return "must fit format int32 (" + intRange(32) + ")"
		case "int64":
			return "must fit format int64 (" + intRange(64) + ")"
		}
	}
	return k.LocalizedString(printer)
}

// ratText writes a bound as the document does (0.5, not the 1/2 of
// big.Rat's RatString).
func ratText(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// characters is "1 character" or "n characters".
func characters(n int) string {
	if n == 1 {
		return "1 character"
	}
	return strconv.Itoa(n) + " characters"
}

// simple is a parameter schema decoy checks itself, without allocating, so
// that a valid request costs no more than matching it: a scalar type with
// bounds, lengths, an enum or a pattern. Anything else (or a value that
// fails here) goes to the JSON Schema validator, which words the
// violation.
type simple struct {
	typ            string
	min, max       float64
	hasMin, hasMax bool
	exMin, exMax   bool
	// minI and maxI are the bounds as int64 when they are integers
	// that fit: an integer is compared with them exactly.
	minI, maxI     int64
	intMin, intMax bool
	minLen, maxLen int
	enum           []string
	re             *regexp.Regexp
}

var simpleKeys = map[string]bool{"type": true, "format": true, "minimum": true, "maximum": true,
	"exclusiveMinimum": true, "exclusiveMaximum": true, "minLength": true, "maxLength": true,
	"enum": true, "pattern": true, "description": true, "example": true, "examples": true,
	"default": true, "title": true, "deprecated": true}

// compileSimple returns nil when m is not simple.
func compileSimple(m map[string]any) *simple {
	s := &simple{maxLen: -1}
	for k := range m {
		if !simpleKeys[k] && !strings.HasPrefix(k, "x-") {
			return nil
		}
	}
	s.typ, _ = m["type"].(string)
	switch s.typ {
	case "integer", "number", "string", "boolean":
	default:
		return nil
	}
	switch f, _ := m["format"].(string); f {
	case "", "int64", "float", "double":
	case "int32":
		if _, ok := m["minimum"]; !ok {
			m = withBound(m, "minimum", -1<<31)
		}
		if _, ok := m["maximum"]; !ok {
			m = withBound(m, "maximum", 1<<31-1)
		}
	default:
		return nil
	}
	var bad bool
	// num reads a bound: as a float64 only when that is exact enough
	// (at most 15 significant digits, which float64 keeps apart), and as
	// an int64 when it is an integer that fits; else the schema is not
	// simple, and the validator compares exactly.
	num := func(k string) (f float64, i int64, isInt, ok bool) {
		n, isNum := m[k].(json.Number)
		if !isNum {
			_, isBool := m[k].(bool)
			bad = bad || !isBool && m[k] != nil
			return 0, 0, false, false
		}
		f, err := n.Float64()
		i, ierr := n.Int64()
		if err != nil || ierr != nil && sigDigits(string(n)) > 15 {
			bad = true
			return 0, 0, false, false
		}
		return f, i, ierr == nil, true
	}
	s.min, s.minI, s.intMin, s.hasMin = num("minimum")
	s.max, s.maxI, s.intMax, s.hasMax = num("maximum")
	if m["exclusiveMinimum"] == true {
		s.exMin = true
	} else if f, i, isInt, ok := num("exclusiveMinimum"); ok {
		s.min, s.minI, s.intMin, s.hasMin, s.exMin = f, i, isInt, true, true
	}
	if m["exclusiveMaximum"] == true {
		s.exMax = true
	} else if f, i, isInt, ok := num("exclusiveMaximum"); ok {
		s.max, s.maxI, s.intMax, s.hasMax, s.exMax = f, i, isInt, true, true
	}
	if s.typ == "number" && (s.hasMin && s.intMin && sigDigits(strconv.FormatInt(s.minI, 10)) > 15 ||
		s.hasMax && s.intMax && sigDigits(strconv.FormatInt(s.maxI, 10)) > 15) {
		bad = true // a number is compared as a float64, which this bound is not
	}
	if n, ok := m["minLength"].(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			s.minLen = int(i)
		}
	}
	if n, ok := m["maxLength"].(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			s.maxLen = int(i)
		}
	}
	if e, ok := m["enum"].([]any); ok {
		for _, v := range e {
			str, ok := v.(string)
			if !ok {
				return nil
			}
			s.enum = append(s.enum, str)
		}
	}
	if p, ok := m["pattern"].(string); ok {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil
		}
		s.re = re
	}
	if bad {
		return nil
	}
	return s
}

func withBound(m map[string]any, k string, v int64) map[string]any {
	out := make(map[string]any, len(m)+1)
	for a, b := range m {
		out[a] = b
	}
	out[k] = json.Number(strconv.FormatInt(v, 10))
	return out
}

// ok reports whether the text v certainly satisfies the schema.
func (s *simple) ok(v string) bool {
	switch s.typ {
	case "integer":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return false
		}
		// An integer is compared exactly: with an int64 bound as it is,
		// with another as a float64 only while float64 holds it exactly.
		const exact = 1 << 53
		if (s.hasMin && !s.intMin || s.hasMax && !s.intMax) && (n > exact || n < -exact) {
			return false
		}
		f := float64(n)
		if s.hasMin && (s.intMin && (n < s.minI || s.exMin && n == s.minI) || !s.intMin && (f < s.min || s.exMin && f == s.min)) {
			return false
		}
		if s.hasMax && (s.intMax && (n > s.maxI || s.exMax && n == s.maxI) || !s.intMax && (f > s.max || s.exMax && f == s.max)) {
			return false
		}
		return true
	case "number":
		// Past 15 significant digits, float64 may not tell a value from
		// its bound: the validator compares it.
		if !isNumber(v) || sigDigits(v) > 15 {
			return false
		}
		f, _ := strconv.ParseFloat(v, 64)
		if s.hasMin && (f < s.min || (s.exMin && f == s.min)) {
			return false
		}
		if s.hasMax && (f > s.max || (s.exMax && f == s.max)) {
			return false
		}
		return true
	case "boolean":
		return v == "true" || v == "false"
	}
	if s.minLen > 0 || s.maxLen >= 0 {
		n := utf8.RuneCountInString(v)
		if n < s.minLen || (s.maxLen >= 0 && n > s.maxLen) {
			return false
		}
	}
	if s.enum != nil {
		found := false
		for _, e := range s.enum {
			if e == v {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return s.re == nil || s.re.MatchString(v)
}
