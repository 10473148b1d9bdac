package behave

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzParseRate: ParseRate never panics; what it accepts is between 1 B/s
// and MaxRate, prints in a form it reads back, and decodes the same from
// JSON.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"256KiB/s", "1MiB/s", "1.5 MiB/s", "10kB/s", "5MB/s", "8Mbps", "100Mb/s", "4096", "0", "-1", "", "KiB/s", "1e3", "NaN", "0.4B/s", "2TiB/s", "1bps", "9999999999999999999999GiB/s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			return
		}
		if r < 1 || r > MaxRate {
			t.Fatalf("ParseRate(%q) = %d, outside 1..MaxRate without an error", s, r)
		}
		back, err := ParseRate(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRate(%q) = %d; its String %q reads back as %d, %v", s, r, r.String(), back, err)
		}
		b, _ := json.Marshal(s)
		var j Rate
		if err := json.Unmarshal(b, &j); err != nil || j != r {
			t.Fatalf("Rate from JSON %s = %d, %v; ParseRate gave %d", b, j, err, r)
		}
	})
}

// FuzzLatencyYAML: decoding any document as a latency never panics; a
// spec that decodes and compiles samples within 0..MaxDelay with a
// non-decreasing inverse CDF, and survives a round trip through JSON.
func FuzzLatencyYAML(f *testing.F) {
	for _, s := range []string{
		"250ms", "250", "1.5", "10ms..50ms", "10..5", "slow-3g", "loop",
		"{fixed: 20ms, perKB: 2ms}", "{uniform: {min: 10ms, max: 50ms}}", "{uniform: 1..2, perKB: 1}",
		"{normal: {mean: 100ms, stddev: 20ms}}", "{normal: {mean: 1ms, stddev: 1h, max: 2s}}",
		"{lognormal: {median: 80ms, p99: 400ms}}", "{lognormal: {mu: 4.38, sigma: 0.69}}", "{lognormal: {mu: -40, sigma: 30}}",
		"{percentiles: {p50: 40ms, p90: 120ms, p99: 400ms, max: 2s}}", "{percentiles: {min: 1, p99.99: 5}}",
		"{profile: slow-3g, perKB: 1ms}", "[1, 2]", "{foo: 1}", "-5ms", "~", "true", "&a 5ms", "!!str 5",
	} {
		f.Add(s)
	}
	profiles := Profiles{
		"slow-3g": {LogNormal: &LogNormal{Median: sd(400 * ms), P99: sd(2 * time.Second)}, PerKB: sd(8 * ms)},
		"loop":    {Profile: "loop"},
	}
	f.Fuzz(func(t *testing.T, src string) {
		var doc latencyDoc
		if err := decodeYAML("latency: "+src, &doc); err != nil || doc.Latency == nil {
			return
		}
		s, errs := CompileLatency(*doc.Latency, profiles)
		if len(errs) > 0 {
			if s != nil {
				t.Fatalf("%q: a sampler and errors %v", src, errs)
			}
			return
		}
		prev := time.Duration(-1)
		for i := 0; i <= 20; i++ {
			q := s.Quantile(float64(i) / 20)
			if q < prev || q < 0 || q > MaxDelay {
				t.Fatalf("%q (%v): Quantile(%g) = %v after %v", src, s, float64(i)/20, q, prev)
			}
			prev = q
		}
		for call := range uint64(8) {
			if d := s.Sample(1, "fuzz", call, int(call)*1000); d < 0 || d > MaxDelay {
				t.Fatalf("%q (%v): call %d sampled %v", src, s, call, d)
			}
		}
		b, err := json.Marshal(doc.Latency)
		if err != nil {
			t.Fatalf("%q: marshal: %v", src, err)
		}
		var back Latency
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q: %s does not decode: %v", src, b, err)
		}
		s2, errs := CompileLatency(back, profiles)
		if len(errs) > 0 || s2.String() != s.String() {
			t.Fatalf("%q: round trip through %s gave %v, %v; want %v", src, b, s2, errs, s)
		}
	})
}
