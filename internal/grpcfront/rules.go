package grpcfront

import (
	"regexp"
	"sync"

	bufvalidate "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	pgv "github.com/envoyproxy/protoc-gen-validate/validate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// Field rules of protoc-gen-validate ([(validate.rules)]) and protovalidate
// ([(buf.validate.field)]), read so that generated answers keep them. Both
// spell their rules alike (min_len, pattern, gt, lte, in, min_items, ...),
// so one reader serves both: the rules of a scalar field become a JSON
// Schema that internal/fake fills, the way it fills an OpenAPI schema.

// fieldRule is what generation needs of a field's rules.
type fieldRule struct {
	// schema is for one value (an element, for a repeated field); nil
	// when the rules say nothing about it.
	schema map[string]any
	// minItems and maxItems bound a repeated field (maxItems -1: none).
	minItems, maxItems int
}

// ruleCache holds each field's rules (nil for none), read once.
var ruleCache sync.Map // protoreflect.FieldDescriptor -> *fieldRule

// ruleOf returns fd's rules, or nil when it has none decoy keeps.
func ruleOf(fd protoreflect.FieldDescriptor) *fieldRule {
	if r, ok := ruleCache.Load(fd); ok {
		return r.(*fieldRule)
	}
	r := readRule(fd)
	ruleCache.Store(fd, r)
	return r
}

// readRule reads fd's rules from its options. Options compiled from
// .proto files hold the rules as unknown fields, so they are read again
// with the extensions decoy knows.
func readRule(fd protoreflect.FieldDescriptor) *fieldRule {
	opts, ok := fd.Options().(*descriptorpb.FieldOptions)
	if !ok || opts == nil {
		return nil
	}
	b, err := proto.Marshal(opts)
	if err != nil || len(b) == 0 {
		return nil
	}
	fo := &descriptorpb.FieldOptions{}
	if err := (proto.UnmarshalOptions{Resolver: protoregistry.GlobalTypes}).Unmarshal(b, fo); err != nil {
		return nil
	}
	var rules protoreflect.Message
	switch {
	case proto.HasExtension(fo, bufvalidate.E_Field):
		rules = proto.GetExtension(fo, bufvalidate.E_Field).(proto.Message).ProtoReflect()
	case proto.HasExtension(fo, pgv.E_Rules):
		rules = proto.GetExtension(fo, pgv.E_Rules).(proto.Message).ProtoReflect()
	default:
		return nil
	}
	r := &fieldRule{maxItems: -1}
	kind := typed(rules)
	if fd.IsList() && kind != nil && kind.Descriptor().Name() == "RepeatedRules" {
		r.minItems = int(uintField(kind, "min_items", 0))
		if kind.Has(field(kind, "max_items")) {
			r.maxItems = int(uintField(kind, "max_items", 0))
		}
		if items := field(kind, "items"); items != nil && kind.Has(items) {
			kind = typed(kind.Get(items).Message())
		} else {
			kind = nil
		}
	}
	if kind != nil && !fd.IsMap() {
		r.schema = schemaOf(fd, kind)
	}
	if r.schema == nil && r.minItems == 0 && r.maxItems < 0 {
		return nil
	}
	return r
}

// typed returns the rules for the field's type (the one set in the
// "type" oneof), or nil.
func typed(rules protoreflect.Message) protoreflect.Message {
	o := rules.Descriptor().Oneofs().ByName("type")
	if o == nil {
		return nil
	}
	f := rules.WhichOneof(o)
	if f == nil || f.Message() == nil {
		return nil
	}
	return rules.Get(f).Message()
}

func field(m protoreflect.Message, name protoreflect.Name) protoreflect.FieldDescriptor {
	return m.Descriptor().Fields().ByName(name)
}

func uintField(m protoreflect.Message, name protoreflect.Name, def uint64) uint64 {
	f := field(m, name)
	if f == nil || !m.Has(f) {
		return def
	}
	return m.Get(f).Uint()
}

// schemaOf turns the typed rules of a scalar field into a JSON Schema for
// internal/fake; nil when none of them applies.
func schemaOf(fd protoreflect.FieldDescriptor, rules protoreflect.Message) map[string]any {
	s := map[string]any{}
	switch fd.Kind() {
	case protoreflect.StringKind, protoreflect.BytesKind:
		s["type"] = "string"
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		s["type"] = "number"
	case protoreflect.EnumKind, protoreflect.BoolKind:
		s["type"] = "integer"
		if fd.Kind() == protoreflect.BoolKind {
			s["type"] = "boolean"
		}
	default:
		s["type"] = "integer"
	}
	n := len(s)
	var prefix, suffix, contains string
	rules.Range(func(f protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch f.Name() {
		case "const":
			s["const"] = scalarJSON(f, v)
		case "len", "len_bytes":
			s["minLength"], s["maxLength"] = v.Uint(), v.Uint()
		case "min_len", "min_bytes":
			s["minLength"] = v.Uint()
		case "max_len", "max_bytes":
			s["maxLength"] = v.Uint()
		case "pattern":
			s["pattern"] = v.String()
		case "prefix":
			prefix = textOf(f, v)
		case "suffix":
			suffix = textOf(f, v)
		case "contains":
			contains = textOf(f, v)
		case "in":
			if l := v.List(); l.Len() > 0 {
				in := make([]any, l.Len())
				for i := range in {
					in[i] = scalarJSON(f, l.Get(i))
				}
				s["enum"] = in
			}
		case "gt":
			s["exclusiveMinimum"] = scalarJSON(f, v)
		case "gte":
			s["minimum"] = scalarJSON(f, v)
		case "lt":
			s["exclusiveMaximum"] = scalarJSON(f, v)
		case "lte":
			s["maximum"] = scalarJSON(f, v)
		case "email":
			s["format"] = "email"
		case "hostname", "address":
			s["format"] = "hostname"
		case "ip", "ipv4":
			s["format"] = "ipv4"
		case "ipv6":
			s["format"] = "ipv6"
		case "uri", "uri_ref":
			s["format"] = "uri"
		case "uuid", "tuuid":
			s["format"] = "uuid"
		}
		return true
	})
	if _, ok := s["pattern"]; !ok && prefix+suffix+contains != "" {
		p := "^" + regexp.QuoteMeta(prefix) + "[a-z0-9]*"
		if contains != "" {
			p += regexp.QuoteMeta(contains) + "[a-z0-9]*"
		}
		s["pattern"] = p + regexp.QuoteMeta(suffix) + "$"
	}
	if fd.Kind() == protoreflect.EnumKind {
		if _, ok := s["enum"]; !ok {
			if _, ok := s["const"]; !ok {
				return nil // defined_only and not_in: the generator picks defined values
			}
		}
	}
	if len(s) == n {
		return nil
	}
	// Bounds that contradict each other (protovalidate reads gt > lt as
	// "outside the range") are left to the plain generator.
	if lo, hi := bound(s, "minimum", "exclusiveMinimum"), bound(s, "maximum", "exclusiveMaximum"); lo != nil && hi != nil && *lo > *hi {
		return nil
	}
	return s
}

// bound returns the first of the named bounds that s has, as a float.
func bound(s map[string]any, names ...string) *float64 {
	for _, n := range names {
		switch v := s[n].(type) {
		case int64:
			f := float64(v)
			return &f
		case uint64:
			f := float64(v)
			return &f
		case float64:
			return &v
		}
	}
	return nil
}

// scalarJSON is a rule's value as internal/fake reads it.
func scalarJSON(f protoreflect.FieldDescriptor, v protoreflect.Value) any {
	switch f.Kind() {
	case protoreflect.StringKind:
		return v.String()
	case protoreflect.BytesKind:
		return string(v.Bytes())
	case protoreflect.BoolKind:
		return v.Bool()
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return v.Float()
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
		return v.Uint()
	case protoreflect.EnumKind:
		return int64(v.Enum())
	}
	return v.Int()
}

func textOf(f protoreflect.FieldDescriptor, v protoreflect.Value) string {
	if f.Kind() == protoreflect.BytesKind {
		return string(v.Bytes())
	}
	return v.String()
}
