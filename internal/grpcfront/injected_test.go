package grpcfront_test

import (
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/journal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestInjectedCounted: the delay and the fault a call gets are counted in
// the stub's statistics, and the journal names the fault.
func TestInjectedCounted(t *testing.T) {
	t.Parallel()
	s := start(t, `
- id: slow
  request: {path: /shop.v1.Users/GetUser, body: {jsonPath: [{path: $.id, equals: 1}]}}
  response: {delay: 20ms, body: {id: 1}}
- id: broken
  request: {path: /shop.v1.Users/GetUser, body: {jsonPath: [{path: $.id, equals: 2}]}}
  response: {faults: [{kind: error, status: 503}]}
`, opts{journal: 100})
	for range 3 {
		if err := s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 1}`), s.out(t, "shop.v1.User")); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		err := s.conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 2}`), s.out(t, "shop.v1.User"))
		if status.Code(err) != codes.Unavailable {
			t.Errorf("faulted call: %v, want UNAVAILABLE", err)
		}
	}
	snap := s.store.Engine().Snapshot()
	if v := snap.Get("slow").Stats().ReadInjected(); v.Delay != 60*time.Millisecond || v.Faults != [len(v.Faults)]uint64{} {
		t.Errorf("slow: injected %+v, want 60ms and no fault", v)
	}
	v := snap.Get("broken").Stats().ReadInjected()
	if v.Delay != 0 || v.Faults[behave.FaultError] != 2 {
		t.Errorf("broken: injected %+v, want 2 error faults", v)
	}
	// The journal records a call just after answering it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var faults, total int
		for _, e := range s.journal.Find(journal.Filter{}) {
			total++
			if e.Fault == "error" && e.Stub == "broken" {
				faults++
			} else if e.Fault != "" {
				t.Fatalf("entry %+v: unexpected fault", e)
			}
		}
		if total == 5 {
			if faults != 2 {
				t.Errorf("%d journal entries with fault error, want 2", faults)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d journal entries, want 5", total)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
