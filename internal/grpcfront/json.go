package grpcfront

import (
	"encoding/base64"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// appendJSON writes m as the compact JSON decoy matches requests against
// and records in the journal: protojson's form (lowerCamelCase names,
// fields with their default value left out, enums by name, bytes in
// base64, the well-known types in their own forms) except that 64-bit
// integers are JSON numbers, as a stub writes them (equals: 42), where
// protojson writes strings. Fields come in declaration order and map keys
// sorted, so the same message always gives the same bytes.
//
// Every valid message has a JSON form here, even where protojson has none
// (see appendWellKnown): a request is never refused for its JSON.
func appendJSON(dst []byte, m protoreflect.Message, types resolver) ([]byte, error) {
	if wellKnown(m.Descriptor()) {
		return appendWellKnown(dst, m, types)
	}
	dst = append(dst, '{')
	dst, err := appendFields(dst, m, true, types)
	if err != nil {
		return dst, err
	}
	return append(dst, '}'), nil
}

// appendFields writes the populated fields of m as JSON members, without
// the braces; first says whether no member precedes them.
func appendFields(dst []byte, m protoreflect.Message, first bool, types resolver) ([]byte, error) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendString(dst, fd.JSONName())
		dst = append(dst, ':')
		var err error
		v := m.Get(fd)
		switch {
		case fd.IsMap():
			dst, err = appendMap(dst, fd, v.Map(), types)
		case fd.IsList():
			l := v.List()
			dst = append(dst, '[')
			for j := 0; j < l.Len(); j++ {
				if j > 0 {
					dst = append(dst, ',')
				}
				if dst, err = appendValue(dst, fd, l.Get(j), types); err != nil {
					return dst, err
				}
			}
			dst = append(dst, ']')
		default:
			dst, err = appendValue(dst, fd, v, types)
		}
		if err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// appendWellKnown writes a well-known type in its own JSON form. Some
// valid values have none in protojson, which refuses them: a Timestamp
// or Duration out of its range, a Value holding NaN or an infinity, or
// holding nothing, a FieldMask path that lowerCamelCase cannot carry
// ("*", "labels.Env"). decoy writes them all the same:
//
//   - a FieldMask as its paths joined by commas, each in lowerCamelCase
//     when protojson could write it so and as it is otherwise ("*");
//   - any other value without a JSON form as an object marked with
//     "@invalid", which says why, followed by the message's fields as
//     those of an ordinary message:
//     {"@invalid":"google.protobuf.Timestamp: seconds out of range 253402300800","seconds":253402300800},
//     {"@invalid":"google.protobuf.Value: NaN is not a JSON number","numberValue":"NaN"}.
//
// Only the offending value is written so: the rest of a Struct holding a
// NaN keeps its usual form.
func appendWellKnown(dst []byte, m protoreflect.Message, types resolver) ([]byte, error) {
	md := m.Descriptor()
	switch md.Name() {
	case "Struct":
		return appendStruct(dst, m, types)
	case "ListValue":
		return appendListValue(dst, m, types)
	case "Value":
		return appendStructValue(dst, m, types)
	case "FieldMask":
		return appendFieldMask(dst, m, types), nil
	case "Any":
		return appendAny(dst, m, types)
	case "Empty":
		return append(dst, "{}"...), nil
	case "DoubleValue", "FloatValue", "Int64Value", "UInt64Value", "Int32Value", "UInt32Value",
		"BoolValue", "StringValue", "BytesValue":
		// The wrapped value as a field of its type is written: 64-bit
		// integers as numbers, as in any other message.
		if fd := md.Fields().ByNumber(1); fd != nil && !fd.IsList() && fd.Message() == nil {
			return appendValue(dst, fd, m.Get(fd), types)
		}
	}
	out, err := messageJSON(dst, m.Interface(), types)
	if err == nil {
		return out, nil
	}
	return appendInvalid(dst, m, cleanProtoErr(err), types)
}

// appendAny writes a google.protobuf.Any of a type decoy knows as
// protojson does, {"@type": url, ...its fields} ({"@type": url, "value":
// ...} for a well-known type), its content written like any other
// message (64-bit integers as numbers). An Any whose type decoy does not
// know, or whose content does not decode, is still a valid message: it is
// written unresolved (appendOpaqueAny) rather than fail the call.
func appendAny(dst []byte, m protoreflect.Message, types resolver) ([]byte, error) {
	fields := m.Descriptor().Fields()
	url, value := fields.ByNumber(1), fields.ByNumber(2)
	if url == nil || value == nil || url.Kind() != protoreflect.StringKind || value.Kind() != protoreflect.BytesKind {
		return messageJSON(dst, m.Interface(), types)
	}
	u := m.Get(url).String()
	if u == "" {
		return appendOpaqueAny(dst, m), nil
	}
	mt, err := types.FindMessageByURL(u)
	if err != nil {
		return appendOpaqueAny(dst, m), nil
	}
	inner := mt.New()
	if err := unmarshal(m.Get(value).Bytes(), inner.Interface(), types); err != nil {
		return appendOpaqueAny(dst, m), nil
	}
	dst = append(dst, `{"@type":`...)
	dst = appendString(dst, u)
	if wellKnown(inner.Descriptor()) {
		dst = append(dst, `,"value":`...)
		dst, err = appendJSON(dst, inner, types)
	} else {
		dst, err = appendFields(dst, inner, false, types)
	}
	if err != nil {
		return dst, err
	}
	return append(dst, '}'), nil
}

// appendInvalid writes a well-known value that has no JSON form as an
// object: "@invalid" (why), then its fields.
func appendInvalid(dst []byte, m protoreflect.Message, why string, types resolver) ([]byte, error) {
	dst = append(dst, `{"@invalid":`...)
	dst = appendString(dst, why)
	dst, err := appendFields(dst, m, false, types)
	if err != nil {
		return dst, err
	}
	return append(dst, '}'), nil
}

// appendStruct writes a google.protobuf.Struct as a JSON object, its
// keys sorted.
func appendStruct(dst []byte, m protoreflect.Message, types resolver) ([]byte, error) {
	fd := m.Descriptor().Fields().ByNumber(1) // fields
	if fd == nil || !fd.IsMap() {
		return messageJSON(dst, m.Interface(), types)
	}
	return appendMap(dst, fd, m.Get(fd).Map(), types)
}

// appendListValue writes a google.protobuf.ListValue as a JSON array.
func appendListValue(dst []byte, m protoreflect.Message, types resolver) ([]byte, error) {
	fd := m.Descriptor().Fields().ByNumber(1) // values
	if fd == nil || !fd.IsList() {
		return messageJSON(dst, m.Interface(), types)
	}
	l := m.Get(fd).List()
	dst = append(dst, '[')
	var err error
	for i := 0; i < l.Len(); i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = appendValue(dst, fd, l.Get(i), types); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

// appendStructValue writes a google.protobuf.Value as the JSON value it
// holds.
func appendStructValue(dst []byte, m protoreflect.Message, types resolver) ([]byte, error) {
	o := m.Descriptor().Oneofs().ByName("kind")
	if o == nil {
		return messageJSON(dst, m.Interface(), types)
	}
	fd := m.WhichOneof(o)
	if fd == nil {
		return appendInvalid(dst, m, "google.protobuf.Value: none of the oneof fields is set", types)
	}
	v := m.Get(fd)
	switch fd.Name() {
	case "null_value":
		return append(dst, "null"...), nil
	case "number_value":
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return appendInvalid(dst, m, "google.protobuf.Value: "+strconv.FormatFloat(f, 'g', -1, 64)+" is not a JSON number", types)
		}
	}
	return appendValue(dst, fd, v, types)
}

// appendFieldMask writes a google.protobuf.FieldMask as its paths joined
// by commas, in lowerCamelCase where protojson would write them so (where
// the name reads back as the same path) and as they are otherwise.
func appendFieldMask(dst []byte, m protoreflect.Message, types resolver) []byte {
	fd := m.Descriptor().Fields().ByNumber(1) // paths
	if fd == nil || !fd.IsList() || fd.Kind() != protoreflect.StringKind {
		out, err := messageJSON(dst, m.Interface(), types)
		if err != nil {
			return append(dst[:len(out)], `""`...)
		}
		return out
	}
	l := m.Get(fd).List()
	var b []byte
	for i := 0; i < l.Len(); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		p := l.Get(i).String()
		if c := camelPath(p); snakePath(c) == p && protoreflect.FullName(p).IsValid() {
			p = c
		}
		b = append(b, p...)
	}
	return appendString(dst, string(b))
}

// camelPath is protojson's lowerCamelCase of a FieldMask path: each
// underscore dropped, a lowercase letter after one made uppercase.
func camelPath(s string) string {
	b := make([]byte, 0, len(s))
	under := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' {
			if under && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			b = append(b, c)
		}
		under = c == '_'
	}
	return string(b)
}

// snakePath undoes camelPath: an underscore before each uppercase letter,
// made lowercase.
func snakePath(s string) string {
	b := make([]byte, 0, len(s)+4)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			b = append(b, '_')
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b)
}

const anyName protoreflect.FullName = "google.protobuf.Any"

// appendOpaqueAny writes an Any as its type URL and its bytes in base64,
// {"@type":"type.googleapis.com/x.Y","value":"CAE="}: the form protojson
// gives an Any holding a well-known type, so a matcher can still read
// "@type". A matcher on a field inside the Any finds nothing there.
func appendOpaqueAny(dst []byte, m protoreflect.Message) []byte {
	fields := m.Descriptor().Fields()
	dst = append(dst, `{"@type":`...)
	dst = appendString(dst, m.Get(fields.ByNumber(1)).String())
	dst = append(dst, `,"value":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, m.Get(fields.ByNumber(2)).Bytes())
	return append(dst, `"}`...)
}

func appendMap(dst []byte, fd protoreflect.FieldDescriptor, mp protoreflect.Map, types resolver) ([]byte, error) {
	type entry struct {
		k string
		v protoreflect.Value
	}
	entries := make([]entry, 0, mp.Len())
	mp.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		entries = append(entries, entry{k.String(), v})
		return true
	})
	sort.Slice(entries, func(i, j int) bool { return entries[i].k < entries[j].k })
	dst = append(dst, '{')
	var err error
	for i, e := range entries {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, e.k)
		dst = append(dst, ':')
		if dst, err = appendValue(dst, fd.MapValue(), e.v, types); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

func appendValue(dst []byte, fd protoreflect.FieldDescriptor, v protoreflect.Value, types resolver) ([]byte, error) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return strconv.AppendBool(dst, v.Bool()), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.AppendInt(dst, v.Int(), 10), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.AppendUint(dst, v.Uint(), 10), nil
	case protoreflect.FloatKind:
		return appendFloat(dst, v.Float(), 32), nil
	case protoreflect.DoubleKind:
		return appendFloat(dst, v.Float(), 64), nil
	case protoreflect.StringKind:
		return appendString(dst, v.String()), nil
	case protoreflect.BytesKind:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, v.Bytes())
		return append(dst, '"'), nil
	case protoreflect.EnumKind:
		if fd.Enum().FullName() == "google.protobuf.NullValue" {
			return append(dst, "null"...), nil
		}
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return appendString(dst, string(ev.Name())), nil
		}
		return strconv.AppendInt(dst, int64(v.Enum()), 10), nil
	default: // message, group
		return appendJSON(dst, v.Message(), types)
	}
}

// appendFloat writes f as protojson does (encoding/json's form: no
// exponent between 1e-6 and 1e21), NaN and the infinities as strings.
func appendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// 1e-7, not strconv's 1e-07.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
