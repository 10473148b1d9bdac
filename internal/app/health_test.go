package app_test

import (
	"encoding/json"
	"net/http"
	"runtime"
	"testing"
)

// TestHealthFieldsFromStart: /health has every field admin.md lists from
// the moment the admin API serves, before the saturation monitor's first
// one-second interval: acceptQueue (Linux) and schedLatencyP99Us (0 until
// an interval is measured).
func TestHealthFieldsFromStart(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	resp, err := http.Get(r.admin + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	want := []string{"status", "version", "stubs", "uptimeSeconds", "saturated", "cpuUtilization", "cpus", "saturationSignals", "schedLatencyP99Us"}
	if runtime.GOOS == "linux" {
		want = append(want, "acceptQueue")
	}
	for _, k := range want {
		if _, ok := doc[k]; !ok {
			t.Errorf("/health at start has no %q: %v", k, doc)
		}
	}
}
