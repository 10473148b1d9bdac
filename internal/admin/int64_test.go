package admin_test

import (
	"testing"

	"github.com/decoy-dev/decoy/internal/engine"
)

// TestJSONStubKeepsLargeIntegers: a stub posted as JSON with a 64-bit ID in
// a body matcher matches that ID only, not the neighbours that share its
// float64.
func TestJSONStubKeepsLargeIntegers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.json("POST", "/stubs", `{"id":"big","request":{"method":"POST","path":"/ids","body":{"jsonPath":[{"path":"$.n","equals":1790000000000000001}]}},"response":{"body":"one"}}`).want(t, 201)
	for _, tc := range []struct {
		body string
		want bool
	}{
		{`{"n":1790000000000000001}`, true},
		{`{"n":1790000000000000000}`, false},
		{`{"n":1790000000000000100}`, false},
	} {
		got := e.store.Engine().Match(&engine.Request{Method: "POST", Path: "/ids", Body: []byte(tc.body)})
		if (got != nil && got.ID == "big") != tc.want {
			t.Errorf("%s: matched %v, want %v", tc.body, got != nil, tc.want)
		}
	}
}
