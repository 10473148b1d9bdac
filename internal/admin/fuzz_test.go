package admin_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/token"

	"github.com/decoy-dev/decoy/internal/admin"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/stub"
)

// FuzzCreateStub posts arbitrary bytes as a stub, as JSON or YAML. The API
// must never panic and must answer 201 or a 4xx problem.
func FuzzCreateStub(f *testing.F) {
	for _, seed := range []struct {
		body   string
		asYAML bool
	}{
		{`{"request":{"method":"GET","path":"/users/{id}","headers":{"X":"1","Y":{"regex":"^a","ignoreCase":true}}},"response":{"status":200,"headers":{"A":["1","2"]},"body":{"a":[1,2]},"delay":"5ms"}}`, false},
		{`{"id":"x","priority":2,"request":{"pathRegex":"^/a+$","body":{"jsonPath":[{"path":"$.a","equals":1}]}},"responses":[{"bodyBase64":"aGk="},{"generate":{"size":"1KiB","pattern":"text"}}],"sequence":"repeat"}`, false},
		{`{"id":"hello","response":{}}`, false},
		{`{"request":{"hedaers":{}}}`, false},
		{`[1,2`, false},
		{"request:\n  method: GET\n  path: /x\n  query: {q: 1}\nresponse:\n  status: 201\n  body: hi\n  delay: 10\n", true},
		{"x: &a 1\nresponse: *a\n", true},
		{"response: {status: [}\n", true},
		{"---\n---\n", true},
	} {
		f.Add([]byte(seed.body), seed.asYAML)
	}
	// One API for every input, back to the file stubs before each: New
	// (which encodes the API's OpenAPI document) took most of each run.
	st, err := engine.NewStore(fileSources())
	if err != nil {
		f.Fatal(err)
	}
	h := admin.New(admin.Options{Store: st})
	f.Fuzz(func(t *testing.T, body []byte, asYAML bool) {
		if bigGenerate(body, asYAML) {
			t.Skip("a large generated body is valid but slow to make")
		}
		if err := st.Reset(); err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("POST", "/stubs", bytes.NewReader(body))
		if asYAML {
			req.Header.Set("Content-Type", "application/yaml")
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusCreated:
			var s map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil || s["id"] == "" || rec.Header().Get("Location") == "" {
				t.Fatalf("201 with %s (Location %q)", rec.Body, rec.Header().Get("Location"))
			}
		case rec.Code >= 400 && rec.Code < 500:
			if rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d without a problem: %s", rec.Code, rec.Body)
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}

// bigGenerate reports whether body asks for a generated body over 1 MiB.
func bigGenerate(body []byte, asYAML bool) bool {
	var s stub.Stub
	if asYAML {
		for _, tk := range lexer.Tokenize(string(body)) {
			if tk.Type == token.AliasType {
				return false // refused by the API before decoding
			}
		}
		_ = yaml.Unmarshal(body, &s)
	} else {
		_ = json.Unmarshal(body, &s)
	}
	rs := s.Responses
	if s.Response != nil {
		rs = append(rs, *s.Response)
	}
	for _, r := range rs {
		if r.Generate != nil && r.Generate.Size > 1<<20 {
			return true
		}
	}
	return false
}
