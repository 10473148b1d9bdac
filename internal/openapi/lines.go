package openapi

import (
	"bytes"
	"encoding/json"
	"os"
	"strconv"
	"strings"

	"github.com/decoy-dev/decoy/internal/stub"
	"github.com/goccy/go-yaml/ast"
)

// PointerLines finds the line of each JSON pointer of ptrs in data, a YAML
// or JSON document: the line of the key (or list item) the pointer ends
// at. A pointer that is not in data has no entry. It reads data once
// whatever the number of pointers, and only descends where a pointer
// leads, so that placing problems in a large document (GitHub's API: 13
// MB of JSON) costs about a parse of it, and only when there are problems.
func PointerLines(data []byte, ptrs []string) map[string]int {
	want := map[string]bool{} // the pointers and every prefix of them
	for _, p := range ptrs {
		for i := 1; i <= len(p); i++ {
			if i == len(p) || p[i] == '/' {
				want[p[:i]] = true
			}
		}
	}
	out := map[string]int{}
	if len(want) == 0 {
		return out
	}
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(t) > 0 && t[0] == '{' {
		w := &jsonLines{data: data, want: want, out: out}
		w.dec = json.NewDecoder(bytes.NewReader(data))
		w.value("")
		return out
	}
	f, err := stub.ParseYAML(data)
	if err != nil || len(f.Docs) == 0 {
		return out
	}
	yamlLines(f.Docs[0].Body, "", want, out)
	return out
}

// jsonLines walks a JSON document with a decoder, without keeping it.
type jsonLines struct {
	data     []byte
	dec      *json.Decoder
	want     map[string]bool
	out      map[string]int
	off, ln  int // the line at offset off (offsets only grow)
	failed   bool
	skipping json.RawMessage
}

// line is the line of the byte at offset off.
func (w *jsonLines) line(off int) int {
	if w.ln == 0 {
		w.ln = 1
	}
	if off > len(w.data) {
		off = len(w.data)
	}
	if off > w.off {
		w.ln += bytes.Count(w.data[w.off:off], []byte{'\n'})
		w.off = off
	}
	return w.ln
}

// value reads the value at ptr, descending into it when a wanted pointer
// lies inside.
func (w *jsonLines) value(ptr string) {
	if w.failed {
		return
	}
	tok, err := w.dec.Token()
	if err != nil {
		w.failed = true
		return
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return // a scalar
	}
	for i := 0; w.dec.More() && !w.failed; i++ {
		var child string
		if d == '{' {
			k, err := w.dec.Token()
			key, ok := k.(string)
			if err != nil || !ok {
				w.failed = true
				return
			}
			child = ptr + "/" + escape(key)
		} else {
			child = ptr + "/" + strconv.Itoa(i)
		}
		if !w.want[child] {
			if err := w.dec.Decode(&w.skipping); err != nil {
				w.failed = true
			}
			continue
		}
		off := int(w.dec.InputOffset())
		if d == '[' {
			// The offset is the end of the item before: the line is
			// where this one starts.
			for off < len(w.data) && strings.IndexByte(" \t\r\n,", w.data[off]) >= 0 {
				off++
			}
		}
		w.out[child] = w.line(off)
		w.value(child)
	}
	if _, err := w.dec.Token(); err != nil { // the closing delimiter
		w.failed = true
	}
}

// yamlLines walks a YAML syntax tree.
func yamlLines(n ast.Node, ptr string, want map[string]bool, out map[string]int) {
	for {
		switch v := stub.Unwrap(n).(type) {
		case *ast.DocumentNode:
			n = v.Body
			continue
		case *ast.MappingNode:
			for _, mv := range v.Values {
				child := ptr + "/" + escape(stub.MappingKey(mv))
				if want[child] {
					out[child] = mv.Key.GetToken().Position.Line
					yamlLines(mv.Value, child, want, out)
				}
			}
		case *ast.MappingValueNode: // a mapping of one pair
			child := ptr + "/" + escape(stub.MappingKey(v))
			if want[child] {
				out[child] = v.Key.GetToken().Position.Line
				yamlLines(v.Value, child, want, out)
			}
		case *ast.SequenceNode:
			for i, e := range v.Values {
				child := ptr + "/" + strconv.Itoa(i)
				if want[child] && e != nil && e.GetToken() != nil {
					out[child] = e.GetToken().Position.Line
					yamlLines(e, child, want, out)
				}
			}
		}
		return
	}
}

// placeLines gives the problems in the root document that have a pointer
// and no line the line the pointer leads to.
func (b *builder) placeLines() {
	var ptrs []string
	for _, p := range b.probs {
		if p.Line == 0 && p.File == b.name && p.Pointer != "" && strings.HasPrefix(p.Pointer, "/") {
			ptrs = append(ptrs, p.Pointer)
		}
	}
	if len(ptrs) == 0 {
		return
	}
	data, ok := b.f.pre[b.file]
	if !ok {
		var err error
		if data, err = os.ReadFile(b.file); err != nil {
			return
		}
	}
	lines := PointerLines(data, ptrs)
	for i, p := range b.probs {
		if p.Line == 0 && p.File == b.name { // a pointer into another file is not one of data's
			b.probs[i].Line = lines[p.Pointer]
		}
	}
}
