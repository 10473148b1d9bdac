package openapi

import (
	"errors"
	"strings"
	"testing"
)

// TestRefToUnparsedFile: a $ref to a file that is not valid YAML or JSON
// is one problem per file, listed before the others, that starts with the
// file's own mistake at file:line:col and names every $ref to it; no
// line repeats, and nothing says the pointer "does not exist".
func TestRefToUnparsedFile(t *testing.T) {
	t.Parallel()
	const dir = "testdata/unparsed/"
	_, err := Load(dir+"spec.yaml", nil, Options{Seed: 1})
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want problems, got %v", err)
	}
	var lines []string
	for _, p := range ps {
		lines = append(lines, p.Error())
	}
	all := strings.Join(lines, "\n")
	tests := []struct {
		name string
		at   int    // the problem's index
		want string // a part of it
	}{
		{"the YAML file first", 0, ": " + dir + "common.yaml:1:4: sequence end token ']' not found: " + dir + "common.yaml is not valid YAML or JSON"},
		{"its first $ref", 0, dir + "spec.yaml:19: #/paths/~1b/post/"},
		{"every $ref to it", 0, "its $refs: " + dir + "spec.yaml:19, " + dir + "spec.yaml:46"},
		{"what needs it", 0, "needed by GET /a, POST /b; fix the file"},
		{"the JSON file", 1, ": " + dir + "other.json:1:29: invalid character '}'"},
		{"then the others", 2, "component `#/components/schemas/Nope` does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.at >= len(lines) || !strings.Contains(lines[tt.at], tt.want) {
				t.Errorf("problem %d lacks %q; the problems:\n%s", tt.at, tt.want, all)
			}
		})
	}
	if len(lines) != 3 {
		t.Errorf("%d problems, want 3:\n%s", len(lines), all)
	}
	for _, bad := range []string{`"#/Address" does not exist`, `"#/Thing" does not exist`, "\n>", "sequence end token ']' not found\n"} {
		if strings.Contains(all, bad) {
			t.Errorf("the problems hold %q:\n%s", bad, all)
		}
	}

	res, err := Load(dir+"spec.yaml", nil, Options{Seed: 1, Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(res.Notes, "\n")
	for _, want := range []string{
		"lenient: POST /b is not served: " + dir + "spec.yaml:19: #/paths/~1b/post/requestBody/content/application~1json/schema: " + dir + "common.yaml:1:4: sequence end token ']' not found",
		"lenient: GET /a is not served: " + dir + "spec.yaml:46: #/components/schemas/User/properties/address: " + dir + "common.yaml:1:4: ",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
}
