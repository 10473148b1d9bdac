package openapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
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
