package grpcfront_test

import (
	"strconv"
	"testing"
)

// TestInt64Matching: a stub for one 64-bit ID does not answer its
// neighbours, which float64 cannot tell from it.
func TestInt64Matching(t *testing.T) {
	t.Parallel()
	s := start(t, `
- id: one
  request:
    path: /shop.v1.Users/GetUser
    body: {jsonPath: [{path: $.id, equals: 1790000000000000001}]}
  response: {body: {name: one}}
- id: max
  request:
    path: /shop.v1.Users/GetUser
    body: {json: {id: 9223372036854775807}}
  response: {body: {name: max}}
`, opts{journal: 10})
	for _, tc := range []struct {
		id   int64
		want string // the stub's name; "" for a generated answer
	}{
		{1790000000000000001, "one"},
		{1790000000000000000, ""},
		{1790000000000000100, ""},
		{9223372036854775807, "max"},
		{9223372036854775806, ""},
	} {
		out := s.out(t, "shop.v1.User")
		if err := s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": "`+strconv.FormatInt(tc.id, 10)+`"}`), out); err != nil {
			t.Fatal(err)
		}
		name := out.Get(out.Descriptor().Fields().ByName("name")).String()
		if (tc.want == "" && (name == "one" || name == "max")) || (tc.want != "" && name != tc.want) {
			t.Errorf("id %d: answered %q, want %q", tc.id, name, tc.want)
		}
	}
}
