package admin_test

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/admin"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/problem"
)

// record adds a request to e's journal as a front door would.
func (e *env) record(method, uri, headers, body, stubID string) {
	e.journal.Add(&journal.Record{
		Proto: "HTTP/1.1", Method: []byte(method), URI: []byte(uri),
		Headers: []byte(headers), Body: []byte(body),
		Remote: netip.MustParseAddrPort("127.0.0.1:5000"), Stub: stubID, Status: 200,
	})
}

func verifyEnv(t *testing.T) *env {
	e := newEnv(t, nil)
	e.record("GET", "/users/1?page=2", "Host: h\r\nX-Team: blue\r\nCookie: session=abc; theme=dark\r\n", "", "user")
	e.record("GET", "/users/2?page=3", "Host: h\r\nX-Team: red\r\n", "", "user")
	e.record("POST", "/orders", "Host: h\r\nContent-Type: application/json\r\n", `{"item":"book","qty":2}`, "order")
	e.record("POST", "/orders", "Host: h\r\nContent-Type: application/json\r\n", `{"item":"pen","qty":1}`, "order")
	e.record("HEAD", "/users/1", "Host: h\r\n", "", "user")
	e.record("GET", "/caf%C3%A9", "Host: h\r\n", "", "")
	return e
}

func TestRequestsCount(t *testing.T) {
	t.Parallel()
	e := verifyEnv(t)
	tests := []struct {
		name    string
		matcher string
		want    int
	}{
		{"everything", `{}`, 6},
		{"method", `{"method":"POST"}`, 2},
		{"GET also counts HEAD, as stubs match", `{"method":"GET","path":"/users/1"}`, 2},
		{"template", `{"method":"GET","path":"/users/{id}"}`, 3},
		{"prefix", `{"pathPrefix":"/users/"}`, 3},
		{"regex", `{"pathRegex":"^/orders$"}`, 2},
		{"decoded path", `{"path":"/café"}`, 1},
		{"query", `{"path":"/users/{id}","query":{"page":"2"}}`, 1},
		{"query regex", `{"query":{"page":{"regex":"^[23]$"}}}`, 2},
		{"header any case", `{"headers":{"x-team":"blue"}}`, 1},
		{"header absent", `{"path":"/users/{id}","headers":{"X-Team":{"absent":true}}}`, 1},
		{"cookie", `{"cookies":{"theme":"dark"}}`, 1},
		{"body json path", `{"body":{"jsonPath":[{"path":"$.item","equals":"book"}]}}`, 1},
		{"body contains", `{"method":"POST","body":{"contains":"qty"}}`, 2},
		{"none", `{"path":"/nowhere"}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got struct {
				Count, Searched int
				Complete        bool
			}
			e.json("POST", "/requests/count", tt.matcher).want(t, 200).decode(t, &got)
			if got.Count != tt.want || got.Searched != 6 || !got.Complete {
				t.Errorf("%s: got %+v, want count %d of 6, complete", tt.matcher, got, tt.want)
			}
			var found struct {
				Count    int
				Requests []journal.Entry
			}
			e.json("POST", "/requests/find", tt.matcher).want(t, 200).decode(t, &found)
			if found.Count != tt.want || len(found.Requests) != tt.want {
				t.Errorf("find %s: count %d, %d requests, want %d", tt.matcher, found.Count, len(found.Requests), tt.want)
			}
			if !sort.SliceIsSorted(found.Requests, func(a, b int) bool { return found.Requests[a].Seq > found.Requests[b].Seq }) {
				t.Errorf("find %s: not newest first", tt.matcher)
			}
		})
	}
}

// TestRequestsCountClientCert: a matcher on the client certificate counts
// the requests made with it, as a stub's would match them.
func TestRequestsCountClientCert(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	alice := &engine.ClientCert{Subject: "CN=alice,O=decoy", CommonName: "alice", Issuer: "CN=test CA", SANs: []string{"alice.test"}}
	for _, cc := range []*engine.ClientCert{alice, alice, nil} {
		e.journal.Add(&journal.Record{Proto: "HTTP/1.1", Method: []byte("GET"), URI: []byte("/a"), Headers: []byte("Host: h\r\n"), Status: 200, ClientCert: cc})
	}
	tests := []struct {
		matcher string
		want    int
	}{
		{`{"clientCert":{"commonName":"alice"}}`, 2},
		{`{"clientCert":{"san":"alice.test"}}`, 2},
		{`{"clientCert":{"issuer":{"contains":"test CA"}}}`, 2},
		{`{"clientCert":{"subject":"CN=alice,O=decoy"}}`, 2},
		{`{"clientCert":{"present":true}}`, 2},
		{`{"clientCert":{"absent":true}}`, 1},
		{`{"clientCert":{"commonName":"bob"}}`, 0},
	}
	for _, tt := range tests {
		var got struct{ Count int }
		e.json("POST", "/requests/count", tt.matcher).want(t, 200).decode(t, &got)
		if got.Count != tt.want {
			t.Errorf("%s: count %d, want %d", tt.matcher, got.Count, tt.want)
		}
	}
	var found struct{ Requests []journal.Entry }
	e.json("POST", "/requests/find", `{"clientCert":{"commonName":"alice"}}`).want(t, 200).decode(t, &found)
	if len(found.Requests) != 2 || found.Requests[0].ClientCert != alice.Subject {
		t.Errorf("find: %+v, want alice's 2 requests with her subject", found.Requests)
	}
}

// verifyReply is what /verify answers, on 200 and 409 alike.
type verifyReply struct {
	problem.Problem
	Expected   string           `json:"expected"`
	Count      int              `json:"count"`
	Searched   int              `json:"searched"`
	Complete   bool             `json:"complete"`
	NearMisses []admin.NearMiss `json:"nearMisses"`
}

func TestVerify(t *testing.T) {
	t.Parallel()
	e := verifyEnv(t)
	tests := []struct {
		name     string
		query    string
		status   int
		expected string
		count    int
		misses   []string // first reason of each near miss, in order
	}{
		{"default at least one", `{"request":{"method":"POST","path":"/orders"}}`, 200, "at least 1", 2, nil},
		{"exactly holds", `{"request":{"method":"POST"},"count":{"exactly":2}}`, 200, "exactly 2", 2, nil},
		{"range holds", `{"request":{"pathPrefix":"/users"},"count":{"atLeast":1,"atMost":3}}`, 200, "between 1 and 3", 3, nil},
		{"zero holds", `{"request":{"method":"DELETE"},"count":{"exactly":0}}`, 200, "exactly 0", 0, nil},
		{"too many", `{"request":{"method":"POST"},"count":{"atMost":1}}`, 409, "at most 1", 2, nil},
		{"too few, near misses first by distance", `{"request":{"method":"POST","path":"/orders","body":{"jsonPath":[{"path":"$.item","equals":"ink"}]}},"count":{"atLeast":1}}`,
			409, "at least 1", 0, []string{"body", "body", "path"}},
		{"wrong header", `{"request":{"path":"/users/{id}","headers":{"X-Team":"green"}}}`,
			409, "at least 1", 0, []string{"header X-Team", "header X-Team", "header X-Team"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := e.json("POST", "/verify", tt.query)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			var got verifyReply
			r.decode(t, &got)
			if got.Expected != tt.expected || got.Count != tt.count || got.Searched != 6 {
				t.Errorf("got %s", r.body)
			}
			if tt.status == 409 {
				if ct := r.header.Get("Content-Type"); ct != problem.ContentType || got.Status != 409 || !strings.Contains(got.Detail, tt.expected) {
					t.Errorf("409 is not a problem document (%s): %s", ct, r.body)
				}
			}
			var first []string
			for _, m := range got.NearMisses {
				if len(m.Reasons) == 0 || m.URI == "" || m.Seq == 0 {
					t.Errorf("near miss without reasons: %+v", m)
					continue
				}
				first = append(first, strings.SplitN(m.Reasons[0], ":", 2)[0])
			}
			if len(first) != len(tt.misses) {
				t.Fatalf("near misses %v, want %d: %s", first, len(tt.misses), r.body)
			}
			for i := range first {
				if !strings.HasPrefix(first[i], tt.misses[i]) {
					t.Errorf("near miss %d: %q, want %q...: %s", i, first[i], tt.misses[i], r.body)
				}
			}
		})
	}
}

func TestVerifyBadInput(t *testing.T) {
	t.Parallel()
	e := verifyEnv(t)
	tests := []struct {
		name, path, body string
		field            string // a field an error must name; "" for none
	}{
		{"empty body", "/verify", ``, ""},
		{"not JSON", "/verify", `{"request":`, ""},
		{"two objects", "/requests/count", `{} {}`, ""},
		{"null", "/verify", `null`, ""},
		{"a list", "/requests/count", `[]`, ""},
		{"a string", "/requests/find", `"x"`, ""},
		{"unknown field", "/verify", `{"request":{},"times":3}`, "times"},
		{"unknown matcher field", "/requests/count", `{"url":"/x"}`, "url"},
		{"matcher field wrong type", "/verify", `{"request":{"method":3}}`, "request.method"},
		{"bad regex", "/verify", `{"request":{"pathRegex":"("}}`, "request.pathRegex"},
		{"bad header regex", "/requests/find", `{"headers":{"X-A":{"regex":"["}}}`, "headers.X-A.regex"},
		{"two paths", "/requests/count", `{"path":"/a","pathPrefix":"/b"}`, "path"},
		{"bad method", "/verify", `{"request":{"method":"GE T"}}`, "request.method"},
		{"negative", "/verify", `{"request":{},"count":{"atLeast":-1}}`, "count.atLeast"},
		{"exactly with atLeast", "/verify", `{"request":{},"count":{"exactly":1,"atLeast":1}}`, "count.exactly"},
		{"empty count", "/verify", `{"request":{},"count":{}}`, "count"},
		{"atMost below atLeast", "/verify", `{"request":{},"count":{"atLeast":3,"atMost":2}}`, "count.atMost"},
		{"count not a number", "/verify", `{"request":{},"count":{"exactly":"two"}}`, "count.exactly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := e.json("POST", tt.path, tt.body).want(t, 400).problem(t)
			if tt.field == "" {
				return
			}
			var fields []string
			for _, d := range p.Errors {
				fields = append(fields, d.Field)
			}
			if !slices.Contains(fields, tt.field) {
				t.Errorf("errors name %q, want %q: %+v", fields, tt.field, p)
			}
		})
	}
}

func TestVerifyJournalOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *admin.Options) { o.Journal = journal.New(0, 0) })
	for _, path := range []string{"/requests/count", "/requests/find", "/verify"} {
		body := `{}`
		if path == "/verify" {
			body = `{"request":{}}`
		}
		p := e.json("POST", path, body).want(t, 409).problem(t)
		if !strings.Contains(p.Detail, "journal-size 0") {
			t.Errorf("%s: %s", path, p.Detail)
		}
	}
}

// TestVerifyIncomplete: when the journal dropped requests, the answer says
// the count may be low.
func TestVerifyIncomplete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *admin.Options) { o.Journal = journal.New(2, 0) })
	for range 3 {
		e.record("GET", "/a", "", "", "")
	}
	var got verifyReply
	e.json("POST", "/verify", `{"request":{"path":"/a"},"count":{"exactly":2}}`).want(t, 200).decode(t, &got)
	if got.Complete || got.Count != 2 {
		t.Errorf("got %+v, want count 2, incomplete", got)
	}
	e.do("DELETE", "/requests", "", nil).want(t, 204)
	e.record("GET", "/a", "", "", "")
	e.json("POST", "/verify", `{"request":{"path":"/a"},"count":{"exactly":1}}`).want(t, 200).decode(t, &got)
	if !got.Complete {
		t.Errorf("after a clear the journal is complete again: %+v", got)
	}
}

// TestVerifySchemas fails when a verification type gains a field its
// OpenAPI schema does not describe.
func TestVerifySchemas(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	schemas := openAPIDoc(t, e)["components"].(map[string]any)["schemas"].(map[string]any)
	for name, typ := range map[string]reflect.Type{
		"VerifyQuery": reflect.TypeFor[admin.VerifyQuery](),
		"CountSpec":   reflect.TypeFor[admin.CountSpec](),
		"NearMiss":    reflect.TypeFor[admin.NearMiss](),
	} {
		var want, got []string
		for i := range typ.NumField() {
			n, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			want = append(want, n)
		}
		for k := range schemas[name].(map[string]any)["properties"].(map[string]any) {
			got = append(got, k)
		}
		sort.Strings(want)
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("schema %s has %v, type has %v", name, got, want)
		}
	}
	b, _ := json.Marshal(admin.VerifyQuery{})
	if !strings.Contains(string(b), `"request"`) {
		t.Errorf("VerifyQuery encodes as %s", b)
	}
}
