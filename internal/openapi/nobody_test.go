package openapi_test

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy"
)

const noBodySpec = `openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /tree:
    get:
      responses:
        "200":
          description: a $ref to the $id of a schema of this document
          content:
            application/json:
              schema: {$ref: "https://example.com/tree"}
  /bad:
    get:
      responses:
        "200":
          description: a schema the generator cannot read, and no example
          content:
            application/json:
              schema: {$ref: "#/info/title"}
            text/plain:
              schema: {type: string}
  /badex:
    get:
      responses:
        "200":
          description: the same with an example in the schema
          content:
            application/json:
              schema: {$ref: "#/info/title", example: hello}
components:
  schemas:
    Tree:
      $id: https://example.com/tree
      type: object
      required: [name]
      properties:
        name: {type: string, const: root}
`

// A $ref to an embedded $id is local (QA #12), and a JSON answer is never
// an empty 200: when no body can be made it is a 500 problem that says
// why, and a schema's own example stands in for what the generator cannot
// read.
func TestNoEmptyGeneratedBody(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "api.yaml")
	if err := writeFile(spec, noBodySpec); err != nil {
		t.Fatal(err)
	}
	srv, err := decoy.Start(decoy.Options{Files: []string{spec}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, tc := range []struct {
		path, accept string
		status       int
		ct, body     string // body: a substring
	}{
		{"/tree", "", 200, "application/json", `{"name":"root"}`},
		{"/bad", "", 500, "application/problem+json", `"detail":"decoy could not make the 200 application/json body from the schema at api.yaml#/paths/~1bad/get/responses/200/content/application~1json/schema: $ref \"#/info/title\" is not a schema`},
		{"/bad", "text/plain", 200, "text/plain", ""},
		{"/badex", "", 200, "application/json", `"hello"`},
	} {
		req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != tc.ct || len(b) == 0 || !strings.Contains(string(b), tc.body) {
			t.Errorf("%s (Accept %q): %d %s %s, want %d %s with %s", tc.path, tc.accept, resp.StatusCode, resp.Header.Get("Content-Type"), b, tc.status, tc.ct, tc.body)
		}
	}
}
