package protoload_test

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/protoload"
)

// A service written as real projects write them: HTTP annotations, field
// behaviours, resources, google.type and google.rpc messages, validation
// rules and OpenAPI options, none of which the user's folder holds.
const library = `syntax = "proto3";
package library.v1;

import "google/api/annotations.proto";
import "google/api/field_behavior.proto";
import "google/api/resource.proto";
import "google/rpc/status.proto";
import "google/rpc/error_details.proto";
import "google/type/date.proto";
import "google/type/money.proto";
import "validate/validate.proto";
import "buf/validate/validate.proto";
import "protoc-gen-openapiv2/options/annotations.proto";
import "google/longrunning/operations.proto";

service Library {
  rpc GetBook(GetBookRequest) returns (Book) {
    option (google.api.http) = {get: "/v1/{name=shelves/*/books/*}"};
  }
  rpc ExportBooks(GetBookRequest) returns (google.longrunning.Operation) {
    option (google.longrunning.operation_info) = {response_type: "Book" metadata_type: "Book"};
  }
}

message Book {
  option (google.api.resource) = {type: "library.example.com/Book" pattern: "shelves/{shelf}/books/{book}"};
  string name = 1 [(google.api.field_behavior) = IDENTIFIER];
  string title = 2 [(validate.rules).string = {min_len: 1}];
  google.type.Date published = 3;
  google.type.Money price = 4;
  google.rpc.Status last_error = 5;
  string isbn = 6 [(buf.validate.field).string.len = 13];
}

message GetBookRequest { string name = 1 [(google.api.field_behavior) = REQUIRED]; }
`

func TestBundledImports(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "library/v1/library.proto", library)
	set, err := protoload.Load([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	md := set.Method("/library.v1.Library/GetBook")
	if md == nil {
		t.Fatalf("methods = %v", set.Methods())
	}
	if f := md.Output().Fields().ByName("price"); f == nil || f.Message().FullName() != "google.type.Money" {
		t.Errorf("price = %v", f)
	}
	for _, path := range []string{"google/api/annotations.proto", "google/api/http.proto", "google/type/money.proto", "validate/validate.proto", "buf/validate/validate.proto", "google/longrunning/operations.proto"} {
		if _, err := set.Resolver().FindFileByPath(path); err != nil {
			t.Errorf("%s not in the set: %v", path, err)
		}
	}
	if got := strings.Join(protoload.BundledImports(), " "); !strings.Contains(got, "google/api/annotations.proto") || !strings.Contains(got, "google/type/date.proto") {
		t.Errorf("BundledImports = %s", got)
	}
}

// The user's own copy of a bundled import wins over decoy's.
func TestBundledImportUserCopyWins(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "google/type/money.proto", `syntax = "proto3";
package google.type;
message Money { string amount = 1; }
`)
	write(t, dir, "shop.proto", `syntax = "proto3";
package shop;
import "google/type/money.proto";
service Shop { rpc Price(Item) returns (google.type.Money); }
message Item { string id = 1; }
`)
	set, err := protoload.Load([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	md := set.Method("/shop.Shop/Price")
	if md == nil {
		t.Fatalf("methods = %v", set.Methods())
	}
	if md.Output().Fields().ByName("amount") == nil || md.Output().Fields().ByName("units") != nil {
		t.Errorf("Money has the bundled fields, not the user's: %v", md.Output().Fields())
	}
}

// An import that is neither in the folders nor bundled is still a load
// error naming it.
func TestUnknownImportStillFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "a.proto", `syntax = "proto3";
package a;
import "google/api/nope.proto";
import "acme/common.proto";
message M { string s = 1; }
`)
	_, err := protoload.Load([]string{dir})
	var ps config.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "google/api/nope.proto") && !strings.Contains(msg, "acme/common.proto") {
		t.Errorf("error does not name the import: %s", msg)
	}
}

// gogo/protobuf's options compile under both import paths projects use
// (Prometheus' remote write says gogoproto/gogo.proto, Kubernetes' CRI
// the module path).
func TestGogoImports(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"gogoproto/gogo.proto", "github.com/gogo/protobuf/gogoproto/gogo.proto"} {
		dir := t.TempDir()
		write(t, dir, "remote.proto", `syntax = "proto3";
package prometheus;
import "`+path+`";
option (gogoproto.marshaler_all) = true;
option (gogoproto.goproto_getters_all) = false;
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2 [(gogoproto.customname) = "TS"]; }
message TimeSeries {
  repeated Label labels = 1 [(gogoproto.nullable) = false];
  repeated Sample samples = 2 [(gogoproto.nullable) = false, (gogoproto.jsontag) = "samples,omitempty"];
}
enum Kind { option (gogoproto.goproto_enum_prefix) = false; KIND_UNSPECIFIED = 0 [(gogoproto.enumvalue_customname) = "Unspecified"]; }
message WriteRequest { repeated TimeSeries timeseries = 1 [(gogoproto.nullable) = false]; Kind kind = 2; }
message WriteResponse {}
service Writer { rpc Write(WriteRequest) returns (WriteResponse); }
`)
		set, err := protoload.Load([]string{dir})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		md := set.Method("/prometheus.Writer/Write")
		if md == nil || md.Input().Fields().ByName("timeseries") == nil {
			t.Fatalf("%s: methods = %v", path, set.Methods())
		}
		if _, err := set.Resolver().FindFileByPath(path); err != nil {
			t.Errorf("%s not in the set: %v", path, err)
		}
	}
	if got := strings.Join(protoload.BundledImports(), " "); !strings.Contains(got, "gogoproto/gogo.proto") {
		t.Errorf("BundledImports = %s", got)
	}
}

// A bundled import's own imports are resolved like the user's: with the
// user's copy of google/api/ beside it, a bundled google/longrunning links
// to that copy instead of bringing a second google.api.
func TestBundledImportLinksToUserCopy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "google/api/http.proto", `syntax = "proto3";
package google.api;
message Http { repeated HttpRule rules = 1; }
message HttpRule {
  string selector = 1;
  oneof pattern { string get = 2; string put = 3; string post = 4; string delete = 5; string patch = 6; CustomHttpPattern custom = 8; }
  string body = 7;
  string response_body = 12;
  repeated HttpRule additional_bindings = 11;
  string users_own_field = 99;
}
message CustomHttpPattern { string kind = 1; string path = 2; }
`)
	write(t, dir, "google/api/annotations.proto", `syntax = "proto3";
package google.api;
import "google/api/http.proto";
import "google/protobuf/descriptor.proto";
extend google.protobuf.MethodOptions { HttpRule http = 72295728; }
`)
	write(t, dir, "jobs.proto", `syntax = "proto3";
package jobs.v1;
import "google/api/annotations.proto";
import "google/longrunning/operations.proto";
service Jobs {
  rpc Start(StartRequest) returns (google.longrunning.Operation) {
    option (google.api.http) = {post: "/v1/jobs" body: "*"};
    option (google.longrunning.operation_info) = {response_type: "StartRequest" metadata_type: "StartRequest"};
  }
}
message StartRequest { string name = 1; }
`)
	set, err := protoload.Load([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if set.Method("/jobs.v1.Jobs/Start") == nil {
		t.Fatalf("methods = %v", set.Methods())
	}
	d, err := set.Resolver().FindDescriptorByName("google.api.HttpRule")
	if err != nil {
		t.Fatal(err)
	}
	if d.(protoreflect.MessageDescriptor).Fields().ByName("users_own_field") == nil {
		t.Errorf("google.api.HttpRule is not the user's copy")
	}
}
