package behave

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

const (
	distN    = 20000
	distSeed = 42
)

// samples draws n delays for calls 0..n-1 of one stub, sorted.
func samples(s *Sampler, seed uint64, stubID string, n int) []time.Duration {
	out := make([]time.Duration, n)
	k := NewKey(seed, stubID)
	for i := range out {
		out[i] = s.SampleKey(k, uint64(i), 0)
	}
	slices.Sort(out)
	return out
}

func empiricalQuantile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// cdfAt is the fraction of samples at or below d.
func cdfAt(sorted []time.Duration, d time.Duration) float64 {
	i, _ := slices.BinarySearchFunc(sorted, d, func(a, b time.Duration) int {
		if a <= b {
			return -1
		}
		return 1
	})
	return float64(i) / float64(len(sorted))
}

func mean(sorted []time.Duration) float64 {
	sum := 0.0
	for _, d := range sorted {
		sum += float64(d)
	}
	return sum / float64(len(sorted))
}

func msf(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

type pct struct {
	q float64
	d time.Duration
	// cdfOnly skips the value check where the distribution has a knee
	// just above q (the percentiles form's last segment is 50 times
	// steeper): there a sampling error of 0.01 percentage points moves the
	// empirical value by more than 5%, while the CDF check stays exact.
	cdfOnly bool
}

func TestDistributions(t *testing.T) {
	t.Parallel()
	z90 := 1.2815515655446004
	sigma := math.Log(400.0/80) / z99
	lnMean := func(medianMs, sigma float64) float64 { return medianMs * math.Exp(sigma*sigma/2) }
	tests := []struct {
		name string
		spec Latency
		pcts []pct
		mean time.Duration
	}{
		{"uniform", Latency{Uniform: &Uniform{Min: sd(10 * ms), Max: sd(50 * ms)}},
			[]pct{{q: 0.5, d: 30 * ms}, {q: 0.9, d: 46 * ms}, {q: 0.99, d: msf(49.6)}}, 30 * ms},
		{"normal", Latency{Normal: &Normal{Mean: sd(100 * ms), Stddev: sd(20 * ms)}},
			[]pct{{q: 0.5, d: 100 * ms}, {q: 0.9, d: msf(100 + 20*z90)}, {q: 0.99, d: msf(100 + 20*z99)}}, 100 * ms},
		{"lognormal by median and p99", Latency{LogNormal: &LogNormal{Median: sd(80 * ms), P99: sd(400 * ms)}},
			[]pct{{q: 0.5, d: 80 * ms}, {q: 0.9, d: msf(80 * math.Exp(z90*sigma))}, {q: 0.99, d: 400 * ms}}, msf(lnMean(80, sigma))},
		{"lognormal by mu and sigma", Latency{LogNormal: &LogNormal{Mu: fp(math.Log(80)), Sigma: fp(0.5)}},
			[]pct{{q: 0.5, d: 80 * ms}, {q: 0.9, d: msf(80 * math.Exp(z90*0.5))}, {q: 0.99, d: msf(80 * math.Exp(z99*0.5))}}, msf(lnMean(80, 0.5))},
		// Mean of a piecewise-linear inverse CDF: the sum over segments of
		// width × average height: 0.5×20 + 0.4×80 + 0.09×260 + 0.01×1200.
		{"percentiles", Latency{Percentiles: Percentiles{"p50": sd(40 * ms), "p90": sd(120 * ms), "p99": sd(400 * ms), "max": sd(2 * time.Second)}},
			[]pct{{q: 0.5, d: 40 * ms}, {q: 0.9, d: 120 * ms}, {q: 0.99, d: 400 * ms, cdfOnly: true}}, msf(0.5*20 + 0.4*80 + 0.09*260 + 0.01*1200)},
		// Without max the last slope (80ms over 0.49) is extended to 1.
		{"percentiles with min, no max", Latency{Percentiles: Percentiles{"min": sd(5 * ms), "p50": sd(20 * ms), "p99": sd(100 * ms)}},
			[]pct{{q: 0.5, d: 20 * ms}, {q: 0.99, d: 100 * ms}}, msf(0.5*12.5 + 0.49*60 + 0.01*(100+100+80/0.49*0.01)/2)},
		{"percentiles with a gentle tail", Latency{Percentiles: Percentiles{"p50": sd(40 * ms), "p90": sd(120 * ms), "p99": sd(400 * ms), "p99.9": sd(500 * ms), "max": sd(600 * ms)}},
			[]pct{{q: 0.5, d: 40 * ms}, {q: 0.9, d: 120 * ms}, {q: 0.99, d: 400 * ms}, {q: 0.999, d: 500 * ms, cdfOnly: true}},
			msf(0.5*20 + 0.4*80 + 0.09*260 + 0.009*450 + 0.001*550)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, errs := CompileLatency(tt.spec, nil)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			got := samples(s, distSeed, "dist/"+tt.name, distN)
			for _, p := range tt.pcts {
				// The fraction of samples at or below the configured value
				// is binomial around q: allow 4 standard deviations.
				frac := cdfAt(got, p.d)
				t.Logf("p%g: configured %v, empirical %v; %.4f of samples at or below", p.q*100, p.d, empiricalQuantile(got, p.q), frac)
				tol := 4*math.Sqrt(p.q*(1-p.q)/distN) + 0.001
				if math.Abs(frac-p.q) > tol {
					t.Errorf("p%g: %.4f of samples are at or below %v, want %.4f ± %.4f", p.q*100, frac, p.d, p.q, tol)
				}
				if p.cdfOnly {
					continue
				}
				e := empiricalQuantile(got, p.q)
				if diff := (e - p.d).Abs(); diff > max(p.d/20, 2*ms) {
					t.Errorf("empirical p%g = %v, want %v ± 5%% or 2ms", p.q*100, e, p.d)
				}
				// Quantile is the exact inverse CDF.
				if q := s.Quantile(p.q); (q - p.d).Abs() > 10*time.Microsecond {
					t.Errorf("Quantile(%g) = %v, want %v", p.q, q, p.d)
				}
			}
			m := mean(got)
			t.Logf("mean: configured %v, empirical %v", tt.mean, time.Duration(m))
			if diff := math.Abs(m - float64(tt.mean)); diff > max(float64(tt.mean)/20, float64(2*ms)) {
				t.Errorf("mean = %v, want %v ± 5%% or 2ms", time.Duration(m), tt.mean)
			}
		})
	}
}

// TestNormalClamp: a normal distribution with much of its mass below 0
// gives 0 that often, and the clamped mean E[max(0, X)].
func TestNormalClamp(t *testing.T) {
	t.Parallel()
	s, errs := CompileLatency(Latency{Normal: &Normal{Mean: sd(10 * ms), Stddev: sd(20 * ms)}}, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	got := samples(s, distSeed, "clamp", distN)
	if got[0] < 0 {
		t.Fatalf("negative delay %v", got[0])
	}
	zeros := cdfAt(got, 0)
	phi := func(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }
	pdf := func(x float64) float64 { return math.Exp(-x*x/2) / math.Sqrt(2*math.Pi) }
	if want := phi(-0.5); math.Abs(zeros-want) > 0.01 {
		t.Errorf("%.4f of samples are 0, want %.4f", zeros, want)
	}
	wantMean := 10*phi(0.5) + 20*pdf(0.5) // ms
	if m := mean(got) / float64(ms); math.Abs(m-wantMean) > wantMean/20 {
		t.Errorf("mean %.3fms, want %.3fms", m, wantMean)
	}
}

func TestFixedDistribution(t *testing.T) {
	t.Parallel()
	s, _ := CompileLatency(Latency{Fixed: dp(250 * ms)}, nil)
	got := samples(s, distSeed, "fixed", 1000)
	if got[0] != 250*ms || got[len(got)-1] != 250*ms {
		t.Errorf("fixed 250ms sampled %v..%v", got[0], got[len(got)-1])
	}
}

// TestQuantileMonotonic: every compiled distribution's inverse CDF never
// decreases and stays within 0..MaxDelay.
func TestQuantileMonotonic(t *testing.T) {
	t.Parallel()
	specs := []Latency{
		{Uniform: &Uniform{Min: sd(10 * ms), Max: sd(50 * ms)}},
		{Normal: &Normal{Mean: sd(10 * ms), Stddev: sd(30 * ms)}},
		{LogNormal: &LogNormal{Mu: fp(2), Sigma: fp(3)}},
		{Percentiles: Percentiles{"p10": sd(ms), "p50": sd(ms), "p90": sd(50 * ms)}},
		{LogNormal: &LogNormal{Median: sd(80 * ms), P99: sd(80 * ms)}}, // sigma 0
	}
	for i, spec := range specs {
		s, errs := CompileLatency(spec, nil)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		prev := time.Duration(-1)
		for j := 0; j <= 1000; j++ {
			q := s.Quantile(float64(j) / 1000)
			if q < prev || q < 0 || q > MaxDelay {
				t.Fatalf("spec %d: Quantile(%g) = %v after %v", i, float64(j)/1000, q, prev)
			}
			prev = q
		}
	}
}

func ExampleSampler_Sample() {
	var l Latency
	if err := decodeYAML(`{percentiles: {p50: 40ms, p90: 120ms, p99: 400ms, max: 2s}}`, &l); err != nil {
		panic(err)
	}
	s, errs := CompileLatency(l, nil)
	if len(errs) > 0 {
		panic(errs[0])
	}
	fmt.Println(s)
	fmt.Println(s.Quantile(0.5), s.Quantile(0.99))
	// The n-th delay of a stub is the same on every run.
	for call := range uint64(3) {
		fmt.Println(s.Sample(7, "GET /users", call, 0).Round(time.Microsecond))
	}
	// Output:
	// percentiles(min 0s, p50 40ms, p90 120ms, p99 400ms, max 2s)
	// 40ms 400ms
	// 104.906ms
	// 1.367601s
	// 9.138ms
}
