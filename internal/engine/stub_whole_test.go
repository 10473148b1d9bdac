package engine

import (
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/stub"
)

// TestImmediateAndWhole: which stubs a loop may answer at once (Immediate)
// or after holding the answer (Whole).
func TestImmediateAndWhole(t *testing.T) {
	t.Parallel()
	d := stub.Duration(50 * time.Millisecond)
	resp := func(f func(r *stub.Response)) *stub.Response {
		r := &stub.Response{Status: 200}
		f(r)
		return r
	}
	tests := []struct {
		name             string
		s                stub.Stub
		immediate, whole bool
	}{
		{"plain", stub.Stub{Response: resp(func(*stub.Response) {})}, true, true},
		{"delay", stub.Stub{Response: resp(func(r *stub.Response) { r.Delay = &d })}, false, true},
		{"zero delay", stub.Stub{Response: resp(func(r *stub.Response) { z := stub.Duration(0); r.Delay = &z })}, true, true},
		{"uniform latency", stub.Stub{Response: resp(func(r *stub.Response) {
			r.Latency = &stub.Latency{Uniform: &stub.Uniform{Min: d, Max: 2 * d}}
		})}, false, true},
		{"spread latency", stub.Stub{Response: resp(func(r *stub.Response) { r.Delay = &d; r.LatencyMode = "spread" })}, false, false},
		{"fault", stub.Stub{Response: resp(func(r *stub.Response) { r.Faults = stub.Faults{{Kind: "reset"}} })}, false, false},
		{"throttle", stub.Stub{Response: resp(func(r *stub.Response) { r.Throttle = 1000 })}, false, false},
		{"sequence, one delayed", stub.Stub{Responses: []stub.Response{
			*resp(func(*stub.Response) {}), *resp(func(r *stub.Response) { r.Delay = &d }),
		}}, false, true},
		{"sequence, one faulty", stub.Stub{Responses: []stub.Response{
			*resp(func(r *stub.Response) { r.Delay = &d }), *resp(func(r *stub.Response) { r.Faults = stub.Faults{{Kind: "hang"}} }),
		}}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := mustCompile(t, srcs(tt.s))
			st := snap.Match(rq{}.req())
			if st == nil {
				t.Fatal("no match")
			}
			if st.Immediate() != tt.immediate || st.Whole() != tt.whole {
				t.Errorf("Immediate %v, Whole %v; want %v, %v", st.Immediate(), st.Whole(), tt.immediate, tt.whole)
			}
		})
	}
}
