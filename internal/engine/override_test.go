package engine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/stub"
)

func fixedLatency(d time.Duration) *stub.Latency {
	f := stub.Duration(d)
	return &stub.Latency{Fixed: &f}
}

func TestStoreOverride(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		o         Override
		touched   []string // stubs whose responses get the override
		untouched []string
	}{
		{"latency on all", Override{Latency: fixedLatency(40 * time.Millisecond)}, []string{"users", "flaky", "other-seq"}, nil},
		{"faults on one", Override{Faults: stub.Faults{{Kind: "reset"}}, Stubs: []string{"users"}}, []string{"users"}, []string{"flaky", "other-seq"}},
		{"both on two", Override{Latency: fixedLatency(time.Millisecond), Faults: stub.Faults{{Kind: "empty"}}, Stubs: []string{"users", "flaky"}}, []string{"users", "flaky"}, []string{"other-seq"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := newStore(t)
			before := st.Engine().Snapshot()
			if _, ok := st.Override(); ok {
				t.Fatal("an override before any was set")
			}
			state, err := st.SetOverride(tt.o)
			if err != nil {
				t.Fatalf("SetOverride: %v", err)
			}
			if state.Set.IsZero() || !state.Expires.IsZero() {
				t.Errorf("state %+v: want Set, no Expires", state)
			}
			snap := st.Engine().Snapshot()
			for _, id := range tt.touched {
				for i, r := range snap.Get(id).Responses() {
					b := r.Behave
					if b == nil {
						t.Fatalf("%s response %d: no behaviour", id, i)
					}
					if tt.o.Latency != nil && b.Latency == nil {
						t.Errorf("%s response %d: no latency", id, i)
					}
					if len(tt.o.Faults) > 0 && b.Faults == nil {
						t.Errorf("%s response %d: no faults", id, i)
					}
				}
				if !snap.Get(id).counted {
					t.Errorf("%s: not counted under a latency or fault override", id)
				}
				if snap.Get(id).Stats() != before.Get(id).Stats() {
					t.Errorf("%s: the override lost the stub's statistics", id)
				}
			}
			for _, id := range tt.untouched {
				if snap.Get(id).Responses()[0] != before.Get(id).Responses()[0] {
					t.Errorf("%s: untouched stub's response was copied", id)
				}
			}
			// A change while the override is in place keeps it.
			if _, err := st.Create(withID("late", meth("GET", path("/late"))), "api"); err != nil {
				t.Fatal(err)
			}
			late := st.Engine().Snapshot().Get("late").Responses()[0].Behave
			if all := len(tt.o.Stubs) == 0; all != (late != nil) {
				t.Errorf("stub created under the override: behaviour %v, want one only for an all-stubs override", late)
			}
			if ok, err := st.ClearOverride(); !ok || err != nil {
				t.Fatalf("ClearOverride = %v, %v", ok, err)
			}
			snap = st.Engine().Snapshot()
			for _, id := range append(tt.touched, tt.untouched...) {
				for i, r := range snap.Get(id).Responses() {
					if r != before.Get(id).Responses()[i] {
						t.Errorf("%s response %d: not restored to the compiled one", id, i)
					}
				}
			}
			if ok, _ := st.ClearOverride(); ok {
				t.Error("a second ClearOverride found an override")
			}
		})
	}
}

func TestStoreOverrideInvalid(t *testing.T) {
	t.Parallel()
	neg := stub.Duration(-time.Second)
	p := 2.0
	tests := []struct {
		name  string
		o     Override
		field string
	}{
		{"nothing", Override{}, "latency"},
		{"negative latency", Override{Latency: &stub.Latency{Fixed: &neg}}, "latency"},
		{"unknown profile", Override{Latency: &stub.Latency{Profile: "nope"}}, "latency"},
		{"unknown fault", Override{Faults: stub.Faults{{Kind: "explode"}}}, "faults[0]"},
		{"probability", Override{Faults: stub.Faults{{Kind: "reset", Probability: &p}}}, "faults[0]"},
		{"unknown stub", Override{Latency: fixedLatency(time.Millisecond), Stubs: []string{"users", "ghost"}}, "stubs[1]"},
		{"negative ttl", Override{Latency: fixedLatency(time.Millisecond), TTL: -1}, "ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := newStore(t)
			v, snap := st.Version(), st.Engine().Snapshot()
			_, err := st.SetOverride(tt.o)
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err %v, want Errors", err)
			}
			if !strings.HasPrefix(errs[0].Field, tt.field) {
				t.Errorf("field %q, want %q...", errs[0].Field, tt.field)
			}
			if st.Version() != v || st.Engine().Snapshot() != snap {
				t.Error("an invalid override changed the snapshot")
			}
			if _, ok := st.Override(); ok {
				t.Error("an invalid override was kept")
			}
		})
	}
}

func TestStoreOverrideTTL(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	before := st.Engine().Snapshot().Get("users").Responses()[0]
	// A first override with a short TTL is replaced by one without: the
	// first timer must not remove the second.
	if _, err := st.SetOverride(Override{Latency: fixedLatency(time.Millisecond), TTL: stub.Duration(20 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetOverride(Override{Latency: fixedLatency(2 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	if _, ok := st.Override(); !ok {
		t.Fatal("a replaced override's timer removed its successor")
	}
	state, err := st.SetOverride(Override{Faults: stub.Faults{{Kind: "reset"}}, TTL: stub.Duration(30 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	if state.Expires.Sub(state.Set) != 30*time.Millisecond {
		t.Errorf("expires %v after set, want 30ms", state.Expires.Sub(state.Set))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := st.Override(); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the override outlived its TTL by 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st.Engine().Snapshot().Get("users").Responses()[0] != before {
		t.Error("the expired override did not restore the compiled response")
	}
}
