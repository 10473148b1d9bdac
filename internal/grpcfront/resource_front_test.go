package grpcfront_test

import (
	"regexp"
	"testing"
)

const topicProto = `syntax = "proto3";
package ps.v1;
import "google/api/resource.proto";
message Topic {
  option (google.api.resource) = {type: "ps.example.com/Topic" pattern: "projects/{project}/topics/{topic}"};
  string name = 1;
}
message GetTopicRequest { string topic = 1 [(google.api.resource_reference) = {type: "ps.example.com/Topic"}]; }
message ListTopicsResponse { repeated Topic topics = 1; string next_page_token = 2; }
message ListTopicsRequest { string project = 1; }
service Publisher {
  rpc GetTopic(GetTopicRequest) returns (Topic);
  rpc ListTopics(ListTopicsRequest) returns (ListTopicsResponse);
}
`

// Over the wire, with no stub: a GetTopic answer is named as asked, and
// the topics of a list answer have names of their pattern.
func TestGeneratedResourceNamesServed(t *testing.T) {
	t.Parallel()
	s := start(t, "", opts{protos: map[string]string{"ps/v1/ps.proto": topicProto}})
	out := s.out(t, "ps.v1.Topic")
	if err := s.conn.Invoke(ctx(t), "/ps.v1.Publisher/GetTopic", s.msg(t, "ps.v1.GetTopicRequest", `{"topic":"projects/p1/topics/t1"}`), out); err != nil {
		t.Fatal(err)
	}
	if got := jsonOf(t, out); got != `{"name":"projects/p1/topics/t1"}` {
		t.Errorf("GetTopic: %s", got)
	}
	list := s.out(t, "ps.v1.ListTopicsResponse")
	if err := s.conn.Invoke(ctx(t), "/ps.v1.Publisher/ListTopics", s.msg(t, "ps.v1.ListTopicsRequest", `{"project":"projects/p1"}`), list); err != nil {
		t.Fatal(err)
	}
	if got := jsonOf(t, list); !regexp.MustCompile(`^\{"topics":\[\{"name":"projects/project-\d+/topics/topic-\d+"\}(,\{"name":"projects/project-\d+/topics/topic-\d+"\})*\]\}$`).MatchString(got) {
		t.Errorf("ListTopics: %s", got)
	}
}
