package grpcfront

import (
	"testing"

	"github.com/decoy-dev/decoy/internal/protoload"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Generated answers must be valid messages that any client can print as
// JSON: well-known types with rules of their own (Value needs a kind, Any
// a type URL), proto2 required fields, groups, maps, oneofs and recursion.
func TestGeneratedIsValidJSON(t *testing.T) {
	set, err := protoload.LoadSources(map[string]string{"kitchen.proto": `syntax = "proto2";
package kitchen;
import "google/protobuf/any.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/wrappers.proto";
message Node {
  required string id = 1;
  optional Node left = 2;
  repeated Node children = 3;
  optional group Meta = 4 { optional string k = 5; }
  map<string, Node> by_name = 6;
  oneof choice { string s = 7; int64 n = 8; }
  optional google.protobuf.Any extra = 9;
  repeated google.protobuf.Any details = 10;
  optional google.protobuf.Struct attrs = 11;
  optional google.protobuf.Value val = 12;
  repeated google.protobuf.Value vals = 13;
  optional google.protobuf.ListValue list = 14;
  optional google.protobuf.StringValue sv = 15;
  required Inner inner = 16;
}
message Inner { required int32 x = 1; }
`})
	if err != nil {
		t.Fatal(err)
	}
	md, err := set.Types().FindMessageByName("kitchen.Node")
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(0); seed < 20; seed++ {
		b, m := generated(md.Descriptor(), seed)
		if len(b) == 0 {
			t.Fatalf("seed %d: empty encoding", seed)
		}
		back := dynamicpb.NewMessage(md.Descriptor())
		if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(b, back); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if _, err := (protojson.MarshalOptions{Resolver: set.Types()}).Marshal(m); err != nil {
			t.Errorf("seed %d: not printable as JSON: %v", seed, err)
		}
		b2, _ := generated(md.Descriptor(), seed)
		if string(b2) != string(b) {
			t.Errorf("seed %d: not deterministic", seed)
		}
	}
}
