package admin_test

import (
	"strings"
	"testing"
	"time"
)

type behaviourState struct {
	Active  bool      `json:"active"`
	Latency any       `json:"latency"`
	Faults  []any     `json:"faults"`
	Stubs   []string  `json:"stubs"`
	TTL     string    `json:"ttl"`
	Set     time.Time `json:"set"`
	Expires time.Time `json:"expires"`
}

func TestBehavioursSetGetClear(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		stubs   []string // stubs that get a behaviour
		expires bool
	}{
		{"latency on all", `{"latency": "250ms"}`, []string{"hello", "seq"}, false},
		{"faults on one", `{"faults": [{"kind": "reset", "probability": 0.05}], "stubs": ["hello"]}`, []string{"hello"}, false},
		{"profile-free distribution with ttl", `{"latency": "10ms..50ms", "ttl": "60s"}`, []string{"hello", "seq"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			var st behaviourState
			e.json("GET", "/behaviours", "").want(t, 200).decode(t, &st)
			if st.Active {
				t.Fatalf("active before any PUT: %+v", st)
			}
			e.json("PUT", "/behaviours", tt.body).want(t, 200).decode(t, &st)
			if !st.Active || st.Set.IsZero() || st.Expires.IsZero() == tt.expires {
				t.Fatalf("after PUT: %+v", st)
			}
			var got behaviourState
			e.json("GET", "/behaviours", "").want(t, 200).decode(t, &got)
			if !got.Active || !got.Set.Equal(st.Set) {
				t.Fatalf("GET after PUT: %+v, want %+v", got, st)
			}
			snap := e.store.Engine().Snapshot()
			for _, s := range snap.Stubs() {
				want := strings.Contains(strings.Join(tt.stubs, ","), s.ID)
				if has := s.Responses()[0].Behave != nil; has != want {
					t.Errorf("stub %s: behaviour %v, want %v", s.ID, has, want)
				}
			}
			e.json("DELETE", "/behaviours", "").want(t, 204)
			e.json("GET", "/behaviours", "").want(t, 200).decode(t, &got)
			if got.Active {
				t.Fatalf("active after DELETE: %+v", got)
			}
			for _, s := range e.store.Engine().Snapshot().Stubs() {
				if s.Responses()[0].Behave != nil {
					t.Errorf("stub %s keeps a behaviour after DELETE", s.ID)
				}
			}
			e.json("DELETE", "/behaviours", "").want(t, 204)
		})
	}
}

func TestBehavioursBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, field string
	}{
		{"empty", ``, ""},
		{"nothing to lay", `{"stubs": ["hello"]}`, "latency"},
		{"negative delay", `{"latency": "-5ms"}`, "latency"},
		{"p99 below p50", `{"latency": {"percentiles": {"p50": "40ms", "p99": "10ms"}}}`, "latency.percentiles"},
		{"unknown profile", `{"latency": "slow-3g"}`, "latency"},
		{"probability above 1", `{"faults": [{"kind": "reset", "probability": 1.5}]}`, "faults[0].probability"},
		{"unknown fault", `{"faults": "explode"}`, "faults[0].kind"},
		{"unknown stub", `{"latency": "1ms", "stubs": ["hello", "ghost"]}`, "stubs[1]"},
		{"bad ttl", `{"latency": "1ms", "ttl": "soon"}`, "ttl"},
		{"negative ttl", `{"latency": "1ms", "ttl": "-1s"}`, "ttl"},
		{"unknown field", `{"latency": "1ms", "for": "60s"}`, "for"},
		{"not an object", `[1]`, ""},
		{"an empty list", `[]`, ""},
		{"a string", `"250ms"`, ""},
		{"stubs not a list", `{"latency": "1ms", "stubs": "hello"}`, "stubs"},
		{"trailing data", `{"latency": "1ms"} {}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			// An override in place must survive a bad PUT untouched.
			var before behaviourState
			e.json("PUT", "/behaviours", `{"latency": "7ms", "stubs": ["seq"]}`).want(t, 200).decode(t, &before)
			v := e.store.Version()
			p := e.json("PUT", "/behaviours", tt.body).want(t, 400).problem(t)
			if tt.field != "" {
				found := false
				for _, d := range p.Errors {
					found = found || strings.HasPrefix(d.Field, tt.field)
				}
				if !found {
					t.Errorf("no error names %q: %+v", tt.field, p)
				}
			}
			// In the user's words: no Go type names.
			for _, d := range p.Errors {
				for _, goWord := range []string{"Go ", "engine.", "stub.", "[]string"} {
					if strings.Contains(d.Message, goWord) {
						t.Errorf("%s: %q speaks Go", d.Field, d.Message)
					}
				}
			}
			if e.store.Version() != v {
				t.Error("a bad PUT installed a snapshot")
			}
			var after behaviourState
			e.json("GET", "/behaviours", "").want(t, 200).decode(t, &after)
			if !after.Active || !after.Set.Equal(before.Set) || len(after.Stubs) != 1 {
				t.Errorf("a bad PUT changed the override: %+v, was %+v", after, before)
			}
		})
	}
}

func TestBehavioursTTLReverts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.json("PUT", "/behaviours", `{"faults": "reset", "ttl": "50ms"}`).want(t, 200)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st behaviourState
		e.json("GET", "/behaviours", "").want(t, 200).decode(t, &st)
		if !st.Active {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the override is still active 10s after a 50ms ttl")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, s := range e.store.Engine().Snapshot().Stubs() {
		if s.Responses()[0].Behave != nil {
			t.Errorf("stub %s keeps a behaviour after the ttl", s.ID)
		}
	}
}
