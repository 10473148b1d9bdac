package openapi

import (
	"errors"
	"strings"
	"testing"
)

// danglingDoc has operations that depend on $refs that do not resolve, in
// every place one can be (see the document), and operations that do not.
const danglingDoc = "testdata/dangling/spec.yaml"

// TestLenientLeavesOutDanglingRefs: with Options.Lenient, an operation
// that depends on a $ref that does not resolve, however indirectly, is
// not served, and a note names it and the ref (file:line, the object
// holding the ref, why); the others are served. A dangling ref that no
// operation depends on is a note of the document.
func TestLenientLeavesOutDanglingRefs(t *testing.T) {
	t.Parallel()
	res, err := Load(danglingDoc, nil, Options{Seed: 1, Lenient: true})
	if err != nil {
		t.Fatalf("the document does not load with Lenient: %v", err)
	}
	notes := strings.Join(res.Notes, "\n")
	ids := map[string]bool{}
	for _, s := range res.Sources {
		ids[s.Stub.ID] = true
	}
	const f = "testdata/dangling/spec.yaml"
	tests := []struct {
		name string
		id   string // the operation's stub id
		note string // "" when it is served
	}{
		{"sound", "spec:GET /ok", ""},
		{"response schema", "spec:GET /schema",
			"lenient: GET /schema is not served: " + f + ":21: #/paths/~1schema/get/responses/200/content/application~1json/schema: component `#/components/schemas/Nope` does not exist"},
		{"request body", "spec:POST /body",
			"lenient: POST /body is not served: " + f + ":27: #/paths/~1body/post/requestBody/content/application~1json/schema: component `#/components/schemas/NoBody` does not exist"},
		{"parameter", "spec:GET /param/{id}",
			"lenient: GET /param/{id} is not served: " + f + ":33: #/paths/~1param~1{id}/get/parameters/0: component `#/components/parameters/NoParam` does not exist"},
		{"missing file", "spec:GET /file",
			"lenient: GET /file is not served: " + f + ":43: #/paths/~1file/get/responses/200/content/application~1json/schema: $ref \"missing.yaml#/X\": missing.yaml: no such file"},
		{"missing pointer in a file", "spec:GET /pointer",
			"lenient: GET /pointer is not served: " + f + ":51: #/paths/~1pointer/get/responses/200/content/application~1json/schema: $ref \"common.yaml#/Nope\": \"#/Nope\" does not exist in common.yaml"},
		{"through a component", "spec:GET /deep",
			"lenient: GET /deep is not served: " + f + ":96: #/components/schemas/Wrap/properties/inner: component `#/components/schemas/Gone` does not exist"},
		{"through the same component", "spec:GET /deep2",
			"lenient: GET /deep2 is not served: " + f + ":96: #/components/schemas/Wrap/properties/inner: component `#/components/schemas/Gone` does not exist"},
		{"through another file", "spec:GET /other",
			"lenient: GET /other is not served: testdata/dangling/common.yaml:9: #/Holed/properties/sub: $ref \"#/Missing\": \"#/Missing\" does not exist"},
		{"response object", "spec:GET /response",
			"lenient: GET /response is not served: " + f + ":71: #/paths/~1response/get/responses/200: component `#/components/responses/Gone` does not exist"},
		{"path item", "spec:GET /item",
			"lenient: /item is not served: " + f + ":72: #/paths/~1item: $ref \"missing-item.yaml\": missing-item.yaml: no such file"},
		{"path parameter not in the template", "spec:GET /c",
			"lenient: " + f + ":76: #/paths/~1c/get/parameters/0: path parameter \"id\" is not a variable of the path template \"/c\""},
		{"unused component", "",
			"lenient: loading on despite a problem of the document: " + f + ":100: #/components/schemas/Unused/properties/x: component `#/components/schemas/Nowhere` does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.note != "" && !strings.Contains(notes, tt.note) {
				t.Errorf("no note %q in:\n%s", tt.note, notes)
			}
			leftOut := strings.Contains(tt.note, " is not served: ")
			if tt.id != "" && ids[tt.id] == leftOut {
				t.Errorf("stub %q served: %v, want %v", tt.id, ids[tt.id], !leftOut)
			}
		})
	}
	// Each dangling ref is named once, as the reason an operation is left
	// out, and not again as a problem of the document.
	if n := strings.Count(notes, "loading on despite"); n != 1 {
		t.Errorf("%d notes of the document, want 1 (the unused component's):\n%s", n, notes)
	}
	if strings.Contains(notes, "{id} has no parameter") {
		t.Errorf("a template variable whose parameter does not resolve is reported:\n%s", notes)
	}
}

// TestDanglingRefsAndOtherProblems: without Options.Lenient, a document
// whose $refs dangle reports them and the other problems of its sound
// operations, each once, with file:line.
func TestDanglingRefsAndOtherProblems(t *testing.T) {
	t.Parallel()
	_, err := Load(danglingDoc, nil, Options{Seed: 1})
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v, want Problems", err)
	}
	const f = "testdata/dangling/spec.yaml"
	tests := []struct{ name, want string }{
		{"response schema", f + ":21: #/paths/~1schema/get/responses/200/content/application~1json/schema: component `#/components/schemas/Nope` does not exist"},
		{"missing file", f + ":43: #/paths/~1file/get/responses/200/content/application~1json/schema: $ref \"missing.yaml#/X\": missing.yaml: no such file (needed by GET /file; fix the $ref, or serve with --lenient"},
		{"needed by two", f + ":96: #/components/schemas/Wrap/properties/inner: component `#/components/schemas/Gone` does not exist in the specification (needed by GET /deep, GET /deep2;"},
		{"another file", "testdata/dangling/common.yaml:9: #/Holed/properties/sub: $ref \"#/Missing\": \"#/Missing\" does not exist"},
		{"unused component", f + ":100: #/components/schemas/Unused/properties/x: component `#/components/schemas/Nowhere` does not exist"},
		{"path parameter not in the template", f + ":76: #/paths/~1c/get/parameters/0: path parameter \"id\" is not a variable of the path template \"/c\""},
		{"template variable without a parameter", f + ":80: #/paths/~1d~1{x}/get: the path template's {x} has no parameter"},
	}
	got := map[string]int{}
	for _, p := range ps {
		got[p.Error()]++
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := 0
			for s, c := range got {
				if strings.HasPrefix(s, tt.want) {
					n += c
				}
			}
			if n != 1 {
				t.Errorf("%d problems %q, want 1 in:\n%v", n, tt.want, err)
			}
		})
	}
	for _, p := range ps {
		if strings.Contains(p.Msg, "{id} has no parameter") {
			t.Errorf("a template variable whose parameter does not resolve is reported: %v", p)
		}
		if strings.Contains(p.Msg, "cannot resolve reference") {
			t.Errorf("libopenapi's second report of a ref named already: %v", p)
		}
		if p.Line == 0 {
			t.Errorf("a problem without a line: %v", p)
		}
	}
	if len(ps) != 12 {
		t.Errorf("%d problems, want 12 (10 dangling refs, /c's, /d/{x}'s):\n%v", len(ps), err)
	}
}

// TestDanglingRefsInDataAreNotRefs: a "$ref" inside an example, a
// default or an enum is data, not a reference: the operation that holds
// it is served (when another $ref of the document dangles, which makes
// decoy follow each operation's refs), as is one whose property is named
// like a keyword.
func TestDanglingRefsInDataAreNotRefs(t *testing.T) {
	t.Parallel()
	const doc = `openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /bad:
    get:
      responses:
        "200": {$ref: "#/components/responses/Gone"}
  /data:
    get:
      responses:
        "200":
          description: data that looks like refs
          content:
            application/json:
              schema:
                type: object
                properties:
                  example: {$ref: "#/components/schemas/Ok"}
                  a: {type: object, default: {$ref: "#/nope/1"}}
                  b: {enum: [{$ref: "#/nope/2"}]}
                  c: {type: object, examples: [{$ref: "#/nope/3"}]}
              example: {$ref: "#/nope/4"}
              examples:
                one: {value: {$ref: "#/nope/5"}}
components:
  schemas:
    Ok: {type: string}
`
	res, err := Load("testdata/data.yaml", []byte(doc), Options{Seed: 1, Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id     string
		served bool
	}{
		{"data:GET /bad", false},
		{"data:GET /data", true},
	}
	ids := map[string]bool{}
	for _, s := range res.Sources {
		ids[s.Stub.ID] = true
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			if ids[tt.id] != tt.served {
				t.Errorf("%s served: %v, want %v; notes:\n%s", tt.id, ids[tt.id], tt.served, strings.Join(res.Notes, "\n"))
			}
		})
	}
}
