package stub

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseYAMLBounds(t *testing.T) {
	deepKeys := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(strings.Repeat(" ", i) + "k:\n")
		}
		return b.String()
	}
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 'b'; i <= 'j'; i++ {
		p := string(i - 1)
		laughs += fmt.Sprintf("%c: &%c [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n", i, i, p, p, p, p, p, p, p, p, p, p)
	}
	var merged strings.Builder
	merged.WriteString("- &d {request: {method: GET}, response: {status: 200, headers: {A: b, C: d}, body: hi}}\n")
	for i := range 2000 {
		fmt.Fprintf(&merged, "- <<: *d\n  request: {path: /p%d}\n", i)
	}
	tests := []struct {
		name     string
		in       string
		line     int // 0: no error
		contains string
	}{
		{"flow at the bound", "a: " + strings.Repeat("[", MaxYAMLDepth-1) + strings.Repeat("]", MaxYAMLDepth-1), 0, ""},
		{"flow past the bound", "a: " + strings.Repeat("[", 50000) + strings.Repeat("]", 50000), 1, "nested more than 1000 levels"},
		{"JSON past the bound", strings.Repeat(`{"a":`, 2000) + "1" + strings.Repeat("}", 2000), 1, "nested"},
		{"compact sequences past the bound", "a:\n" + strings.Repeat("- ", 20000) + "x\n", 2, "nested"},
		{"block keys at the bound", deepKeys(MaxYAMLDepth), 0, ""},
		{"block keys past the bound", deepKeys(MaxYAMLDepth + 1), MaxYAMLDepth + 1, "nested"},
		{"siblings are no deeper", strings.Repeat("- a: 1\n  b: [1, [2, [3]]]\n", 5000), 0, ""},
		{"billion laughs", laughs, 2, "aliases expand this document to at least"},
		{"aliases used as intended", merged.String(), 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseYAML([]byte(tt.in))
			if tt.line == 0 {
				if err != nil || f == nil {
					t.Fatalf("ParseYAML: %v", err)
				}
				return
			}
			var pe *PosError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseYAML: got %v, want a *PosError", err)
			}
			if pe.Line != tt.line || !strings.Contains(pe.Error(), tt.contains) {
				t.Errorf("got line %d %q, want line %d and %q", pe.Line, pe.Error(), tt.line, tt.contains)
			}
		})
	}
}

func TestParseYAMLSyntaxErrorsPass(t *testing.T) {
	_, err := ParseYAML([]byte("a: [1, 2\nb: }"))
	var pe *PosError
	if err == nil || errors.As(err, &pe) {
		t.Fatalf("got %v, want go-yaml's syntax error", err)
	}
}
