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
func appendJSON(dst []byte, m protoreflect.Message, types resolver) ([]byte, error) {
	md := m.Descriptor()
	if wellKnown(md) {
		out, err := messageJSON(dst, m.Interface(), types)
		if err != nil && md.FullName() == anyName {
			// An Any whose type decoy does not know (or whose content
			// does not decode) is still a valid message: write it
			// unresolved rather than fail the call.
			return appendOpaqueAny(dst, m), nil
		}
		return out, err
	}
	dst = append(dst, '{')
	fields := md.Fields()
	first := true
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
	return append(dst, '}'), nil
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

func appendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
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
