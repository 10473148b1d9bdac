package grpcfront

import (
	"strings"
	"testing"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"

	"github.com/decoy-dev/decoy/internal/protoload"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
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

// TestGeneratedOperationsAndStatuses: a generated google.longrunning.Operation
// is done with a response of the method's operation_info response_type
// when decoy knows that type, and otherwise not done and holds no result;
// a google.rpc.Status has a google.rpc.Code (1 to 16); an Any of no
// stated type is left empty. Same seed, same answer.
func TestGeneratedOperationsAndStatuses(t *testing.T) {
	set, err := protoload.LoadSources(map[string]string{"t/v1/jobs.proto": `syntax = "proto3";
package t.v1;
import "google/longrunning/operations.proto";
import "google/rpc/status.proto";
import "google/protobuf/any.proto";
service Jobs {
  rpc Start(Req) returns (google.longrunning.Operation) {
    option (google.longrunning.operation_info) = {response_type: "Job" metadata_type: "t.v1.JobMeta"};
  }
  rpc Unknown(Req) returns (google.longrunning.Operation) {
    option (google.longrunning.operation_info) = {response_type: "NoSuchJob"};
  }
  rpc Plain(Req) returns (google.longrunning.Operation);
  rpc AnyMeta(Req) returns (google.longrunning.Operation) {
    option (google.longrunning.operation_info) = {response_type: "Job" metadata_type: "google.protobuf.Any"};
  }
  rpc Check(Req) returns (Job);
  rpc Bare(Req) returns (google.protobuf.Any);
}
message Req {}
message Job { string id = 1; google.rpc.Status st = 2; repeated google.rpc.Status more = 3; }
message JobMeta { int32 progress = 1; }
`})
	if err != nil {
		t.Fatal(err)
	}
	svc := set.Services()[0]
	for _, sd := range set.Services() {
		if sd.FullName() == "t.v1.Jobs" {
			svc = sd
		}
	}
	method := func(name string) protoreflect.MethodDescriptor { return svc.Methods().ByName(protoreflect.Name(name)) }
	opOf := func(t *testing.T, b []byte) (*longrunningpb.Operation, string) {
		t.Helper()
		op := new(longrunningpb.Operation)
		if err := proto.Unmarshal(b, op); err != nil {
			t.Fatal(err)
		}
		js, err := protojson.MarshalOptions{Resolver: set.Types()}.Marshal(op)
		if err != nil {
			t.Fatalf("not printable as JSON: %v", err)
		}
		return op, string(js)
	}
	for seed := uint64(0); seed < 20; seed++ {
		b := generatedAnswer(method("Start"), set, seed, nil)
		if string(generatedAnswer(method("Start"), set, seed, nil)) != string(b) {
			t.Fatalf("seed %d: not deterministic", seed)
		}
		op, js := opOf(t, b)
		if !op.GetDone() || op.GetResponse().GetTypeUrl() != "type.googleapis.com/t.v1.Job" || op.GetError() != nil ||
			op.GetMetadata().GetTypeUrl() != "type.googleapis.com/t.v1.JobMeta" || !strings.HasPrefix(op.GetName(), "operations/") {
			t.Errorf("seed %d: Start: %s", seed, js)
		}
		// metadata_type Any: any type, so none (an Any of an Any of a
		// made-up type would not print as JSON).
		op, js = opOf(t, generatedAnswer(method("AnyMeta"), set, seed, nil))
		if !op.GetDone() || op.GetResponse().GetTypeUrl() != "type.googleapis.com/t.v1.Job" || op.GetMetadata() != nil {
			t.Errorf("seed %d: AnyMeta: %s", seed, js)
		}
		if b := generatedAnswer(method("Bare"), set, seed, nil); len(b) != 0 {
			t.Errorf("seed %d: a bare Any answer is %x, want it empty", seed, b)
		}
		for _, m := range []string{"Unknown", "Plain"} {
			op, js := opOf(t, generatedAnswer(method(m), set, seed, nil))
			if op.GetDone() || op.GetResult() != nil {
				t.Errorf("seed %d: %s: %s", seed, m, js)
			}
		}
		_, job := generated(method("Check").Output(), seed)
		fs := job.Descriptor().Fields()
		code := fs.ByName("st").Message().Fields().ByName("code")
		codes := []int64{job.Get(fs.ByName("st")).Message().Get(code).Int()}
		more := job.Get(fs.ByName("more")).List()
		for i := 0; i < more.Len(); i++ {
			codes = append(codes, more.Get(i).Message().Get(code).Int())
		}
		for _, c := range codes {
			if c < 1 || c > 16 {
				t.Errorf("seed %d: google.rpc.Status code %d", seed, c)
			}
		}
	}
}

// TestGeneratedLastPage: a generated list answer has no next_page_token
// (nextPageToken in JSON), so clients that page until it is empty stop;
// other strings are generated as usual.
func TestGeneratedLastPage(t *testing.T) {
	t.Parallel()
	set, err := protoload.LoadSources(map[string]string{"list.proto": `syntax = "proto2";
package list;
message ListTopicsResponse {
  repeated string topics = 1;
  optional string next_page_token = 2;
  optional string page_token_hint = 3;
}
message Camel { optional string nextPageToken = 1; }
message Required { required string next_page_token = 1; }
`})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		required bool   // the token is set, empty
		other    string // a string field that is generated
	}{
		{"list.ListTopicsResponse", false, "page_token_hint"},
		{"list.Camel", false, ""},
		{"list.Required", true, ""},
	} {
		mt, err := set.Types().FindMessageByName(protoreflect.FullName(tc.name))
		if err != nil {
			t.Fatal(err)
		}
		fields := mt.Descriptor().Fields()
		token := fields.ByJSONName("nextPageToken")
		for seed := uint64(0); seed < 10; seed++ {
			b, _ := generated(mt.Descriptor(), seed)
			m := dynamicpb.NewMessage(mt.Descriptor())
			if err := proto.Unmarshal(b, m); err != nil {
				t.Fatal(err)
			}
			if m.Has(token) != tc.required || m.Get(token).String() != "" {
				t.Errorf("%s, seed %d: next page token %q (set: %v)", tc.name, seed, m.Get(token).String(), m.Has(token))
			}
			if tc.other != "" && m.Get(fields.ByName(protoreflect.Name(tc.other))).String() == "" {
				t.Errorf("%s, seed %d: %s not generated", tc.name, seed, tc.other)
			}
		}
	}
}
