package openapi

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/problem"
	"github.com/decoy-dev/decoy/internal/stub"
)

// The Prefer stubs of an operation match the header with regular
// expressions (see operation): the static path stays static, and a request
// without Prefer pays a failed header lookup per Prefer stub. RFC 7240
// makes preference names case-insensitive and lets a value be a quoted
// string, so code=404, Code=404 and code="404" are the same preference.

// preferLead and preferTrail bound a preference in the header: the start
// or a separator before it, the end or a separator after it.
const (
	preferLead  = `(^|[\s,;])`
	preferTrail = `($|[\s,;])`
)

// preferCore matches the preference name=value without its bounds.
func preferCore(name, value string) string {
	v := regexp.QuoteMeta(value)
	return `(?i:` + regexp.QuoteMeta(name) + `)\s*=\s*("` + v + `"|` + v + `)`
}

// preferRe matches a Prefer header holding the preference name=value.
func preferRe(name, value string) string {
	return preferLead + preferCore(name, value) + preferTrail
}

// preferBothRe matches a Prefer header holding both preferences, in
// either order (RE2 has no lookahead to say "and").
func preferBothRe(n1, v1, n2, v2 string) string {
	a, b := preferCore(n1, v1), preferCore(n2, v2)
	mid := `[\s,;](.*[\s,;])?`
	return preferLead + `(` + a + mid + b + `|` + b + mid + a + `)` + preferTrail
}

// preferAnyRe matches a Prefer header holding the preference name with any
// value.
func preferAnyRe(name string) string {
	return preferLead + `(?i:` + regexp.QuoteMeta(name) + `)\s*=`
}

// preferValue returns the value of the preference name in a Prefer header
// (unquoted), and whether it is there.
func preferValue(header, name string) (string, bool) {
	for pref := range strings.SplitSeq(header, ",") {
		pref, _, _ = strings.Cut(pref, ";") // its parameters
		k, v, ok := strings.Cut(pref, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), name) {
			continue
		}
		v = strings.TrimSpace(v)
		if u, err := strconv.Unquote(v); err == nil && strings.HasPrefix(v, `"`) {
			v = u
		}
		return v, true
	}
	return "", false
}

// preferMiss answers a Prefer: code=N or example=NAME that names nothing
// the operation declares: a 400 problem that says what it does declare,
// rather than the default answer, which a test asking for the error path
// would take for success. It is the engine.Varier of the stub that catches
// such requests, so that the detail names the value asked for.
type preferMiss struct {
	name     string // "code" or "example"
	op       string // "GET /items/{id}"
	declared string // "200, 404" or "dog, cat (200), notFound (404)"
	aws      *awsOp // an operation of AWS's query protocol: answered as its error
}

// missStub is the stub response of m, with the detail it has when the
// request's value cannot be read.
func (m *preferMiss) missStub() *stub.Response {
	ct := problem.ContentType
	if m.aws != nil {
		ct = "text/xml"
	}
	return &stub.Response{Status: 400, Headers: map[string]stub.HeaderValues{
		"Content-Type":  {ct},
		"Cache-Control": {"no-store"},
	}, Body: stub.Text(string(m.body("")))}
}

func (m *preferMiss) body(asked string) []byte {
	if m.aws != nil {
		return m.aws.refusal(400, false, m.detail(asked)).Body
	}
	p := problem.New(400, m.detail(asked))
	p.Type = "https://github.com/decoy-dev/decoy/blob/main/docs/openapi.md#per-request-control-prism-compatible"
	p.Title = "Prefer asks for an answer the operation does not declare"
	return p.JSON()
}

// detail says what the operation declares.
func (m *preferMiss) detail(asked string) string {
	pref := "Prefer: " + m.name + "="
	if asked != "" {
		pref += asked
	}
	var detail string
	switch m.name {
	case "code":
		detail = fmt.Sprintf("%s: %s declares the responses %s", pref, m.op, m.declared)
	default:
		if m.declared == "" {
			detail = fmt.Sprintf("%s: %s declares no named examples", pref, m.op)
		} else {
			detail = fmt.Sprintf("%s: %s declares the examples %s", pref, m.op, m.declared)
		}
	}
	return detail
}

var _ engine.Varier = (*preferMiss)(nil)

// Vary implements engine.Varier: the problem naming the value asked for.
// Only requests that ask for a missing answer get here.
func (m *preferMiss) Vary(r *engine.Request, base *engine.Response) *engine.Response {
	if r.Fields == nil {
		return base
	}
	h, ok := r.Fields.Header("Prefer")
	if !ok {
		return base
	}
	asked, ok := preferValue(h, m.name)
	if !ok {
		return base
	}
	nr := *base
	if n, err := strconv.Atoi(asked); err == nil && m.aws != nil && m.name == "code" && n >= 400 && n <= 599 {
		nr.Status = n
		nr.Body = m.aws.preferError(n, m.declared)
		return &nr
	}
	nr.Body = m.body(asked)
	return &nr
}

// preferStatus is the Varier of a stub that answers Prefer: code=N with a
// range (4XX) or default response: the answer (made by inner, when there
// is one) with N as its status.
type preferStatus struct {
	inner engine.Varier
}

var _ engine.Varier = (*preferStatus)(nil)

// Vary implements engine.Varier. It is reached only by requests whose
// Prefer asks for a code (the stub's matcher), so the copy it makes
// costs nothing on the default answer's path.
func (p *preferStatus) Vary(r *engine.Request, base *engine.Response) *engine.Response {
	resp := base
	if p.inner != nil {
		resp = p.inner.Vary(r, base)
	}
	if r.Fields == nil {
		return resp
	}
	h, _ := r.Fields.Header("Prefer")
	v, _ := preferValue(h, "code")
	n, err := strconv.Atoi(v)
	if err != nil || n < 200 || n > 599 || n == resp.Status {
		return resp
	}
	nr := *resp
	nr.Status = n
	return &nr
}

// declaredCodes lists the responses of list as a client asks for them in
// Prefer: code=N ("200, 404"), a range and default as written ("4XX,
// default").
func declaredCodes(list []response) string {
	var out []string
	seen := map[string]bool{}
	for _, r := range list {
		k := strconv.Itoa(r.code)
		if r.key == "default" {
			k = r.key
		} else if statusRange(r.key) != 0 {
			k = strings.ToUpper(r.key)
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return strings.Join(out, ", ")
}

// declaredExamples lists the named examples of list by response:
// "dog, cat (200), notFound (404)".
func declaredExamples(list []response) string {
	var out []string
	for i := range list {
		if names := exampleNames(&list[i]); len(names) > 0 {
			out = append(out, strings.Join(names, ", ")+" ("+strconv.Itoa(list[i].code)+")")
		}
	}
	return strings.Join(out, ", ")
}
