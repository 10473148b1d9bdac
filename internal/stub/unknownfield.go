package stub

import (
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// UnknownField explains go-yaml's "unknown field" error for the key at
// line:col in n, a stub's node: the key's path from the stub
// ("response.staus") and the fields the mapping that holds it takes
// ("body", "status", ...). It follows the mappings into the struct fields
// they fill as fractionForInt does. ok is false when n has no unknown key
// there (the key is inside a value a type reads itself).
func UnknownField(n ast.Node, line, col int) (path string, known []string, ok bool) {
	return unknownIn(n, reflect.TypeFor[Stub](), "", line, col)
}

func unknownIn(n ast.Node, t reflect.Type, path string, line, col int) (string, []string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var entries []*ast.MappingValueNode
	switch n := Unwrap(n).(type) {
	case *ast.SequenceNode:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return "", nil, false
		}
		for i, v := range n.Values {
			if p, k, ok := unknownIn(v, t.Elem(), path+"["+strconv.Itoa(i)+"]", line, col); ok {
				return p, k, true
			}
		}
		return "", nil, false
	case *ast.MappingNode:
		entries = n.Values
	case *ast.MappingValueNode:
		entries = []*ast.MappingValueNode{n}
	default:
		return "", nil, false
	}
	for _, mv := range entries {
		key := MappingKey(mv)
		switch t.Kind() {
		case reflect.Map:
			if p, k, ok := unknownIn(mv.Value, t.Elem(), Join(path, key), line, col); ok {
				return p, k, true
			}
		case reflect.Struct:
			ft, found := fieldType(t, key)
			if !found {
				if tk := mv.Key.GetToken(); tk != nil && tk.Position.Line == line && tk.Position.Column == col {
					return Join(path, key), fieldKeys(t), true
				}
				continue
			}
			if p, k, ok := unknownIn(mv.Value, ft, Join(path, key), line, col); ok {
				return p, k, true
			}
		}
	}
	return "", nil, false
}

// ValueAt returns the path (as UnknownField writes it) of the value in n
// that starts at line and col, where a decoding error points.
func ValueAt(n ast.Node, line, col int) (string, bool) {
	return valueAt(n, "", line, col)
}

func valueAt(n ast.Node, path string, line, col int) (string, bool) {
	if tk := n.GetToken(); tk != nil && tk.Position.Line == line && tk.Position.Column == col && path != "" {
		return path, true
	}
	switch n := Unwrap(n).(type) {
	case *ast.SequenceNode:
		for i, v := range n.Values {
			if p, ok := valueAt(v, path+"["+strconv.Itoa(i)+"]", line, col); ok {
				return p, true
			}
		}
	case *ast.MappingNode:
		for _, mv := range n.Values {
			if p, ok := valueAt(mv.Value, Join(path, MappingKey(mv)), line, col); ok {
				return p, true
			}
		}
	case *ast.MappingValueNode:
		return valueAt(n.Value, Join(path, MappingKey(n)), line, col)
	}
	return "", false
}

// fieldKeys returns the keys that fill t's fields, sorted.
func fieldKeys(t reflect.Type) []string {
	fieldType(t, "") // fills the cache
	m, _ := fieldTypes.Load(t)
	keys := make([]string, 0, len(m.(map[string]reflect.Type)))
	for k := range m.(map[string]reflect.Type) {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Suggest returns the one of known that name most likely misspells (a
// typo: a letter missing, extra, wrong or two swapped; any case), or ""
// when none is that close.
func Suggest(name string, known []string) string {
	want := strings.ToLower(name)
	best, bestD := "", -1
	for _, k := range known {
		d := distance(want, strings.ToLower(k))
		if bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	if bestD >= 0 && bestD <= max(1, len(want)/3) {
		return best
	}
	// A name cut short (prio for priority), when only one field starts so.
	best = ""
	for _, k := range known {
		if len(want) >= 3 && strings.HasPrefix(strings.ToLower(k), want) {
			if best != "" {
				return ""
			}
			best = k
		}
	}
	return best
}

// distance is the edit distance between a and b, a swap of two
// neighbouring letters counting as one edit (optimal string alignment).
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// UnknownFieldMessage words an unknown field for the user: the one it
// most likely misspells, or else the fields known there.
func UnknownFieldMessage(name string, known []string) string {
	msg := "unknown field " + strconv.Quote(name)
	if s := Suggest(name, known); s != "" {
		return msg + "; did you mean " + strconv.Quote(s) + "?"
	}
	if len(known) > 0 {
		msg += "; known fields: " + strings.Join(known, ", ")
	}
	return msg
}
