// Package engine owns decoy's protocol-neutral core: it compiles stubs into
// an immutable Snapshot (route table, matchers, pre-rendered responses),
// holds the current snapshot behind an atomic pointer, and answers a Request
// from any front door with the Stub that matches and the Response to send.
// It knows nothing about sockets or wire formats.
package engine

import (
	"sync/atomic"

	"github.com/decoy-dev/decoy/internal/match"
)

// Fields gives a matcher access to the parts of a request that only some
// stubs look at. Front doors implement it over their own request types so
// nothing is copied unless a matcher asks for it.
type Fields interface {
	// Header returns the first value of the named header (case-insensitive).
	Header(name string) (string, bool)
	// Query returns the first value of the named query parameter.
	Query(name string) (string, bool)
	// Cookie returns the value of the named cookie.
	Cookie(name string) (string, bool)
}

// Request is what a front door hands the engine. Strings may alias the front
// door's buffers: the engine keeps nothing past the call.
type Request struct {
	Proto string // "HTTP/1.1", "HTTP/2", ...
	// GRPC is set for a gRPC call (gRPC-Web too): it is matched against
	// the stubs whose Door lets gRPC calls in.
	GRPC   bool
	Method string
	Path   string // decoded path, without the query
	Body   []byte
	Fields Fields
	// ClientCert is the certificate the client presented over TLS, nil
	// when none (or not over TLS).
	ClientCert *ClientCert
	// absentHeader is a header name a stub looked up and the request
	// lacks (see matchRest): the stubs after it that need that header
	// fail without looking it up again. An OpenAPI operation has a row of
	// Prefer stubs before its answer, which a request without Prefer
	// would otherwise pay a lookup each for. Front doors build a Request
	// afresh for each request, which clears it.
	absentHeader string
	// form is the body read as a form, once a stub asked for a form field
	// (see Form): the stubs after it read the same.
	form *match.Form
	// plain is the body with its Content-Encoding undone, once a stub's
	// body matcher asked for it (see PlainBody); plainOf is the Body it
	// was made from (nil until then).
	plain, plainOf []byte
}

// Form returns the body read as a form (see match.ParseForm): parsed at
// the first call for this body, then kept.
func (r *Request) Form() *match.Form {
	body := r.PlainBody()
	if r.form == nil || !r.form.Of(body) {
		var ct string
		if r.Fields != nil {
			ct, _ = r.Fields.Header("Content-Type")
		}
		r.form = match.ParseForm(ct, body)
	}
	return r.form
}

// PlainBody returns the body as body matchers see it: with its
// Content-Encoding (gzip, deflate) undone, as the client's data was before
// it compressed it. A body in another coding, one that does not inflate,
// or one larger than match.MaxInflated once inflated is returned as sent.
// It is inflated at the first call for this body, then kept.
func (r *Request) PlainBody() []byte {
	if len(r.Body) == 0 || r.Fields == nil {
		return r.Body
	}
	if sameBytes(r.plainOf, r.Body) {
		return r.plain
	}
	r.plain, r.plainOf = r.Body, r.Body
	if ce, ok := r.Fields.Header("Content-Encoding"); ok {
		if out, err := match.Inflate(ce, r.Body); err == nil {
			r.plain = out
		}
	}
	return r.plain
}

// sameBytes reports whether a and b are the same slice of memory.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// param returns the query parameter name, or when the query lacks it the
// first value of the form field of that name (a stub's queryOrForm).
func (r *Request) param(name string) (string, bool) {
	if v, ok := r.Fields.Query(name); ok {
		return v, true
	}
	return r.Form().First(name)
}

// Engine holds the snapshot in use. Readers never block; writers swap a new
// snapshot in whole.
type Engine struct {
	snap      atomic.Pointer[Snapshot]
	unmatched *Stats
}

// New returns an engine serving s.
func New(s *Snapshot) *Engine {
	// Unmatched requests are 404s, except those answered otherwise (a
	// gRPC call's generated answer: 200), counted by their status.
	e := &Engine{unmatched: newStats(1)}
	e.unmatched.status = []int{404}
	e.snap.Store(s)
	return e
}

// Unmatched returns the statistics of the requests no stub matched (all
// recorded as response index 0). They live as long as the engine.
func (e *Engine) Unmatched() *Stats { return e.unmatched }

// Snapshot returns the snapshot in use.
func (e *Engine) Snapshot() *Snapshot { return e.snap.Load() }

// Swap installs s and returns the snapshot it replaced.
func (e *Engine) Swap(s *Snapshot) *Snapshot { return e.snap.Swap(s) }

// Match finds the stub for r in the current snapshot. It returns nil when
// no stub matches.
func (e *Engine) Match(r *Request) *Stub { return e.snap.Load().Match(r) }
