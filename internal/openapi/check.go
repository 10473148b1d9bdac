package openapi

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
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
	probs = toProblems(name, err)
	refProblems(probs, abs, data, f)
	return probs
}

// refProblems rewords libopenapi's "component `#/X` does not exist in the
// specification" for a $ref to another file or to a URI, which names
// neither the file nor why: `$ref "missing.yaml#/X": missing.yaml: no such
// file`, or that remote references are refused. Each such problem gets the
// JSON pointer of the object holding the $ref (found by the ref and its
// line).
func refProblems(probs Problems, abs string, data []byte, f *files) {
	var ptrs []string
	for i := range probs {
		p := &probs[i]
		if p.ref == "" {
			// libopenapi's other wordings of a ref it cannot follow
			// ("cannot resolve reference `common.yaml#/A`, it's
			// missing"): reworded only when the file does not parse.
			if ref, ok := danglingRef(*p); ok && ref != "" && unparsedRef(p, ref, abs, f) {
				p.ref = ref // still a dangling ref (see danglingRef)
				if p.Line > 0 {
					ptrs = append(ptrs, refHolders(f, abs, p.ref)...)
				}
			}
			continue
		}
		file, frag, _ := strings.Cut(p.ref, "#")
		switch {
		case file == "":
			// In this document: libopenapi's message names it.
		case isURI(file):
			if _, ok := f.byIDInDoc(abs, strings.TrimSuffix(file, "#")); ok {
				continue // an embedded $id: libopenapi's own mistake is worded as it is
			}
			p.Msg = remoteRef(p.ref).Error()
		default:
			target := file
			if u, err := url.PathUnescape(file); err == nil {
				target = u
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(abs), target)
			}
			if _, err := os.Stat(target); err != nil {
				why := "no such file"
				if !errors.Is(err, os.ErrNotExist) {
					why = err.Error()
				}
				p.Msg = fmt.Sprintf("$ref %q: %s: %s", p.ref, file, why)
			} else if unparsedRef(p, p.ref, abs, f) {
				// The file is not valid YAML or JSON: that is the cause.
			} else if frag != "" {
				p.Msg = fmt.Sprintf("$ref %q: %q does not exist in %s", p.ref, "#"+frag, file)
			}
		}
		if p.Line > 0 {
			ptrs = append(ptrs, refHolders(f, abs, p.ref)...)
		}
	}
	if len(ptrs) == 0 {
		return
	}
	lines := PointerLines(data, ptrs)
	for i := range probs {
		p := &probs[i]
		if p.ref == "" || p.Pointer != "" {
			continue
		}
		for _, ptr := range refHolders(f, abs, p.ref) {
			if lines[ptr] == p.Line {
				p.Pointer = strings.TrimSuffix(ptr, "/$ref")
				break
			}
		}
	}
}

// unparsedRef rewords p, about ref (a $ref in the document abs), as the
// mistake of the file ref names when that file is not valid YAML or JSON
// (libopenapi says that the pointer does not exist in it), and reports
// whether it did.
func unparsedRef(p *Problem, ref, abs string, f *files) bool {
	file, _, _ := strings.Cut(ref, "#")
	if file == "" || isURI(file) {
		return false
	}
	if u, err := url.PathUnescape(file); err == nil {
		file = u
	}
	target := file
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(abs), target)
	}
	var pe *parseError
	if _, err := f.get(target); !errors.As(err, &pe) {
		return false
	}
	p.Msg = unparsed(pe, displayName(p.File, abs, target))
	p.unparsed = target
	return true
}

// refHolders lists the pointers (to the $ref key) of the objects of the
// document abs whose $ref is ref.
func refHolders(f *files, abs, ref string) []string {
	root, err := f.get(abs)
	if err != nil {
		return nil
	}
	var out []string
	walkObjects(root, "", func(obj map[string]any, ptr string) {
		if r, ok := obj["$ref"].(string); ok && r == ref {
			out = append(out, ptr+"/$ref")
		}
	})
	return out
}

// walkObjects calls f with every object in v, and its JSON pointer (v's
// being ptr), parents before children.
func walkObjects(v any, ptr string, f func(obj map[string]any, ptr string)) {
	switch x := v.(type) {
	case map[string]any:
		f(x, ptr)
		for k, e := range x {
			walkObjects(e, ptr+"/"+escape(k), f)
		}
	case []any:
		for i, e := range x {
			walkObjects(e, ptr+"/"+strconv.Itoa(i), f)
		}
	}
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
		if errors.As(e, &ie) && ie.KeyNode != nil {
			p.ref = ie.KeyNode.Value // the $ref as written (see refProblems)
		}
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
