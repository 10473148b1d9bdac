package stub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// Value is a JSON value kept as its JSON text, in the order it was written.
// A response body is a Value: a string is sent as it is, anything else is
// sent as JSON.
type Value struct {
	raw json.RawMessage
}

// JSONValue makes a Value from JSON text. It reports malformed JSON.
func JSONValue(raw []byte) (Value, error) {
	if !json.Valid(raw) {
		return Value{}, fmt.Errorf("not valid JSON")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return Value{}, err
	}
	return Value{raw: buf.Bytes()}, nil
}

// Text makes a Value holding the string s.
func Text(s string) Value {
	b, _ := json.Marshal(s)
	return Value{raw: b}
}

// IsZero reports whether no value was given (a JSON null counts as none).
func (v Value) IsZero() bool { return len(v.raw) == 0 || string(v.raw) == "null" }

// String returns the value when it is a JSON string.
func (v Value) String() (string, bool) {
	if len(v.raw) == 0 || v.raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(v.raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// JSON returns the value's JSON text.
func (v Value) JSON() []byte { return v.raw }

// MarshalJSON writes the value as it was given.
func (v Value) MarshalJSON() ([]byte, error) {
	if len(v.raw) == 0 {
		return []byte("null"), nil
	}
	return v.raw, nil
}

// UnmarshalJSON keeps the JSON text as it is.
func (v *Value) UnmarshalJSON(b []byte) error {
	nv, err := JSONValue(b)
	if err != nil {
		return err
	}
	*v = nv
	return nil
}

// UnmarshalYAML converts the YAML subtree to JSON, keeping key order.
func (v *Value) UnmarshalYAML(node ast.Node) error {
	var x any
	if err := yaml.NodeToValue(node, &x, yaml.UseOrderedMap()); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, x); err != nil {
		return err
	}
	nv, err := JSONValue(buf.Bytes())
	if err != nil {
		return err
	}
	*v = nv
	return nil
}

// writeJSON writes a decoded YAML value as JSON, mappings in their order.
func writeJSON(buf *bytes.Buffer, x any) error {
	switch t := x.(type) {
	case yaml.MapSlice:
		buf.WriteByte('{')
		for i, item := range t {
			if i > 0 {
				buf.WriteByte(',')
			}
			k, err := json.Marshal(fmt.Sprint(item.Key))
			if err != nil {
				return err
			}
			buf.Write(k)
			buf.WriteByte(':')
			if err := writeJSON(buf, item.Value); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case []any:
		buf.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return fmt.Errorf("%v has no JSON form", t)
		}
	}
	b, err := json.Marshal(x)
	if err != nil {
		return err
	}
	buf.Write(b)
	return nil
}
