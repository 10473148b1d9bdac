package cli

import (
	"encoding/json"
	"testing"
)

func TestSetPath(t *testing.T) {
	tests := []struct {
		paths []string
		want  string // "" when not built
	}{
		{[]string{"$.a"}, `{"a":1}`},
		{[]string{"$.items[0].sku", "$.items[0].qty"}, `{"items":[{"qty":1,"sku":1}]}`},
		{[]string{"$['odd key'].b"}, `{"odd key":{"b":1}}`},
		{[]string{"$[1]"}, `[null,1]`},
		{[]string{"$.a", "$.a.b"}, ""}, // a is a number already
		{[]string{"$..a"}, ""},
		{[]string{"$.a[?(@.b)]"}, ""},
		{[]string{"$.a[1000]"}, ""},
	}
	for _, tt := range tests {
		var doc any
		ok := true
		for _, p := range tt.paths {
			if doc, ok = setPath(doc, p, 1); !ok {
				break
			}
		}
		got := ""
		if ok {
			b, _ := json.Marshal(doc)
			got = string(b)
		}
		if got != tt.want {
			t.Errorf("setPath(%q) = %s, want %s", tt.paths, got, tt.want)
		}
	}
}

func TestEscapePath(t *testing.T) {
	for in, want := range map[string]string{
		"/users/42":     "/users/42",
		"/with space/x": "/with%20space/x",
		"/café":         "/caf%C3%A9",
		"/a%b?c#d'e":    "/a%25b%3Fc%23d%27e",
		"/x:y/{z}.json": "/x:y/{z}.json",
	} {
		if got := escapePath(in); got != want {
			t.Errorf("escapePath(%q) = %q, want %q", in, got, want)
		}
	}
}
