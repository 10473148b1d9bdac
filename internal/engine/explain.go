package engine

import (
	"fmt"
	"sort"
	"strings"
)

// Miss says why one stub did not answer a request.
type Miss struct {
	Stub    string   `json:"stub"`
	Origin  string   `json:"origin,omitempty"`
	Reasons []string `json:"reasons"`
	score   int
}

// Explain returns up to n stubs closest to matching r, each with the
// reasons it did not. It is meant for the no-match path only: it looks at
// every stub.
func (s *Snapshot) Explain(r *Request, n int) []Miss {
	misses := make([]Miss, 0, len(s.stubs))
	for _, st := range s.stubs {
		m := st.explain(r)
		if len(m.Reasons) > 0 {
			misses = append(misses, m)
		}
	}
	sort.SliceStable(misses, func(a, b int) bool { return misses[a].score < misses[b].score })
	n = max(n, 0)
	if len(misses) > n {
		misses = misses[:n]
	}
	return misses
}

func (s *Stub) explain(r *Request) Miss {
	m := Miss{Stub: s.ID, Origin: s.Origin}
	switch {
	case s.door == DoorGRPC && !r.GRPC:
		m.score += 8
		m.Reasons = append(m.Reasons, "it answers gRPC calls only (its path is a gRPC method's; httpOnly: true makes a stub for HTTP requests there)")
	case s.door == DoorHTTP && r.GRPC:
		m.score += 8
		m.Reasons = append(m.Reasons, "it answers HTTP requests only")
	}
	if !s.matchPath(r.Path) {
		// A wrong path weighs most, less so the more leading segments the
		// stub's path shares with the request's.
		m.score += 40 - 8*min(sharedSegments(s.describePath(), r.Path), 4)
		m.Reasons = append(m.Reasons, "path "+s.describePath()+" does not match "+r.Path)
	}
	if !s.matchMethod(r.Method) {
		m.score += 4
		m.Reasons = append(m.Reasons, fmt.Sprintf("method is %s, want %s", r.Method, s.method))
	}
	for _, q := range s.query {
		what := "query parameter "
		v, ok := r.Fields.Query(q.name)
		if s.queryOrForm {
			what = "query parameter (or form field) "
			v, ok = r.param(q.name)
		}
		if !q.m.Match(v, ok) {
			m.score++
			m.Reasons = append(m.Reasons, what+q.name+" "+q.m.Why(v, ok))
		}
	}
	for _, h := range s.headers {
		if v, ok := r.Fields.Header(h.name); !h.m.Match(v, ok) {
			m.score++
			m.Reasons = append(m.Reasons, "header "+h.name+" "+h.m.Why(v, ok))
		}
	}
	for _, c := range s.cookies {
		if v, ok := r.Fields.Cookie(c.name); !c.m.Match(v, ok) {
			m.score++
			m.Reasons = append(m.Reasons, "cookie "+c.name+" "+c.m.Why(v, ok))
		}
	}
	if s.body != nil {
		if why := s.body.Why(r.PlainBody()); why != "" {
			m.score++
			m.Reasons = append(m.Reasons, why)
		}
		if s.body.NeedsForm() {
			for _, why := range s.body.WhyForm(r.Form()) {
				m.score++
				m.Reasons = append(m.Reasons, why)
			}
		}
	}
	if s.cert != nil {
		if why := s.cert.why(r.ClientCert); why != "" {
			m.score++
			m.Reasons = append(m.Reasons, why)
		}
	}
	return m
}

func (s *Stub) describePath() string {
	switch s.pathKind {
	case kindExact:
		return s.path
	case kindTemplate:
		return s.Spec.Request.Path
	case kindRegex:
		if s.Spec.Request.PathRegex != "" {
			return "/" + s.pathRe.String() + "/"
		}
		return s.Spec.Request.Path
	case kindPrefix:
		return strings.TrimSuffix(s.path, "*") + "*"
	}
	return "*"
}

// sharedSegments counts the leading path segments a and b have in common.
func sharedSegments(a, b string) int {
	as := strings.Split(strings.Trim(a, "/"), "/")
	bs := strings.Split(strings.Trim(b, "/"), "/")
	n := 0
	for n < len(as) && n < len(bs) && as[n] == bs[n] && as[n] != "" {
		n++
	}
	return n
}
