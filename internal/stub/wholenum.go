package stub

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// WholeNumbers checks a stub's YAML (or JSON) node for a number with a
// fraction given for an integer field (status: 200.5), which go-yaml would
// cut to an integer without a word. The error has the number's position.
func WholeNumbers(n ast.Node) error {
	if !hasFraction(n) { // most stubs: no need to follow the types
		return nil
	}
	tk := fractionForInt(n, reflect.TypeFor[Stub]())
	if tk == nil {
		return nil
	}
	msg := "want an integer, got " + tk.Value
	if k := KeyBefore(tk); k != "" {
		msg = k + ": " + msg
	}
	return &PosError{Line: tk.Position.Line, Col: tk.Position.Column, Err: errors.New(msg)}
}

// fractionForInt finds a number with a fraction (200.5) written where t
// takes an integer, which go-yaml would cut to one (200) without a word:
// the first such number's token, nil when there is none. It follows the
// mappings into the struct fields they fill (named by their yaml or json
// tags, as go-yaml names them) and the lists into their items. A scalar
// of a type that reads itself (a duration, a size) is that type's to
// judge; a mapping is taken to fill its type's fields as go-yaml does
// (the stub types that read themselves from a mapping hand it to
// go-yaml).
func fractionForInt(n ast.Node, t reflect.Type) *token.Token {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch n := Unwrap(n).(type) {
	case *ast.FloatNode:
		if isInt(t) && !readsItself(t) && fractional(n.Value) {
			return n.GetToken()
		}
	case *ast.SequenceNode:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return nil
		}
		for _, v := range n.Values {
			if tk := fractionForInt(v, t.Elem()); tk != nil {
				return tk
			}
		}
	case *ast.MappingNode:
		for _, mv := range n.Values {
			if tk := fractionInEntry(mv, t); tk != nil {
				return tk
			}
		}
	case *ast.MappingValueNode:
		return fractionInEntry(n, t)
	}
	return nil
}

// hasFraction reports whether n holds a number with a fraction anywhere.
func hasFraction(n ast.Node) bool {
	switch n := Unwrap(n).(type) {
	case *ast.FloatNode:
		return fractional(n.Value)
	case *ast.SequenceNode:
		for _, v := range n.Values {
			if hasFraction(v) {
				return true
			}
		}
	case *ast.MappingNode:
		for _, mv := range n.Values {
			if hasFraction(mv.Value) {
				return true
			}
		}
	case *ast.MappingValueNode:
		return hasFraction(n.Value)
	}
	return false
}

// fractionInEntry is fractionForInt for one entry of a mapping that fills
// t (a struct or a map).
func fractionInEntry(mv *ast.MappingValueNode, t reflect.Type) *token.Token {
	switch t.Kind() {
	case reflect.Map:
		return fractionForInt(mv.Value, t.Elem())
	case reflect.Struct:
		if ft, ok := fieldType(t, MappingKey(mv)); ok {
			return fractionForInt(mv.Value, ft)
		}
	}
	return nil
}

// fieldTypes caches, per struct type, the types of its fields by the keys
// that fill them.
var fieldTypes sync.Map // reflect.Type → map[string]reflect.Type

// fieldType returns the type of t's field that key fills, looking into
// embedded and inline structs.
func fieldType(t reflect.Type, key string) (reflect.Type, bool) {
	m, ok := fieldTypes.Load(t)
	if !ok {
		fields := map[string]reflect.Type{}
		addFields(t, fields)
		m, _ = fieldTypes.LoadOrStore(t, fields)
	}
	ft, ok := m.(map[string]reflect.Type)[key]
	return ft, ok
}

// addFields adds the fields of struct t to fields by the keys that fill
// them (the first field wins a key, as in go-yaml).
func addFields(t reflect.Type, fields map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "" {
			tag = f.Tag.Get("json")
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if (f.Anonymous && name == "" || strings.Contains(opts, "inline")) && ft.Kind() == reflect.Struct {
			addFields(ft, fields)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if _, ok := fields[name]; !ok {
			fields[name] = f.Type
		}
	}
}

func isInt(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

var (
	nodeUnmarshaler  = reflect.TypeFor[yaml.NodeUnmarshaler]()
	funcUnmarshaler  = reflect.TypeFor[yaml.InterfaceUnmarshaler]()
	bytesUnmarshaler = reflect.TypeFor[yaml.BytesUnmarshaler]()
)

// readsItself reports whether values of t are decoded by t's own method.
func readsItself(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(nodeUnmarshaler) || p.Implements(funcUnmarshaler) || p.Implements(bytesUnmarshaler)
}

// fractional reports whether f has a fraction (200.5; not 200.0 or 1e3).
func fractional(f float64) bool { return f != math.Trunc(f) }

// MappingKey is the text of a mapping entry's key.
func MappingKey(mv *ast.MappingValueNode) string {
	if s, ok := mv.Key.(ast.ScalarNode); ok {
		return fmt.Sprint(s.GetValue())
	}
	return mv.Key.String()
}

// KeyBefore returns the key whose value tk starts ("status" for the 200.5
// of "status: 200.5"), or "" when tk is not a mapping's value: what
// messages about a value name it by.
func KeyBefore(tk *token.Token) string {
	if k := tk.Prev; k != nil && k.Type == token.MappingValueType && k.Prev != nil {
		return k.Prev.Value
	}
	return ""
}
