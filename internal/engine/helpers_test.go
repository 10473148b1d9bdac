package engine

import (
	"strconv"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/stub"
)

// fields is a map-based Fields for tests. Header names are looked up
// case-insensitively, as the Fields contract requires; query parameters and
// cookies are case-sensitive.
type fields struct {
	header map[string]string
	query  map[string]string
	cookie map[string]string
}

func (f fields) Header(name string) (string, bool) {
	if v, ok := f.header[name]; ok {
		return v, true
	}
	for k, v := range f.header {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

func (f fields) Query(name string) (string, bool) {
	v, ok := f.query[name]
	return v, ok
}

func (f fields) Cookie(name string) (string, bool) {
	v, ok := f.cookie[name]
	return v, ok
}

// rq describes a request in tables; the zero value is GET / with nothing.
type rq struct {
	method string
	path   string
	header map[string]string
	query  map[string]string
	cookie map[string]string
	body   string
}

func (r rq) req() *Request {
	m := r.method
	if m == "" {
		m = "GET"
	}
	p := r.path
	if p == "" {
		p = "/"
	}
	var body []byte
	if r.body != "" {
		body = []byte(r.body)
	}
	return &Request{Proto: "HTTP/1.1", Method: m, Path: p, Body: body,
		Fields: fields{header: r.header, query: r.query, cookie: r.cookie}}
}

func ok200() *stub.Response { return &stub.Response{Status: 200} }

func status(code int) *stub.Response { return &stub.Response{Status: code} }

// withID returns s with the given ID and, if it has none, a response.
func withID(id string, s stub.Stub) stub.Stub {
	s.ID = id
	if s.Response == nil && len(s.Responses) == 0 {
		s.Response = ok200()
	}
	return s
}

// srcs wraps stubs into sources, naming unnamed ones s0, s1, ... by position.
func srcs(stubs ...stub.Stub) []Source {
	out := make([]Source, len(stubs))
	for i, s := range stubs {
		if s.ID == "" {
			s.ID = "s" + strconv.Itoa(i)
		}
		if s.Response == nil && len(s.Responses) == 0 {
			s.Response = ok200()
		}
		out[i] = Source{Stub: s, Origin: "test"}
	}
	return out
}

func mustCompile(t testing.TB, sources []Source) *Snapshot {
	t.Helper()
	snap, errs := Compile(sources)
	if errs != nil {
		t.Fatalf("Compile: %v", errs)
	}
	return snap
}

func matchedID(s *Stub) string {
	if s == nil {
		return ""
	}
	return s.ID
}

func sp(s string) *string { return &s }

func eq(v string) stub.StringMatcher { return stub.Eq(v) }
