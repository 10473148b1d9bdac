package openapi

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi/datamodel"
	"github.com/pb33f/libopenapi/index"
)

var lineCol = regexp.MustCompile(`\[(\d+):(\d+)\]|line (\d+)`)

// checkDocument builds the document with libopenapi and returns its
// problems with lines. Circular references are not problems: decoy bounds
// recursion when it generates data.
func checkDocument(name, abs string, f *files) (probs Problems) {
	defer func() {
		if r := recover(); r != nil {
			probs = Problems{{File: name, Msg: fmt.Sprintf("the document could not be read: %v", r)}}
		}
	}()
	data, ok := f.pre[abs]
	if !ok {
		var err error
		if data, err = os.ReadFile(abs); err != nil {
			return Problems{{File: name, Msg: err.Error()}}
		}
	}
	cfg := &datamodel.DocumentConfiguration{
		BasePath:                            filepath.Dir(abs),
		AllowFileReferences:                 true,
		IgnorePolymorphicCircularReferences: true,
		IgnoreArrayCircularReferences:       true,
		Logger:                              slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	doc, err := libopenapi.NewDocumentWithConfiguration(data, cfg)
	if err != nil {
		return toProblems(name, err)
	}
	if strings.HasPrefix(doc.GetVersion(), "2") {
		_, err = doc.BuildV2Model()
	} else {
		_, err = doc.BuildV3Model()
	}
	return toProblems(name, err)
}

func toProblems(name string, err error) Problems {
	if err == nil {
		return nil
	}
	var out Problems
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		msg := e.Error()
		if strings.Contains(msg, "circular reference") {
			return
		}
		p := Problem{File: name, Msg: msg}
		if m := lineCol.FindStringSubmatch(msg); m != nil {
			p.Line, _ = strconv.Atoi(m[1] + m[3])
		}
		// An unresolvable $ref: where it appears.
		var ie *index.IndexingError
		if errors.As(e, &ie) && p.Line == 0 {
			switch {
			case ie.KeyNode != nil && ie.KeyNode.Line > 0:
				p.Line = ie.KeyNode.Line
			case ie.Node != nil && ie.Node.Line > 0:
				p.Line = ie.Node.Line
			}
		}
		out = append(out, p)
	}
	walk(err)
	if len(out) == 0 && !strings.Contains(err.Error(), "circular reference") {
		out = Problems{{File: name, Msg: err.Error()}}
	}
	return out
}
