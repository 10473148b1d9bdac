package httpfront_test

import (
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/metrics"
)

// TestSaturatedHeader: with a monitor set, responses carry
// Decoy-Saturated: 1 while it reports saturation, over every protocol, and
// not otherwise.
func TestSaturatedHeader(t *testing.T) {
	t.Parallel()
	sat := metrics.NewSaturation(metrics.SaturationOptions{CPUs: 1})
	f := start(t, httpfront.Options{Saturation: sat})
	clients := []struct {
		name string
		get  func() (string, int)
	}{
		{"HTTP/1.1", func() (string, int) {
			r, _ := get(t, f.h1(), "http://"+f.http+"/users/1")
			return r.Header.Get("Decoy-Saturated"), r.ProtoMajor
		}},
		{"h2c", func() (string, int) {
			r, _ := get(t, f.h2c(), "http://"+f.http+"/users/1")
			return r.Header.Get("Decoy-Saturated"), r.ProtoMajor
		}},
		{"TLS h2", func() (string, int) {
			r, _ := get(t, f.tlsClient(true), "https://"+f.https+"/users/1")
			return r.Header.Get("Decoy-Saturated"), r.ProtoMajor
		}},
		{"no match", func() (string, int) {
			r, _ := get(t, f.h1(), "http://"+f.http+"/nowhere")
			return r.Header.Get("Decoy-Saturated"), r.ProtoMajor
		}},
	}
	check := func(want string) {
		t.Helper()
		for _, c := range clients {
			if got, _ := c.get(); got != want {
				t.Errorf("%s: Decoy-Saturated %q, want %q", c.name, got, want)
			}
		}
	}
	check("")
	// Six seconds at full use, injected.
	now := time.Unix(0, 0)
	for i := range 6 {
		sat.Observe(now.Add(time.Duration(i)*time.Second), time.Duration(i)*time.Second)
	}
	if !sat.Saturated() {
		t.Fatal("the monitor is not saturated")
	}
	check("1")
	sat.Observe(now.Add(7*time.Second), 5*time.Second)
	check("")
}
