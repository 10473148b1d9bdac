package openapi_test

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy"
)

// TestServePetstore serves examples/openapi through decoy.Start and checks
// what an HTTP client sees, a stub file overriding one operation included.
func TestServePetstore(t *testing.T) {
	override := t.TempDir() + "/pin.yaml"
	if err := writeFile(override, "request: {method: GET, path: /v1/pets/99}\nresponse: {status: 200, body: pinned}\n"); err != nil {
		t.Fatal(err)
	}
	srv, err := decoy.Start(decoy.Options{Files: []string{"../../examples/openapi", override}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	tests := []struct {
		path, accept, prefer string
		status               int
		ctype, body          string
	}{
		{"/v1/pets/7", "", "", 200, "application/json", `{"id":1,"name":"Tom","tag":"cat"}`},
		{"/v1/pets/7", "application/json", "", 200, "application/json", `{"id":1,"name":"Tom","tag":"cat"}`},
		{"/v1/pets/7", "text/plain", "", 200, "text/plain", "Tom the cat"},
		{"/v1/pets/7", "application/json;q=0.5, text/plain", "", 200, "text/plain", "Tom the cat"},
		{"/v1/pets/7", "*/*", "", 200, "application/json", `"name":"Tom"`},
		{"/v1/pets/7", "application/xml", "", 406, "application/problem+json", "Not Acceptable"},
		{"/v1/pets/7", "", "example=dog", 200, "application/json", `"name":"Rex"`},
		{"/v1/pets/7", "", "code=404", 404, "application/json", `"message"`},
		{"/v1/pets/7", "", "dynamic=true", 200, "application/json", `"owner"`},
		// RFC 7240: names are case-insensitive, values may be quoted.
		{"/v1/pets/7", "", "Code=404", 404, "application/json", `"message"`},
		{"/v1/pets/7", "", `code="404"`, 404, "application/json", `"message"`},
		{"/v1/pets/7", "", `respond-async, CODE = "404"; x=1`, 404, "application/json", `"message"`},
		{"/v1/pets/7", "", `Example="dog"`, 200, "application/json", `"name":"Rex"`},
		{"/v1/pets/7", "", "DYNAMIC=true", 200, "application/json", `"owner"`},
		// An answer the operation does not declare is a 400 that says so,
		// not the default 200.
		{"/v1/pets/7", "", "code=500", 400, "application/problem+json", `"detail":"Prefer: code=500: GET /pets/{petId} declares the responses 200, 404"`},
		{"/v1/pets/7", "", "example=nope", 400, "application/problem+json", `"detail":"Prefer: example=nope: GET /pets/{petId} declares the examples cat, dog (200)"`},
		{"/v1/pets/7", "", "code=404, example=nope", 400, "application/problem+json", `Prefer: example=nope`},
		{"/v1/pets/7", "", "codex=500", 200, "application/json", `"name":"Tom"`},
		{"/v1/pets/99", "", "", 200, "", "pinned"},
		{"/v1/pets", "", "", 200, "application/json", `[{"born":`},
		{"/pets", "", "", 404, "", ""},
	}
	for _, tt := range tests {
		resp, b := ask(t, srv.Client(), "GET", srv.URL+tt.path, tt.accept, tt.prefer)
		if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.ctype) || !strings.Contains(string(b), tt.body) {
			t.Errorf("%s Accept=%q Prefer=%q: %d %q %s; want %d %q containing %q", tt.path, tt.accept, tt.prefer,
				resp.StatusCode, resp.Header.Get("Content-Type"), b, tt.status, tt.ctype, tt.body)
		}
	}
}

// ask sends method url with the Accept and Prefer headers given (none
// when empty) and returns the response with its body read.
func ask(t *testing.T, c *http.Client, method, url, accept, prefer string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if prefer != "" {
		req.Header.Set("Prefer", prefer)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func writeFile(name, s string) error { return os.WriteFile(name, []byte(s), 0o644) }
