package openapi

import (
	"encoding/json"
	"net/url"
	"testing"
)

// TestAbsoluteRefs: the references of a detached schema are made absolute
// wherever a keyword holds schemas (a property named "default" included),
// never inside data (an enum value), and a schema with anchors or ids of
// its own is not detached.
func TestAbsoluteRefs(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("file:///specs/api.yaml")
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"local", `{"$ref":"#/components/schemas/A"}`, `{"$ref":"file:///specs/api.yaml#/components/schemas/A"}`, true},
		{"other file", `{"items":{"$ref":"common.yaml#/B"}}`, `{"items":{"$ref":"file:///specs/common.yaml#/B"}}`, true},
		{"property named default", `{"properties":{"default":{"$ref":"#/C"}}}`, `{"properties":{"default":{"$ref":"file:///specs/api.yaml#/C"}}}`, true},
		{"in a list", `{"oneOf":[{"$ref":"#/D"},{"type":"null"}]}`, `{"oneOf":[{"$ref":"file:///specs/api.yaml#/D"},{"type":"null"}]}`, true},
		{"data left alone", `{"enum":[{"$ref":"#/E"}],"default":{"$ref":"#/E"},"x-ref":{"$ref":"#/E"}}`, `{"default":{"$ref":"#/E"},"enum":[{"$ref":"#/E"}],"x-ref":{"$ref":"#/E"}}`, true},
		{"an id of its own", `{"properties":{"a":{"$id":"a.json"}}}`, ``, false},
		{"an anchor of its own", `{"$anchor":"here"}`, ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal([]byte(tt.in), &m); err != nil {
				t.Fatal(err)
			}
			ok := absoluteRefs(m, base)
			if ok != tt.ok {
				t.Fatalf("ok %v, want %v", ok, tt.ok)
			}
			if got, _ := json.Marshal(m); ok && string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
