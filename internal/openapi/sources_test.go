package openapi

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReferenced: the files a document refers to, as Load resolves
// them.
func TestReferenced(t *testing.T) {
	t.Parallel()
	const head = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n"
	cases := []struct {
		name  string
		files map[string]string // "DIR" in a content is the test's folder
		want  []string
	}{
		{"local refs only", map[string]string{"api.yaml": head + "components: {schemas: {A: {$ref: '#/components/schemas/B'}, B: {type: string}}}\n"}, nil},
		{"subfolder, sibling, parent", map[string]string{
			"api/api.yaml":       head + "x: [{$ref: 'schemas/a.yaml#/A'}, {$ref: common.yaml}, {$ref: '../up.yaml#/U'}]\n",
			"api/schemas/a.yaml": "A: {type: string}\n", "api/common.yaml": "C: 1\n", "up.yaml": "U: 1\n"},
			[]string{"api/common.yaml", "api/schemas/a.yaml", "up.yaml"}},
		{"absolute and escaped", map[string]string{
			"api.yaml": head + "x: [{$ref: 'DIR/abs/a.yaml#/A'}, {$ref: 'my%20file.yaml#/A'}]\n"},
			[]string{"abs/a.yaml", "my file.yaml"}},
		{"transitive, each relative to its file, cycles once", map[string]string{
			"api.yaml":   head + "x: {$ref: 'one/a.yaml#/A'}\n",
			"one/a.yaml": "A: {$ref: '../two/b.yaml#/B'}\n",
			"two/b.yaml": "B: {$ref: '../one/a.yaml#/A'}\nC: {$ref: '../api.yaml#/x'}\n"},
			[]string{"one/a.yaml", "two/b.yaml"}},
		{"a missing file is listed, not followed", map[string]string{"api.yaml": head + "x: {$ref: 'gone/a.yaml#/A'}\n"}, []string{"gone/a.yaml"}},
		{"URLs are not files", map[string]string{"api.yaml": head + "x: [{$ref: 'https://example.com/a.yaml#/A'}, {$ref: 'urn:x:y'}]\n"}, nil},
		{"JSON", map[string]string{"api.json": `{"openapi": "3.0.3", "x": {"$ref": "b.json#/B"}}`, "b.json": `{"B": 1}`}, []string{"b.json"}},
		{"Swagger 2.0", map[string]string{"api.yaml": "swagger: '2.0'\nx: {$ref: b.yaml}\n"}, []string{"b.yaml"}},
		{"not a document", map[string]string{"api.yaml": "- request: {path: /a}\n  response: {body: {$ref: b.yaml}}\n"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			root := ""
			for name, content := range c.files {
				p := filepath.Join(dir, name)
				if strings.HasPrefix(filepath.Base(name), "api.") {
					root = p
				}
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(strings.ReplaceAll(content, "DIR", dir)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var want []string
			for _, w := range c.want {
				want = append(want, filepath.Join(dir, w))
			}
			slices.Sort(want)
			if got := Referenced(root); !slices.Equal(got, want) {
				t.Errorf("Referenced: %q, want %q", got, want)
			}
		})
	}
}

func TestMayReferToFile(t *testing.T) {
	t.Parallel()
	for data, want := range map[string]bool{
		"a: 1":             false,
		"$ref: '#/a'":      false,
		`{"$ref": "#/a"}`:  false,
		"$ref:\n  \"#/a\"": false,
		"$ref: a.yaml":     true,
		`{"$ref": "#/a", "b": {"$ref": "b.json"}}`: true,
		"description: see $ref x":                  true, // a false yes only costs decoding
	} {
		if got := mayReferToFile([]byte(data)); got != want {
			t.Errorf("mayReferToFile(%q) = %v, want %v", data, got, want)
		}
	}
}
