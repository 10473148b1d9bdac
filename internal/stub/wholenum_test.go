package stub

import (
	"errors"
	"testing"

	"github.com/goccy/go-yaml/parser"
)

func TestWholeNumbers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		line, col  int // of the number refused; 0: none
	}{
		{"integer", "response: {status: 200}", 0, 0},
		{"whole float", "response: {status: 200.0}\npriority: 1e3", 0, 0},
		{"whole, past int64: go-yaml's to refuse", "priority: 1e30", 0, 0},
		{"fraction", "response:\n  status: 200.5", 2, 11},
		{"in a list of responses", "responses:\n  - {status: 200}\n  - {status: 201.5}", 3, 14},
		{"in a fault", "response:\n  faults: [{kind: error, status: 502.25}]", 2, 34},
		{"a duration reads itself", "response: {delay: 1.5, latency: {fixed: 2.5}}", 0, 0},
		{"a float field", "response: {faults: [{kind: error, probability: 0.5}]}", 0, 0},
		{"a body is any JSON", "response: {body: {n: 1.5, list: [2.5]}}", 0, 0},
		{"unknown fields are go-yaml's", "response: {statuss: 1.5}", 0, 0},
	}
	for _, tt := range tests {
		f, err := parser.ParseBytes([]byte(tt.yaml), 0)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		err = WholeNumbers(f.Docs[0].Body)
		var pe *PosError
		switch {
		case tt.line == 0 && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.line != 0 && (!errors.As(err, &pe) || pe.Line != tt.line || pe.Col != tt.col):
			t.Errorf("%s: got %v (%+v), want an error at %d:%d", tt.name, err, pe, tt.line, tt.col)
		}
	}
}
