package wiremock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/decoy-dev/decoy/internal/stub"
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// This file reads the syntax tree of a mapping file: typed access to its
// values, each mistake a Problem at the value's line.

// obj is a mapping node with its field path, for messages.
type obj struct {
	m     *ast.MappingNode
	field string
}

func asObj(n ast.Node, field string) (obj, bool) {
	m, ok := stub.Unwrap(n).(*ast.MappingNode)
	return obj{m: m, field: field}, ok
}

// get returns the value of key, or nil.
func (o obj) get(key string) ast.Node {
	if o.m == nil {
		return nil
	}
	for _, mv := range o.m.Values {
		if stub.MappingKey(mv) == key {
			return mv.Value
		}
	}
	return nil
}

// keys lists the keys in their order.
func (o obj) keys() []string {
	if o.m == nil {
		return nil
	}
	out := make([]string, 0, len(o.m.Values))
	for _, mv := range o.m.Values {
		out = append(out, stub.MappingKey(mv))
	}
	return out
}

// sub names a field of o.
func (o obj) sub(key string) string { return stub.Join(o.field, key) }

func lineOf(n ast.Node) int {
	if n == nil || n.GetToken() == nil {
		return 0
	}
	return n.GetToken().Position.Line
}

func colOf(n ast.Node) int {
	if n == nil || n.GetToken() == nil {
		return 0
	}
	return n.GetToken().Position.Column
}

// isNull reports whether n is absent or a JSON null.
func isNull(n ast.Node) bool {
	if n == nil {
		return true
	}
	_, ok := stub.Unwrap(n).(*ast.NullNode)
	return ok
}

// scalar returns a scalar as written: strings decoded, numbers and
// booleans in their source text. ok is false for anything else.
func scalar(n ast.Node) (text string, isString, ok bool) {
	switch v := stub.Unwrap(n).(type) {
	case *ast.StringNode:
		return v.Value, true, true
	case *ast.LiteralNode:
		return v.Value.Value, true, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		if tk := v.GetToken(); tk != nil {
			return tk.Value, false, true
		}
	}
	return "", false, false
}

// what names the kind of value n is, for messages.
func what(n ast.Node) string {
	switch v := stub.Unwrap(n).(type) {
	case *ast.MappingNode:
		return "an object"
	case *ast.SequenceNode:
		return "a list"
	case *ast.NullNode:
		return "null"
	case *ast.StringNode:
		return strconv.Quote(v.Value)
	case nil:
		return "nothing"
	default:
		if tk := v.GetToken(); tk != nil {
			return tk.Value
		}
	}
	return "another value"
}

// str reads a string; numbers and booleans count as their text (as
// WireMock's JSON reader takes them).
func (c *conv) str(n ast.Node, field string) (string, bool) {
	s, _, ok := scalar(n)
	if !ok {
		c.fail(n, field, "want a string, got "+what(n))
	}
	return s, ok
}

// strictStr reads a JSON string only.
func (c *conv) strictStr(n ast.Node, field string) (string, bool) {
	s, isStr, ok := scalar(n)
	if !ok || !isStr {
		c.fail(n, field, "want a string, got "+what(n))
		return "", false
	}
	return s, true
}

// integer reads a whole number in [lo, hi].
func (c *conv) integer(n ast.Node, field string, lo, hi int64) (int64, bool) {
	s, isStr, ok := scalar(n)
	var v int64
	var err error
	if ok && !isStr {
		v, err = strconv.ParseInt(s, 10, 64)
		if err != nil {
			// 2000.0 is a whole number too.
			if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && f == float64(int64(f)) {
				v, err = int64(f), nil
			}
		}
	}
	if !ok || isStr || err != nil {
		c.fail(n, field, "want a whole number, got "+what(n))
		return 0, false
	}
	if v < lo || v > hi {
		c.fail(n, field, fmt.Sprintf("%d is out of range (%d to %d)", v, lo, hi))
		return 0, false
	}
	return v, true
}

// number reads a number that is 0 or more.
func (c *conv) number(n ast.Node, field string) (float64, bool) {
	s, isStr, ok := scalar(n)
	var f float64
	var err error
	if ok && !isStr {
		f, err = strconv.ParseFloat(s, 64)
	}
	if !ok || isStr || err != nil || f != f {
		c.fail(n, field, "want a number, got "+what(n))
		return 0, false
	}
	if f < 0 {
		c.fail(n, field, "cannot be negative")
		return 0, false
	}
	return f, true
}

// boolean reads true or false.
func (c *conv) boolean(n ast.Node, field string) (bool, bool) {
	if b, ok := stub.Unwrap(n).(*ast.BoolNode); ok {
		return b.Value, true
	}
	c.fail(n, field, "want true or false, got "+what(n))
	return false, false
}

// object reads an object.
func (c *conv) object(n ast.Node, field string) (obj, bool) {
	o, ok := asObj(n, field)
	if !ok {
		c.fail(n, field, "want an object, got "+what(n))
	}
	return o, ok
}

// list reads a list.
func (c *conv) list(n ast.Node, field string) ([]ast.Node, bool) {
	s, ok := stub.Unwrap(n).(*ast.SequenceNode)
	if !ok {
		c.fail(n, field, "want a list, got "+what(n))
		return nil, false
	}
	return s.Values, true
}

// jsonText returns the JSON text of any value (an object's keys in their
// order).
func (c *conv) jsonText(n ast.Node, field string) ([]byte, bool) {
	var v stub.Value
	if err := yaml.NodeToValue(stub.Unwrap(n), &v); err != nil {
		c.fail(n, field, "not a JSON value: "+err.Error())
		return nil, false
	}
	if v.IsZero() {
		return []byte("null"), true
	}
	return v.JSON(), true
}

// decodeJSON decodes JSON text with numbers kept as written.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return v, nil
}
