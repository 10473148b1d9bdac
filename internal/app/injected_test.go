package app_test

import (
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/stub"
)

func injectedStubs() []engine.Source {
	return []engine.Source{
		{Stub: stub.Stub{ID: "slow", Request: stub.Request{Path: "/slow"},
			Response: &stub.Response{Body: stub.Text("late"), Delay: new(stub.Duration(20 * time.Millisecond))}}},
		{Stub: stub.Stub{ID: "broken", Request: stub.Request{Path: "/broken"},
			Response: &stub.Response{Faults: stub.Faults{{Kind: "error", Status: 503}}}}},
		{Stub: stub.Stub{ID: "gone", Request: stub.Request{Path: "/gone"},
			Response: &stub.Response{Faults: stub.Faults{{Kind: "reset"}}}}},
		{Stub: stub.Stub{ID: "plain", Request: stub.Request{Path: "/plain"},
			Response: &stub.Response{Body: stub.Text("ok")}}},
	}
}

// TestInjectedMetrics: the delay and faults stubs inject are counted
// exactly in /metrics, over HTTP/1.1 and HTTP/2 on both engines, and the
// journal names the fault.
func TestInjectedMetrics(t *testing.T) {
	t.Parallel()
	for _, eng := range []string{"decoy", "go"} {
		t.Run("http2-engine="+eng, func(t *testing.T) {
			t.Parallel()
			r := startWith(t, injectedStubs(), func(s *config.Settings) { s.HTTP2Engine = eng })
			h1, h2 := r.h1("127.0.0.1"), r.h2c()
			for range 3 {
				do(t, h1, r.http+"/slow", false)
			}
			for range 2 {
				if resp := do(t, h2, r.http+"/slow", false); resp.ProtoMajor != 2 {
					t.Fatalf("h2c client got HTTP/%d", resp.ProtoMajor)
				}
			}
			for range 2 {
				if resp := do(t, h1, r.http+"/broken", false); resp.StatusCode != 503 {
					t.Errorf("HTTP/1.1 /broken: %d, want the injected 503", resp.StatusCode)
				}
			}
			if resp := do(t, h2, r.http+"/broken", false); resp.StatusCode != 503 {
				t.Errorf("h2c /broken: %d, want the injected 503", resp.StatusCode)
			}
			if resp, err := r.h1("127.0.0.1").Get(r.http + "/gone"); err == nil {
				resp.Body.Close()
				t.Errorf("HTTP/1.1 /gone answered %d, want a reset", resp.StatusCode)
			}
			do(t, h1, r.http+"/plain", false)

			f := r.scrape(t)
			if got := f.value("decoy_injected_delay_seconds_total", "stub=slow"); got != 0.1 {
				t.Errorf("decoy_injected_delay_seconds_total{stub=slow} = %v, want 0.1 (5 × 20ms)", got)
			}
			if got := f.value("decoy_faults_total", "kind=error,stub=broken"); got != 3 {
				t.Errorf(`decoy_faults_total{stub="broken",kind="error"} = %v, want 3`, got)
			}
			if got := f.value("decoy_faults_total", "kind=reset,stub=gone"); got != 1 {
				t.Errorf(`decoy_faults_total{stub="gone",kind="reset"} = %v, want 1`, got)
			}
			for _, labels := range []string{"stub=plain", "stub=broken", "stub=gone"} {
				if got := f.value("decoy_injected_delay_seconds_total", labels); got != -1 {
					t.Errorf("decoy_injected_delay_seconds_total{%s} = %v, want no sample", labels, got)
				}
			}
			if fam := f["decoy_faults_total"]; fam == nil || len(fam.GetMetric()) != 2 {
				t.Errorf("decoy_faults_total: %v, want two series", fam)
			}

			var list struct {
				Requests []journal.Entry `json:"requests"`
			}
			getJSON(t, r.admin+"/requests", &list)
			faults := map[string]int{}
			for _, e := range list.Requests {
				switch {
				case e.Stub == "broken" && e.Fault != "error":
					t.Errorf("journal: %s %s fault %q, want error", e.Proto, e.URI, e.Fault)
				case (e.Stub == "slow" || e.Stub == "plain") && e.Fault != "":
					t.Errorf("journal: %s %s fault %q, want none", e.Proto, e.URI, e.Fault)
				}
				faults[e.Fault]++
			}
			if faults["error"] == 0 {
				t.Errorf("journal: no entry with fault error among %d", len(list.Requests))
			}
			h1.CloseIdleConnections()
			h2.CloseIdleConnections()
		})
	}
}
