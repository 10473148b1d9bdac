package config

import (
	"errors"

	"github.com/decoy-dev/decoy/internal/openapi"
	"github.com/goccy/go-yaml/ast"
)

// loadSpec turns an OpenAPI or Swagger document into stubs (package
// openapi); its problems come back with file, line and JSON pointer.
func (l *Loaded) loadSpec(name string, data []byte, root ast.Node) Problems {
	res, err := openapi.Load(name, data, l.spec)
	if err != nil {
		var ps openapi.Problems
		if !errors.As(err, &ps) {
			return Problems{{File: name, Msg: err.Error()}}
		}
		out := make(Problems, 0, len(ps))
		for _, p := range ps {
			field := ""
			if p.Pointer != "" {
				field = "#" + p.Pointer
			}
			out = append(out, Problem{File: name, Line: p.Line, Field: field, Msg: p.Msg})
		}
		return out
	}
	l.Files = append(l.Files, name)
	l.Notes = append(l.Notes, res.Notes...)
	seen := make(map[string]bool, len(res.Warnings))
	for _, w := range res.Warnings { // the same schema may be met more than once
		if !seen[w] {
			seen[w] = true
			l.Details = append(l.Details, w)
		}
	}
	for _, src := range res.Sources {
		l.Sources = append(l.Sources, src)
		l.where = append(l.where, place{file: name, node: root})
		l.autoID = append(l.autoID, src.Stub.ID)
	}
	return nil
}
