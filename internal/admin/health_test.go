package admin_test

import (
	"slices"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/admin"
	"github.com/decoy-dev/decoy/internal/metrics"
)

// TestHealthSaturation: /health names the saturation signals that are on
// and the last accept-queue and scheduling-delay readings, and leaves out
// what was not measured.
func TestHealthSaturation(t *testing.T) {
	t.Parallel()
	type health struct {
		Saturated         bool     `json:"saturated"`
		SaturationSignals []string `json:"saturationSignals"`
		AcceptQueue       *int     `json:"acceptQueue"`
		SchedLatencyP99US *int64   `json:"schedLatencyP99Us"`
	}
	sat := metrics.NewSaturation(metrics.SaturationOptions{CPUs: 1})
	now := time.Unix(0, 0)
	sat.ObserveReading(now, metrics.Reading{})
	for range 6 {
		now = now.Add(time.Second)
		sat.ObserveReading(now, metrics.Reading{AcceptQueue: 3, SchedP99: 8 * time.Millisecond})
	}
	tests := []struct {
		name    string
		sat     *metrics.Saturation
		want    health
		queue   int
		schedUS int64
	}{
		{"not measured", nil, health{SaturationSignals: []string{}}, -1, -1},
		{"queue and scheduling delay", sat, health{Saturated: true, SaturationSignals: []string{"accept-queue", "sched-latency"}}, 3, 8000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(o *admin.Options) { o.Saturation = tt.sat })
			var h health
			e.do("GET", "/health", "", nil).want(t, 200).decode(t, &h)
			if h.Saturated != tt.want.Saturated || !slices.Equal(h.SaturationSignals, tt.want.SaturationSignals) || h.SaturationSignals == nil {
				t.Errorf("saturated %v, signals %#v; want %v, %#v", h.Saturated, h.SaturationSignals, tt.want.Saturated, tt.want.SaturationSignals)
			}
			switch {
			case tt.queue < 0 && h.AcceptQueue != nil, tt.queue >= 0 && (h.AcceptQueue == nil || *h.AcceptQueue != tt.queue):
				t.Errorf("acceptQueue %v, want %d (-1: absent)", h.AcceptQueue, tt.queue)
			}
			switch {
			case tt.schedUS < 0 && h.SchedLatencyP99US != nil, tt.schedUS >= 0 && (h.SchedLatencyP99US == nil || *h.SchedLatencyP99US != tt.schedUS):
				t.Errorf("schedLatencyP99Us %v, want %d (-1: absent)", h.SchedLatencyP99US, tt.schedUS)
			}
		})
	}
}
