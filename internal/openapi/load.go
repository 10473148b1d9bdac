// Package openapi turns an OpenAPI 3.0/3.1 or Swagger 2.0 document into
// decoy stubs: one set per operation, compiled by the engine like any other
// stub, with responses rendered once at load (examples, or data generated
// by package fake from the schema). The document is checked with
// github.com/pb33f/libopenapi; every response decoy renders is checked
// against its schema with github.com/santhosh-tekuri/jsonschema/v6.
package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"
)

// Problem is one mistake in a document.
type Problem struct {
	File    string
	Line    int    // 0 when unknown
	Pointer string // JSON pointer inside File, e.g. /paths/~1pets/get
	Msg     string
	ref     string // the $ref of an unresolvable reference, as written
	// unparsed is the file (absolute) that ref names and that is not
	// valid YAML or JSON: the one cause of every such ref (see
	// settleRefs).
	unparsed string
}

func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Pointer != "" {
		b.WriteString("#" + p.Pointer + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every mistake found in a document.
type Problems []Problem

func (ps Problems) Error() string {
	l := make([]string, len(ps))
	for i, p := range ps {
		l[i] = p.Error()
	}
	return strings.Join(l, "\n")
}

// MaxFile is the largest document (or referenced file) read.
const MaxFile = 64 << 20

// files reads documents and follows $refs between them. It is safe for
// concurrent use.
type files struct {
	mu   sync.RWMutex
	docs map[string]any // absolute path -> decoded tree
	// pre holds documents given as bytes (the root when loaded from memory).
	pre map[string][]byte
	// ids indexes each decoded document's schemas by their absolute $id
	// (made on the first $ref to a URI; see byID).
	ids map[string]map[string]any
}

func newFiles() *files {
	return &files{docs: map[string]any{}, pre: map[string][]byte{}, ids: map[string]map[string]any{}}
}

// decode reads YAML or JSON into generic values with string keys and
// json.Number numbers.
func decode(data []byte) (any, error) {
	t := bytes.TrimSpace(data)
	if len(t) == 0 || (t[0] != '{' && t[0] != '[') {
		j, err := yaml.YAMLToJSON(data)
		if err != nil {
			return nil, err
		}
		data = j
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func (f *files) get(path string) (any, error) {
	f.mu.RLock()
	d, ok := f.docs[path]
	f.mu.RUnlock()
	if ok {
		return d, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if d, ok := f.docs[path]; ok {
		return d, nil
	}
	data, ok := f.pre[path]
	if !ok {
		st, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		if st.Size() > MaxFile {
			return nil, fmt.Errorf("%s: larger than %d MiB", path, MaxFile>>20)
		}
		if data, err = os.ReadFile(path); err != nil {
			return nil, err
		}
	}
	d, err := decode(data)
	if err != nil {
		return nil, parseErr(path, data, err)
	}
	f.docs[path] = d
	return d, nil
}

// parseError is a file that is not valid YAML or JSON, with where its
// reader stopped (line and col 0 when it does not say).
type parseError struct {
	path      string
	line, col int
	msg       string
}

func (e *parseError) Error() string { return e.at(e.path) }

// unparsed words a $ref to the file that pe is about, which the document
// names name: the file's own mistake first, with its line and column.
func unparsed(pe *parseError, name string) string {
	return fmt.Sprintf("%s: %s is not valid YAML or JSON, so the $refs to it cannot be followed", pe.at(name), name)
}

// at words e with the file named name: "common.yaml:1:4: sequence end
// token ']' not found".
func (e *parseError) at(name string) string {
	switch {
	case e.line > 0 && e.col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", name, e.line, e.col, e.msg)
	case e.line > 0:
		return fmt.Sprintf("%s:%d: %s", name, e.line, e.msg)
	}
	return name + ": " + e.msg
}

// parseErr is decode's error for the file at path (data): a go-yaml
// error by its token's position, a JSON one by its offset.
func parseErr(path string, data []byte, err error) error {
	pe := &parseError{path: path, msg: err.Error()}
	var ye yaml.Error
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	offset := int64(-1)
	switch {
	case errors.As(err, &ye):
		pe.msg = ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			pe.line, pe.col = tk.Position.Line, tk.Position.Column
		}
	case errors.As(err, &se):
		offset = se.Offset
	case errors.As(err, &te):
		offset = te.Offset
	}
	if offset > 0 && offset <= int64(len(data)) {
		before := data[:offset-1] // the offending byte is the last one read
		pe.line = bytes.Count(before, []byte("\n")) + 1
		pe.col = len(before) - bytes.LastIndexByte(before, '\n')
	}
	return pe
}

// resolve follows ref found in base: "#/components/schemas/Pet",
// "common.yaml#/Pet", "pet.yaml".
func (f *files) resolve(base, ref string) (any, string, error) {
	file, frag, _ := strings.Cut(ref, "#")
	target := base
	if file != "" {
		if isURI(file) {
			// JSON Schema 2020-12 (OpenAPI 3.1): a $ref to the $id of a
			// schema embedded in the document is local, whatever its
			// scheme; only a URI that no schema here declares is remote.
			if node, ok := f.byID(base, file); ok {
				v, err := pointer(node, frag)
				if err != nil {
					return nil, "", fmt.Errorf("$ref %q: %v", ref, err)
				}
				return v, base, nil
			}
			return nil, "", remoteRef(ref)
		}
		if u, err := url.PathUnescape(file); err == nil {
			file = u
		}
		if filepath.IsAbs(file) {
			target = filepath.Clean(file)
		} else {
			target = filepath.Join(filepath.Dir(base), file)
		}
	}
	doc, err := f.get(target)
	if err != nil {
		return nil, "", fmt.Errorf("$ref %q: %w", ref, err)
	}
	v, err := pointer(doc, frag)
	if err != nil {
		return nil, "", fmt.Errorf("$ref %q: %v", ref, err)
	}
	return v, target, nil
}

// remoteRef is the error for a $ref to a URI that no schema of the
// document declares as its $id: decoy reads no network.
func remoteRef(ref string) error {
	return fmt.Errorf("$ref %q: remote references are refused (decoy reads no network): download the file and refer to it by a relative path", ref)
}

// isURI reports whether a $ref's file part is an absolute URI
// (https://..., urn:...) rather than a file path; a one-letter scheme is
// a Windows drive (C:/spec.yaml).
func isURI(file string) bool {
	if strings.Contains(file, "://") {
		return true
	}
	scheme, _, ok := strings.Cut(file, ":")
	if !ok || len(scheme) < 2 {
		return false
	}
	for i, c := range scheme {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// byID finds the schema whose $id is uri in the document base (the file
// the $ref is in), then in the other documents read so far.
func (f *files) byID(base, uri string) (any, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	index := func(path string) map[string]any {
		if ix, ok := f.ids[path]; ok {
			return ix
		}
		ix := map[string]any{}
		collectIDs(f.docs[path], ix)
		f.ids[path] = ix
		return ix
	}
	if n, ok := index(base)[uri]; ok {
		return n, true
	}
	for path := range f.docs {
		if n, ok := index(path)[uri]; ok {
			return n, true
		}
	}
	return nil, false
}

// byIDInDoc is byID in the document abs alone (read if need be).
func (f *files) byIDInDoc(abs, uri string) (any, bool) {
	if _, err := f.get(abs); err != nil {
		return nil, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ix, ok := f.ids[abs]
	if !ok {
		ix = map[string]any{}
		collectIDs(f.docs[abs], ix)
		f.ids[abs] = ix
	}
	n, ok := ix[uri]
	return n, ok
}

// collectIDs adds the schemas under v that have an absolute $id to ix,
// by that $id without an empty fragment. (A relative $id, resolved
// against the one around it, is not followed.)
func collectIDs(v any, ix map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		if id, ok := x["$id"].(string); ok {
			if id = strings.TrimSuffix(id, "#"); isURI(id) {
				if _, dup := ix[id]; !dup {
					ix[id] = x
				}
			}
		}
		for _, e := range x {
			collectIDs(e, ix)
		}
	case []any:
		for _, e := range x {
			collectIDs(e, ix)
		}
	}
}

// pointer walks a JSON pointer (RFC 6901, possibly URL-escaped).
func pointer(doc any, ptr string) (any, error) {
	if u, err := url.PathUnescape(ptr); err == nil {
		ptr = u
	}
	if ptr == "" || ptr == "/" {
		return doc, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("%q is not a JSON pointer (anchors are not supported)", ptr)
	}
	cur := doc
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("%q does not exist", "#"+ptr)
			}
			cur = v
		case []any:
			var i int
			if _, err := fmt.Sscan(tok, &i); err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("%q does not exist", "#"+ptr)
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("%q does not exist", "#"+ptr)
		}
	}
	return cur, nil
}

// deref follows $ref chains on a non-schema object (a response, a path
// item, an example), returning it and the file it lives in.
func (f *files) deref(v any, base string) (map[string]any, string, error) {
	for i := 0; i < 32; i++ {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, base, errors.New("expected an object")
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, base, nil
		}
		var err error
		if v, base, err = f.resolve(base, ref); err != nil {
			return nil, base, err
		}
	}
	return nil, base, errors.New("$ref chain too long (or circular)")
}

// escape makes a JSON pointer token.
func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
