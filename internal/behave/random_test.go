package behave

import (
	"sync"
	"testing"
	"time"
)

func uniformSampler(t testing.TB) *Sampler {
	s, errs := CompileLatency(Latency{Uniform: &Uniform{Min: 0, Max: sd(time.Second)}}, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return s
}

func sequence(s *Sampler, seed uint64, stubID string, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = s.Sample(seed, stubID, uint64(i), 0)
	}
	return out
}

func sameCount(a, b []time.Duration) int {
	n := 0
	for i := range a {
		if a[i] == b[i] {
			n++
		}
	}
	return n
}

func TestDeterminism(t *testing.T) {
	t.Parallel()
	base := sequence(uniformSampler(t), 7, "GET /users", 1000)
	tests := []struct {
		name   string
		seed   uint64
		stubID string
		same   bool
	}{
		{"same seed and stub, another sampler", 7, "GET /users", true},
		{"another stub", 7, "GET /users/", false},
		{"another seed", 8, "GET /users", false},
		{"seed 0", 0, "GET /users", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := sequence(uniformSampler(t), tt.seed, tt.stubID, len(base))
			n := sameCount(base, got)
			if tt.same && n != len(base) {
				t.Errorf("%d of %d delays match, want all", n, len(base))
			}
			if !tt.same && n > 5 {
				t.Errorf("%d of %d delays match; the sequences should be unrelated", n, len(base))
			}
		})
	}
}

// TestKeyForms: Sample and SampleKey, Decide and DecideKey agree.
func TestKeyForms(t *testing.T) {
	t.Parallel()
	s := uniformSampler(t)
	fs, _ := CompileFaults(Faults{{Kind: "reset", Probability: fp(0.5)}})
	k := NewKey(99, "stub-1")
	for call := range uint64(200) {
		if a, b := s.Sample(99, "stub-1", call, 10), s.SampleKey(k, call, 10); a != b {
			t.Fatalf("call %d: Sample %v, SampleKey %v", call, a, b)
		}
		a1, ok1 := fs.Decide(99, "stub-1", call)
		a2, ok2 := fs.DecideKey(k, call)
		if a1 != a2 || ok1 != ok2 {
			t.Fatalf("call %d: Decide %v %v, DecideKey %v %v", call, a1, ok1, a2, ok2)
		}
	}
}

// TestPinnedSequence pins the derivation: a change here changes every
// recorded replay, so it must be deliberate (and noted in the changelog).
func TestPinnedSequence(t *testing.T) {
	t.Parallel()
	if k := NewKey(1, "stub"); k != pinnedKey {
		t.Errorf("NewKey(1, \"stub\") = %#x, want %#x", uint64(k), uint64(pinnedKey))
	}
	got := sequence(uniformSampler(t), 1, "stub", len(pinnedDelays))
	for i := range pinnedDelays {
		if got[i] != pinnedDelays[i] {
			t.Errorf("delay %d = %d, want %d", i, got[i], pinnedDelays[i])
		}
	}
	fs, _ := CompileFaults(Faults{{Kind: "reset", Probability: fp(0.5)}})
	for i, want := range pinnedFaults {
		if _, ok := fs.Decide(1, "stub", uint64(i)); ok != want {
			t.Errorf("fault %d = %v, want %v", i, ok, want)
		}
	}
}

// TestConcurrentSampling: calls sampled from many goroutines at once give
// what a single goroutine gets: no shared RNG state.
func TestConcurrentSampling(t *testing.T) {
	t.Parallel()
	s := uniformSampler(t)
	const n, workers = 4000, 8
	want := sequence(s, 5, "c", n)
	got := make([]time.Duration, n)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				got[i] = s.Sample(5, "c", uint64(i), 0)
			}
		})
	}
	wg.Wait()
	if m := sameCount(want, got); m != n {
		t.Errorf("%d of %d concurrent samples match the sequential ones", m, n)
	}
}

func TestZeroAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	s, _ := CompileLatency(Latency{LogNormal: &LogNormal{Median: sd(80 * ms), P99: sd(400 * ms)}, PerKB: sd(ms)}, nil)
	p, _ := CompileLatency(Latency{Percentiles: Percentiles{"p50": sd(40 * ms), "p99": sd(400 * ms)}}, nil)
	fs, _ := CompileFaults(Faults{{Kind: "reset", Probability: fp(0.3)}, {Kind: "error", Probability: fp(0.3)}})
	pacer := NewThrottlePacer(1 << 20)
	var call uint64
	var sink time.Duration
	tests := []struct {
		name string
		f    func()
	}{
		{"Sample", func() { call++; sink += s.Sample(1, "GET /users/{id}", call, 2048) }},
		{"Sample percentiles", func() { call++; sink += p.Sample(1, "x", call, 0) }},
		{"Decide", func() { call++; fs.Decide(1, "GET /users/{id}", call) }},
		{"Schedule", func() {
			sch := pacer.Schedule(1 << 20)
			for c, ok := sch.Next(); ok; c, ok = sch.Next() {
				sink += c.At
			}
		}},
	}
	for _, tt := range tests {
		if a := testing.AllocsPerRun(200, tt.f); a != 0 {
			t.Errorf("%s: %v allocations per call, want 0", tt.name, a)
		}
	}
	_ = sink
}
