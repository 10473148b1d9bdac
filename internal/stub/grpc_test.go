package stub_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/stub"
	"github.com/goccy/go-yaml"
)

func TestGRPCResponseDecodes(t *testing.T) {
	t.Parallel()
	const src = `
request: {path: /demo.Users/GetUser}
response:
  body: {id: 42}
  grpc:
    status: not_found
    message: no such user
    details:
      - {"@type": type.googleapis.com/google.rpc.BadRequest, fieldViolations: [{field: id}]}
    trailers: {x-trace: abc}
    stream:
      - {body: {id: 1}, delay: 10ms}
      - body: {id: 2}
    interval: 5
    echo: true
`
	var s stub.Stub
	if err := yaml.UnmarshalWithOptions([]byte(src), &s, yaml.DisallowUnknownField()); err != nil {
		t.Fatal(err)
	}
	g := s.Response.GRPC
	if g == nil || g.Status != 5 || g.Message != "no such user" || len(g.Details) != 1 || !g.Echo {
		t.Fatalf("decoded %+v", g)
	}
	if got := string(g.Details[0].JSON()); !strings.Contains(got, `"@type":"type.googleapis.com/google.rpc.BadRequest"`) {
		t.Errorf("details[0] = %s", got)
	}
	if len(g.Stream) != 2 || g.Stream[0].Delay.D().Milliseconds() != 10 || string(g.Stream[1].Body.JSON()) != `{"id":2}` {
		t.Errorf("stream = %+v", g.Stream)
	}
	if g.Interval.D().Milliseconds() != 5 || g.Trailers["x-trace"][0] != "abc" {
		t.Errorf("interval/trailers = %v %v", g.Interval, g.Trailers)
	}
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"status":"NOT_FOUND"`) {
		t.Errorf("marshalled %s", b)
	}
	var back stub.GRPCResponse
	if err := json.Unmarshal(b, &back); err != nil || back.Status != 5 {
		t.Errorf("round trip: %v %+v", err, back)
	}
}

func TestParseGRPCCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want stub.GRPCCode
		ok   bool
	}{
		{"OK", 0, true},
		{"NOT_FOUND", 5, true},
		{"NotFound", 5, true},
		{"not_found", 5, true},
		{"canceled", 1, true},
		{"16", 16, true},
		{"17", 0, false},
		{"-1", 0, false},
		{"NOPE", 0, false},
	} {
		got, err := stub.ParseGRPCCode(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseGRPCCode(%q) = %v, %v", tc.in, got, err)
		}
	}
	var c stub.GRPCCode
	for _, bad := range []string{`1.5`, `true`, `"x"`} {
		if err := json.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if err := json.Unmarshal([]byte(`14`), &c); err != nil || c.String() != "UNAVAILABLE" {
		t.Errorf("14: %v %v", c, err)
	}
}
