package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/app"
)

// refDoc is an OpenAPI document whose route /a/{id} takes the id schema
// given (%s): a request out of its bounds gets 400.
const refDoc = `openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /a/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: %s}
      responses:
        '200': {description: ok, content: {application/json: {example: {ok: true}}}}
`

func refSpec(schema string) string { return fmt.Sprintf(refDoc, schema) }

// idMax is a file of schemas whose Id is an integer up to max.
func idMax(max int) string { return fmt.Sprintf("Id: {type: integer, maximum: %d}\n", max) }

// refWatch is a running decoy and the folder its files are in.
type refWatch struct {
	t         *testing.T
	dir, base string
	log       *syncBuffer
}

// write writes a file under the folder, as an editor that writes in place.
func (w refWatch) write(name, content string) { write(w.t, w.dir, name, content) }

// save writes a file as most editors do: a new file renamed over the old.
func (w refWatch) save(name, content string) {
	w.t.Helper()
	p := filepath.Join(w.dir, name)
	if err := os.WriteFile(p+".swp", []byte(content), 0o644); err != nil {
		w.t.Fatal(err)
	}
	if err := os.Rename(p+".swp", p); err != nil {
		w.t.Fatal(err)
	}
}

func (w refWatch) remove(name string) {
	w.t.Helper()
	if err := os.RemoveAll(filepath.Join(w.dir, name)); err != nil {
		w.t.Fatal(err)
	}
}

// waitStatus polls path until it answers want (at most 10 s: the watcher
// waits for the files to settle first).
func (w refWatch) waitStatus(path string, want int) {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := fetch(w.t, w.base+path)
		if code == want {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("GET %s: %d %q after 10 s, want %d\n%s", path, code, body, want, w.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLog waits until the log holds s n times (at most 10 s).
func (w refWatch) waitLog(s string, n int) {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(w.log.String(), s) < n {
		if time.Now().After(deadline) {
			w.t.Fatalf("the log does not hold %q %d times after 10 s:\n%s", s, n, w.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWatchFollowsRefs: an edit to a file that an OpenAPI document given
// by name refers to with $ref (in its folder or any other, directly or
// through another file) is served as an edit to the document is; a
// broken one is logged and the stubs served before keep serving.
func TestWatchFollowsRefs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		files map[string]string // "DIR" in a content is the test's folder
		serve []string          // given to serve, under the test's folder
		edit  func(w refWatch)  // makes GET /a/30 (and /b/30) valid
		both  bool              // also check /b/30
	}{
		{"file in a subfolder",
			map[string]string{"nest/api.yaml": refSpec(`{$ref: 'schemas/params.yaml#/Id'}`), "nest/schemas/params.yaml": idMax(9)},
			[]string{"nest/api.yaml"},
			func(w refWatch) { w.write("nest/schemas/params.yaml", idMax(99)) }, false},
		{"sibling file",
			map[string]string{"w/api.yaml": refSpec(`{$ref: 'common.yaml#/Id'}`), "w/common.yaml": idMax(9)},
			[]string{"w/api.yaml"},
			func(w refWatch) { w.write("w/common.yaml", idMax(99)) }, false},
		{"file outside the served folder",
			map[string]string{"api/api.yaml": refSpec(`{$ref: '../shared/params.yaml#/Id'}`), "shared/params.yaml": idMax(9)},
			[]string{"api"},
			func(w refWatch) { w.write("shared/params.yaml", idMax(99)) }, false},
		{"absolute path",
			map[string]string{"api.yaml": refSpec(`{$ref: 'DIR/abs/params.yaml#/Id'}`), "abs/params.yaml": idMax(9)},
			[]string{"api.yaml"},
			func(w refWatch) { w.write("abs/params.yaml", idMax(99)) }, false},
		{"transitively referenced file",
			map[string]string{"api.yaml": refSpec(`{$ref: 'one/a.yaml#/Id'}`), "one/a.yaml": "Id: {$ref: '../two/b.yaml#/Id'}\n", "two/b.yaml": idMax(9)},
			[]string{"api.yaml"},
			func(w refWatch) { w.write("two/b.yaml", idMax(99)) }, false},
		{"atomic rename save",
			map[string]string{"nest/api.yaml": refSpec(`{$ref: 'schemas/params.yaml#/Id'}`), "nest/schemas/params.yaml": idMax(9)},
			[]string{"nest/api.yaml"},
			func(w refWatch) { w.save("nest/schemas/params.yaml", idMax(99)) }, false},
		{"a file shared by two documents",
			map[string]string{
				"a/api.yaml":  refSpec(`{$ref: '../shared.yaml#/Id'}`),
				"b/api.yaml":  strings.Replace(refSpec(`{$ref: '../shared.yaml#/Id'}`), "/a/{id}", "/b/{id}", 1),
				"shared.yaml": idMax(9)},
			[]string{"a/api.yaml", "b/api.yaml"},
			func(w refWatch) { w.save("shared.yaml", idMax(99)) }, true},
		{"a $ref added by an edit, then its file edited",
			map[string]string{"api.yaml": refSpec(`{type: integer, maximum: 9}`), "other/p.yaml": idMax(19)},
			[]string{"api.yaml"},
			func(w refWatch) {
				w.save("api.yaml", refSpec(`{$ref: 'other/p.yaml#/Id'}`))
				w.waitStatus("/a/15", 200)
				w.write("other/p.yaml", idMax(99))
			}, false},
		{"a broken edit, then a good one",
			map[string]string{"nest/api.yaml": refSpec(`{$ref: 'schemas/params.yaml#/Id'}`), "nest/schemas/params.yaml": idMax(9)},
			[]string{"nest/api.yaml"},
			func(w refWatch) {
				w.write("nest/schemas/params.yaml", "Nope: {type: integer}\n")
				w.waitLog("do not load", 1)
				if !strings.Contains(w.log.String(), "api.yaml:7") {
					w.t.Errorf("the log does not name api.yaml:7:\n%s", w.log)
				}
				if code, _ := fetch(w.t, w.base+"/a/30"); code != 400 {
					w.t.Fatalf("after a broken edit GET /a/30: %d, want 400 (the stubs served before)", code)
				}
				w.write("nest/schemas/params.yaml", idMax(99))
			}, false},
		{"a referenced file deleted, then made again",
			map[string]string{"nest/api.yaml": refSpec(`{$ref: 'schemas/params.yaml#/Id'}`), "nest/schemas/params.yaml": idMax(9)},
			[]string{"nest/api.yaml"},
			func(w refWatch) {
				w.remove("nest/schemas/params.yaml")
				w.waitLog("no such file", 1)
				w.write("nest/schemas/params.yaml", idMax(99))
			}, false},
		{"a referenced folder deleted, then made again",
			map[string]string{"nest/api.yaml": refSpec(`{$ref: 'schemas/params.yaml#/Id'}`), "nest/schemas/params.yaml": idMax(9)},
			[]string{"nest/api.yaml"},
			func(w refWatch) {
				w.remove("nest/schemas")
				w.waitLog("no such file", 1)
				w.write("nest/schemas/params.yaml", idMax(99))
			}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, content := range c.files {
				write(t, dir, name, strings.ReplaceAll(content, "DIR", dir))
			}
			args := []string{"--quiet"}
			for _, p := range c.serve {
				args = append(args, filepath.Join(dir, p))
			}
			a, log := serveLogged(t, args...)
			w := refWatch{t: t, dir: dir, base: "http://" + a.HTTPAddr.String(), log: log}
			paths := []string{"/a/30"}
			if c.both {
				paths = append(paths, "/b/30")
			}
			for _, p := range paths {
				if code, body := fetch(t, w.base+p); code != 400 {
					t.Fatalf("GET %s before the edit: %d %q, want 400", p, code, body)
				}
			}
			c.edit(w)
			for _, p := range paths {
				w.waitStatus(p, 200)
			}
		})
	}
}

// serveLogged is serve without the TLS and gRPC ports, and returns what
// decoy logs.
func serveLogged(t *testing.T, args ...string) (*app.App, *syncBuffer) {
	t.Helper()
	a, _, errOut := serveWith(t, nil, []string{"serve", "--http", "127.0.0.1:0", "--https", "", "--admin", "127.0.0.1:0", "--grpc", ""}, args...)
	return a, errOut
}
