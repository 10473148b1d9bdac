package config

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/engine"
)

// specGetX is a document with one operation, getX, under server path srv.
func specGetX(srv string) string {
	return `openapi: 3.0.3
info: {title: t, version: "1"}
servers: [{url: ` + srv + `}]
paths:
  /x:
    get:
      operationId: getX
      responses: {"200": {description: ok}}
`
}

// The ids of a document's stubs start with its file name; documents of the
// same name get -2, -3, as derived ids of stub files do.
func TestOpenAPIIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  []string // the ids of the getX stubs, in load order
	}{
		{"one document", map[string]string{"api.yaml": specGetX("/a")}, []string{"api:getX"}},
		{"same name in two folders", map[string]string{
			"a/api.yaml": specGetX("/a"),
			"b/api.yaml": specGetX("/b"),
		}, []string{"api:getX", "api-2:getX"}},
		{"three, one JSON", map[string]string{
			"a/api.yaml": specGetX("/a"),
			"b/api.json": `{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "/b"}],
"paths": {"/x": {"get": {"operationId": "getX", "responses": {"200": {"description": "ok"}}}}}}`,
			"c/api.yml": specGetX("/c"),
		}, []string{"api:getX", "api-2:getX", "api-3:getX"}},
		{"a name that looks numbered", map[string]string{
			"a/api.yaml":   specGetX("/a"),
			"b/api-2.yaml": specGetX("/b"),
			"c/api.yaml":   specGetX("/c"),
		}, []string{"api:getX", "api-2:getX", "api-3:getX"}},
		{"a stub file of the same name", map[string]string{
			"a/api.yaml": specGetX("/a"),
			"b/api.yaml": "- {request: {path: /own}, response: {}}\n",
		}, []string{"api:getX"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := writeTree(t, tt.files)
			l, err := LoadStubs([]string{root})
			if err != nil {
				t.Fatalf("LoadStubs: %v", err)
			}
			var got []string
			for _, id := range sourceIDs(l) {
				if strings.HasSuffix(id, ":getX") {
					got = append(got, id)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ids %v, want %v", got, tt.want)
			}
			if _, errs := engine.Compile(l.Sources); errs != nil {
				t.Errorf("the stubs do not compile: %v", l.Locate(errs))
			}
		})
	}
}

// A compile error of a document's stub names the operation's JSON pointer
// and its line, not the document's first line.
func TestOpenAPICompileErrorPlace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		want      string
	}{
		{"yaml", "api.yaml", `api.yaml:6: #/paths/~1x/get: id: "api:getX" is already used by the stub at `},
		{"json", "api.json", `api.json:5: #/paths/~1x/get: id: "api:getX" is already used by the stub at `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := specGetX("/a")
			if strings.HasSuffix(tt.doc, ".json") {
				doc = "{\"openapi\": \"3.0.3\", \"info\": {\"title\": \"t\", \"version\": \"1\"},\n" +
					"\"paths\": {\n" +
					" \"/x\": {\n" +
					"  \"parameters\": [],\n" +
					"  \"get\": {\"operationId\": \"getX\", \"responses\": {\"200\": {\"description\": \"ok\"}}}}}}\n"
			}
			// A stub file read first takes the id the document derives.
			root := writeTree(t, map[string]string{
				"a.yaml": "- {id: \"api:getX\", request: {path: /own}, response: {}}\n",
				tt.doc:   doc,
			})
			_, _, err := Build([]string{root})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error\n%v\nlacks %q", err, tt.want)
			}
		})
	}
}

// TestOpenAPIProblemInAnotherFile: a problem found in a file a document
// refers to is reported at that file's line, not the document's.
func TestOpenAPIProblemInAnotherFile(t *testing.T) {
	t.Parallel()
	root := writeTree(t, map[string]string{
		"spec.yaml": "openapi: 3.0.3\ninfo: {title: t, version: \"1\"}\npaths:\n  /a:\n    get:\n      responses:\n        \"200\":\n" +
			"          description: ok\n          content:\n            application/json:\n              schema: {$ref: \"common.yaml#/Thing\"}\n",
		"common.yaml": "Thing:\n  type: object\n  properties:\n    other: {$ref: \"#/Missing\"}\n",
	})
	_, _, err := Build([]string{filepath.Join(root, "spec.yaml")})
	var probs Problems
	if !errors.As(err, &probs) || len(probs) != 1 {
		t.Fatalf("%v, want one problem", err)
	}
	if p := probs[0]; filepath.Base(p.File) != "common.yaml" || p.Line != 4 || !strings.Contains(p.Msg, "#/Missing") {
		t.Errorf("problem %+v, want common.yaml:4 naming #/Missing", p)
	}
}
