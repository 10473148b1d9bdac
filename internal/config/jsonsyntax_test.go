package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestJSONFilesAreJSON: a .json stub or config file must be JSON, though
// decoy's YAML reader would take more; the problem names the line and
// column and what to do.
func TestJSONFilesAreJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, text string
		want             string // "" for no problem; else file:line:col and a part of the message
	}{
		{"JSON", "s.json", `[{"request": {"path": "/a"}, "response": {"body": "a"}}]`, ""},
		{"JSON after a BOM", "s.json", "\xef\xbb\xbf[{\"request\": {\"path\": \"/a\"}}]", ""},
		{"YAML in a .yaml file", "s.yaml", "- request: {path: /a,}\n  response: {body: 'a'} # fine\n", ""},
		{"trailing comma", "s.json", "[\n  {\"request\": {\"path\": \"/a\"},}\n]", "s.json:2:30: not valid JSON: invalid character '}'"},
		{"trailing comma, upper-case extension", "S.JSON", `[{"request": {"path": "/a"}},]`, "S.JSON:1:30:"},
		{"comment", "s.json", "[\n# the stubs\n{\"request\": {\"path\": \"/a\"}}]", "s.json:2:1: not valid JSON: invalid character '#'"},
		{"single quotes", "s.json", `[{'request': {"path": "/a"}}]`, "s.json:1:3:"},
		{"bare word", "s.json", `[{"request": {"path": /a}}]`, "s.json:1:23:"},
		{"cut short", "s.json", `[{"request": {"path": "/a"}`, "s.json:1:27: not valid JSON: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), tt.file)
			if err := os.WriteFile(p, []byte(tt.text), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadStubs([]string{p})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), filepath.Join(filepath.Dir(p), tt.want)) || !strings.Contains(err.Error(), "name it .yaml") {
				t.Errorf("error %v, want %q and what to do", err, tt.want)
			}
		})
	}
}

func TestJSONConfigFile(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "decoy.json")
	if err := os.WriteFile(p, []byte("{\n  \"cors\": true,\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	probs := applyFile(&Settings{}, p)
	if len(probs) != 1 || probs[0].Line != 3 || !strings.Contains(probs[0].Msg, "not valid JSON") {
		t.Errorf("problems %v, want one at line 3: not valid JSON", probs)
	}
}
