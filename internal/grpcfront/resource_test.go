package grpcfront

import (
	"regexp"
	"testing"

	"github.com/decoy-dev/decoy/internal/protoload"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

const resourceProto = `syntax = "proto3";
package ps.v1;
import "google/api/resource.proto";
option (google.api.resource_definition) = {
  type: "kms.example.com/Key"
  pattern: "projects/{project}/keyRings/{key_ring}/keys/{key=**}"
};
message Topic {
  option (google.api.resource) = {
    type: "ps.example.com/Topic"
    pattern: "projects/{project}/topics/{topic}"
    pattern: "_deleted-topic_"
  };
  string name = 1;
  string kms_key = 2 [(google.api.resource_reference) = {type: "kms.example.com/Key"}];
  string label = 3;
}
message Subscription {
  option (google.api.resource) = {
    type: "ps.example.com/Subscription"
    pattern: "projects/{project}/subscriptions/{subscription}"
    name_field: "id"
  };
  string id = 1;
  string name = 2;
  string topic = 3 [(google.api.resource_reference) = {type: "ps.example.com/Topic"}];
  repeated string others = 4 [(google.api.resource_reference) = {type: "ps.example.com/Topic"}];
  string parent = 5 [(google.api.resource_reference) = {child_type: "ps.example.com/Topic"}];
  string unknown = 6 [(google.api.resource_reference) = {type: "other.example.com/Thing"}];
  string any = 7 [(google.api.resource_reference) = {type: "*"}];
}
message GetTopicRequest { string topic = 1 [(google.api.resource_reference) = {type: "ps.example.com/Topic"}]; }
message UpdateTopicRequest { Topic topic = 1; }
message GetDocumentRequest { string name = 1; }
message Document { string name = 1; string title = 2; }
service Publisher {
  rpc GetTopic(GetTopicRequest) returns (Topic);
  rpc CreateTopic(Topic) returns (Topic);
  rpc UpdateTopic(UpdateTopicRequest) returns (Topic);
  rpc GetSubscription(GetTopicRequest) returns (Subscription);
  rpc GetDocument(GetDocumentRequest) returns (Document);
}
`

func resourceSet(t *testing.T) (*protoload.Set, func(string) protoreflect.MethodDescriptor) {
	t.Helper()
	set, err := protoload.LoadSources(map[string]string{"ps/v1/ps.proto": resourceProto})
	if err != nil {
		t.Fatal(err)
	}
	svc := set.Services()[0]
	return set, func(name string) protoreflect.MethodDescriptor { return svc.Methods().ByName(protoreflect.Name(name)) }
}

// decodeAs reads b as the output of md.
func decodeAs(t *testing.T, md protoreflect.MethodDescriptor, b []byte) protoreflect.Message {
	t.Helper()
	m := dynamicpb.NewMessage(md.Output())
	if err := unmarshal(b, m, nil); err != nil {
		t.Fatal(err)
	}
	return m
}

func str(m protoreflect.Message, name string) string {
	return m.Get(m.Descriptor().Fields().ByName(protoreflect.Name(name))).String()
}

// Generated resource names follow the first pattern of the message's
// (google.api.resource), or of the type a (google.api.resource_reference)
// names, defined by a message or a file's resource_definition.
func TestGeneratedResourceNames(t *testing.T) {
	t.Parallel()
	set, method := resourceSet(t)
	var (
		topic  = regexp.MustCompile(`^projects/project-\d+/topics/topic-\d+$`)
		sub    = regexp.MustCompile(`^projects/project-\d+/subscriptions/subscription-\d+$`)
		key    = regexp.MustCompile(`^projects/project-\d+/keyRings/key-ring-\d+/keys/key-\d+$`)
		parent = regexp.MustCompile(`^projects/project-\d+$`)
	)
	names := map[string]bool{}
	for seed := uint64(0); seed < 20; seed++ {
		b := generatedAnswer(method("GetTopic"), set, seed, nil)
		if string(generatedAnswer(method("GetTopic"), set, seed, nil)) != string(b) {
			t.Fatalf("seed %d: not deterministic", seed)
		}
		tp := decodeAs(t, method("GetTopic"), b)
		names[str(tp, "name")] = true
		if !topic.MatchString(str(tp, "name")) || !key.MatchString(str(tp, "kms_key")) || topic.MatchString(str(tp, "label")) {
			t.Errorf("seed %d: Topic name %q, kms_key %q, label %q", seed, str(tp, "name"), str(tp, "kms_key"), str(tp, "label"))
		}
		s := decodeAs(t, method("GetSubscription"), generatedAnswer(method("GetSubscription"), set, seed, nil))
		if !sub.MatchString(str(s, "id")) || !topic.MatchString(str(s, "topic")) || !parent.MatchString(str(s, "parent")) {
			t.Errorf("seed %d: Subscription id %q, topic %q, parent %q", seed, str(s, "id"), str(s, "topic"), str(s, "parent"))
		}
		for _, f := range []string{"name", "unknown", "any"} { // not resource names of a known type
			if v := str(s, f); regexp.MustCompile(`/`).MatchString(v) {
				t.Errorf("seed %d: Subscription.%s = %q", seed, f, v)
			}
		}
		others := s.Get(s.Descriptor().Fields().ByName("others")).List()
		if others.Len() == 0 {
			t.Errorf("seed %d: no others", seed)
		}
		for i := 0; i < others.Len(); i++ {
			if !topic.MatchString(others.Get(i).String()) {
				t.Errorf("seed %d: others[%d] = %q", seed, i, others.Get(i).String())
			}
		}
	}
	if len(names) < 10 {
		t.Errorf("names vary too little: %v", names)
	}
}

// A generated answer takes the resource name its request carries: by
// type (GetTopic{topic}, CreateTopic(Topic), UpdateTopic{topic{name}}),
// or a plain name holding a '/' for a name field (GetDocument{name}).
func TestGeneratedResourceNameEchoed(t *testing.T) {
	t.Parallel()
	set, method := resourceSet(t)
	enc := func(md protoreflect.MessageDescriptor, set func(m protoreflect.Message)) []byte {
		m := dynamicpb.NewMessage(md)
		set(m)
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	setStr := func(name, v string) func(protoreflect.Message) {
		return func(m protoreflect.Message) {
			m.Set(m.Descriptor().Fields().ByName(protoreflect.Name(name)), protoreflect.ValueOfString(v))
		}
	}
	const want = "projects/p1/topics/t1"
	for _, tc := range []struct {
		method, field string
		req           func(protoreflect.Message)
		want          string
	}{
		{"GetTopic", "name", setStr("topic", want), want},
		{"CreateTopic", "name", setStr("name", want), want},
		{"UpdateTopic", "name", func(m protoreflect.Message) {
			fd := m.Descriptor().Fields().ByName("topic")
			setStr("name", want)(m.Mutable(fd).Message())
		}, want},
		{"GetDocument", "name", setStr("name", "projects/p1/databases/(default)/documents/c/d"), "projects/p1/databases/(default)/documents/c/d"},
		{"GetDocument", "name", setStr("name", "Ada"), ""},        // not a resource name: generated
		{"GetSubscription", "id", setStr("topic", want), ""},      // another type: generated
		{"GetSubscription", "topic", setStr("topic", want), want}, // a reference of that type
	} {
		md := method(tc.method)
		out := decodeAs(t, md, generatedAnswer(md, set, 7, enc(md.Input(), tc.req)))
		got := str(out, tc.field)
		if tc.want != "" && got != tc.want || tc.want == "" && (got == want || got == "Ada") {
			t.Errorf("%s: %s = %q, want %q", tc.method, tc.field, got, tc.want)
		}
	}
}
