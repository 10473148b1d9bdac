package grpcfront

import (
	"encoding/json"
	"testing"

	"github.com/decoy-dev/decoy/internal/protoload"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

func fuzzSet(f *testing.F) *protoload.Set {
	set, err := protoload.LoadSources(map[string]string{"shop/v1/shop.proto": shopProto})
	if err != nil {
		f.Fatal(err)
	}
	return set
}

// FuzzJSONToMessage feeds the stub-to-message conversion arbitrary JSON
// (and non-JSON). It must never panic; what it accepts must encode, and
// decoy's request JSON of the result must read back as the same message.
func FuzzJSONToMessage(f *testing.F) {
	set := fuzzSet(f)
	md := set.Method("/shop.v1.Users/GetUser").Output()
	types := set.Types()
	for _, s := range []string{
		`{"id": 42, "name": "Ada", "role": "ROLE_ADMIN", "createdAt": "2024-01-15T09:30:00Z"}`,
		`{"id": "9007199254740993", "tags": ["a", "b"], "labels": {"k": "v"}, "address": {"city": "Paris"}}`,
		`{"manager": {"manager": {"name": "x"}}, "phone": "+33"}`,
		`{"phone": "1", "pager": "2"}`,
		`{"created_at": "1970-01-01T00:00:00Z", "role": 2}`,
		`{"nmae": 1}`, `{"id": 1.5}`, `{"id": 1e400}`, `[]`, `null`, `"x"`, `{`, `{"labels": {"a": null}}`,
		`{"tags": [null]}`, `{"scores": [1, -2, "3"], "stamps": ["18446744073709551615"]}`, `{"role": "NOPE"}`, `{"address": []}`, `{"id": "0x10"}`, `{} {}`,
		"{\"name\": \"\\ud800\"}", `{"name": "a\u0000b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, errs := jsonToMessage(data, md, types, "body")
		if len(errs) > 0 {
			for _, e := range errs {
				if e.Msg == "" {
					t.Fatalf("an empty problem for %q", data)
				}
			}
			return
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatalf("accepted %q but cannot encode it: %v", data, err)
		}
		if err := checkWire(b, md, 0); err != nil {
			t.Fatalf("encoded %q does not pass checkWire: %v", data, err)
		}
		js, err := appendJSON(nil, m, types)
		if err != nil {
			t.Fatalf("request JSON of %q: %v", data, err)
		}
		if !json.Valid(js) {
			t.Fatalf("request JSON of %q is not JSON: %s", data, js)
		}
		back := dynamicpb.NewMessage(md)
		if err := (protojson.UnmarshalOptions{Resolver: types}).Unmarshal(js, back); err != nil {
			t.Fatalf("request JSON %s of %q does not read back: %v", js, data, err)
		}
		if !proto.Equal(m, back) {
			t.Fatalf("request JSON %s of %q reads back as a different message", js, data)
		}
	})
}

// FuzzCheckWire feeds the request check arbitrary bytes: it must agree
// with the protobuf runtime on what is a valid message.
func FuzzCheckWire(f *testing.F) {
	set := fuzzSet(f)
	md := set.Method("/shop.v1.Users/GetUser").Output()
	for _, s := range [][]byte{{}, {0x08, 0x2a}, {0x12, 0x03, 'A', 'd', 'a'}, {0x5a, 0x02, 0x0a, 0x80}, {0x12, 0x01, 0x80}, {0x0b, 0x0c}, {0x42, 0x04, 0x0a, 0x00, 0x12, 0x00}, {0x62, 0x02, 0x01, 0x80}, {0x6a, 0x03, 1, 2, 3}, {0x60, 0x05}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		mine := checkWire(data, md, 0)
		theirs := proto.Unmarshal(data, dynamicpb.NewMessage(md))
		if (mine == nil) != (theirs == nil) {
			t.Fatalf("% x: checkWire says %v, the runtime %v", data, mine, theirs)
		}
	})
}

// FuzzGenerated: for any .proto source that compiles (validation rules
// of either kind included), every message type gets a generated answer
// without a panic, and the answer decodes as that type.
func FuzzGenerated(f *testing.F) {
	for _, s := range []string{
		"syntax = \"proto3\";\nimport \"buf/validate/validate.proto\";\nmessage M { string s = 1 [(buf.validate.field).string = {min_len: 3, pattern: \"^a+$\"}]; repeated int32 r = 2 [(buf.validate.field).repeated.min_items = 2]; }\n",
		"syntax = \"proto3\";\nimport \"validate/validate.proto\";\nmessage M { uint32 u = 1 [(validate.rules).uint32 = {gt: 5, lt: 3}]; bytes b = 2 [(validate.rules).bytes.len = 4]; }\n",
		"syntax = \"proto2\";\nmessage M { required M m = 1; optional float f = 2; map<string, M> mm = 3; }\n",
	} {
		f.Add(s, uint64(1))
	}
	f.Fuzz(func(t *testing.T, src string, seed uint64) {
		set, err := protoload.LoadSources(map[string]string{"a.proto": src})
		if err != nil {
			return
		}
		var check func(ms protoreflect.MessageDescriptors)
		check = func(ms protoreflect.MessageDescriptors) {
			for i := 0; i < ms.Len(); i++ {
				md := ms.Get(i)
				if md.IsMapEntry() {
					continue
				}
				b, _ := generated(md, seed)
				if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(b, dynamicpb.NewMessage(md)); err != nil {
					t.Errorf("%s: %v", md.FullName(), err)
				}
				check(md.Messages())
			}
		}
		fd, err := set.Files().FindFileByPath("a.proto")
		if err != nil {
			t.Fatal(err)
		}
		check(fd.Messages())
	})
}

// fuzzWktProto holds every well-known type, for FuzzMessageToJSON.
const fuzzWktProto = `
syntax = "proto3";
package fz.v1;
import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/empty.proto";
message Wkt {
  string id = 1;
  google.protobuf.Timestamp ts = 2;
  google.protobuf.Duration dur = 3;
  google.protobuf.Struct st = 4;
  google.protobuf.Value val = 5;
  google.protobuf.FieldMask mask = 6;
  google.protobuf.Int64Value i64 = 7;
  google.protobuf.UInt64Value u64 = 8;
  google.protobuf.Any any = 9;
  double d = 10;
  google.protobuf.ListValue lv = 11;
  repeated google.protobuf.Value vals = 12;
  map<string, google.protobuf.Value> vm = 13;
  google.protobuf.DoubleValue dv = 14;
  google.protobuf.Empty e = 15;
  float f = 16;
  Wkt child = 17;
}
message Num { int64 n = 1; }
`

// FuzzMessageToJSON feeds decoy's request JSON (appendJSON) arbitrary wire
// bytes of a message holding every well-known type. Whatever decodes as
// the message must give valid JSON, the same bytes every time, and never
// an error: a valid request is never refused for its JSON. When protojson
// can write the message too, decoy's JSON must read back as what
// protojson's own JSON reads back as (both write an unknown NullValue as
// null).
func FuzzMessageToJSON(f *testing.F) {
	set, err := protoload.LoadSources(map[string]string{"fz/v1/wkt.proto": fuzzWktProto})
	if err != nil {
		f.Fatal(err)
	}
	types := set.Types()
	mt, err := types.FindMessageByName("fz.v1.Wkt")
	if err != nil {
		f.Fatal(err)
	}
	md := mt.Descriptor()
	for _, s := range []string{
		`{"id": "a", "ts": "2024-01-15T09:30:00Z", "dur": "1.5s", "mask": "a.b,cD"}`,
		`{"st": {"a": 1, "b": [true, null, "x"], "c": {"d": 1e300}}, "val": 2, "lv": [1, "2"]}`,
		`{"i64": "9007199254740993", "u64": "18446744073709551615", "dv": "NaN", "d": "-Infinity", "f": 1e-7}`,
		`{"any": {"@type": "type.googleapis.com/fz.v1.Num", "n": "5"}, "vals": [null, {}], "vm": {"k": []}}`,
		`{"any": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "-2s"}, "e": {}}`,
		`{"child": {"child": {"st": {}}}}`,
	} {
		m := dynamicpb.NewMessage(md)
		if err := (protojson.UnmarshalOptions{Resolver: types}).Unmarshal([]byte(s), m); err != nil {
			f.Fatalf("seed %s: %v", s, err)
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// Values protojson cannot write: a FieldMask "*", a Value NaN, a
	// Value with no kind, a Timestamp past year 9999.
	f.Add([]byte{0x32, 0x03, 0x0a, 0x01, '*'})
	f.Add([]byte{0x2a, 0x09, 0x11, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f})
	f.Add([]byte{0x2a, 0x00})
	f.Add([]byte{0x12, 0x06, 0x08, 0x80, 0xe0, 0xbe, 0xfd, 0x3a})
	f.Fuzz(func(t *testing.T, data []byte) {
		m := dynamicpb.NewMessage(md)
		if err := unmarshal(data, m, types); err != nil {
			return
		}
		discardUnknown(m)
		js, err := appendJSON(nil, m, types)
		if err != nil {
			t.Fatalf("% x: %v", data, err)
		}
		if !json.Valid(js) {
			t.Fatalf("% x: not JSON: %s", data, js)
		}
		if again, _ := appendJSON(nil, m, types); string(again) != string(js) {
			t.Fatalf("% x: %s, then %s", data, js, again)
		}
		theirs, err := (protojson.MarshalOptions{Resolver: types}).Marshal(m)
		if err != nil {
			return // decoy's own forms: checked above
		}
		if m.Has(md.Fields().ByName("any")) {
			return // an Any's bytes need not come back the same
		}
		back := dynamicpb.NewMessage(md)
		if err := (protojson.UnmarshalOptions{Resolver: types}).Unmarshal(js, back); err != nil {
			t.Fatalf("% x: %s does not read back: %v", data, js, err)
		}
		want := dynamicpb.NewMessage(md)
		if err := (protojson.UnmarshalOptions{Resolver: types}).Unmarshal(theirs, want); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(want, back) {
			t.Fatalf("% x: %s reads back as a different message than protojson's %s", data, js, theirs)
		}
	})
}

// discardUnknown drops the unknown fields of m and of the messages in it,
// which no JSON holds.
func discardUnknown(m protoreflect.Message) {
	m.SetUnknown(nil)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					discardUnknown(mv.Message())
					return true
				})
			}
		case fd.IsList():
			if fd.Message() != nil {
				for i := 0; i < v.List().Len(); i++ {
					discardUnknown(v.List().Get(i).Message())
				}
			}
		case fd.Message() != nil:
			discardUnknown(v.Message())
		}
		return true
	})
}
