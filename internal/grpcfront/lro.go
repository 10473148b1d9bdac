package grpcfront

import (
	"strconv"
	"strings"
	"sync"

	"github.com/decoy-dev/decoy/internal/protoload"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Long-running operations (AIP-151). A method returning a
// google.longrunning.Operation names, in its google.longrunning.operation_info
// option, the message the finished operation holds (response_type) and its
// metadata (metadata_type). A generated Operation is only useful to a
// polling client when it is consistent: done with a response of that type,
// or not done and holding no result. So an Operation answered by a method
// whose response type decoy can resolve is done, with the response (and
// the metadata, when known) packed as Anys of those types; any other
// Operation is not done and holds no result.

const (
	operationName protoreflect.FullName = "google.longrunning.Operation"
	// operationInfoField is the number of the google.longrunning.operation_info
	// extension of google.protobuf.MethodOptions.
	operationInfoField protowire.Number = 1049
)

// lroTypes are the types an operation_info option names, resolved.
type lroTypes struct {
	response protoreflect.MessageDescriptor
	metadata protoreflect.MessageDescriptor // nil when not given or unknown
}

// lroCache holds each Operation-returning method's lroTypes (nil when the
// response type is not known), read once.
var lroCache sync.Map // protoreflect.MethodDescriptor -> *lroTypes

// lroOf returns the operation types of md, a method that returns an
// Operation, or nil.
func lroOf(md protoreflect.MethodDescriptor, set *protoload.Set) *lroTypes {
	if v, ok := lroCache.Load(md); ok {
		return v.(*lroTypes)
	}
	var lt *lroTypes
	resp, meta := readOperationInfo(md)
	if set != nil && resp != "" {
		types := set.Types()
		find := func(name string) protoreflect.MessageDescriptor {
			if name == "" {
				return nil
			}
			// A type of the service's package may be written without it.
			for _, full := range []string{string(md.ParentFile().Package()) + "." + name, name} {
				if mt, err := types.FindMessageByName(protoreflect.FullName(strings.TrimPrefix(full, "."))); err == nil {
					return mt.Descriptor()
				}
			}
			return nil
		}
		if r := find(resp); r != nil {
			lt = &lroTypes{response: r, metadata: find(meta)}
		}
	}
	lroCache.Store(md, lt)
	return lt
}

// readOperationInfo reads the response_type and metadata_type of md's
// operation_info option, from its encoding: compiled options hold it as
// an extension or as unknown fields, depending on what was imported.
func readOperationInfo(md protoreflect.MethodDescriptor) (response, metadata string) {
	opts, ok := md.Options().(*descriptorpb.MethodOptions)
	if !ok || opts == nil {
		return "", ""
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(opts)
	if err != nil {
		return "", ""
	}
	info := fieldBytes(b, operationInfoField)
	if info == nil {
		return "", ""
	}
	return string(fieldBytes(info, 1)), string(fieldBytes(info, 2))
}

// fieldBytes returns the last length-delimited field num of the message
// encoded in b, or nil.
func fieldBytes(b []byte, num protowire.Number) []byte {
	var out []byte
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return out
		}
		b = b[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return out
			}
			out = v
			b = b[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			return out
		}
		b = b[l:]
	}
	return out
}

// operation fills m, an Operation: see the comment at the top.
func (g *gen) operation(m protoreflect.Message, depth int) {
	fs := m.Descriptor().Fields()
	set := func(name protoreflect.Name, v protoreflect.Value) {
		if fd := fs.ByName(name); fd != nil {
			m.Set(fd, v)
		}
	}
	// A resource name, as clients pass it to GetOperation.
	set("name", protoreflect.ValueOfString("operations/"+strconv.FormatUint(g.rng.Uint64()>>16, 36)))
	lt := g.lro
	g.lro = nil // nested Operations have no method of their own
	if lt == nil {
		return // not done, no result
	}
	if lt.metadata != nil {
		g.pack(m, fs.ByName("metadata"), lt.metadata, depth)
	}
	if g.pack(m, fs.ByName("response"), lt.response, depth) {
		set("done", protoreflect.ValueOfBool(true))
	}
}

// pack sets fd, an Any field of m, to a generated message of type md.
func (g *gen) pack(m protoreflect.Message, fd protoreflect.FieldDescriptor, md protoreflect.MessageDescriptor, depth int) bool {
	if fd == nil || fd.Message() == nil || fd.Message().FullName() != anyName {
		return false
	}
	if md.FullName() == anyName {
		// operation_info names Any itself ("metadata_type:
		// google.protobuf.Any"): any type at all, so none.
		return false
	}
	inner := dynamicpb.NewMessage(md)
	g.fill(inner, depth+1)
	b, err := proto.MarshalOptions{Deterministic: true, AllowPartial: true}.Marshal(inner.Interface())
	if err != nil {
		return false
	}
	a := m.Mutable(fd).Message()
	afs := a.Descriptor().Fields()
	a.Set(afs.ByName("type_url"), protoreflect.ValueOfString("type.googleapis.com/"+string(md.FullName())))
	a.Set(afs.ByName("value"), protoreflect.ValueOfBytes(b))
	return true
}
