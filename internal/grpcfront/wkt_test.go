package grpcfront_test

import (
	"math"
	"testing"

	"github.com/decoy-dev/decoy/internal/journal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
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
