package match

import (
	"encoding/json"
	"testing"

	"github.com/decoy-dev/decoy/internal/stub"
)

// FuzzBodyMatcher runs a fuzzed body against a JSONPath matcher built from
// a fuzzed expression and expected value. Nothing may panic, and Match and
// Why must agree.
func FuzzBodyMatcher(f *testing.F) {
	seeds := []struct{ path, equals, body string }{
		{"$.user.id", "42", `{"user":{"id":42}}`},
		{"$.items[*].name", `"a"`, `{"items":[{"name":"a"},{"name":"b"}]}`},
		{"$..id", `{"x":1}`, `[{"id":{"x":1}}]`},
		{`$[?@.price < 10]`, ``, `[{"price":5},{"price":"x"}]`},
		{`$[?length(@.tags) > 1]`, ``, `[{"tags":[1,2]}]`},
		{`$[?match(@.n, "a.*")]`, ``, `[{"n":"abc"}]`},
		{`$[?search(@.n, "[")]`, ``, `[{"n":"abc"}]`},
		{"$[-1:0:-1]", `[3,2]`, `[1,2,3]`},
		{"$['a','b']", ``, `{"a":1,"b":2}`},
		{"$.a", "null", `{"a":null}`},
		{"$", `1e400`, `1e400`},
		{"$.a", ``, `{"a":` + string(make([]byte, 0)) + `[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}`},
		{"$[0:9223372036854775807:9223372036854775807]", ``, `[1,2]`},
	}
	for _, s := range seeds {
		f.Add(s.path, s.equals, s.body, "x", false)
	}
	f.Fuzz(func(t *testing.T, path, equals, body, contains string, absent bool) {
		if len(path) > 256 || len(body) > 4096 {
			return
		}
		jp := stub.JSONPathMatcher{Path: path, Contains: contains, Absent: absent}
		if equals != "" {
			var v any
			if json.Unmarshal([]byte(equals), &v) == nil {
				jp.Equals = v
			}
		}
		for _, m := range []stub.BodyMatcher{
			{JSONPath: []stub.JSONPathMatcher{jp}},
			{JSONPath: []stub.JSONPathMatcher{{Path: path}}},
			{JSON: jp.Equals},
		} {
			b, errs := CompileBody(m)
			if errs != nil {
				continue
			}
			ok := b.Match([]byte(body))
			if why := b.Why([]byte(body)); (why == "") != ok {
				t.Fatalf("Match = %v but Why = %q", ok, why)
			}
		}
	})
}
