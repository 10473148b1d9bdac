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
}

func newFiles() *files { return &files{docs: map[string]any{}, pre: map[string][]byte{}} }

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
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	f.docs[path] = d
	return d, nil
}

// resolve follows ref found in base: "#/components/schemas/Pet",
// "common.yaml#/Pet", "pet.yaml".
func (f *files) resolve(base, ref string) (any, string, error) {
	file, frag, _ := strings.Cut(ref, "#")
	target := base
	if file != "" {
		if strings.Contains(file, "://") {
			return nil, "", fmt.Errorf("$ref %q: remote references are not supported; download the file and refer to it by a relative path", ref)
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
		return nil, "", fmt.Errorf("$ref %q: %v", ref, err)
	}
	v, err := pointer(doc, frag)
	if err != nil {
		return nil, "", fmt.Errorf("$ref %q: %v", ref, err)
	}
	return v, target, nil
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
