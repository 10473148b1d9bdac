package openapi

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/stub"
)

// An operation's answer in several media types is one stub, not one per
// type: its response is the first declared type's, and a negotiator (the
// stub's engine.Varier) swaps in the body and Content-Type of the type the
// request's Accept header prefers (Negotiate: q-values, the most specific
// range, the document's order on a tie). A request without Accept, or
// with */*, gets the stub's own response at the cost of a comparison.

// offer is one media type an answer can be sent in.
type offer struct {
	ct   string // the Content-Type sent
	body []byte
	// status, when not 0, replaces the stub's: this type's answer is a
	// problem (see noBody) while the first type's is not, or the other
	// way round.
	status int
	// vary, when not nil, makes the body per request (a generated body;
	// see vary.go).
	vary engine.Varier
}

// negotiator picks an answer's media type by Accept (see above).
type negotiator struct {
	types  []string // the offers' types, for Negotiate
	offers []offer
	// refuse, when not nil, answers an Accept that admits none of the
	// types (the default answer); nil serves the first type (an answer
	// asked for with Prefer).
	refuse *acceptRefusal
	// derived[i] is the stub's response in offer i, made from the
	// response the front door passes (which carries any runtime override)
	// and kept while that stays the same.
	derived []atomic.Pointer[derivedResponse]
}

type derivedResponse struct {
	base, resp *engine.Response
}

var _ engine.Varier = (*negotiator)(nil)

// Vary implements engine.Varier: base in the media type r's Accept header
// prefers.
func (n *negotiator) Vary(r *engine.Request, base *engine.Response) *engine.Response {
	i := 0
	var accept string
	if r.Fields != nil {
		if a, ok := r.Fields.Header("Accept"); ok && a != "*/*" {
			i, accept = Negotiate(a, n.types), a
		}
	}
	switch {
	case i < 0 && n.refuse == nil:
		i = 0
	case i < 0:
		return n.refuse.answer(accept, base)
	}
	resp := base
	if i > 0 {
		resp = n.derive(i, base)
	}
	if v := n.offers[i].vary; v != nil {
		resp = v.Vary(r, resp)
	}
	return resp
}

// derive returns base in offer i, made once per base.
func (n *negotiator) derive(i int, base *engine.Response) *engine.Response {
	if d := n.derived[i].Load(); d != nil && d.base == base {
		return d.resp
	}
	nr := *base
	o := &n.offers[i]
	nr.ContentType, nr.ContentTypeB, nr.Body = o.ct, []byte(o.ct), o.body
	if o.status != 0 {
		nr.Status = o.status
	}
	n.derived[i].Store(&derivedResponse{base: base, resp: &nr})
	return &nr
}

// acceptRefusal is the 406 of a default answer whose media types the
// request's Accept admits none of, whatever the validation setting: the
// problem request validation answers (see refusal), with the violation
// header.Accept naming the answer's types, and the response that has a
// type the header admits, which a client can ask for with Prefer. (The
// request check refuses an Accept that admits none of the types of any
// response; this refuses one that admits only those of other responses,
// and with validation off, any.)
type acceptRefusal struct {
	what  string   // the answer: "200 answer"
	types []string // its media types
	// others are the other responses (their code, as declared) and their
	// media types, to name one the header admits; nil without Prefer.
	others []declaredTypes
	// counted, when not nil, counts the violation in the request check's
	// metrics when the check let it through: all are the types of every
	// response, which the check compares the header with.
	counted *atomic.Uint64
	all     []string
	aws     *awsOp
	// last is the answer made last, by Accept: a load test repeats one
	// header, so that its refusals cost no allocation after the first.
	last atomic.Pointer[refused]
}

// declaredTypes are the media types of one declared response.
type declaredTypes struct {
	code  string
	types []string
}

type refused struct {
	base   *engine.Response
	accept string
	resp   *engine.Response
}

// answer is base refused for the header accept.
func (a *acceptRefusal) answer(accept string, base *engine.Response) *engine.Response {
	if a.counted != nil && Negotiate(accept, a.all) >= 0 {
		a.counted.Add(1)
	}
	if l := a.last.Load(); l != nil && l.base == base && l.accept == accept {
		return l.resp
	}
	accept = strings.Clone(accept) // kept: the request's bytes are reused
	msg := fmt.Sprintf("%q admits none of the media types of this operation's %s: %s", accept, a.what, strings.Join(a.types, ", "))
	for _, o := range a.others {
		if Negotiate(accept, o.types) >= 0 {
			msg += fmt.Sprintf("; its %s answer has %s: ask for that answer with Prefer: code=%s", o.code, strings.Join(o.types, ", "), o.code)
			break
		}
	}
	vs := []violation{{"header.Accept", msg}}
	p := refusal(406, vs, summarize(vs), "", a.aws)
	nr := *base
	nr.Status, nr.Headers, nr.ContentType, nr.ContentTypeB, nr.Body = p.Status, p.Headers, p.ContentType, p.ContentTypeB, p.Body
	a.last.Store(&refused{base: base, accept: accept, resp: &nr})
	return &nr
}

// negotiated makes the stub response and its negotiator for an answer
// whose body can be sent in any of the media types ms (in the document's
// order; key is the operation's render key): the stub's response is the first type's rendering. refuse is
// true for the default answer (406 when Accept admits none of ms), false
// for answers asked for with Prefer (the first type then). vary, when not
// nil, gives a rendering its per-request bodies. The negotiator is nil when
// there is nothing to choose.
func (b *builder) negotiated(r *response, ms []*media, key string, mode renderMode, name string, refuse bool,
	vary func(*stub.Response) engine.Varier) (*stub.Response, engine.Varier) {
	rendered := make([]*stub.Response, len(ms))
	for i, m := range ms {
		rendered[i] = b.render(r, m, key, mode, name)
	}
	if len(ms) == 1 && !refuse {
		var v engine.Varier
		if vary != nil {
			v = vary(rendered[0])
		}
		return rendered[0], v
	}
	n := &negotiator{types: make([]string, len(ms)), offers: make([]offer, len(ms)), derived: make([]atomic.Pointer[derivedResponse], len(ms))}
	for i, m := range ms {
		n.types[i] = m.typ
		var o offer
		resp := rendered[i]
		if ct := resp.Headers["Content-Type"]; len(ct) > 0 {
			o.ct = ct[0]
		}
		if strings.ContainsAny(o.ct, "\r\n\x00") {
			// The first type's goes through the engine, which refuses it
			// too.
			b.problem(m.ptr, "the media type %q holds CR, LF or NUL", m.typ)
			continue
		}
		if !resp.Body.IsZero() {
			if s, ok := resp.Body.String(); ok {
				o.body = []byte(s)
			} else {
				o.body = resp.Body.JSON()
			}
		}
		if resp.Status != rendered[0].Status {
			o.status = resp.Status
		}
		if vary != nil {
			o.vary = vary(resp)
		}
		n.offers[i] = o
	}
	if refuse {
		n.refuse = b.acceptRefusal(r, n.types)
	}
	main := rendered[0]
	if len(ms) > 1 {
		main = withVaryAccept(main)
	}
	return main, n
}

// withVaryAccept is a copy of resp that says Vary: Accept (added to a
// Vary header the document declares).
func withVaryAccept(resp *stub.Response) *stub.Response {
	out := *resp
	out.Headers = make(map[string]stub.HeaderValues, len(resp.Headers)+1)
	name, value := "Vary", "Accept"
	for k, v := range resp.Headers {
		out.Headers[k] = v
		if strings.EqualFold(k, "Vary") && len(v) > 0 {
			name = k
			if !varyNames(v[0], "accept") {
				value = v[0] + ", Accept"
			} else {
				value = v[0]
			}
		}
	}
	out.Headers[name] = stub.HeaderValues{value}
	return &out
}

// varyNames reports whether a Vary value names the header (lower case) or
// is *.
func varyNames(v, lower string) bool {
	for f := range strings.SplitSeq(v, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == lower || f == "*" {
			return true
		}
	}
	return false
}

// acceptRefusal makes the 406 of the default answer r, whose media types
// are types (see acceptRefusal).
func (b *builder) acceptRefusal(r *response, types []string) *acceptRefusal {
	a := &acceptRefusal{what: r.key + " answer", types: types, aws: b.aws}
	if c, ok := b.check.(*reqCheck); ok {
		a.counted, a.all = &c.counts[kindMediaType], c.offers
	}
	if !b.o.NoPrefer {
		for _, o := range b.answers {
			// (A default answer is asked for with any code the
			// operation does not declare: no one code names it.)
			if o.key == r.key || o.key == "default" || len(o.media) == 0 {
				continue
			}
			d := declaredTypes{code: o.key}
			for _, m := range o.media {
				d.types = append(d.types, m.typ)
			}
			a.others = append(a.others, d)
		}
	}
	return a
}
