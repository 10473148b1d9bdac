package behave

import (
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/stub"
)

func sd(d time.Duration) stub.Duration { return stub.Duration(d) }

func TestLatencyCompileErrors(t *testing.T) {
	t.Parallel()
	profiles := Profiles{
		"slow-3g": {Fixed: dp(300 * ms)},
		"a":       {Profile: "b"},
		"b":       {Profile: "a"},
		"self":    {Profile: "self"},
		"bad":     {Normal: &Normal{Mean: sd(10 * ms), Stddev: sd(-1 * ms)}},
	}
	type want struct{ field, msg string }
	tests := []struct {
		name     string
		spec     Latency
		profiles Profiles
		want     []want
	}{
		{"negative fixed", Latency{Fixed: dp(-ms)}, nil, []want{{"fixed", "cannot be negative"}}},
		{"above the limit", Latency{Fixed: dp(2 * time.Hour)}, nil, []want{{"fixed", "above the 1h0m0s limit"}}},
		{"negative perKB", Latency{Fixed: dp(ms), PerKB: sd(-ms)}, nil, []want{{"perKB", "cannot be negative"}}},
		{"uniform min above max", Latency{Uniform: &Uniform{Min: sd(50 * ms), Max: sd(10 * ms)}}, nil,
			[]want{{"uniform.min", "min (50ms) is above max (10ms)"}}},
		{"negative uniform min", Latency{Uniform: &Uniform{Min: sd(-ms), Max: sd(10 * ms)}}, nil, []want{{"uniform.min", "cannot be negative"}}},
		{"negative stddev", Latency{Normal: &Normal{Mean: sd(100 * ms), Stddev: sd(-20 * ms)}}, nil,
			[]want{{"normal.stddev", "cannot be negative (-20ms)"}}},
		{"normal without stddev", Latency{Normal: &Normal{Mean: sd(100 * ms)}}, nil,
			[]want{{"normal.stddev", "is required with mean, and above 0 (a latency that does not vary is fixed: latency: 100ms)"}}},
		{"negative mean", Latency{Normal: &Normal{Mean: sd(-100 * ms), Stddev: sd(20 * ms)}}, nil, []want{{"normal.mean", "cannot be negative"}}},
		{"normal max below mean", Latency{Normal: &Normal{Mean: sd(100 * ms), Stddev: sd(20 * ms), Max: sd(50 * ms)}}, nil,
			[]want{{"normal.max", "max (50ms) is below mean (100ms)"}}},
		{"median above p99", Latency{LogNormal: &LogNormal{Median: sd(500 * ms), P99: sd(400 * ms)}}, nil,
			[]want{{"lognormal.median", "median (500ms) is above p99 (400ms)"}}},
		{"median without p99", Latency{LogNormal: &LogNormal{Median: sd(80 * ms)}}, nil, []want{{"lognormal.p99", "required with median"}}},
		{"p99 without median", Latency{LogNormal: &LogNormal{P99: sd(80 * ms)}}, nil, []want{{"lognormal.median", "above 0"}}},
		{"both lognormal forms", Latency{LogNormal: &LogNormal{Median: sd(80 * ms), P99: sd(400 * ms), Mu: fp(1), Sigma: fp(1)}}, nil,
			[]want{{"lognormal", "not both"}}},
		{"mu without sigma", Latency{LogNormal: &LogNormal{Mu: fp(1)}}, nil, []want{{"lognormal", "both mu and sigma"}}},
		{"negative sigma", Latency{LogNormal: &LogNormal{Mu: fp(4), Sigma: fp(-0.5)}}, nil, []want{{"lognormal.sigma", "cannot be negative"}}},
		{"huge mu", Latency{LogNormal: &LogNormal{Mu: fp(40), Sigma: fp(0.5)}}, nil, []want{{"lognormal.mu", "above the 1h0m0s limit"}}},
		{"empty lognormal", Latency{LogNormal: &LogNormal{}}, nil, []want{{"lognormal", "give median and p99, or mu and sigma"}}},
		{"p99 below p50", Latency{Percentiles: Percentiles{"p50": sd(120 * ms), "p99": sd(100 * ms)}}, nil,
			[]want{{"percentiles.p99", "p99 (100ms) is below p50 (120ms): percentiles must not decrease"}}},
		{"non-monotonic", Latency{Percentiles: Percentiles{"p50": sd(40 * ms), "p90": sd(30 * ms), "p99": sd(400 * ms)}}, nil,
			[]want{{"percentiles.p90", "p90 (30ms) is below p50 (40ms)"}}},
		{"unknown percentile key", Latency{Percentiles: Percentiles{"p50": sd(40 * ms), "avg": sd(50 * ms)}}, nil,
			[]want{{"percentiles.avg", `unknown key "avg": want p<N>`}}},
		{"p999", Latency{Percentiles: Percentiles{"p999": sd(40 * ms)}}, nil, []want{{"percentiles.p999", "write p99.9"}}},
		{"p0", Latency{Percentiles: Percentiles{"p0": sd(40 * ms)}}, nil, []want{{"percentiles.p0", "write min"}}},
		{"p100", Latency{Percentiles: Percentiles{"p100": sd(40 * ms)}}, nil, []want{{"percentiles.p100", "write max"}}},
		{"p with a sign", Latency{Percentiles: Percentiles{"p+5": sd(40 * ms)}}, nil, []want{{"percentiles.p+5", "unknown key"}}},
		{"same percentile twice", Latency{Percentiles: Percentiles{"p50": sd(40 * ms), "p50.0": sd(40 * ms)}}, nil,
			[]want{{"percentiles.p50.0", "same percentile as p50"}}},
		{"min above lowest", Latency{Percentiles: Percentiles{"min": sd(50 * ms), "p50": sd(40 * ms)}}, nil,
			[]want{{"percentiles.min", "min (50ms) is above p50 (40ms)"}}},
		{"max below highest", Latency{Percentiles: Percentiles{"p99": sd(400 * ms), "max": sd(300 * ms)}}, nil,
			[]want{{"percentiles.max", "max (300ms) is below p99 (400ms)"}}},
		{"no percentile", Latency{Percentiles: Percentiles{"max": sd(300 * ms)}}, nil, []want{{"percentiles", "at least one percentile"}}},
		{"negative percentile", Latency{Percentiles: Percentiles{"p50": sd(-40 * ms)}}, nil, []want{{"percentiles.p50", "cannot be negative"}}},
		{"two forms", Latency{Fixed: dp(ms), Uniform: &Uniform{Max: sd(ms)}}, nil, []want{{"", "give only one of"}}},
		{"empty", Latency{}, nil, []want{{"", "empty latency"}}},
		{"unknown profile", Latency{Profile: "slow-4g"}, Profiles{"slow-3g": {Fixed: dp(ms)}, "fast": {Fixed: dp(ms)}}, []want{{"profile", `unknown profile "slow-4g" (profiles: fast, slow-3g)`}}},
		{"no profiles", Latency{Profile: "slow-4g"}, nil, []want{{"profile", `unknown profile "slow-4g" (no profiles are defined)`}}},
		{"cycle", Latency{Profile: "a"}, profiles, []want{{"profile", "profile cycle: a -> b -> a"}}},
		{"self cycle", Latency{Profile: "self"}, profiles, []want{{"profile", "profile cycle: self -> self"}}},
		{"invalid profile", Latency{Profile: "bad"}, profiles, []want{{"profile", `profile "bad" is invalid: normal.stddev: cannot be negative`}}},
		{"every error is reported", Latency{Uniform: &Uniform{Min: sd(50 * ms), Max: sd(10 * ms)}, PerKB: sd(-ms)}, nil,
			[]want{{"perKB", "negative"}, {"uniform.min", "above max"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, errs := CompileLatency(tt.spec, tt.profiles)
			if s != nil {
				t.Errorf("got a sampler (%v) from an invalid spec", s)
			}
			if len(errs) != len(tt.want) {
				t.Fatalf("errors %v, want %d: %v", errs, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if errs[i].Field != w.field || !strings.Contains(errs[i].Msg, w.msg) {
					t.Errorf("error %d = %q (field %q), want field %q with %q", i, errs[i].Error(), errs[i].Field, w.field, w.msg)
				}
			}
		})
	}
}

func TestProfiles(t *testing.T) {
	t.Parallel()
	profiles := Profiles{
		"slow-3g":     {LogNormal: &LogNormal{Median: sd(400 * ms), P99: sd(2 * time.Second)}, PerKB: sd(8 * ms)},
		"degraded-db": {Percentiles: Percentiles{"p50": sd(40 * ms), "p99": sd(900 * ms)}},
		"alias":       {Profile: "slow-3g"},
	}
	if errs := CheckProfiles(profiles); len(errs) != 0 {
		t.Fatalf("Check: %v", errs)
	}
	tests := []struct {
		name      string
		spec      Latency
		wantPerKB time.Duration
		want      string // in String()
	}{
		{"by name", Latency{Profile: "slow-3g"}, 8 * ms, "[profile slow-3g]"},
		{"perKB replaces the profile's", Latency{Profile: "slow-3g", PerKB: sd(2 * ms)}, 2 * ms, "+ 2ms/KiB"},
		{"through another profile", Latency{Profile: "alias"}, 8 * ms, "lognormal(median 400ms, p99 2s)"},
		{"percentiles", Latency{Profile: "degraded-db"}, 0, "percentiles(min 0s, p50 40ms, p99 900ms, max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, errs := CompileLatency(tt.spec, profiles)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if s.Profile() != tt.spec.Profile {
				t.Errorf("Profile() = %q, want %q", s.Profile(), tt.spec.Profile)
			}
			if got := s.Sample(1, "x", 0, 1024) - s.Sample(1, "x", 0, 0); got != tt.wantPerKB {
				t.Errorf("1 KiB adds %v, want %v", got, tt.wantPerKB)
			}
			if !strings.Contains(s.String(), tt.want) {
				t.Errorf("String() = %q, want it to contain %q", s.String(), tt.want)
			}
		})
	}
}

func TestProfilesCheck(t *testing.T) {
	t.Parallel()
	profiles := Profiles{
		"a":       {Profile: "b"},
		"b":       {Profile: "a"},
		"broken":  {Normal: &Normal{Mean: sd(10 * ms), Stddev: sd(-ms)}},
		"fine":    {Fixed: dp(ms)},
		"missing": {Profile: "nowhere"},
		"":        {Fixed: dp(ms)},
	}
	got := CheckProfiles(profiles)
	want := []string{
		`"": a profile needs a name`,
		"a.profile: profile cycle: a -> b -> a",
		"b.profile: profile cycle: b -> a -> b",
		"broken.normal.stddev: cannot be negative (-1ms)",
		`missing.profile: unknown profile "nowhere" (profiles: , a, b, broken, fine, missing)`,
	}
	if len(got) != len(want) {
		t.Fatalf("Check() = %v, want %d errors", got, len(want))
	}
	for i := range want {
		if got[i].Error() != want[i] {
			t.Errorf("error %d = %q, want %q", i, got[i].Error(), want[i])
		}
	}
}

func TestSamplerBasics(t *testing.T) {
	t.Parallel()
	var nilS *Sampler
	if d := nilS.Sample(1, "x", 0, 1<<20); d != 0 {
		t.Errorf("nil sampler gave %v", d)
	}
	if d, ok := nilS.Fixed(); !ok || d != 0 {
		t.Errorf("nil Fixed() = %v, %v", d, ok)
	}
	fixed, _ := CompileLatency(Latency{Fixed: dp(250 * ms)}, nil)
	if d, ok := fixed.Fixed(); !ok || d != 250*ms {
		t.Errorf("Fixed() = %v, %v; want 250ms, true", d, ok)
	}
	perKB, _ := CompileLatency(Latency{Fixed: dp(10 * ms), PerKB: sd(2 * ms)}, nil)
	if _, ok := perKB.Fixed(); ok {
		t.Error("a perKB latency reported itself fixed")
	}
	for _, tt := range []struct {
		bytes int
		want  time.Duration
	}{{0, 10 * ms}, {512, 11 * ms}, {1024, 12 * ms}, {10 << 10, 30 * ms}, {-5, 10 * ms}} {
		if got := perKB.Sample(7, "s", 3, tt.bytes); got != tt.want {
			t.Errorf("10ms + 2ms/KiB for %d bytes = %v, want %v", tt.bytes, got, tt.want)
		}
	}
	// perKB cannot push a delay beyond MaxDelay.
	if got := perKB.Sample(7, "s", 3, 1<<40); got != MaxDelay {
		t.Errorf("a huge body gave %v, want the %v cap", got, MaxDelay)
	}
	onlyPerKB, errs := CompileLatency(Latency{PerKB: sd(ms)}, nil)
	if len(errs) > 0 || onlyPerKB.Sample(0, "", 0, 4096) != 4*ms {
		t.Errorf("perKB alone: %v, %v", onlyPerKB.Sample(0, "", 0, 4096), errs)
	}
	// A capped log-normal never exceeds its max.
	capped, _ := CompileLatency(Latency{LogNormal: &LogNormal{Median: sd(80 * ms), P99: sd(4 * time.Second), Max: sd(time.Second)}}, nil)
	for call := range uint64(5000) {
		if d := capped.Sample(1, "cap", call, 0); d > time.Second || d < 0 {
			t.Fatalf("call %d: %v outside 0..1s", call, d)
		}
	}
	if q := capped.Quantile(1); q != time.Second {
		t.Errorf("Quantile(1) = %v, want the 1s cap", q)
	}
}
