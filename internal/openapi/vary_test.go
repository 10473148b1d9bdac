package openapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy"
)

const varySpec = `openapi: 3.0.3
info: {title: vary, version: "1"}
paths:
  /users/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer}}
    get:
      parameters:
        - {name: fields, in: query, schema: {type: string}}
      responses:
        "200":
          description: a user
          content:
            application/json:
              schema:
                type: object
                required: [id, name, email]
                properties:
                  id: {type: integer, minimum: 1}
                  name: {type: string}
                  email: {type: string, format: email}
  /codes/{code}:
    get:
      parameters:
        - {name: code, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: a code whose own schema refuses the path's value
          content:
            application/json:
              schema:
                type: object
                required: [code]
                properties:
                  code: {type: string, pattern: "^[A-Z]{3}$"}
  /pets/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      responses:
        "200":
          description: an example, which never varies
          content:
            application/json:
              schema: {type: object, properties: {id: {type: integer}}}
              example: {id: 1, name: Tom}
`

// Generated bodies are a function of the request: /users/1 and /users/2
// differ, each is stable, the id echoes the path, a declared query
// parameter varies the body, and a value the schema refuses is not echoed.
func TestBodiesVaryWithTheRequest(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "api.yaml")
	if err := writeFile(spec, varySpec); err != nil {
		t.Fatal(err)
	}
	get := func(srv *decoy.Server, path string) map[string]any {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v: %s", path, err, b)
		}
		return v
	}
	srv, err := decoy.Start(decoy.Options{Files: []string{spec}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	u1, u2 := get(srv, "/users/1"), get(srv, "/users/2")
	if u1["id"] != 1.0 || u2["id"] != 2.0 {
		t.Errorf("ids not echoed: %v, %v", u1["id"], u2["id"])
	}
	if u1["name"] == u2["name"] && u1["email"] == u2["email"] {
		t.Errorf("/users/1 and /users/2 got the same data: %v, %v", u1, u2)
	}
	if again := get(srv, "/users/1"); again["name"] != u1["name"] || again["email"] != u1["email"] {
		t.Errorf("/users/1 changed: %v then %v", u1, again)
	}
	q1, q2 := get(srv, "/users/1?fields=a"), get(srv, "/users/1?fields=b")
	if q1["name"] == q2["name"] && q1["email"] == q2["email"] {
		t.Errorf("the query parameter does not vary the body: %v, %v", q1, q2)
	}
	if undeclared := get(srv, "/users/1?cache=123"); undeclared["name"] != u1["name"] {
		t.Errorf("an undeclared query parameter varied the body: %v, %v", u1, undeclared)
	}
	if c := get(srv, "/codes/not-three-letters"); c["code"] == "not-three-letters" {
		t.Errorf("a value the schema refuses was echoed: %v", c)
	}
	if p7, p8 := get(srv, "/pets/7"), get(srv, "/pets/8"); p7["id"] != 1.0 || p8["id"] != 1.0 {
		t.Errorf("an example varied: %v, %v", p7, p8)
	}

	// Restart after restart, the same bytes.
	srv2, err := decoy.Start(decoy.Options{Files: []string{spec}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()
	if again := get(srv2, "/users/2"); again["name"] != u2["name"] || again["email"] != u2["email"] {
		t.Errorf("another run gave /users/2 other data: %v, %v", u2, again)
	}
}

const varyMediaSpec = `openapi: 3.1.0
info: {title: vary, version: "1"}
paths:
  /items/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    get:
      responses:
        "200":
          description: an item in two media types
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Item"}
            application/xml:
              schema: {$ref: "#/components/schemas/Item"}
        "404":
          description: not found
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Item"}
  /words/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: a word, sent as text
          content:
            text/plain:
              schema: {type: string, minLength: 3}
components:
  schemas:
    Item:
      type: object
      required: [id, name]
      properties:
        id: {type: string}
        name: {type: string, minLength: 3}
`

// Every generated answer varies with the request and echoes the path, not
// only the first media type's: Accept: application/xml, Prefer:
// dynamic=true and Prefer: code=404 too (QA #6). Each stays the same
// bytes for the same request.
func TestBodiesVaryInEveryMediaType(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "api.yaml")
	if err := writeFile(spec, varyMediaSpec); err != nil {
		t.Fatal(err)
	}
	srv, err := decoy.Start(decoy.Options{Files: []string{spec}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	get := func(path string, hdr map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name   string
		prefix string
		hdr    map[string]string
		status int
		echo   bool // the body is an Item whose id echoes the path
	}{
		{"json", "/items/", nil, 200, true},
		{"xml", "/items/", map[string]string{"Accept": "application/xml"}, 200, true},
		{"dynamic", "/items/", map[string]string{"Prefer": "dynamic=true"}, 200, true},
		{"dynamic xml", "/items/", map[string]string{"Prefer": "dynamic=true", "Accept": "application/xml"}, 200, true},
		{"code=404", "/items/", map[string]string{"Prefer": "code=404"}, 404, true},
		{"text", "/words/", nil, 200, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s1, b1 := get(tc.prefix+"abc", tc.hdr)
			s2, b2 := get(tc.prefix+"xyz", tc.hdr)
			_, again := get(tc.prefix+"abc", tc.hdr)
			if s1 != tc.status || s2 != tc.status {
				t.Fatalf("status %d, %d, want %d: %s", s1, s2, tc.status, b1)
			}
			if b1 == b2 {
				t.Errorf("/abc and /xyz got the same body: %s", b1)
			}
			if b1 != again {
				t.Errorf("the same request got other bytes: %s then %s", b1, again)
			}
			if tc.echo && strings.HasPrefix(b1, "<?xml") {
				// An XML answer is XML (see TestXMLAnswers).
				if !strings.Contains(b1, "<id>abc</id>") || !strings.Contains(b2, "<id>xyz</id>") {
					t.Errorf("the path is not echoed: %s, %s", b1, b2)
				}
			} else if tc.echo {
				var v1, v2 map[string]any
				if json.Unmarshal([]byte(b1), &v1) != nil || json.Unmarshal([]byte(b2), &v2) != nil {
					t.Fatalf("not JSON: %s, %s", b1, b2)
				}
				if v1["id"] != "abc" || v2["id"] != "xyz" {
					t.Errorf("the path is not echoed: %s, %s", b1, b2)
				}
			} else if strings.HasPrefix(b1, `"`) {
				t.Errorf("a text/plain string was sent as JSON: %s", b1)
			}
		})
	}
}
