package grpcfront_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestRPCMetrics: every call of a loaded service is counted by method
// and the status code it ended with.
func TestRPCMetrics(t *testing.T) {
	t.Parallel()
	s := start(t, unaryStubs+`
- request: {path: /shop.v1.Users/GetUser, body: {jsonPath: [{path: $.id, equals: 9}]}}
  response: {faults: [{kind: reset, h2: {rstStream: CANCEL}}]}
`)
	call := func(path, body string, want codes.Code) {
		t.Helper()
		err := s.conn.Invoke(ctx(t), path, s.msg(t, "shop.v1.GetUserRequest", body), s.out(t, "shop.v1.User"))
		if status.Code(err) != want {
			t.Fatalf("%s %s: %v, want %v", path, body, err, want)
		}
	}
	for range 3 {
		call(getUser, `{"id": 1}`, codes.OK)
	}
	call(getUser, `{"id": 404}`, codes.InvalidArgument)
	call(getUser, `{"id": 9}`, codes.Canceled)
	call("/shop.v1.Users/Nope", `{}`, codes.Unimplemented)
	cs := streamOf(t, s, ctx(t), listUsers, false, true)
	_ = cs.SendMsg(s.msg(t, "shop.v1.ListUsersRequest", `{}`))
	_ = cs.CloseSend()
	for cs.RecvMsg(s.out(t, "shop.v1.User")) == nil {
	}

	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(s.front.Collector()); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "decoy_grpc_requests_total" {
			t.Errorf("unexpected metric %s", f.GetName())
		}
		for _, m := range f.GetMetric() {
			var method, code string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "method":
					method = l.GetValue()
				case "code":
					code = l.GetValue()
				}
			}
			got[method+" "+code] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		getUser + " OK":               3,
		getUser + " INVALID_ARGUMENT": 1,
		getUser + " CANCELLED":        1,
		listUsers + " OK":             1,
		"- UNIMPLEMENTED":             1,
	}
	if len(got) != len(want) {
		t.Errorf("series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}
