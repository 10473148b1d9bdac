package grpcfront_test

import (
	"math"
	"testing"

	"github.com/decoy-dev/decoy/internal/journal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const wktProto = `
syntax = "proto3";
package wkt.v1;
import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
service Wkts { rpc Put(Wkt) returns (Wkt); }
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
}
message Num { int64 n = 1; }
`

// wkt encodes a wkt.v1.Wkt with id and one more field: number, a
// message of the well-known types.
func wkt(id string, number int, m proto.Message) []byte {
	var b []byte
	b = append(b, 0x0a, byte(len(id)))
	b = append(b, id...)
	if m == nil {
		return b
	}
	inner, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic(err)
	}
	b = append(b, byte(number<<3|2), byte(len(inner)))
	return append(b, inner...)
}

// TestWellKnownWithoutJSON: requests holding valid well-known values that
// protojson cannot write (a FieldMask "*", NaN in a Struct, a Value with
// no kind, a Timestamp or Duration out of range) are answered, journaled
// with a best-effort JSON ("@invalid" objects), and matched on the rest.
func TestWellKnownWithoutJSON(t *testing.T) {
	t.Parallel()
	const stubs = `
- id: full-mask
  request:
    path: /wkt.v1.Wkts/Put
    body: {jsonPath: [{path: $.mask, equals: "*"}]}
  response: {body: {id: full}}
- id: by-id
  request:
    path: /wkt.v1.Wkts/Put
    body: {jsonPath: [{path: $.id, equals: b}]}
  response: {body: {id: matched}}
- id: ts-rfc3339
  priority: 1
  request:
    path: /wkt.v1.Wkts/Put
    body: {jsonPath: [{path: $.ts, regex: "^[0-9]{4}-"}]}
  response: {body: {id: ts}}
`
	nanStruct, _ := structpb.NewStruct(map[string]any{"a": 1.0, "x": math.NaN()})
	for _, tc := range []struct {
		name     string
		req      []byte
		wantStub string
		wantJSON string
	}{
		{"full mask", wkt("a", 6, &fieldmaskpb.FieldMask{Paths: []string{"*"}}), "full-mask", `{"id":"a","mask":"*"}`},
		{"irreversible mask", wkt("b", 6, &fieldmaskpb.FieldMask{Paths: []string{"labels.Env", "display_name"}}), "by-id", `{"id":"b","mask":"labels.Env,displayName"}`},
		{"NaN in a Struct", wkt("b", 4, nanStruct), "by-id",
			`{"id":"b","st":{"a":1,"x":{"@invalid":"google.protobuf.Value: NaN is not a JSON number","numberValue":"NaN"}}}`},
		{"Value infinity", wkt("b", 5, structpb.NewNumberValue(math.Inf(1))), "by-id",
			`{"id":"b","val":{"@invalid":"google.protobuf.Value: +Inf is not a JSON number","numberValue":"Infinity"}}`},
		{"Value with no kind", wkt("b", 5, &structpb.Value{}), "by-id",
			`{"id":"b","val":{"@invalid":"google.protobuf.Value: none of the oneof fields is set"}}`},
		{"Timestamp past 9999", wkt("c", 2, &timestamppb.Timestamp{Seconds: 253402300800}), "",
			`{"id":"c","ts":{"@invalid":"google.protobuf.Timestamp: seconds out of range 253402300800","seconds":253402300800}}`},
		{"Timestamp in range", wkt("c", 2, &timestamppb.Timestamp{Seconds: 1}), "ts-rfc3339", `{"id":"c","ts":"1970-01-01T00:00:01Z"}`},
		{"Duration signs differ", wkt("c", 3, &durationpb.Duration{Seconds: 1, Nanos: -1}), "",
			`{"id":"c","dur":{"@invalid":"google.protobuf.Duration: signs of seconds and nanos do not match","seconds":1,"nanos":-1}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, stubs, opts{journal: 10, protos: map[string]string{"wkt/v1/wkt.proto": wktProto}})
			var out []byte
			if err := s.conn.Invoke(ctx(t), "/wkt.v1.Wkts/Put", &tc.req, &out, grpc.ForceCodecV2(rawCodec{})); err != nil {
				t.Fatal(err)
			}
			es := s.journal.Find(journal.Filter{})
			if len(es) != 1 || es[0].Body != tc.wantJSON || es[0].Stub != tc.wantStub {
				t.Errorf("journal %+v\nwant stub %q and body %s", es, tc.wantStub, tc.wantJSON)
			}
		})
	}
}

// TestMapEntryKeyTwice: a map entry whose key comes twice, the second time
// with another wire type, panics protobuf-go's dynamic decoder. The call
// gets INTERNAL, and the server keeps serving.
func TestMapEntryKeyTwice(t *testing.T) {
	t.Parallel()
	s := start(t, "", opts{journal: 10, protos: map[string]string{"wkt/v1/wkt.proto": wktProto}})
	// st (a Struct) with one entry of fields: key "k", then key again as
	// a fixed64.
	entry := []byte{0x0a, 0x01, 'k', 0x09, 0, 0, 0, 0, 0, 0, 0, 0}
	st := append([]byte{0x0a, byte(len(entry))}, entry...)
	req := append([]byte{0x22, byte(len(st))}, st...)
	var out []byte
	err := s.conn.Invoke(ctx(t), "/wkt.v1.Wkts/Put", &req, &out, grpc.ForceCodecV2(rawCodec{}))
	if status.Code(err) != codes.Internal {
		t.Fatalf("got %v, want INTERNAL", err)
	}
	req = wkt("ok", 0, nil)
	if err := s.conn.Invoke(ctx(t), "/wkt.v1.Wkts/Put", &req, &out, grpc.ForceCodecV2(rawCodec{})); err != nil {
		t.Fatal(err)
	}
}

// TestInt64InWellKnown: 64-bit integers in Int64Value and UInt64Value
// wrappers and in an Any of a known type are numbers, as in plain fields:
// equals: 5 and json: {i64: 7} match, and the journal shows numbers.
func TestInt64InWellKnown(t *testing.T) {
	t.Parallel()
	const stubs = `
- id: i64-number
  request:
    path: /wkt.v1.Wkts/Put
    body: {jsonPath: [{path: $.i64, equals: 5}]}
  response: {body: {id: i64}}
- id: json-equality
  request:
    path: /wkt.v1.Wkts/Put
    body: {json: {id: j, u64: 18446744073709551615}}
  response: {body: {id: json}}
- id: any-number
  request:
    path: /wkt.v1.Wkts/Put
    body: {jsonPath: [{path: $.any.n, equals: 8}]}
  response: {body: {id: any}}
`
	num := func(n int64) []byte { // a wkt.v1.Num
		if n == 0 {
			return nil
		}
		return protowire.AppendVarint([]byte{0x08}, uint64(n))
	}
	anyOf := func(url string, v []byte) *anypb.Any { return &anypb.Any{TypeUrl: url, Value: v} }
	for _, tc := range []struct {
		name     string
		req      []byte
		wantStub string
		wantJSON string
	}{
		{"Int64Value", wkt("a", 7, wrapperspb.Int64(5)), "i64-number", `{"id":"a","i64":5}`},
		{"Int64Value of 0", wkt("a", 7, wrapperspb.Int64(0)), "", `{"id":"a","i64":0}`},
		{"UInt64Value", wkt("j", 8, wrapperspb.UInt64(math.MaxUint64)), "json-equality", `{"id":"j","u64":18446744073709551615}`},
		{"Any", wkt("a", 9, anyOf("type.googleapis.com/wkt.v1.Num", num(8))), "any-number",
			`{"id":"a","any":{"@type":"type.googleapis.com/wkt.v1.Num","n":8}}`},
		{"Any of a wrapper", wkt("a", 9, anyOf("type.googleapis.com/google.protobuf.Int64Value", []byte{0x08, 0x09})), "",
			`{"id":"a","any":{"@type":"type.googleapis.com/google.protobuf.Int64Value","value":9}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, stubs, opts{journal: 10, protos: map[string]string{"wkt/v1/wkt.proto": wktProto}})
			var out []byte
			if err := s.conn.Invoke(ctx(t), "/wkt.v1.Wkts/Put", &tc.req, &out, grpc.ForceCodecV2(rawCodec{})); err != nil {
				t.Fatal(err)
			}
			es := s.journal.Find(journal.Filter{})
			if len(es) != 1 || es[0].Body != tc.wantJSON || es[0].Stub != tc.wantStub {
				t.Errorf("journal %+v\nwant stub %q and body %s", es, tc.wantStub, tc.wantJSON)
			}
		})
	}
}
