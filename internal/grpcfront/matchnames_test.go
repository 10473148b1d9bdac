package grpcfront_test

import (
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/grpcfront"
	"github.com/decoy-dev/decoy/internal/protoload"
)

// namesProto has multi-word names at every level: in a nested message, a
// list, a map value and a client stream.
const namesProto = `
syntax = "proto3";
package mn.v1;
service S {
  rpc Find(FindRequest) returns (Reply);
  rpc Upload(stream Item) returns (Reply);
}
message Item { string item_id = 1; }
message Filter {
  string owner_id = 1;
  repeated Item extra_items = 2;
}
message FindRequest {
  int32 page_size = 1;
  Filter filter_spec = 2;
  repeated Item items = 3;
  map<string, Item> items_by_name = 4;
}
message Reply { string which = 1; }
`

// TestMatchersTakeProtoNames: a body matcher on a gRPC stub written with
// the .proto file's names matches, as one written with JSON names does.
func TestMatchersTakeProtoNames(t *testing.T) {
	t.Parallel()
	const find = "/mn.v1.S/Find"
	req := `{"pageSize": 20, "filterSpec": {"ownerId": "u1", "extraItems": [{"itemId": "a"}]},
	         "items": [{"itemId": "x"}, {"itemId": "b"}], "itemsByName": {"k_1": {"itemId": "c"}}}`
	cases := []struct {
		name, body string
		hit        bool
	}{
		{"jsonPath dot", `{jsonPath: [{path: $.page_size, equals: 20}]}`, true},
		{"jsonPath bracket", `{jsonPath: [{path: "$['page_size']", equals: 20}]}`, true},
		{"jsonPath double quotes", `{jsonPath: [{path: "$[\"page_size\"]", equals: 20}]}`, true},
		{"jsonPath nested", `{jsonPath: [{path: $.filter_spec.owner_id, equals: u1}]}`, true},
		{"jsonPath list index", `{jsonPath: [{path: "$.filter_spec.extra_items[0].item_id", equals: a}]}`, true},
		{"jsonPath wildcard", `{jsonPath: [{path: "$.items[*].item_id", equals: b}]}`, true},
		{"jsonPath map key kept", `{jsonPath: [{path: $.items_by_name.k_1.item_id, equals: c}]}`, true},
		{"jsonPath JSON names still", `{jsonPath: [{path: $.filterSpec.ownerId, equals: u1}]}`, true},
		{"jsonPath other value", `{jsonPath: [{path: $.page_size, equals: 21}]}`, false},
		{"json", `{json: {page_size: 20, filter_spec: {owner_id: u1, extra_items: [{item_id: a}]},
		  items: [{item_id: x}, {item_id: b}], items_by_name: {k_1: {item_id: c}}}}`, true},
		{"json other value", `{json: {page_size: 20}}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, `
- id: hit
  request: {path: /mn.v1.S/Find, body: `+tc.body+`}
  response: {body: {which: hit}}
- id: miss
  priority: 9
  request: {path: /mn.v1.S/Find}
  response: {body: {which: miss}}
`, opts{protos: map[string]string{"mn/v1/mn.proto": namesProto}})
			out := s.out(t, "mn.v1.Reply")
			if err := s.conn.Invoke(ctx(t), find, s.msg(t, "mn.v1.FindRequest", req), out); err != nil {
				t.Fatal(err)
			}
			want := `{"which":"miss"}`
			if tc.hit {
				want = `{"which":"hit"}`
			}
			if got := jsonOf(t, out); got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}

	t.Run("client stream", func(t *testing.T) {
		t.Parallel()
		s := start(t, `
- id: hit
  request: {path: /mn.v1.S/Upload, body: {jsonPath: [{path: "$[1].item_id", equals: b}]}}
  response: {body: {which: hit}}
`, opts{protos: map[string]string{"mn/v1/mn.proto": namesProto}})
		cs := streamOf(t, s, ctx(t), "/mn.v1.S/Upload", true, false)
		for _, id := range []string{"a", "b"} {
			if err := cs.SendMsg(s.msg(t, "mn.v1.Item", `{"itemId": "`+id+`"}`)); err != nil {
				t.Fatal(err)
			}
		}
		if err := cs.CloseSend(); err != nil {
			t.Fatal(err)
		}
		out := s.out(t, "mn.v1.Reply")
		if err := cs.RecvMsg(out); err != nil {
			t.Fatal(err)
		}
		if got := jsonOf(t, out); got != `{"which":"hit"}` {
			t.Errorf("got %s", got)
		}
	})
}

// TestCheckReportsUnknownMatcherNames: a matcher name that is no field of
// the input type (in either form) is reported at load, with a suggestion
// when one is close; HTTP stubs are not looked at.
func TestCheckReportsUnknownMatcherNames(t *testing.T) {
	t.Parallel()
	set, err := protoload.LoadSources(map[string]string{"mn/v1/mn.proto": namesProto})
	if err != nil {
		t.Fatal(err)
	}
	l, err := config.LoadStubBytes("stubs.yaml", []byte(`
- request:
    path: /mn.v1.S/Find
    body:
      jsonPath:
        - {path: $.page_sise, equals: 1}
        - {path: "$.filter_spec['ownr_id']"}
        - {path: $.nothing_like_it}
        - {path: "$..anything"}
        - {path: "$.items[?@.item_id == 'a']"}
        - {path: $.items_by_name.any_key.item_id}
- request:
    path: /mn.v1.S/Upload
    body: {json: [{itemid: a}, {item_id: b}]}
- request: {path: /not/grpc, body: {jsonPath: [{path: $.page_sise}], json: {nope: 1}}}
  response: {body: ok}
- request:
    path: /mn.v1.S/Upload
    body: {form: {item_id: a}}
`))
	if err != nil {
		t.Fatal(err)
	}
	errs := grpcfront.Check(set, l.Sources)
	if errs == nil {
		t.Fatal("no problem reported")
	}
	got := l.Locate(errs).Error()
	want := []string{
		`stubs.yaml:6: [0].request.body.jsonPath[0].path: $.page_sise: mn.v1.FindRequest has no field "page_sise" (did you mean pageSize?)`,
		`stubs.yaml:7: [0].request.body.jsonPath[1].path: $.filter_spec['ownr_id']: mn.v1.Filter has no field "ownr_id" (did you mean ownerId?)`,
		`stubs.yaml:8: [0].request.body.jsonPath[2].path: $.nothing_like_it: mn.v1.FindRequest has no field "nothing_like_it" (its fields: pageSize, filterSpec, items, itemsByName)`,
		`stubs.yaml:14: [1].request.body.json[0].itemid: mn.v1.Item has no field "itemid" (did you mean itemId?)`,
		`stubs.yaml:19: [3].request.body.form: a gRPC message is not a form: match it with json or jsonPath`,
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	if n := strings.Count(got, "\n") + 1; n != len(want) {
		t.Errorf("%d problems, want %d:\n%s", n, len(want), got)
	}
}
