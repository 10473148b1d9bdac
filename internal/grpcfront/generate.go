package grpcfront

import (
	"encoding/json"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/decoy-dev/decoy/internal/fake"
	"github.com/decoy-dev/decoy/internal/protoload"
	"google.golang.org/grpc/codes"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// maxGenDepth is how deep generated messages nest: a recursive type stops
// there.
const maxGenDepth = 3

// maxRequiredDepth bounds proto2 required message fields, which nest past
// maxGenDepth so that the answer is valid (a type that requires itself has
// no finite value: it stops here, and the answer is partial).
const maxRequiredDepth = 12

// seedOf derives the seed of a generated answer from the method and the
// request's bytes, so the same call gets the same answer on every run.
func seedOf(method string, req []byte) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(method))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write(req)
	return h.Sum64()
}

// generated returns the encoding of a deterministic message of type md:
// every field set according to its type (one field of each oneof).
func generated(md protoreflect.MessageDescriptor, seed uint64) ([]byte, *dynamicpb.Message) {
	return generate(md, seed, gen{})
}

// generatedAnswer is generated for the answer of method to the request
// req (its encoding): a long-running Operation gets the types the method's
// operation_info names (see lro.go), resource names follow the patterns
// of the loaded files and take the request's (see resource.go).
func generatedAnswer(method protoreflect.MethodDescriptor, set *protoload.Set, seed uint64, req []byte) []byte {
	out := method.Output()
	g := gen{res: resourcesOf(set)}
	if out.FullName() == operationName {
		g.lro = lroOf(method, set)
	}
	g.echo = g.res.echoOf(method)
	g.req = req
	b, _ := generate(out, seed, g)
	return b
}

// generate makes a message of type md with g's settings, seeded by seed.
func generate(md protoreflect.MessageDescriptor, seed uint64, g gen) ([]byte, *dynamicpb.Message) {
	g.rng = rand.New(rand.NewPCG(seed, 0x6465636f79)) // "decoy"
	m := dynamicpb.NewMessage(md)
	g.fill(m, 0)
	if g.echo != nil {
		g.echo.apply(m, g.req)
	}
	// AllowPartial: a proto2 required field nested below maxGenDepth is
	// left unset rather than failing the whole answer.
	b, err := proto.MarshalOptions{Deterministic: true, AllowPartial: true}.Marshal(m)
	if err != nil {
		// Every value set above is valid for its field; should the
		// runtime disagree, an empty message is still a valid answer.
		return nil, dynamicpb.NewMessage(md)
	}
	return b, m
}

type gen struct {
	rng  *rand.Rand
	lro  *lroTypes      // the top-level Operation's types, or nil
	res  *resourceIndex // the loaded files' resources, or nil
	echo *echoPlan      // the request's names the answer takes, or nil
	req  []byte         // the request, for echo
}

var names = []string{"Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov", "Donald Knuth", "Margaret Hamilton", "Ken Thompson"}

func (g *gen) fill(m protoreflect.Message, depth int) {
	md := m.Descriptor()
	switch md.FullName() {
	case "google.protobuf.Timestamp":
		m.Set(md.Fields().ByName("seconds"), protoreflect.ValueOfInt64(1_700_000_000+g.rng.Int64N(100_000_000)))
		return
	case "google.protobuf.Duration":
		m.Set(md.Fields().ByName("seconds"), protoreflect.ValueOfInt64(1+g.rng.Int64N(3600)))
		return
	case "google.protobuf.Value":
		// A Value must hold one of its kinds to be valid JSON.
		m.Set(md.Fields().ByName("string_value"), protoreflect.ValueOfString("value-"+strconv.Itoa(1+g.rng.IntN(1000))))
		return
	case "google.protobuf.Struct", "google.protobuf.ListValue", "google.protobuf.FieldMask", "google.protobuf.Empty",
		anyName: // an Any of a type of its own choosing would name one no client can resolve
		return // left empty: always valid
	case "google.rpc.Status":
		// code is a google.rpc.Code (an int32 in the message): one of
		// the 16 errors, with its name as the message. details are Anys,
		// left unset like any other.
		if f := md.Fields().ByName("code"); f != nil && f.Kind() == protoreflect.Int32Kind {
			c := codes.Code(1 + g.rng.IntN(16))
			m.Set(f, protoreflect.ValueOfInt32(int32(c)))
			if f := md.Fields().ByName("message"); f != nil && f.Kind() == protoreflect.StringKind {
				m.Set(f, protoreflect.ValueOfString(c.String()))
			}
			return
		}
	case operationName:
		g.operation(m, depth)
		return
	}
	fields := md.Fields()
	var rfs []*resourceField
	if g.res != nil {
		rfs = g.res.fieldsOf(md)
	}
	oneofs := md.Oneofs()
	chosen := make(map[protoreflect.FullName]int, oneofs.Len())
	for i := 0; i < oneofs.Len(); i++ {
		o := oneofs.Get(i)
		if !o.IsSynthetic() {
			chosen[o.FullName()] = g.rng.IntN(o.Fields().Len())
		}
	}
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if o := fd.ContainingOneof(); o != nil && !o.IsSynthetic() {
			if o.Fields().Get(chosen[o.FullName()]) != fd {
				continue
			}
		}
		if fd.Message() != nil && depth >= maxGenDepth && !fd.IsMap() &&
			(fd.Cardinality() != protoreflect.Required || depth >= maxRequiredDepth) {
			continue // proto2 required messages go deeper, for a valid answer
		}
		if isNextPageToken(fd) {
			// The last page: a client that pages until the token is
			// empty (AIP-158) stops after one call.
			if fd.Cardinality() == protoreflect.Required {
				m.Set(fd, protoreflect.ValueOfString(""))
			}
			continue
		}
		if fd.Message() != nil && fd.Message().FullName() == "google.protobuf.Any" {
			// An Any names the type it holds; an empty one is not valid
			// JSON (no @type), so Any fields are left unset.
			continue
		}
		if rfs != nil && rfs[i] != nil {
			g.resourceNames(m, fd, rfs[i])
			continue
		}
		switch {
		case fd.IsMap():
			if depth >= maxGenDepth {
				continue
			}
			mp := m.Mutable(fd).Map()
			for j := 0; j < 1+g.rng.IntN(2); j++ {
				k := g.scalar(fd.MapKey(), j)
				if fd.MapValue().Message() != nil {
					v := mp.NewValue()
					g.fill(v.Message(), depth+1)
					mp.Set(k.MapKey(), v)
				} else {
					mp.Set(k.MapKey(), g.scalar(fd.MapValue(), j))
				}
			}
		case fd.IsList():
			l := m.Mutable(fd).List()
			r := ruleOf(fd)
			for j := 0; g.more(fd, r, j); j++ {
				if fd.Message() != nil {
					v := l.NewElement()
					g.fill(v.Message(), depth+1)
					l.Append(v)
				} else {
					l.Append(g.scalar(fd, j))
				}
			}
		case fd.Message() != nil:
			g.fill(m.Mutable(fd).Message(), depth+1)
		default:
			m.Set(fd, g.scalar(fd, 0))
		}
	}
}

// resourceNames sets fd, a string field of m holding resource names, to
// names of rf's pattern: one, or one to three for a list.
func (g *gen) resourceNames(m protoreflect.Message, fd protoreflect.FieldDescriptor, rf *resourceField) {
	if !fd.IsList() {
		m.Set(fd, protoreflect.ValueOfString(rf.pattern.fill(g)))
		return
	}
	l := m.Mutable(fd).List()
	r := ruleOf(fd)
	for j := 0; g.more(fd, r, j); j++ {
		l.Append(protoreflect.ValueOfString(rf.pattern.fill(g)))
	}
}

// maxRuledItems and maxRuledMessages bound the elements made for a
// repeated field of scalars or of messages whose rules ask for at least
// that many: past them the answer has fewer than the rules ask, rather
// than taking long to make.
const (
	maxRuledItems    = 1000
	maxRuledMessages = 20
)

// more reports whether a list gets an element j: one to three, drawn as
// they always were, within the field's rules on the number of items (r,
// nil for none).
func (g *gen) more(fd protoreflect.FieldDescriptor, r *fieldRule, j int) bool {
	if r != nil {
		most := maxRuledItems
		if fd.Message() != nil {
			most = maxRuledMessages // each may hold lists of its own
		}
		if j < min(r.minItems, most) {
			return true
		}
		if r.maxItems >= 0 && j >= r.maxItems {
			return false
		}
	}
	return j < 1+g.rng.IntN(3)
}

// scalar makes a value for a non-message field; i numbers elements of a
// list or map so that keys differ. A field with validation rules (see
// rules.go) gets a value that keeps them.
func (g *gen) scalar(fd protoreflect.FieldDescriptor, i int) protoreflect.Value {
	if r := ruleOf(fd); r != nil && r.schema != nil {
		if v, ok := g.ruled(fd, r.schema); ok {
			return v
		}
	}
	n := 1 + g.rng.IntN(1000)
	switch fd.Kind() {
	case protoreflect.BoolKind:
		if isMapKey(fd) {
			return protoreflect.ValueOfBool(i%2 == 0)
		}
		return protoreflect.ValueOfBool(g.rng.IntN(2) == 1)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(n*10 + i))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(int64(n*10 + i))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(n*10 + i))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(n*10 + i))
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(n) / 4)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(float64(g.rng.IntN(100_000)) / 100)
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(g.text(fd, n, i))
	case protoreflect.BytesKind:
		b := make([]byte, 8)
		for j := range b {
			b[j] = byte(g.rng.Uint32())
		}
		return protoreflect.ValueOfBytes(b)
	case protoreflect.EnumKind:
		vs := fd.Enum().Values()
		if vs.Len() > 1 {
			return protoreflect.ValueOfEnum(vs.Get(1 + g.rng.IntN(vs.Len()-1)).Number())
		}
		return protoreflect.ValueOfEnum(vs.Get(0).Number())
	}
	return fd.Default()
}

// text makes a string that suits the field's name.
func (g *gen) text(fd protoreflect.FieldDescriptor, n, i int) string {
	name := strings.ToLower(string(fd.Name()))
	if isMapKey(fd) {
		return "key-" + strconv.Itoa(i+1)
	}
	switch {
	case strings.Contains(name, "email"):
		return "user" + strconv.Itoa(n) + "@example.com"
	case strings.Contains(name, "url") || strings.Contains(name, "uri") || strings.Contains(name, "link"):
		return "https://example.com/" + strconv.Itoa(n)
	case name == "name" || strings.HasSuffix(name, "_name") || name == "author" || name == "from" || name == "user":
		return names[g.rng.IntN(len(names))]
	case name == "id" || strings.HasSuffix(name, "_id"):
		return strconv.FormatUint(g.rng.Uint64()>>16, 36)
	case strings.Contains(name, "currency"):
		return "EUR"
	case strings.Contains(name, "country"):
		return "FR"
	}
	return string(fd.Name()) + "-" + strconv.Itoa(n)
}

// isNextPageToken reports whether fd is a list response's page token
// (AIP-158: a string named next_page_token, nextPageToken in JSON).
func isNextPageToken(fd protoreflect.FieldDescriptor) bool {
	return fd.Kind() == protoreflect.StringKind && !fd.IsList() &&
		(fd.Name() == "next_page_token" || fd.JSONName() == "nextPageToken")
}

func isMapKey(fd protoreflect.FieldDescriptor) bool {
	return fd.Number() == 1 && fd.ContainingMessage() != nil && fd.ContainingMessage().IsMapEntry()
}

// ruled makes a value for fd that satisfies schema (its validation rules
// as JSON Schema) with internal/fake; ok is false when it cannot.
func (g *gen) ruled(fd protoreflect.FieldDescriptor, schema map[string]any) (protoreflect.Value, bool) {
	v, err := fake.Generate(schema, "", "", fake.Options{Seed: g.rng.Uint64()})
	if err != nil {
		return protoreflect.Value{}, false
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		if s, ok := v.(string); ok {
			return protoreflect.ValueOfString(s), true
		}
	case protoreflect.BytesKind:
		if s, ok := v.(string); ok {
			return protoreflect.ValueOfBytes([]byte(s)), true
		}
	case protoreflect.BoolKind:
		if b, ok := v.(bool); ok {
			return protoreflect.ValueOfBool(b), true
		}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		if f, ok := fake.Number(v); ok {
			if fd.Kind() == protoreflect.FloatKind {
				return protoreflect.ValueOfFloat32(float32(f)), true
			}
			return protoreflect.ValueOfFloat64(f), true
		}
	case protoreflect.EnumKind:
		if n, ok := asInt(v); ok && n >= math.MinInt32 && n <= math.MaxInt32 {
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), true
		}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		if n, ok := asInt(v); ok && n >= math.MinInt32 && n <= math.MaxInt32 {
			return protoreflect.ValueOfInt32(int32(n)), true
		}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		if n, ok := asInt(v); ok {
			return protoreflect.ValueOfInt64(n), true
		}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		if n, ok := asInt(v); ok && n >= 0 && n <= math.MaxUint32 {
			return protoreflect.ValueOfUint32(uint32(n)), true
		}
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if u, ok := v.(uint64); ok {
			return protoreflect.ValueOfUint64(u), true
		}
		if n, ok := asInt(v); ok && n >= 0 {
			return protoreflect.ValueOfUint64(uint64(n)), true
		}
	}
	return protoreflect.Value{}, false
}

// asInt reads a whole number that internal/fake made, or a rule's value.
func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case int64:
		return x, true
	case uint64:
		return int64(x), x <= math.MaxInt64
	}
	return 0, false
}
