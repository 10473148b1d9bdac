package grpcfront

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// maxWireDepth is how deeply nested messages checkWire follows, as the
// protobuf runtime's own limit.
const maxWireDepth = 100

var errWireDepth = errors.New("exceeds the maximum nesting depth")

// checkWire reports whether b is a well-formed encoding of a message of
// type md: tags, lengths and groups, nested messages, and UTF-8 in string
// fields where the file requires it. It allocates nothing, so a call that
// needs no decoded message costs no more than a look at its bytes.
func checkWire(b []byte, md protoreflect.MessageDescriptor, depth int) error {
	if depth > maxWireDepth {
		return errWireDepth
	}
	fields := md.Fields()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		if num > protowire.MaxValidNumber {
			return errors.New("invalid field number")
		}
		b = b[n:]
		if typ != protowire.BytesType {
			if typ == protowire.EndGroupType {
				return errors.New("unexpected end group")
			}
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		fd := fields.ByNumber(num)
		if fd == nil {
			continue // unknown fields are kept, as the runtime does
		}
		if fd.IsList() && isPackable(fd.Kind()) {
			if err := checkPacked(v, fd.Kind()); err != nil {
				return fmt.Errorf("field %s: %w", fd.Name(), err)
			}
			continue
		}
		switch fd.Kind() {
		case protoreflect.MessageKind:
			if err := checkWire(v, fd.Message(), depth+1); err != nil {
				if err == errWireDepth {
					return err
				}
				return fmt.Errorf("field %s: %w", fd.Name(), err)
			}
		case protoreflect.StringKind:
			if fd.ParentFile().Syntax() != protoreflect.Proto2 && !utf8.Valid(v) {
				return fmt.Errorf("field %s: invalid UTF-8", fd.Name())
			}
		}
	}
	return nil
}

func isPackable(k protoreflect.Kind) bool {
	switch k {
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind, protoreflect.GroupKind:
		return false
	}
	return true
}

// checkPacked checks the values of a packed repeated field.
func checkPacked(b []byte, k protoreflect.Kind) error {
	for len(b) > 0 {
		var n int
		switch k {
		case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
			_, n = protowire.ConsumeFixed32(b)
		case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
			_, n = protowire.ConsumeFixed64(b)
		default:
			_, n = protowire.ConsumeVarint(b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
	}
	return nil
}
