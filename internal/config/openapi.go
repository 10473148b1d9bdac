package config

import (
	"errors"
	"strings"

	"github.com/decoy-dev/decoy/internal/openapi"
)

// loadSpec turns an OpenAPI or Swagger document into stubs (package
// openapi); its problems come back with file, line and JSON pointer.
func (l *Loaded) loadSpec(name string, data []byte) Problems {
	// Stub ids start with the file's base name ("api:getX"); a second
	// document of the same name (services/a/api.yaml, services/b/api.yaml)
	// gets "api-2", as derived ids of stub files do.
	o := l.spec
	if l.specIDs == nil {
		l.specIDs = map[string]bool{}
	}
	o.IDPrefix = uniqueID(openapi.IDBase(name), l.specIDs)
	res, err := openapi.Load(name, data, o)
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
			file := p.File // the document, or a file its $refs name
			if file == "" {
				file = name
			}
			out = append(out, Problem{File: file, Line: p.Line, Field: field, Msg: p.Msg})
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
		// Compile errors name the operation by its JSON pointer (its
		// Origin is name#pointer), not the document's first line.
		_, ptr, _ := strings.Cut(src.Origin, "#")
		l.where = append(l.where, place{file: name, ptr: ptr})
		l.autoID = append(l.autoID, src.Stub.ID)
	}
	return nil
}
