package admin_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/admin"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/problem"
	"github.com/decoy-dev/decoy/internal/stub"
)

// fileSources are the stubs "loaded from files" in every test.
func fileSources() []engine.Source {
	return []engine.Source{
		{
			Origin: "test.yaml:3",
			Stub: stub.Stub{
				ID:       "hello",
				Request:  stub.Request{Method: "GET", Path: "/hello"},
				Response: &stub.Response{Body: stub.Text("hi")},
			},
		},
		{
			Origin: "test.yaml:9",
			Stub: stub.Stub{
				ID:        "seq",
				Request:   stub.Request{Path: "/seq"},
				Responses: []stub.Response{{Status: 200}, {Status: 201}, {Status: 202}},
			},
		},
	}
}

type env struct {
	t       *testing.T
	srv     *httptest.Server
	store   *engine.Store
	journal *journal.Journal
	handler http.Handler
}

// newEnv starts an admin API over a store of fileSources and a journal of
// capacity 100. mod, when given, adjusts the options.
func newEnv(t *testing.T, mod func(*admin.Options)) *env {
	t.Helper()
	st, err := engine.NewStore(fileSources())
	if err != nil {
		t.Fatal(err)
	}
	o := admin.Options{Store: st, Journal: journal.New(100, 1024), Version: "1.2.3-test"}
	if mod != nil {
		mod(&o)
	}
	h := admin.New(o)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, store: st, journal: o.Journal, handler: h}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; body may be nil. ct is the Content-Type ("" for none).
func (e *env) do(method, path, ct string, body []byte) reply {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, b}
}

func (e *env) json(method, path string, body string) reply {
	e.t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	return e.do(method, path, "application/json", b)
}

// want checks the status of r, and that an error is a problem document.
func (r reply) want(t *testing.T, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	if status >= 400 {
		if ct := r.header.Get("Content-Type"); ct != problem.ContentType {
			t.Fatalf("Content-Type %q, want %q; body: %s", ct, problem.ContentType, r.body)
		}
		p := r.problem(t)
		if p.Status != status || p.Title == "" {
			t.Fatalf("problem %+v does not match status %d", p, status)
		}
	} else if status != http.StatusNoContent {
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type %q, want application/json", ct)
		}
	}
	return r
}

func (r reply) problem(t *testing.T) problem.Problem {
	t.Helper()
	var p problem.Problem
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("not a problem document: %v: %s", err, r.body)
	}
	return p
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// storedStub is a stub as the API returns it, decoded loosely.
type storedStub struct {
	ID          string          `json:"id"`
	Description string          `json:"description"`
	Priority    int             `json:"priority"`
	Request     map[string]any  `json:"request"`
	Response    json.RawMessage `json:"response"`
	Responses   json.RawMessage `json:"responses"`
	Sequence    string          `json:"sequence"`
	Origin      string          `json:"origin"`
	Calls       uint64          `json:"calls"`
}

type stubList struct {
	Stubs []storedStub `json:"stubs"`
	Total int          `json:"total"`
}

func (e *env) list() stubList {
	e.t.Helper()
	var l stubList
	r := e.do("GET", "/stubs", "", nil).want(e.t, 200)
	r.decode(e.t, &l)
	if l.Total != len(l.Stubs) {
		e.t.Fatalf("total %d, but %d stubs", l.Total, len(l.Stubs))
	}
	return l
}

// listRaw returns GET /stubs as it was sent, to compare before and after.
func (e *env) listRaw() string {
	e.t.Helper()
	return string(e.do("GET", "/stubs", "", nil).want(e.t, 200).body)
}

func ids(l stubList) []string {
	var out []string
	for _, s := range l.Stubs {
		out = append(out, s.ID)
	}
	return out
}

// fieldsOf returns the fields named by a problem's errors.
func fieldsOf(p problem.Problem) []string {
	var out []string
	for _, d := range p.Errors {
		out = append(out, d.Field)
	}
	return out
}

func TestStubsCRUD(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)

	// Create without an id: one is assigned.
	r := e.json("POST", "/stubs", `{"description":"made by the test","request":{"method":"POST","path":"/orders"},"response":{"status":201,"body":{"ok":true}}}`).want(t, 201)
	var created storedStub
	r.decode(t, &created)
	if created.ID == "" || created.Origin != "api" || created.Calls != 0 || created.Description != "made by the test" {
		t.Fatalf("created %+v", created)
	}
	loc := r.header.Get("Location")
	if loc != "/stubs/"+created.ID {
		t.Fatalf("Location %q, want /stubs/%s", loc, created.ID)
	}
	if !strings.Contains(string(r.body), `"body":{"ok":true}`) {
		t.Fatalf("body not kept as written: %s", r.body)
	}

	// Get it back.
	got := e.do("GET", loc, "", nil).want(t, 200)
	if !bytes.Equal(got.body, r.body) {
		t.Fatalf("GET %s:\n%s\nwant the created stub:\n%s", loc, got.body, r.body)
	}

	// It is listed after the file stubs, and the engine serves it.
	l := e.list()
	if want := []string{"hello", "seq", created.ID}; !slices.Equal(ids(l), want) {
		t.Fatalf("ids %v, want %v", ids(l), want)
	}
	if l.Stubs[0].Origin != "test.yaml:3" || l.Stubs[1].Origin != "test.yaml:9" {
		t.Fatalf("origins %q %q", l.Stubs[0].Origin, l.Stubs[1].Origin)
	}
	if s := e.store.Engine().Match(&engine.Request{Method: "POST", Path: "/orders", Fields: fields{}}); s == nil || s.ID != created.ID {
		t.Fatalf("engine matched %v, want %s", s, created.ID)
	}

	// Replace it; the body's id may be left out.
	r = e.json("PUT", loc, `{"request":{"method":"POST","path":"/orders"},"response":{"status":409,"body":"taken"}}`).want(t, 200)
	var replaced storedStub
	r.decode(t, &replaced)
	if replaced.ID != created.ID || replaced.Origin != "api" || !strings.Contains(string(replaced.Response), `"status":409`) {
		t.Fatalf("replaced %s", r.body)
	}
	got = e.do("GET", loc, "", nil).want(t, 200)
	if !bytes.Equal(got.body, r.body) {
		t.Fatalf("GET after PUT:\n%s\nwant:\n%s", got.body, r.body)
	}
	if s := e.store.Engine().Match(&engine.Request{Method: "POST", Path: "/orders", Fields: fields{}}); s == nil || s.Next().Status != 409 {
		t.Fatalf("engine still serves the old stub")
	}

	// A different id in the body is refused.
	p := e.json("PUT", loc, `{"id":"other","response":{}}`).want(t, 400).problem(t)
	if !slices.Contains(fieldsOf(p), "id") {
		t.Fatalf("errors %+v do not name id", p.Errors)
	}

	// Delete it.
	e.do("DELETE", loc, "", nil).want(t, 204)
	e.do("GET", loc, "", nil).want(t, 404)
	e.do("DELETE", loc, "", nil).want(t, 404)
	if p := e.json("PUT", loc, `{"response":{}}`).want(t, 404).problem(t); !strings.Contains(p.Detail, "create it with POST /stubs") {
		t.Errorf("PUT of a missing stub: %q does not say how to create it", p.Detail)
	}
	if want := []string{"hello", "seq"}; !slices.Equal(ids(e.list()), want) {
		t.Fatalf("ids %v after delete, want %v", ids(e.list()), want)
	}

	// A file stub can be replaced and deleted too; it becomes an api stub.
	r = e.json("PUT", "/stubs/hello", `{"id":"hello","request":{"path":"/hello"},"response":{"body":"bye"}}`).want(t, 200)
	var h storedStub
	r.decode(t, &h)
	if h.Origin != "api" {
		t.Fatalf("origin %q after PUT, want api", h.Origin)
	}
	e.do("DELETE", "/stubs/hello", "", nil).want(t, 204)
}

// TestCalls: calls counts the requests a stub answered, as
// decoy_requests_total does, for a static stub (whose calls are not
// numbered) as for a sequence (whose numbered calls count as soon as they
// start).
func TestCalls(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	snap := e.store.Engine().Snapshot()
	// The front doors count each request answered in the stub's stats.
	for range 3 {
		snap.Get("hello").Stats().Record(0, 0, 2, time.Microsecond)
	}
	seq := snap.Get("seq")
	seq.Next() // answered
	seq.Stats().Record(0, 0, 0, time.Microsecond)
	seq.Next() // still in flight
	want := map[string]uint64{"hello": 3, "seq": 2}
	for id, n := range want {
		var got storedStub
		e.do("GET", "/stubs/"+id, "", nil).want(t, 200).decode(t, &got)
		if got.Calls != n {
			t.Errorf("GET /stubs/%s: calls %d, want %d", id, got.Calls, n)
		}
	}
	for _, st := range e.list().Stubs {
		if st.Calls != want[st.ID] {
			t.Errorf("%s: calls %d in the list, want %d", st.ID, st.Calls, want[st.ID])
		}
	}
}

func TestStubIDNeedsEscaping(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := e.json("POST", "/stubs", `{"id":"a/b c?d","response":{}}`).want(t, 201)
	loc := r.header.Get("Location")
	if loc != "/stubs/a%2Fb%20c%3Fd" {
		t.Fatalf("Location %q", loc)
	}
	var got storedStub
	e.do("GET", loc, "", nil).want(t, 200).decode(t, &got)
	if got.ID != "a/b c?d" {
		t.Fatalf("id %q", got.ID)
	}
	e.do("DELETE", loc, "", nil).want(t, 204)
}

func TestCreateYAML(t *testing.T) {
	t.Parallel()
	const doc = `id: from-yaml
request:
  method: GET
  path: /users/{id}
  headers:
    X-Token: secret        # shorthand for equals
    X-Trace: {present: true}
response:
  status: 200
  headers:
    Cache-Control: no-cache
    Set-Cookie: [a=1, b=2]
  body:
    name: Ada
    langs: [en, fr]
  delay: 250
`
	for _, ct := range []string{"application/yaml", "application/x-yaml; charset=utf-8", "text/yaml", "APPLICATION/YAML"} {
		t.Run(ct, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			r := e.do("POST", "/stubs", ct, []byte(doc)).want(t, 201)
			var got struct {
				ID      string `json:"id"`
				Request struct {
					Headers map[string]map[string]any `json:"headers"`
				} `json:"request"`
				Response struct {
					Headers map[string]any  `json:"headers"`
					Body    json.RawMessage `json:"body"`
					Delay   string          `json:"delay"`
				} `json:"response"`
			}
			r.decode(t, &got)
			if got.ID != "from-yaml" || got.Response.Delay != "250ms" ||
				string(got.Response.Body) != `{"name":"Ada","langs":["en","fr"]}` ||
				got.Request.Headers["X-Token"]["equals"] != "secret" ||
				got.Request.Headers["X-Trace"]["present"] != true ||
				!reflect.DeepEqual(got.Response.Headers["Set-Cookie"], []any{"a=1", "b=2"}) {
				t.Fatalf("stored %s", r.body)
			}
			m := e.store.Engine().Match(&engine.Request{Method: "GET", Path: "/users/7",
				Fields: fields{"X-Token": "secret", "X-Trace": "1"}})
			if m == nil || m.ID != "from-yaml" {
				t.Fatalf("engine matched %v", m)
			}
		})
	}
}

// TestCreateConflict: creating a stub with an id in use is 409 Conflict,
// and changes nothing.
func TestCreateConflict(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	before := e.listRaw()
	for _, body := range []string{
		`{"id":"hello","request":{"path":"/other"},"response":{}}`,
		`{"id":"seq","request":{"pathRegex":"("},"response":{}}`, // also invalid: the id is reported
	} {
		p := e.json("POST", "/stubs", body).want(t, 409).problem(t)
		if !slices.Equal(fieldsOf(p), []string{"id"}) || !strings.Contains(p.Detail, "PUT") {
			t.Fatalf("problem %+v", p)
		}
	}
	if after := e.listRaw(); after != before {
		t.Fatalf("stubs changed:\n%s\n%s", before, after)
	}
}

// TestInvalidStub: a stub the engine refuses is a 400 naming every bad
// field, and nothing changes.
func TestInvalidStub(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		fields []string
	}{
		{"bad regex", "POST", "/stubs", `{"request":{"pathRegex":"(unclosed"},"response":{}}`, []string{"request.pathRegex"}},
		{"missing response", "POST", "/stubs", `{"request":{"path":"/x"}}`, []string{"response"}},
		{"several problems", "POST", "/stubs",
			`{"priority":-1,"request":{"path":"/x","pathPrefix":"/y","headers":{"X-A":{"regex":"["}}},"responses":[{"status":42},{"body":"x","bodyBase64":"eA=="}],"sequence":"loop"}`,
			[]string{"priority", "request.path", "request.headers.X-A.regex", "responses[0].status", "responses[1].body", "sequence"}},
		{"bad header", "POST", "/stubs", `{"response":{"headers":{"Content-Length":"5"}}}`, []string{"response.headers.Content-Length"}},
		{"bodyFile missing", "POST", "/stubs", `{"response":{"bodyFile":"/nonexistent/decoy/file"}}`, []string{"response.bodyFile"}},
		{"bodyFile not a regular file", "POST", "/stubs", `{"response":{"bodyFile":"/dev/zero"}}`, []string{"response.bodyFile"}},
		{"replace with bad matcher", "PUT", "/stubs/hello", `{"request":{"query":{"q":{}}},"response":{}}`, []string{"request.query.q"}},
		{"replace with bad jsonPath", "PUT", "/stubs/seq", `{"request":{"body":{"jsonPath":[{"path":"$$$"}]}},"response":{}}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			before, version := e.listRaw(), e.store.Version()
			p := e.json(tt.method, tt.path, tt.body).want(t, 400).problem(t)
			if len(p.Errors) == 0 {
				t.Fatalf("no errors in %+v", p)
			}
			for _, d := range p.Errors {
				if d.Message == "" {
					t.Errorf("error without a message: %+v", d)
				}
			}
			for _, f := range tt.fields {
				if !slices.Contains(fieldsOf(p), f) {
					t.Errorf("errors name %q, want %q among them", fieldsOf(p), f)
				}
			}
			if after := e.listRaw(); after != before || e.store.Version() != version {
				t.Fatalf("stubs changed:\n%s\n%s", before, after)
			}
		})
	}
}

// TestMalformedBody: input that is not a stub at all is a 400 naming the
// field or the line.
func TestMalformedBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		ct    string
		body  string
		field string // an error must name this field, if set
		msg   string // an error message must contain this, if set
	}{
		{"unknown field", "application/json", `{"request":{"hedaers":{}},"response":{}}`, "request.hedaers", `unknown field; did you mean "headers"?`},
		{"unknown field like no other", "application/json", `{"request":{"zzzzzz":{}},"response":{}}`, "request.zzzzzz", "unknown field; known fields: body, clientCert,"},
		{"unknown top-level field", "", `{"respnse":{}}`, "respnse", `unknown field; did you mean "response"?`},
		{"unknown matcher field", "", `{"request":{"headers":{"X":{"equal":"1"}}},"response":{}}`, "request.headers.X.equal", "unknown field"},
		{"unknown jsonPath field", "", `{"request":{"body":{"jsonPath":[{"path":"$.a","eq":1}]}},"response":{}}`, "request.body.jsonPath[0].eq", "unknown field"},
		{"wrong type", "", `{"request":{},"response":{"status":"200"}}`, "response.status", "integer"},
		{"wrong type in list", "", `{"responses":[{},{"status":true}]}`, "responses[1].status", "integer"},
		{"matcher is a number", "", `{"request":{"query":{"q":5}},"response":{}}`, "request.query.q", "string or an object"},
		{"bad duration", "", `{"response":{"delay":"soon"}}`, "response.delay", "not a duration"},
		{"bad size", "", `{"response":{"generate":{"size":"big"}}}`, "response.generate.size", "not a size"},
		{"not an object", "", `["a"]`, "", "must be an object"},
		{"syntax error", "", "{\n  \"request\": {,\n}", "", "line 2, column"},
		{"truncated", "", `{"request":{`, "", "unexpected end"},
		{"two stubs", "", `{"response":{}} {"response":{}}`, "", "one stub per request"},
		{"empty", "", "  \n", "", "empty"},
		{"yaml sent as json", "text/plain", "request:\n  path: /x\n", "", "application/yaml"},
		{"yaml unknown field", "application/yaml", "request:\n  path: /x\n  methd: GET\nresponse: {}\n", "request.methd", `line 3, column 3: unknown field "methd"; did you mean "method"?`},
		{"yaml unknown field in a list", "application/yaml", "responses:\n  - {status: 200}\n  - {stats: 201}\n", "responses[1].stats", `line 3, column 6: unknown field "stats"; did you mean "status"?`},
		{"yaml wrong type", "application/yaml", "response:\n  status: [1]\n", "", "line 2"},
		{"yaml syntax", "application/yaml", "request: [\n", "", "line 1"},
		{"yaml fraction for an integer", "application/yaml", "request: {path: /x}\nresponse: {status: 200.5}\n", "", "line 2, column 20: status: want an integer, got 200.5"},
		{"yaml two documents", "application/yaml", "response: {}\n---\nresponse: {}\n", "", "more than one YAML document"},
		{"yaml alias", "application/yaml", "x: &a {status: 200}\nresponse: *a\n", "", "line 2, column 11: YAML aliases"},
		{"yaml nested too deep", "application/yaml", "request: {path: /x}\nresponse: {body: " + strings.Repeat("[", 40000) + strings.Repeat("]", 40000) + "}\n", "", "line 2, column"},
		{"yaml of too many values", "application/yaml", "request: {path: /x}\nresponse: {body: [" + strings.Repeat("1,", 1100000) + "1]}\n", "", "send this one as JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			before := e.listRaw()
			p := e.do("POST", "/stubs", tt.ct, []byte(tt.body)).want(t, 400).problem(t)
			found := false
			for _, d := range p.Errors {
				if (tt.field == "" || d.Field == tt.field) && strings.Contains(d.Message, tt.msg) {
					found = true
				}
			}
			if !found && !(tt.field == "" && strings.Contains(p.Detail, tt.msg)) {
				t.Fatalf("no error with field %q and message containing %q in %+v", tt.field, tt.msg, p)
			}
			if after := e.listRaw(); after != before {
				t.Fatalf("stubs changed")
			}
		})
	}
}

func TestOversizedBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	big := `{"description":"` + strings.Repeat("a", admin.MaxBodyBytes) + `","response":{}}`
	for _, target := range []string{"/stubs", "/stubs/hello"} {
		method := map[string]string{"/stubs": "POST", "/stubs/hello": "PUT"}[target]
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(method, target, strings.NewReader(big))
		e.handler.ServeHTTP(rec, req)
		r := reply{rec.Code, rec.Header(), rec.Body.Bytes()}
		r.want(t, http.StatusRequestEntityTooLarge)
	}
	// Just under the limit is fine.
	ok := `{"description":"` + strings.Repeat("a", admin.MaxBodyBytes-40) + `","response":{}}`
	e.json("POST", "/stubs", ok).want(t, 201)
}

func TestReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	initial := e.listRaw()
	e.journal.Add(&journal.Record{Start: time.Now(), Method: []byte("GET"), URI: []byte("/hello"), Status: 200, Stub: "hello"})

	e.json("POST", "/stubs", `{"id":"extra","response":{}}`).want(t, 201)
	e.do("DELETE", "/stubs/hello", "", nil).want(t, 204)
	e.json("PUT", "/stubs/seq", `{"response":{"status":500}}`).want(t, 200)
	e.store.Engine().Snapshot().Get("seq").Next()
	if e.listRaw() == initial {
		t.Fatal("nothing changed before the reset")
	}

	var res struct {
		Stubs int `json:"stubs"`
	}
	e.do("POST", "/reset", "", nil).want(t, 200).decode(t, &res)
	if res.Stubs != 2 {
		t.Fatalf("reset reports %d stubs, want 2", res.Stubs)
	}
	if got := e.listRaw(); got != initial {
		t.Fatalf("after reset:\n%s\nwant:\n%s", got, initial)
	}

	// Sequences restart.
	seq := e.store.Engine().Snapshot().Get("seq")
	seq.Next()
	e.do("POST", "/reset", "", nil).want(t, 200)
	if st := e.store.Engine().Snapshot().Get("seq"); st.Calls() != 0 || st.Next().Status != 200 {
		t.Fatalf("sequence not restarted")
	}
	// The journal is kept.
	if e.journal.Len() != 1 {
		t.Fatalf("journal holds %d after reset, want 1", e.journal.Len())
	}
}

type requestList struct {
	Total    uint64          `json:"total"`
	Size     int             `json:"size"`
	Capacity int             `json:"capacity"`
	Requests []journal.Entry `json:"requests"`
}

func TestRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	records := []journal.Record{
		{Method: []byte("GET"), URI: []byte("/hello"), Stub: "hello", Status: 200},
		{Method: []byte("POST"), URI: []byte("/orders?x=1"), Status: 404},
		{Method: []byte("GET"), URI: []byte("/users/1"), Stub: "user", Status: 200},
		{Method: []byte("GET"), URI: []byte("/users/2"), Stub: "user", Status: 500},
		{Method: []byte("DELETE"), URI: []byte("/users/2"), Stub: "del", Status: 204},
	}
	for i := range records {
		records[i].Start = t0.Add(time.Duration(i) * time.Minute)
		records[i].Proto = "HTTP/1.1"
		e.journal.Add(&records[i])
	}
	tests := []struct {
		query string
		want  []uint64 // seqs, newest first
	}{
		{"", []uint64{5, 4, 3, 2, 1}},
		{"?method=get", []uint64{4, 3, 1}},
		{"?path=/users/*", []uint64{5, 4, 3}},
		{"?path=/orders", []uint64{2}},
		{"?stub=user", []uint64{4, 3}},
		{"?stub=-", []uint64{2}},
		{"?status=200", []uint64{3, 1}},
		{"?since=" + url.QueryEscape(t0.Add(2*time.Minute).Format(time.RFC3339)), []uint64{5, 4, 3}},
		{"?until=" + url.QueryEscape(t0.Add(2*time.Minute).Format(time.RFC3339)), []uint64{2, 1}},
		{"?limit=2", []uint64{5, 4}},
		{"?method=GET&path=/users/*&status=500", []uint64{4}},
		{"?method=PATCH", []uint64{}},
	}
	for _, tt := range tests {
		var l requestList
		e.do("GET", "/requests"+tt.query, "", nil).want(t, 200).decode(t, &l)
		if l.Total != 5 || l.Size != 5 || l.Capacity != 100 {
			t.Errorf("%s: total %d size %d capacity %d", tt.query, l.Total, l.Size, l.Capacity)
		}
		var got []uint64
		for _, en := range l.Requests {
			got = append(got, en.Seq)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: seqs %v, want %v", tt.query, got, tt.want)
		}
	}
	var l requestList
	e.do("GET", "/requests?stub=hello", "", nil).want(t, 200).decode(t, &l)
	if en := l.Requests[0]; en.Method != "GET" || en.Path != "/hello" || en.Proto != "HTTP/1.1" || !en.Time.Equal(t0) {
		t.Errorf("entry %+v", en)
	}

	// Bad filters name the parameter.
	for _, q := range []string{"status=abc", "status=99", "since=yesterday", "until=x", "limit=-1", "method=G%20T", "path=users"} {
		param, _, _ := strings.Cut(q, "=")
		p := e.do("GET", "/requests?"+q, "", nil).want(t, 400).problem(t)
		if !slices.Equal(fieldsOf(p), []string{param}) || !strings.Contains(p.Detail, param) {
			t.Errorf("%s: problem %+v does not name %s", q, p, param)
		}
	}
	// Unknown parameters (a typo of stub) are refused, named with the
	// known ones, rather than ignored to list the whole journal.
	p := e.do("GET", "/requests?stubs=hello&limt=2&limit=1", "", nil).want(t, 400).problem(t)
	if !slices.Equal(fieldsOf(p), []string{"limt", "stubs"}) || !strings.Contains(p.Detail, "limt, stubs") ||
		!strings.Contains(p.Detail, "known query parameters: grpcStatus, limit, method, path, since, status, stub, until") {
		t.Errorf("unknown parameters: problem %+v", p)
	}

	// Clearing empties the journal but keeps the total.
	e.do("DELETE", "/requests", "", nil).want(t, 204)
	l = requestList{}
	r := e.do("GET", "/requests", "", nil).want(t, 200)
	r.decode(t, &l)
	if l.Total != 5 || l.Size != 0 || len(l.Requests) != 0 || !strings.Contains(string(r.body), `"requests":[]`) {
		t.Fatalf("after clear: %s", r.body)
	}
}

func TestRequestsDisabledJournal(t *testing.T) {
	t.Parallel()
	for name, j := range map[string]*journal.Journal{"capacity 0": journal.New(0, 0), "nil": nil} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(o *admin.Options) { o.Journal = j })
			r := e.do("GET", "/requests", "", nil).want(t, 200)
			if got := strings.TrimSpace(string(r.body)); got != `{"total":0,"size":0,"capacity":0,"requests":[]}` {
				t.Fatalf("got %s", got)
			}
			e.do("DELETE", "/requests", "", nil).want(t, 204)
		})
	}
}

func TestHealthAndReady(t *testing.T) {
	t.Parallel()
	var ready atomic.Bool
	e := newEnv(t, func(o *admin.Options) { o.Ready = ready.Load })

	var h struct {
		Status        string   `json:"status"`
		Version       string   `json:"version"`
		Stubs         int      `json:"stubs"`
		UptimeSeconds *float64 `json:"uptimeSeconds"`
	}
	e.do("GET", "/health", "", nil).want(t, 200).decode(t, &h)
	if h.Status != "ok" || h.Version != "1.2.3-test" || h.Stubs != 2 || h.UptimeSeconds == nil || *h.UptimeSeconds < 0 {
		t.Fatalf("health %+v", h)
	}

	r := e.do("GET", "/ready", "", nil) // a 503 that is not a problem
	if r.status != 503 || r.header.Get("Content-Type") != "application/json" || strings.TrimSpace(string(r.body)) != `{"ready":false}` {
		t.Fatalf("not ready: %s", r.body)
	}
	ready.Store(true)
	r = e.do("GET", "/ready", "", nil).want(t, 200)
	if strings.TrimSpace(string(r.body)) != `{"ready":true}` {
		t.Fatalf("ready: %s", r.body)
	}

	// Without a Ready func, always ready.
	e2 := newEnv(t, nil)
	e2.do("GET", "/ready", "", nil).want(t, 200)
	e2.do("HEAD", "/health", "", nil).want(t, 200)
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tests := []struct {
		method, path string
		status       int
		allow        []string
	}{
		{"GET", "/nope", 404, nil},
		{"GET", "/stubs/", 404, nil},
		{"GET", "/stubs/hello/extra", 404, nil},
		{"PATCH", "/stubs", 405, []string{"GET", "HEAD", "POST"}},
		{"POST", "/stubs/hello", 405, []string{"DELETE", "GET", "HEAD", "PUT"}},
		{"DELETE", "/health", 405, []string{"GET", "HEAD"}},
		{"GET", "/reset", 405, []string{"POST"}},
		{"PUT", "/requests", 405, []string{"DELETE", "GET", "HEAD"}},
	}
	for _, tt := range tests {
		r := e.do(tt.method, tt.path, "", nil).want(t, tt.status)
		if tt.allow != nil {
			var got []string
			for _, m := range strings.Split(r.header.Get("Allow"), ",") {
				got = append(got, strings.TrimSpace(m))
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.allow) {
				t.Errorf("%s %s: Allow %q, want %v", tt.method, tt.path, r.header.Get("Allow"), tt.allow)
			}
		}
		if r.header.Get("X-Content-Type-Options") != "" {
			t.Errorf("%s %s: stray X-Content-Type-Options", tt.method, tt.path)
		}
	}
}

// fields is an engine.Fields over a map of headers.
type fields map[string]string

func (f fields) Header(name string) (string, bool) {
	for k, v := range f {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}
func (f fields) Query(string) (string, bool)  { return "", false }
func (f fields) Cookie(string) (string, bool) { return "", false }
