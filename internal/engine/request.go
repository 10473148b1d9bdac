package engine

import "github.com/decoy-dev/decoy/internal/stub"

// RequestMatcher is a stub's request matcher compiled on its own, without a
// response: the admin API runs it over the journal to count, find and
// verify recorded requests with the same model, and the same code, that
// stubs match with.
type RequestMatcher struct{ s Stub }

// CompileRequest compiles req. Errors name fields relative to the request
// ("method", "headers.X-Id.regex"); the matcher is nil when there are any.
func CompileRequest(req stub.Request) (*RequestMatcher, []stub.FieldError) {
	m := &RequestMatcher{s: Stub{Spec: stub.Stub{Request: req}}}
	if errs := m.s.compileRequest(req); len(errs) > 0 {
		return nil, errs
	}
	return m, nil
}

// Match reports whether r satisfies the matcher, as a stub with this
// request would (a GET matcher also matches HEAD).
func (m *RequestMatcher) Match(r *Request) bool {
	return m.s.matchMethod(r.Method) && m.s.matchPath(r.Path) && m.s.matchRest(r)
}

// Why returns the reasons r does not satisfy the matcher, worded as in the
// no-match report, and a distance: 0 when it matches, higher the further
// it is (a wrong path weighs most).
func (m *RequestMatcher) Why(r *Request) (reasons []string, distance int) {
	miss := m.s.explain(r)
	return miss.Reasons, miss.score
}
