package openapi

import (
	"errors"
	"strings"
	"testing"
)

// brokenDoc has one sound operation (GET /ok) and one whose response
// refers to a schema that does not exist (GET /bad).
const brokenDoc = `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /ok:
    get:
      responses:
        "200":
          description: fine
          content:
            application/json:
              schema: {type: object, properties: {id: {type: integer}}, required: [id]}
  /bad:
    get:
      responses:
        "200":
          $ref: "#/components/responses/Missing"
`

func TestLenient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		lenient   bool
		wantErr   string // "" when it loads
		wantNote  string
		wantStubs []string // stub ids that must exist
		noStubs   []string // stub ids that must not exist
	}{
		{name: "strict", wantErr: "Missing"},
		{name: "lenient", lenient: true, wantNote: "GET /bad is not served",
			wantStubs: []string{"broken:GET /ok"}, noStubs: []string{"broken:GET /bad"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := Load("testdata/broken.yaml", []byte(brokenDoc), Options{Seed: 1, Lenient: tt.lenient})
			if tt.wantErr != "" {
				var ps Problems
				if !errors.As(err, &ps) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want Problems mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(res.Notes, "\n"), tt.wantNote) {
				t.Errorf("notes %q lack %q", res.Notes, tt.wantNote)
			}
			ids := map[string]bool{}
			for _, s := range res.Sources {
				ids[s.Stub.ID] = true
			}
			for _, id := range tt.wantStubs {
				if !ids[id] {
					t.Errorf("no stub %q", id)
				}
			}
			for _, id := range tt.noStubs {
				if ids[id] {
					t.Errorf("stub %q is served", id)
				}
			}
		})
	}
}

func TestNotes31(t *testing.T) {
	t.Parallel()
	doc := `openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /tree:
    get:
      responses:
        "200":
          description: a tree
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Tree"}
webhooks:
  newPet:
    post:
      responses:
        "200": {description: ok}
components:
  schemas:
    Tree:
      $dynamicAnchor: node
      type: object
      properties:
        name: {type: string}
        children: {type: array, items: {$dynamicRef: "#node"}}
`
	tests := []struct{ want string }{
		{"webhooks (newPet) are not served"},
		{"$dynamicRef (at #/components/schemas/Tree/properties/children/items)"},
	}
	res, err := Load("testdata/notes.yaml", []byte(doc), Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(res.Notes, "\n")
	for _, tt := range tests {
		if !strings.Contains(notes, tt.want) {
			t.Errorf("notes %q lack %q", notes, tt.want)
		}
	}
	for _, s := range res.Sources {
		if strings.Contains(s.Stub.Request.Path, "newPet") {
			t.Errorf("a webhook is served: %s", s.Stub.ID)
		}
	}
}
