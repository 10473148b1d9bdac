package grpcfront

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/stub"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// maxFieldErrors bounds the problems reported for one message.
const maxFieldErrors = 20

// resolver is what protojson needs to resolve Any types and extensions.
type resolver interface {
	protoregistry.MessageTypeResolver
	protoregistry.ExtensionTypeResolver
}

// jsonToMessage converts a message written as JSON (protojson: field
// names in lowerCamelCase or as in the .proto file, enums by name, 64-bit
// integers as numbers or strings) into a message of type md. Problems name
// the field they are about, under field ("response.body.user.name").
func jsonToMessage(raw []byte, md protoreflect.MessageDescriptor, types resolver, field string) (*dynamicpb.Message, []stub.FieldError) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, []stub.FieldError{{Field: field, Msg: "not valid JSON: " + err.Error()}}
	}
	if dec.More() {
		return nil, []stub.FieldError{{Field: field, Msg: "not valid JSON: more than one value"}}
	}
	c := checker{}
	c.message(v, md, field, 0)
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	if c.generated {
		// The checker put the generated values in place of their
		// {generate: ...}: protojson reads them from here.
		b, err := json.Marshal(v)
		if err != nil {
			return nil, []stub.FieldError{{Field: field, Msg: err.Error()}}
		}
		raw = b
	}
	m := dynamicpb.NewMessage(md)
	if err := (protojson.UnmarshalOptions{Resolver: types}).Unmarshal(raw, m); err != nil {
		return nil, []stub.FieldError{{Field: field, Msg: fmt.Sprintf("not a valid %s: %s", md.FullName(), cleanProtoErr(err))}}
	}
	return m, nil
}

// cleanProtoErr drops the "proto: " prefix and the "(line 1:12)" position
// inside the one-line JSON decoy made from the stub file, which would only
// mislead.
func cleanProtoErr(err error) string {
	s := strings.TrimPrefix(err.Error(), "proto:")
	s = strings.TrimSpace(strings.ReplaceAll(s, "\u00a0", " "))
	if strings.HasPrefix(s, "(line ") {
		if i := strings.Index(s, "):"); i >= 0 {
			s = strings.TrimSpace(s[i+2:])
		}
	}
	return s
}

// checker walks a decoded JSON value against a message type, reporting
// unknown fields and values of the wrong kind with their paths. What it
// accepts, protojson then converts; it leaves the special JSON forms of
// the well-known types to protojson.
type checker struct {
	errs []stub.FieldError
	// generated: a {generate: ...} value was replaced by what it makes.
	generated bool
}

const maxDepth = 64

func (c *checker) fail(field, format string, args ...any) {
	if len(c.errs) < maxFieldErrors {
		c.errs = append(c.errs, stub.FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
}

// wellKnown reports whether md has a JSON form of its own in protojson.
func wellKnown(md protoreflect.MessageDescriptor) bool {
	if md.ParentFile() == nil || !strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		return false
	}
	switch md.Name() {
	case "Any", "Timestamp", "Duration", "Struct", "Value", "ListValue", "FieldMask", "Empty",
		"BoolValue", "Int32Value", "Int64Value", "UInt32Value", "UInt64Value",
		"FloatValue", "DoubleValue", "StringValue", "BytesValue":
		return true
	}
	return false
}

func (c *checker) message(v any, md protoreflect.MessageDescriptor, field string, depth int) {
	if depth > maxDepth {
		c.fail(field, "nested more than %d levels deep", maxDepth)
		return
	}
	if wellKnown(md) {
		return
	}
	obj, ok := v.(map[string]any)
	if !ok {
		c.fail(field, "want a JSON object for %s, got %s", md.FullName(), kindOf(v))
		return
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fields := md.Fields()
	for _, k := range keys {
		fd := fields.ByJSONName(k)
		if fd == nil {
			fd = fields.ByTextName(k)
		}
		if fd == nil {
			fd = fields.ByName(protoreflect.Name(k))
		}
		f := stub.Join(field, k)
		if fd == nil {
			if strings.HasPrefix(k, "[") && strings.HasSuffix(k, "]") {
				continue // an extension: protojson resolves it
			}
			c.fail(f, "unknown field %q in %s (its fields: %s)", k, md.FullName(), fieldNames(md))
			continue
		}
		obj[k] = c.field(obj[k], fd, f, depth)
	}
}

func fieldNames(md protoreflect.MessageDescriptor) string {
	fs := md.Fields()
	if fs.Len() == 0 {
		return "none"
	}
	names := make([]string, fs.Len())
	for i := range names {
		names[i] = fs.Get(i).JSONName()
	}
	return strings.Join(names, ", ")
}

// field checks the value v of the field fd, and returns it, or what
// replaces it (a generated value).
func (c *checker) field(v any, fd protoreflect.FieldDescriptor, field string, depth int) any {
	if v == nil {
		return v // null: the field's default
	}
	switch {
	case fd.IsMap():
		obj, ok := v.(map[string]any)
		if !ok {
			c.fail(field, "want a JSON object (a map), got %s", kindOf(v))
			return v
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			f := stub.Join(field, k)
			c.mapKey(k, fd.MapKey(), f)
			if obj[k] == nil {
				c.fail(f, "a map value cannot be null")
				continue
			}
			obj[k] = c.single(obj[k], fd.MapValue(), f, depth)
		}
	case fd.IsList():
		arr, ok := v.([]any)
		if !ok {
			c.fail(field, "want a JSON array (a repeated field), got %s", kindOf(v))
			return v
		}
		for i, e := range arr {
			f := field + "[" + strconv.Itoa(i) + "]"
			if e == nil {
				c.fail(f, "a list element cannot be null")
				continue
			}
			arr[i] = c.single(e, fd, f, depth)
		}
	default:
		return c.single(v, fd, field, depth)
	}
	return v
}

func (c *checker) mapKey(k string, fd protoreflect.FieldDescriptor, field string) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		if k != "true" && k != "false" {
			c.fail(field, "map key %q: want true or false", k)
		}
	case protoreflect.StringKind:
	default:
		if _, err := strconv.ParseInt(k, 10, 64); err != nil {
			if _, err := strconv.ParseUint(k, 10, 64); err != nil {
				c.fail(field, "map key %q: want an integer", k)
			}
		}
	}
}

// single checks one value of the field fd (a list's element, a map's
// value) and returns it, or what replaces it.
func (c *checker) single(v any, fd protoreflect.FieldDescriptor, field string, depth int) any {
	if g, ok := generateOf(v); ok && (fd.Kind() == protoreflect.BytesKind || fd.Kind() == protoreflect.StringKind) {
		return c.generate(g, fd.Kind(), field)
	}
	c.one(v, fd, field, depth)
	return v
}

// one checks one value of the field fd.
func (c *checker) one(v any, fd protoreflect.FieldDescriptor, field string, depth int) {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		c.message(v, fd.Message(), field, depth+1)
	case protoreflect.EnumKind:
		ed := fd.Enum()
		if ed.FullName() == "google.protobuf.NullValue" {
			return
		}
		switch x := v.(type) {
		case string:
			if ed.Values().ByName(protoreflect.Name(x)) == nil {
				c.fail(field, "%q is not a value of %s (%s)", x, ed.FullName(), enumNames(ed))
			}
		case json.Number:
			if _, err := strconv.ParseInt(string(x), 10, 32); err != nil {
				c.fail(field, "%s is not an enum number", x)
			}
		default:
			c.fail(field, "want an enum value of %s (%s), got %s", ed.FullName(), enumNames(ed), kindOf(v))
		}
	case protoreflect.StringKind:
		if _, ok := v.(string); !ok {
			c.fail(field, "want a string, got %s", kindOf(v))
		}
	case protoreflect.BytesKind:
		if _, ok := v.(string); !ok {
			c.fail(field, "want base64 text (bytes), or {generate: {size: ...}}, got %s", kindOf(v))
		}
	case protoreflect.BoolKind:
		if _, ok := v.(bool); !ok {
			c.fail(field, "want true or false, got %s", kindOf(v))
		}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		switch x := v.(type) {
		case json.Number:
		case string:
			if x != "NaN" && x != "Infinity" && x != "-Infinity" {
				if _, err := strconv.ParseFloat(x, 64); err != nil {
					c.fail(field, "want a number, got %q", x)
				}
			}
		default:
			c.fail(field, "want a number, got %s", kindOf(v))
		}
	default: // integers
		var s string
		switch x := v.(type) {
		case json.Number:
			s = string(x)
		case string:
			s = x
		default:
			c.fail(field, "want an integer, got %s", kindOf(v))
			return
		}
		c.integer(s, fd.Kind(), field)
	}
}

func (c *checker) integer(s string, k protoreflect.Kind, field string) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		c.fail(field, "want an integer, got %q", s)
		return
	}
	if f != math.Trunc(f) {
		c.fail(field, "want an integer, got %s", s)
		return
	}
	var lo, hi float64
	switch k {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		lo, hi = math.MinInt32, math.MaxInt32
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		lo, hi = 0, math.MaxUint32
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		lo, hi = 0, math.MaxUint64
	default:
		lo, hi = math.MinInt64, math.MaxInt64
	}
	if f < lo || f > hi {
		c.fail(field, "%s is out of range for %s", s, k)
	}
}

func enumNames(ed protoreflect.EnumDescriptor) string {
	vs := ed.Values()
	names := make([]string, vs.Len())
	for i := range names {
		names[i] = string(vs.Get(i).Name())
	}
	return strings.Join(names, ", ")
}

func kindOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number (" + string(x) + ")"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// messageJSON writes m as compact JSON (protojson, unpopulated fields
// left out), appending to dst.
func messageJSON(dst []byte, m proto.Message, types resolver) ([]byte, error) {
	out, err := (protojson.MarshalOptions{Resolver: types}).Marshal(m)
	if err != nil {
		return dst, err
	}
	// protojson varies its whitespace on purpose; matchers and the journal
	// need the same bytes every time.
	buf := bytes.NewBuffer(dst)
	if err := json.Compact(buf, out); err != nil {
		return dst, err
	}
	return buf.Bytes(), nil
}

// generateOf reports whether v is a {generate: {...}} value, and gives
// what is inside.
func generateOf(v any) (any, bool) {
	obj, ok := v.(map[string]any)
	if !ok || len(obj) != 1 {
		return nil, false
	}
	g, ok := obj["generate"]
	return g, ok
}

// generate makes the value a {generate: {size, pattern, seed}} stands for
// in a bytes field (its base64, as protojson reads bytes) or a string
// field, as a stub's HTTP body is generated: the same bytes every run.
// A string field takes the text pattern only, the one that is UTF-8.
func (c *checker) generate(spec any, k protoreflect.Kind, field string) any {
	field = stub.Join(field, "generate")
	b, err := json.Marshal(spec)
	if err != nil {
		c.fail(field, "%v", err)
		return ""
	}
	var g stub.Generate
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		c.fail(field, "want {size: 300KiB, pattern: random, zeros or text, seed: 1}: %s", strings.TrimPrefix(err.Error(), "json: "))
		return ""
	}
	if k == protoreflect.StringKind {
		if g.Pattern == "" {
			g.Pattern = "text"
		}
		if g.Pattern != "text" {
			c.fail(field, "pattern %q: a string field takes the text pattern (UTF-8); use a bytes field for %s", g.Pattern, g.Pattern)
			return ""
		}
	}
	out, err := engine.Generate(g)
	if err != nil {
		c.fail(field, "%v", err)
		return ""
	}
	c.generated = true
	if k == protoreflect.StringKind {
		return string(out)
	}
	return base64.StdEncoding.EncodeToString(out)
}
