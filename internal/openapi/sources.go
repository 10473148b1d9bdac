package openapi

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Referenced returns the files that the OpenAPI document at path refers
// to with $ref, directly or through one another, resolved as Load
// resolves them: absolute, sorted, path itself left out. A file that
// cannot be read or decoded is listed (it is what Load would read) but
// not followed; a $ref to a URI names no file and is left out. A file
// that is not an OpenAPI document (no top-level openapi or swagger)
// refers to nothing. The file watcher watches what it returns.
func Referenced(path string) []string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil
	}
	root, ok := sourceTree(abs).(map[string]any)
	if !ok || root["openapi"] == nil && root["swagger"] == nil {
		return nil
	}
	seen := map[string]bool{abs: true}
	var out, queue []string
	follow := func(base string, tree any) {
		for _, ref := range sourceRefs(tree, nil) {
			if file := sourceFile(base, ref); file != "" && !seen[file] {
				seen[file] = true
				out = append(out, file)
				queue = append(queue, file)
			}
		}
	}
	follow(abs, root)
	for len(queue) > 0 {
		file := queue[0]
		queue = queue[1:]
		follow(file, sourceTree(file))
	}
	sort.Strings(out)
	return out
}

// sourceTree decodes the file at path when it may refer to another
// file (see mayReferToFile); otherwise, or when it cannot be read, it
// returns nil.
func sourceTree(path string) any {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() || st.Size() > MaxFile {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil || !mayReferToFile(data) {
		return nil
	}
	v, _ := decode(data)
	return v
}

// mayReferToFile reports whether data may hold a $ref to another file:
// one whose value does not start with '#' once the quotes, colon and
// spaces after "$ref" are skipped. It spares decoding a large document
// whose $refs are all local; a false yes only costs that decoding.
func mayReferToFile(data []byte) bool {
	for {
		i := bytes.Index(data, []byte("$ref"))
		if i < 0 {
			return false
		}
		data = data[i+len("$ref"):]
		rest := bytes.TrimLeft(data, "\"' \t\r\n:")
		if len(rest) > 0 && rest[0] != '#' {
			return true
		}
	}
}

// sourceRefs appends the value of every "$ref" under v that is a string.
func sourceRefs(v any, refs []string) []string {
	switch x := v.(type) {
	case map[string]any:
		if ref, ok := x["$ref"].(string); ok {
			refs = append(refs, ref)
		}
		for _, e := range x {
			refs = sourceRefs(e, refs)
		}
	case []any:
		for _, e := range x {
			refs = sourceRefs(e, refs)
		}
	}
	return refs
}

// sourceFile is the file that ref, found in base, names, as resolve reads
// it; "" for a $ref in base itself or to a URI.
func sourceFile(base, ref string) string {
	file, _, _ := strings.Cut(ref, "#")
	if file == "" || isURI(file) {
		return ""
	}
	if u, err := url.PathUnescape(file); err == nil {
		file = u
	}
	if filepath.IsAbs(file) {
		return filepath.Clean(file)
	}
	return filepath.Join(filepath.Dir(base), file)
}
