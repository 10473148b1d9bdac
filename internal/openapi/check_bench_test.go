package openapi_test

import (
	"testing"
)

// BenchmarkCheck runs an operation's compiled check on a valid request:
// scalar parameters (the common case, checked without allocating), an
// Accept header to negotiate, a JSON body seen before.
func BenchmarkCheck(b *testing.B) {
	snap := snapshot(b, "testdata/validate.yaml", "enforce")
	cases := []struct{ name, method, target, headers, body string }{
		{"params", "GET", "/api/items/7?limit=100&sort=asc", "X-Trace: abc123", ""},
		{"params+accept", "GET", "/api/items/7?limit=100&sort=asc", "X-Trace: abc123\nAccept: text/html;q=0.9, application/json;q=0.8", ""},
		{"json-body", "PUT", "/api/users/42?dry=true", "Content-Type: application/json", `{"name":"Ann","age":40,"address":{"zip":"12345","city":"Oslo"}}`},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r := newRequest(c.method, c.target, c.headers, []byte(c.body))
			st := snap.Match(r)
			if st == nil || st.Check() == nil {
				b.Fatal("no checked stub")
			}
			chk := st.Check()
			if v := chk.Check(r); v != nil {
				b.Fatalf("not valid: %+v", v)
			}
			b.ReportAllocs()
			for b.Loop() {
				if chk.Check(r) != nil {
					b.Fatal("not valid")
				}
			}
		})
	}
}
