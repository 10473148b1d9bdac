package config

import (
	"testing"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

func TestIsSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		want bool
	}{
		{"JSON, openapi first", `{"openapi": "3.0.3", "paths": {}}`, true},
		{"JSON, swagger later", `{"info": {"openapi": "no"}, "paths": {"/a": [1, "x"]}, "swagger": "2.0"}`, true},
		{"JSON, BOM and spaces", "\ufeff \n {\"openapi\":\"3.1.0\"}", true},
		{"JSON stub list", `[{"request": {"path": "/openapi"}, "response": {"body": {"openapi": 1}}}]`, false},
		{"JSON one stub", `{"request": {"path": "/a"}, "response": {"body": {"swagger": "2.0"}}}`, false},
		{"JSON, malformed", `{"openapi": `, false},
		{"YAML spec (the syntax tree tells)", "openapi: 3.0.3\ninfo: {title: t}\n", false},

		{"YAML stub list", "- request: {path: /a}\n  response:\n    body:\n      openapi: 3.0.0\n", false},
		{"YAML indented key", "stubs:\n  openapi: 1\n", false},
		{"YAML key in the second document", "- request: {path: /a}\n  response: {body: x}\n---\nopenapi: 3.0.0\n", false},
		{"YAML key prefix only", "openapi_version: 3\n", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		if got := isSpec([]byte(tt.data)); got != tt.want {
			t.Errorf("%s: isSpec = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// FuzzIsSpec: isSpec never says "spec" for a document whose syntax tree
// has no top-level openapi or swagger key in its first document (which
// would skip the stub reader), and never panics.
func FuzzIsSpec(f *testing.F) {
	for _, s := range []string{`{"openapi": "3.0.3"}`, "openapi: 3.0.3\n", "- request: {path: /a}\n", `[{"request":{}}]`, "---\nswagger: '2.0'\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !isSpec(data) {
			return
		}
		file, err := parser.ParseBytes(data, 0)
		if err != nil || len(file.Docs) == 0 {
			return // not well-formed: the spec reader reports it
		}
		m, ok := unwrap(file.Docs[0].Body).(*ast.MappingNode)
		if !ok || (child(m, "openapi") == nil && child(m, "swagger") == nil) {
			t.Errorf("isSpec(%q) = true, but its first document has no top-level openapi or swagger key", data)
		}
	})
}
