package stub

import (
	"bytes"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// FieldError is a problem with one field of a stub, named by its path
// inside the stub ("request.headers.X-Id.regex").
type FieldError struct {
	Field string
	Msg   string
}

func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Join builds a field path from its parts, skipping empty ones.
func Join(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 && !strings.HasPrefix(p, "[") {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// PosError is an error in a file at a known line and column, as the YAML
// decoding of a field reports it.
type PosError struct {
	Line, Col int
	Err       error
}

func (e *PosError) Error() string { return e.Err.Error() }
func (e *PosError) Unwrap() error { return e.Err }

// At attaches node's position to err (nil stays nil).
func At(node ast.Node, err error) error {
	if err == nil {
		return nil
	}
	if node == nil || node.GetToken() == nil {
		return err
	}
	p := node.GetToken().Position
	return &PosError{Line: p.Line, Col: p.Column, Err: err}
}

// Position returns the 1-based line and column of byte offset off in b
// (clamped to b), for problems found in a JSON or YAML text by offset.
func Position(b []byte, off int) (line, col int) {
	off = min(max(off, 0), len(b))
	line = 1 + bytes.Count(b[:off], []byte("\n"))
	col = off - bytes.LastIndexByte(b[:off], '\n')
	return line, col
}
