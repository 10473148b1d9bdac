package openapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy"
)

const validateSpec = "testdata/validate.yaml"

type reqCase struct {
	name, method, path string
	headers            map[string]string
	body               string
	status             int
	contains           []string // in the body, or in Decoy-Validation in report mode
	header             map[string]string
}

func do(t *testing.T, srv *decoy.Server, c reqCase) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, srv.URL+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// TestValidationEnforce sends valid and invalid requests to a document's
// routes over a real listener and checks each answer.
func TestValidationEnforce(t *testing.T) {
	t.Parallel()
	srv, err := decoy.Start(decoy.Options{Files: []string{validateSpec}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	trace := map[string]string{"X-Trace": "abc123"}
	js := func(h map[string]string) map[string]string {
		out := map[string]string{"Content-Type": "application/json"}
		for k, v := range h {
			out[k] = v
		}
		return out
	}
	tests := []reqCase{
		{name: "valid", method: "GET", path: "/api/items/7?limit=100&sort=asc", headers: trace, status: 200, contains: []string{`{"id":1}`}},
		{name: "query over maximum", method: "GET", path: "/api/items/7?limit=101", headers: trace, status: 400,
			contains: []string{`"field":"query.limit"`, `must be <= 100`}},
		{name: "query not an integer", method: "GET", path: "/api/items/7?limit=ten", headers: trace, status: 400,
			contains: []string{`query.limit: expected integer, got string`}},
		{name: "query enum", method: "GET", path: "/api/items/7?sort=up", headers: trace, status: 400, contains: []string{`query.sort`}},
		{name: "path below minimum", method: "GET", path: "/api/items/0", headers: trace, status: 400, contains: []string{`path.id: must be >= 1`}},
		{name: "path not an integer", method: "GET", path: "/api/items/x", headers: trace, status: 400, contains: []string{`path.id: expected integer`}},
		{name: "header missing", method: "GET", path: "/api/items/7", status: 400, contains: []string{`header.X-Trace: is required`}},
		{name: "header pattern", method: "GET", path: "/api/items/7", headers: map[string]string{"X-Trace": "XYZ"}, status: 400, contains: []string{`header.X-Trace`}},
		{name: "cookie too short", method: "GET", path: "/api/items/7", headers: map[string]string{"X-Trace": "ab", "Cookie": "session=ab"}, status: 400, contains: []string{`cookie.session`}},
		{name: "several at once", method: "GET", path: "/api/items/0?limit=500", status: 400,
			contains: []string{`3 violations`, `path.id`, `query.limit`, `header.X-Trace`}},
		{name: "wrong method", method: "PUT", path: "/api/items/7", status: 405, header: map[string]string{"Allow": "DELETE, GET, HEAD"}},
		{name: "declared other method", method: "DELETE", path: "/api/items/7", status: 204},
		{name: "json body valid", method: "POST", path: "/api/users", headers: js(nil), body: `{"name":"Ann","address":{"zip":"12345"}}`, status: 201},
		{name: "json body schema", method: "POST", path: "/api/users", headers: js(nil), body: `{"name":"Ann","age":-1,"address":{"zip":12345}}`, status: 422,
			contains: []string{`body.address.zip: expected string, got number`, `body.age: must be >= 0`}},
		{name: "json body missing property", method: "POST", path: "/api/users", headers: js(nil), body: `{"address":{}}`, status: 422,
			contains: []string{`body.address.zip: is required`, `body.name: is required`}},
		{name: "json body malformed", method: "POST", path: "/api/users", headers: js(nil), body: `{"name":`, status: 400, contains: []string{`body: not valid JSON`}},
		{name: "body required", method: "POST", path: "/api/users", status: 400, contains: []string{`body: is required`}},
		{name: "media type", method: "POST", path: "/api/users", headers: map[string]string{"Content-Type": "text/csv"}, body: "a,b", status: 415, contains: []string{`header.Content-Type`}},
		{name: "form valid", method: "POST", path: "/api/users", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "name=Ann&age=40", status: 201},
		{name: "form invalid", method: "POST", path: "/api/users", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "age=400", status: 422,
			contains: []string{`body.age: must be <= 150`, `body.name: is required`}},
		{name: "api key missing", method: "GET", path: "/api/secure/key", status: 401, header: map[string]string{"WWW-Authenticate": `ApiKey realm="decoy", header="X-API-Key"`}},
		{name: "api key given", method: "GET", path: "/api/secure/key", headers: map[string]string{"X-API-Key": "k"}, status: 200},
		{name: "bearer or basic missing", method: "GET", path: "/api/secure/bearer", status: 401, header: map[string]string{"WWW-Authenticate": `Bearer realm="decoy", Basic realm="decoy"`}},
		{name: "bearer given", method: "GET", path: "/api/secure/bearer", headers: map[string]string{"Authorization": "Bearer t"}, status: 200},
		{name: "basic given", method: "GET", path: "/api/secure/bearer", headers: map[string]string{"Authorization": "Basic dTpw"}, status: 200},
		{name: "optional security", method: "GET", path: "/api/secure/open", status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := do(t, srv, tt)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status >= 400 && tt.status != 405 && resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
			for _, c := range tt.contains {
				if !strings.Contains(body, c) {
					t.Errorf("body %s lacks %q", body, c)
				}
			}
			for k, v := range tt.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tt.status >= 400 && tt.status != 405 {
				var p struct {
					Status int
					Errors []struct{ Field, Message string }
				}
				if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != tt.status || len(p.Errors) == 0 {
					t.Errorf("not a problem with errors: %s (%v)", body, err)
				}
			}
		})
	}
}

// TestValidationModes: report answers as usual with a summary header;
// off checks nothing.
func TestValidationModes(t *testing.T) {
	t.Parallel()
	bad := reqCase{method: "GET", path: "/api/items/0?limit=500", headers: map[string]string{"X-Trace": "abc"}}
	tests := []struct {
		mode   string
		status int
		header string
	}{
		{"report", 200, "2 violations: path.id: must be >= 1; query.limit: must be <= 100"},
		{"off", 200, ""},
		{"enforce", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			srv, err := decoy.Start(decoy.Options{Files: []string{validateSpec}, Validation: tt.mode})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			resp, body := do(t, srv, bad)
			if resp.StatusCode != tt.status || resp.Header.Get("Decoy-Validation") != tt.header {
				t.Fatalf("%d %q %s; want %d %q", resp.StatusCode, resp.Header.Get("Decoy-Validation"), body, tt.status, tt.header)
			}
			// A method the path does not declare: 405 unless off.
			resp, _ = do(t, srv, reqCase{method: "PATCH", path: "/api/items/7"})
			want := 405
			if tt.mode == "off" {
				want = 404
			}
			if resp.StatusCode != want {
				t.Errorf("PATCH: %d, want %d", resp.StatusCode, want)
			}
		})
	}
	if _, err := decoy.Start(decoy.Options{Validation: "strict"}); err == nil {
		t.Error("Validation: strict accepted")
	}
}

// TestSeedChangesGeneratedData: the same seed gives the same bytes, another
// seed other bytes (decoy.Start; the CLI passes --seed the same way).
func TestSeedChangesGeneratedData(t *testing.T) {
	t.Parallel()
	get := func(seed uint64) string {
		srv, err := decoy.Start(decoy.Options{Files: []string{"../../examples/openapi"}, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		_, body := do(t, srv, reqCase{method: "GET", path: "/v1/pets/7", headers: map[string]string{"Prefer": "dynamic=true"}})
		return body
	}
	tests := []struct {
		a, b uint64
		same bool
	}{
		{1, 1, true},
		{42, 42, true},
		{1, 42, false},
		{0, 1, true}, // 0: the default seed
	}
	for _, tt := range tests {
		a, b := get(tt.a), get(tt.b)
		if (a == b) != tt.same {
			t.Errorf("seed %d: %s\nseed %d: %s\nsame=%v, want %v", tt.a, a, tt.b, b, a == b, tt.same)
		}
	}
}

// TestPreferDelayOnSpecRoute: Prefer: delay= delays a spec route's answer.
func TestPreferDelayOnSpecRoute(t *testing.T) {
	t.Parallel()
	srv, err := decoy.Start(decoy.Options{Files: []string{"../../examples/openapi"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	tests := []struct {
		prefer string
		min    time.Duration
		status int
	}{
		{"delay=150", 150 * time.Millisecond, 200},
		{"code=404, delay=150", 150 * time.Millisecond, 404},
		{"", 0, 200},
	}
	for _, tt := range tests {
		t0 := time.Now()
		resp, body := do(t, srv, reqCase{method: "GET", path: "/v1/pets/7", headers: map[string]string{"Prefer": tt.prefer}})
		if d := time.Since(t0); d < tt.min || resp.StatusCode != tt.status {
			t.Errorf("Prefer %q: %d after %v (%s); want %d after %v", tt.prefer, resp.StatusCode, d, body, tt.status, tt.min)
		}
	}
}

// TestValidationECMAPatterns: patterns Go's regexp does not read
// (lookarounds, counts over 1000, \uXXXX) are checked as ECMA-262, as JSON
// Schema says, in parameters and bodies; they used to leave the request
// unchecked.
func TestValidationECMAPatterns(t *testing.T) {
	t.Parallel()
	spec := `openapi: 3.0.3
info: {title: patterns, version: "1"}
paths:
  /p:
    post:
      parameters:
        - {name: name, in: query, schema: {type: string, pattern: '^(?!admin$)[a-z]+$'}}
        - {name: X-Code, in: header, schema: {type: string, pattern: '^.{2,1200}$'}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties: {id: {type: string, pattern: '^\u0041\d+$'}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
`
	path := t.TempDir() + "/patterns.yaml"
	if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := decoy.Start(decoy.Options{Files: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	js := map[string]string{"Content-Type": "application/json"}
	code := map[string]string{"Content-Type": "application/json", "X-Code": "a"}
	for _, tt := range []reqCase{
		{name: "all valid", method: "POST", path: "/p?name=bob", headers: js, body: `{"id":"A12"}`, status: 200},
		{name: "lookahead", method: "POST", path: "/p?name=admin", headers: js, body: `{"id":"A12"}`, status: 400, contains: []string{`query.name`}},
		{name: "count over 1000", method: "POST", path: "/p?name=bob", headers: code, body: `{"id":"A12"}`, status: 400, contains: []string{`header.X-Code`}},
		{name: "unicode escape", method: "POST", path: "/p?name=bob", headers: js, body: `{"id":"B12"}`, status: 422, contains: []string{`body.id`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, srv, tt)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			for _, c := range tt.contains {
				if !strings.Contains(body, c) {
					t.Errorf("body %s lacks %q", body, c)
				}
			}
		})
	}
}
