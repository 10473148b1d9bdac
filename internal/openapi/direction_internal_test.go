package openapi

import (
	"strings"
	"testing"
)

// TestWriteOnlyLeftOutOfResponses: a writeOnly property is not in a
// generated response even when it is required (OpenAPI: required applies
// to requests only), and the response validator does not demand it, so
// the generated body is served without a warning.
func TestWriteOnlyLeftOutOfResponses(t *testing.T) {
	t.Parallel()
	r, err := Load("testdata/readwrite.yaml", nil, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range r.Warnings {
		t.Errorf("warning: %s", w)
	}
	m := byID(t, r)
	for _, id := range []string{"readwrite:POST /pets", "readwrite:POST /owners", "readwrite:POST /shapes"} {
		s, ok := m[id]
		if !ok {
			t.Fatalf("no stub %q in %v", id, keysOf(m))
		}
		text, _ := s.Stub.Response.Body.String()
		for _, w := range []string{`"password"`, `"pin"`} {
			if strings.Contains(text, w) {
				t.Errorf("%s: writeOnly %s in the response %s", id, w, text)
			}
		}
		if !strings.Contains(text, `"id"`) {
			t.Errorf("%s: readOnly id not in the response %s", id, text)
		}
	}
}
