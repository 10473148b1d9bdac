package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/wiremock"
	"github.com/goccy/go-yaml/ast"
)

// loadWireMock turns a file of WireMock mappings into stubs (package
// wiremock); its problems come back with file and line.
func (l *Loaded) loadWireMock(name string, body ast.Node) Problems {
	res, err := wiremock.Convert(name, body, wiremock.FilesDir(name))
	if err != nil {
		var ps wiremock.Problems
		if !errors.As(err, &ps) {
			return Problems{{File: name, Msg: err.Error()}}
		}
		out := make(Problems, 0, len(ps))
		for _, p := range ps {
			out = append(out, Problem{File: name, Line: p.Line, Col: p.Col, Field: p.Field, Msg: p.Msg})
		}
		return out
	}
	l.Files = append(l.Files, name)
	l.Notes = append(l.Notes, res.Notes...)
	l.Details = append(l.Details, res.Details...)
	base := idBase(name)
	for _, m := range res.Mappings {
		l.Sources = append(l.Sources, engine.Source{Stub: m.Stub, Origin: fmt.Sprintf("%s:%d", name, line(m.Node))})
		l.where = append(l.where, place{file: name, node: m.Node, path: m.Path})
		auto := fmt.Sprintf("%s-%d", base, m.Index+1)
		if n := strings.Trim(idUnsafe.ReplaceAllString(m.Name, "-"), "-"); n != "" {
			auto = n
		}
		l.autoID = append(l.autoID, auto)
	}
	return nil
}

// isWireMockFiles reports whether dir is the __files folder of a WireMock
// root (a mappings folder beside it): body files, not stubs.
func isWireMockFiles(dir string) bool {
	if filepath.Base(dir) != "__files" {
		return false
	}
	info, err := os.Stat(filepath.Join(filepath.Dir(dir), "mappings"))
	return err == nil && info.IsDir()
}
