package openapi_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy"
)

// serveDoc serves the document doc (YAML) on loopback and returns the server.
func serveDoc(t *testing.T, doc string) *decoy.Server {
	t.Helper()
	name := filepath.Join(t.TempDir(), "api.yaml")
	if err := os.WriteFile(name, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := decoy.Start(decoy.Options{Files: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// call sends method path with the headers (name, value, ...) and returns
// the status and body.
func call(t *testing.T, srv *decoy.Server, method, path, body string, headers ...string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type routeCase struct {
	name, method, path, body string
	headers                  []string
	status                   int
	contains                 string
}

func runRoutes(t *testing.T, srv *decoy.Server, cases []routeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			method := tc.method
			if method == "" {
				method = "GET"
			}
			status, body := call(t, srv, method, tc.path, tc.body, tc.headers...)
			if status != tc.status || !strings.Contains(body, tc.contains) {
				t.Errorf("%s %s = %d %s, want %d with %q", method, tc.path, status, body, tc.status, tc.contains)
			}
		})
	}
}

const verbSpec = `openapi: 3.0.3
info: {title: verb, version: "1"}
paths:
  /v1/{name}:
    get:
      parameters: [{name: name, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [kind], properties: {kind: {type: string, enum: [thing]}}}}}}
  /v1/{catalog}:complete:
    get:
      parameters: [{name: catalog, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [kind], properties: {kind: {type: string, enum: [completion]}}}}}}
  /files/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [kind], properties: {kind: {type: string, enum: [plain]}}}}}}
  /files/{id}.json:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [kind], properties: {kind: {type: string, enum: [json]}}}}}}
`

// A segment with text around a parameter ({catalog}:complete, {id}.json)
// is more specific than a bare parameter: its operation answers, whatever
// the order of the paths.
func TestMixedSegmentOutranksParameter(t *testing.T) {
	t.Parallel()
	srv := serveDoc(t, verbSpec)
	runRoutes(t, srv, []routeCase{
		{name: "verb", path: "/v1/abc:complete", status: 200, contains: `"completion"`},
		{name: "plain", path: "/v1/abc", status: 200, contains: `"thing"`},
		{name: "json", path: "/files/7.json", status: 200, contains: `"json"`},
		{name: "other", path: "/files/7.xml", status: 200, contains: `"plain"`},
	})
}
