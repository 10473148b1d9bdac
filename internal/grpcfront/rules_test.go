package grpcfront

import (
	"regexp"
	"testing"

	"github.com/decoy-dev/decoy/internal/protoload"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Generated answers keep the fields' validation rules, protovalidate's and
// protoc-gen-validate's alike: lengths, patterns, well-known formats,
// bounds, lists of allowed values and counts of items.
func TestGeneratedKeepsRules(t *testing.T) {
	set, err := protoload.LoadSources(map[string]string{"rules.proto": `syntax = "proto3";
package rules;
import "buf/validate/validate.proto";
import "validate/validate.proto";
enum Color { COLOR_UNSPECIFIED = 0; RED = 1; GREEN = 2; BLUE = 3; }
message M {
  string code = 1 [(buf.validate.field).string.pattern = "^[A-Z]{3}-[0-9]{4}$"];
  string long = 2 [(buf.validate.field).string = {min_len: 40, max_len: 44}];
  string mail = 3 [(buf.validate.field).string.email = true];
  string id = 4 [(buf.validate.field).string.uuid = true];
  int32 small = 5 [(buf.validate.field).int32 = {gt: 1000, lt: 1005}];
  uint64 pick = 6 [(buf.validate.field).uint64 = {in: [7, 9]}];
  double ratio = 7 [(buf.validate.field).double = {gte: 0.5, lte: 0.75}];
  repeated string tags = 8 [(buf.validate.field).repeated = {min_items: 5, max_items: 6, items: {string: {len: 3}}}];
  Color color = 9 [(buf.validate.field).enum = {in: [3]}];
  string pgv_name = 10 [(validate.rules).string = {prefix: "usr_", min_len: 10, max_len: 12}];
  int64 pgv_count = 11 [(validate.rules).int64 = {gte: -20, lte: -10}];
  repeated int32 pgv_few = 12 [(validate.rules).repeated = {max_items: 1}];
  string plain = 13;
}
`})
	if err != nil {
		t.Fatal(err)
	}
	mt, err := set.Types().FindMessageByName("rules.M")
	if err != nil {
		t.Fatal(err)
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	for seed := uint64(0); seed < 30; seed++ {
		_, m := generated(mt.Descriptor(), seed)
		get := func(name protoreflect.Name) protoreflect.Value {
			return m.Get(mt.Descriptor().Fields().ByName(name))
		}
		if s := get("code").String(); !regexp.MustCompile(`^[A-Z]{3}-[0-9]{4}$`).MatchString(s) {
			t.Errorf("seed %d: code %q", seed, s)
		}
		if n := len([]rune(get("long").String())); n < 40 || n > 44 {
			t.Errorf("seed %d: long has %d characters", seed, n)
		}
		if s := get("mail").String(); !regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[a-z]+$`).MatchString(s) {
			t.Errorf("seed %d: mail %q", seed, s)
		}
		if s := get("id").String(); !uuid.MatchString(s) {
			t.Errorf("seed %d: id %q", seed, s)
		}
		if n := get("small").Int(); n <= 1000 || n >= 1005 {
			t.Errorf("seed %d: small %d", seed, n)
		}
		if n := get("pick").Uint(); n != 7 && n != 9 {
			t.Errorf("seed %d: pick %d", seed, n)
		}
		if f := get("ratio").Float(); f < 0.5 || f > 0.75 {
			t.Errorf("seed %d: ratio %v", seed, f)
		}
		tags := get("tags").List()
		if tags.Len() < 5 || tags.Len() > 6 {
			t.Errorf("seed %d: %d tags", seed, tags.Len())
		}
		for i := 0; i < tags.Len(); i++ {
			if n := len([]rune(tags.Get(i).String())); n != 3 {
				t.Errorf("seed %d: tag %q", seed, tags.Get(i).String())
			}
		}
		if c := get("color").Enum(); c != 3 {
			t.Errorf("seed %d: color %d", seed, c)
		}
		if s := get("pgv_name").String(); len(s) < 10 || len(s) > 12 || s[:4] != "usr_" {
			t.Errorf("seed %d: pgv_name %q", seed, s)
		}
		if n := get("pgv_count").Int(); n < -20 || n > -10 {
			t.Errorf("seed %d: pgv_count %d", seed, n)
		}
		if n := get("pgv_few").List().Len(); n > 1 {
			t.Errorf("seed %d: %d pgv_few", seed, n)
		}
		if get("plain").String() == "" {
			t.Errorf("seed %d: a field without rules is not generated", seed)
		}
	}
}
