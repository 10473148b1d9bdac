package grpcfront

import (
	"strconv"
	"strings"
	"sync"

	"github.com/decoy-dev/decoy/internal/protoload"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// Resource names (AIP-122, AIP-123). A message with option
// (google.api.resource) is a resource: its name field (name_field, "name"
// by default) holds a name built from the type's pattern,
// "projects/{project}/topics/{topic}". A string field with
// (google.api.resource_reference) holds the name of a resource of that
// type (or, with child_type, of the parent of one). Client libraries parse
// those names (Firestore's refuses "Donald Knuth"), so generated answers
// fill them from the first pattern of the type, each variable as
// "project-412", and a generated answer takes the name its request carries
// where it can (see echoPlan).

// namePattern is a resource name pattern, split into its literal text and
// its variables.
type namePattern struct {
	text  string
	parts []patternPart
}

// patternPart is literal text, or a variable (v, as "key-ring" for
// {key_ring} or {key_ring=**}).
type patternPart struct{ lit, v string }

func parsePattern(p string) *namePattern {
	np := &namePattern{text: p}
	for p != "" {
		i := strings.IndexByte(p, '{')
		j := strings.IndexByte(p, '}')
		if i < 0 || j < i {
			np.parts = append(np.parts, patternPart{lit: p})
			break
		}
		if i > 0 {
			np.parts = append(np.parts, patternPart{lit: p[:i]})
		}
		v, _, _ := strings.Cut(p[i+1:j], "=")
		if v == "" {
			v = "id"
		}
		np.parts = append(np.parts, patternPart{v: strings.ReplaceAll(v, "_", "-")})
		p = p[j+1:]
	}
	return np
}

// fill makes a name of the pattern, each variable "var-N".
func (p *namePattern) fill(g *gen) string {
	var b strings.Builder
	for _, pt := range p.parts {
		if pt.v == "" {
			b.WriteString(pt.lit)
			continue
		}
		b.WriteString(pt.v)
		b.WriteByte('-')
		b.WriteString(strconv.Itoa(1 + g.rng.IntN(1000)))
	}
	return b.String()
}

// parent is the pattern of the parent resource: the pattern without its
// last collection and id ("projects/{project}" for
// "projects/{project}/topics/{topic}"); nil for a top-level resource.
func (p *namePattern) parent() *namePattern {
	segs := strings.Split(p.text, "/")
	if len(segs) < 4 {
		return nil
	}
	return parsePattern(strings.Join(segs[:len(segs)-2], "/"))
}

// resourceField is a string field that holds resource names.
type resourceField struct {
	pattern *namePattern
	// typ is the resource type its value names ("pubsub.googleapis.com/Topic");
	// "" for a field naming the parent of a child_type.
	typ string
}

// resourceIndex is what the loaded files say about resources: the types
// they define, and, read on first use, each message's resource fields and
// each method's echo plan.
type resourceIndex struct {
	types  map[string]*namePattern // by resource type: its first pattern
	fields sync.Map                // protoreflect.MessageDescriptor -> []*resourceField (by field index; nil: none)
	echoes sync.Map                // protoreflect.MethodDescriptor -> *echoPlan (nil: none)
}

// resourceCache holds each Set's resourceIndex, built once.
var resourceCache sync.Map // *protoload.Set -> *resourceIndex

// resourcesOf returns set's resourceIndex; nil for a nil set.
func resourcesOf(set *protoload.Set) *resourceIndex {
	if set == nil {
		return nil
	}
	if x, ok := resourceCache.Load(set); ok {
		return x.(*resourceIndex)
	}
	x := &resourceIndex{types: map[string]*namePattern{}}
	add := func(rd *annotations.ResourceDescriptor) {
		if rd == nil || rd.GetType() == "" || len(rd.GetPattern()) == 0 {
			return
		}
		if _, ok := x.types[rd.GetType()]; !ok {
			x.types[rd.GetType()] = parsePattern(rd.GetPattern()[0])
		}
	}
	var walk func(ms protoreflect.MessageDescriptors)
	walk = func(ms protoreflect.MessageDescriptors) {
		for i := 0; i < ms.Len(); i++ {
			add(messageResource(ms.Get(i)))
			walk(ms.Get(i).Messages())
		}
	}
	set.Files().RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if fo, ok := withExtensions(fd.Options()).(*descriptorpb.FileOptions); ok && proto.HasExtension(fo, annotations.E_ResourceDefinition) {
			for _, rd := range proto.GetExtension(fo, annotations.E_ResourceDefinition).([]*annotations.ResourceDescriptor) {
				add(rd)
			}
		}
		walk(fd.Messages())
		return true
	})
	v, _ := resourceCache.LoadOrStore(set, x)
	return v.(*resourceIndex)
}

// withExtensions returns options read again with the extensions decoy
// knows: options compiled from .proto files hold them as unknown fields
// (see readRule). nil when there are none.
func withExtensions(opts proto.Message) proto.Message {
	if opts == nil || !opts.ProtoReflect().IsValid() {
		return nil
	}
	b, err := proto.Marshal(opts)
	if err != nil || len(b) == 0 {
		return nil
	}
	out := opts.ProtoReflect().New().Interface()
	if err := (proto.UnmarshalOptions{Resolver: protoregistry.GlobalTypes}).Unmarshal(b, out); err != nil {
		return nil
	}
	return out
}

// messageResource is md's (google.api.resource) option, or nil.
func messageResource(md protoreflect.MessageDescriptor) *annotations.ResourceDescriptor {
	mo, ok := withExtensions(md.Options()).(*descriptorpb.MessageOptions)
	if !ok || !proto.HasExtension(mo, annotations.E_Resource) {
		return nil
	}
	return proto.GetExtension(mo, annotations.E_Resource).(*annotations.ResourceDescriptor)
}

// fieldReference is fd's (google.api.resource_reference) option, or nil.
func fieldReference(fd protoreflect.FieldDescriptor) *annotations.ResourceReference {
	fo, ok := withExtensions(fd.Options()).(*descriptorpb.FieldOptions)
	if !ok || !proto.HasExtension(fo, annotations.E_ResourceReference) {
		return nil
	}
	return proto.GetExtension(fo, annotations.E_ResourceReference).(*annotations.ResourceReference)
}

// fieldsOf returns md's resource fields by field index, nil when it has
// none: its own name field when it is a resource, and the string fields
// that reference a type the loaded files define.
func (x *resourceIndex) fieldsOf(md protoreflect.MessageDescriptor) []*resourceField {
	if v, ok := x.fields.Load(md); ok {
		return v.([]*resourceField)
	}
	var out []*resourceField
	fs := md.Fields()
	own, ownType := ownName(md)
	for i := 0; i < fs.Len(); i++ {
		fd := fs.Get(i)
		if fd.Kind() != protoreflect.StringKind || fd.IsMap() {
			continue
		}
		var rf *resourceField
		if fd == own {
			rf = &resourceField{pattern: parsePattern(messageResource(md).GetPattern()[0]), typ: ownType}
		} else if ref := fieldReference(fd); ref != nil {
			if p := x.types[ref.GetType()]; p != nil {
				rf = &resourceField{pattern: p, typ: ref.GetType()}
			} else if p := x.types[ref.GetChildType()]; p != nil {
				// The parent of a child_type: its pattern less the
				// child's collection and id.
				if pp := p.parent(); pp != nil {
					rf = &resourceField{pattern: pp}
				}
			}
		}
		if rf != nil {
			if out == nil {
				out = make([]*resourceField, fs.Len())
			}
			out[i] = rf
		}
	}
	x.fields.Store(md, out)
	return out
}

// ownName returns the name field of md and its resource type, when md is
// a resource with a pattern.
func ownName(md protoreflect.MessageDescriptor) (protoreflect.FieldDescriptor, string) {
	rd := messageResource(md)
	if rd == nil || len(rd.GetPattern()) == 0 {
		return nil, ""
	}
	name := protoreflect.Name("name")
	if rd.GetNameField() != "" {
		name = protoreflect.Name(rd.GetNameField())
	}
	fd := md.Fields().ByName(name)
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return nil, ""
	}
	return fd, rd.GetType()
}

// echoPlan says which resource names of a method's request its generated
// answer takes: GetTopic{topic} answers a Topic named as asked,
// CreateTopic(Topic{name}) and UpdateTopic{topic: {name}} too, and a
// Get{name} whose answer has a name field (Firestore's GetDocument,
// whose messages are not annotated) gets that name when it holds a '/'.
type echoPlan struct {
	sources []echoSource
	targets []echoTarget
}

// echoSource is a string of the request that is a resource name: field
// num, or field inner of the message in field num.
type echoSource struct {
	num, inner protowire.Number
	typ        string // the resource type; "" for a plain field "name"
}

// echoTarget is a top-level string field of the answer that takes a name
// of type typ ("": none), or a plain name when name is set.
type echoTarget struct {
	fd   protoreflect.FieldDescriptor
	typ  string
	name bool
}

// echoOf returns md's echo plan, nil when its answer takes nothing from
// its request.
func (x *resourceIndex) echoOf(md protoreflect.MethodDescriptor) *echoPlan {
	if x == nil {
		return nil
	}
	if v, ok := x.echoes.Load(md); ok {
		return v.(*echoPlan)
	}
	var p echoPlan
	in, out := md.Input(), md.Output()
	if out.FullName() != operationName { // an Operation's name is its own
		rfs := x.fieldsOf(in)
		fs := in.Fields()
		for i := 0; i < fs.Len(); i++ {
			fd := fs.Get(i)
			if fd.IsList() || fd.IsMap() {
				continue
			}
			switch {
			case rfs != nil && rfs[i] != nil && rfs[i].typ != "":
				p.sources = append(p.sources, echoSource{num: fd.Number(), typ: rfs[i].typ})
			case fd.Kind() == protoreflect.StringKind && fd.Name() == "name":
				p.sources = append(p.sources, echoSource{num: fd.Number()})
			case fd.Message() != nil:
				// A resource in the request (Create, Update): its name.
				if nf, typ := ownName(fd.Message()); nf != nil {
					p.sources = append(p.sources, echoSource{num: fd.Number(), inner: nf.Number(), typ: typ})
				}
			}
		}
		rfs = x.fieldsOf(out)
		fs = out.Fields()
		for i := 0; i < fs.Len(); i++ {
			fd := fs.Get(i)
			if fd.Kind() != protoreflect.StringKind || fd.IsList() {
				continue
			}
			t := echoTarget{fd: fd, name: fd.Name() == "name"}
			if rfs != nil && rfs[i] != nil {
				t.typ = rfs[i].typ
			}
			if t.typ != "" || t.name {
				p.targets = append(p.targets, t)
			}
		}
	}
	var plan *echoPlan
	if len(p.sources) > 0 && len(p.targets) > 0 {
		plan = &p
	}
	v, _ := x.echoes.LoadOrStore(md, plan)
	return v.(*echoPlan)
}

// apply sets m's target fields from the resource names in req, the
// request's encoding.
func (p *echoPlan) apply(m protoreflect.Message, req []byte) {
	vals := make([]string, len(p.sources))
	for b := req; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return
		}
		b = b[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return
		}
		b = b[n:]
		for k, s := range p.sources {
			switch {
			case s.num != num:
			case s.inner == 0:
				vals[k] = string(v)
			default:
				if in := fieldBytes(v, s.inner); in != nil {
					vals[k] = string(in)
				}
			}
		}
	}
	for _, t := range p.targets {
		var v string
		for k, s := range p.sources {
			if vals[k] == "" {
				continue
			}
			if t.typ != "" && s.typ == t.typ {
				v = vals[k]
				break
			}
			if t.name && s.typ == "" && strings.Contains(vals[k], "/") && v == "" {
				v = vals[k]
			}
		}
		if v != "" {
			m.Set(t.fd, protoreflect.ValueOfString(v))
		}
	}
}
