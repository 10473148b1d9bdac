package workers

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// A behaviour override replayed to a worker started again ends when it
// ends on the others: it gets the ttl it has left, and one whose ttl ran
// out is removed rather than set again for a whole ttl.
func TestChangeAsReplayed(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	put := func(body string) change {
		return change{method: http.MethodPut, uri: "/behaviours", ctype: "application/json", body: []byte(body), at: at}
	}
	tests := []struct {
		name       string
		c          change
		after      time.Duration
		wantMethod string
		wantTTL    any // nil: the body as it was
	}{
		{"ttl left", put(`{"latency":"2s","ttl":"60s"}`), 20 * time.Second, http.MethodPut, 40000.0},
		{"ttl in milliseconds", put(`{"latency":"2s","ttl":1500}`), time.Second, http.MethodPut, 500.0},
		{"ttl run out", put(`{"latency":"2s","ttl":"60s"}`), time.Minute, http.MethodDelete, nil},
		{"no ttl", put(`{"latency":"2s"}`), time.Hour, http.MethodPut, nil},
		{"other changes", change{method: http.MethodPost, uri: "/stubs", body: []byte(`{"ttl":"1s"}`), at: at}, time.Hour, http.MethodPost, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.c.asReplayed(at.Add(tc.after))
			if got.method != tc.wantMethod {
				t.Fatalf("replayed as %s %s, want %s", got.method, got.uri, tc.wantMethod)
			}
			if tc.wantTTL == nil {
				if got.method != http.MethodDelete && string(got.body) != string(tc.c.body) {
					t.Errorf("body %s, want it unchanged", got.body)
				}
				return
			}
			var o map[string]any
			if err := json.Unmarshal(got.body, &o); err != nil {
				t.Fatal(err)
			}
			if o["ttl"] != tc.wantTTL || o["latency"] != "2s" {
				t.Errorf("replayed body %s, want ttl %v and the rest as it was", got.body, tc.wantTTL)
			}
		})
	}
}
