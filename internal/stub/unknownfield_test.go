package stub

import (
	"slices"
	"testing"
)

func TestSuggest(t *testing.T) {
	known := []string{"body", "bodyFile", "delay", "faults", "headers", "latency", "status", "websocket"}
	for _, tc := range []struct {
		name, want string
	}{
		{"staus", "status"},   // a letter missing
		{"statuss", "status"}, // one too many
		{"stauts", "status"},  // two swapped
		{"Status", "status"},  // case
		{"heders", "headers"}, // a letter missing
		{"latncy", "latency"}, // a letter missing
		{"bodyfile", "bodyFile"},
		{"websock", "websocket"}, // cut short
		{"lat", "latency"},       // cut short, one field starts so
		{"zzzzzz", ""},           // nothing near
		{"de", ""},               // too short to tell
		{"bo", ""},               // too short, and two fields start so
		{"xyzbody", ""},
	} {
		if got := Suggest(tc.name, known); got != tc.want {
			t.Errorf("Suggest(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestUnknownField(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		line, col  int
		path       string
		known      string // one of the known fields
		ok         bool
	}{
		{"top level", "reqest: {path: /a}\nresponse: {}\n", 1, 1, "reqest", "request", true},
		{"in response", "request: {path: /a}\nresponse:\n  staus: 201\n", 3, 3, "response.staus", "status", true},
		{"in a matcher of a map", "request: {headers: {X: {equalz: 1}}}\n", 1, 25, "request.headers.X.equalz", "equals", true},
		{"in a list item", "responses:\n  - {status: 200}\n  - {stats: 201}\n", 3, 6, "responses[1].stats", "status", true},
		{"a known key there", "request: {path: /a}\nresponse:\n  status: 201\n", 3, 3, "", "", false},
		{"nothing there", "request: {path: /a}\n", 9, 1, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseYAML([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			path, known, ok := UnknownField(f.Docs[0].Body, tc.line, tc.col)
			if ok != tc.ok || path != tc.path || (tc.ok && !slices.Contains(known, tc.known)) {
				t.Errorf("UnknownField = %q, %v, %v; want %q, known holding %q, %v", path, known, ok, tc.path, tc.known, tc.ok)
			}
		})
	}
}

func TestUnknownFieldMessage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		known []string
		want  string
	}{
		{"staus", []string{"body", "status"}, `unknown field "staus"; did you mean "status"?`},
		{"zzzz", []string{"body", "status"}, `unknown field "zzzz"; known fields: body, status`},
		{"zzzz", nil, `unknown field "zzzz"`},
	} {
		if got := UnknownFieldMessage(tc.name, tc.known); got != tc.want {
			t.Errorf("UnknownFieldMessage(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
