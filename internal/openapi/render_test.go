package openapi

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestEachOperationItsOwnBody loads a document of many operations whose
// response schemas differ, and checks that every operation serves a body
// of its own schema, on every load: rendered responses are cached by what
// identifies them, never by the address of data freed between operations.
func TestEachOperationItsOwnBody(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n")
	const n = 300
	for i := range n {
		fmt.Fprintf(&b, "  /op%d:\n    get:\n      operationId: op%d\n      responses:\n        '200':\n          description: x\n          content:\n            application/json:\n              schema: {type: object, required: [field%d], properties: {field%d: {type: integer, minimum: %d, maximum: %d}}}\n", i, i, i, i, i, i)
	}
	doc := []byte(b.String())
	tests := []struct{ name string }{{"first load"}, {"after a GC"}, {"again"}}
	for _, tt := range tests {
		runtime.GC()
		res, err := Load("testdata/many.yaml", doc, Options{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		m := byID(t, res)
		for i := range n {
			s, ok := m[fmt.Sprintf("many:op%d", i)]
			if !ok {
				t.Fatalf("%s: no stub for op%d", tt.name, i)
			}
			text, _ := s.Stub.Response.Body.String()
			if want := fmt.Sprintf(`{"field%d":%d}`, i, i); text != want {
				t.Fatalf("%s: op%d serves %s, want %s", tt.name, i, text, want)
			}
		}
	}
}
