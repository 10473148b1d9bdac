package behave

import (
	"context"
	"io"
	"slices"
	"sync"
	"testing"
	"time"
)

func BenchmarkSample(b *testing.B) {
	specs := []struct {
		name string
		spec Latency
	}{
		{"fixed", Latency{Fixed: dp(250 * ms)}},
		{"uniform", Latency{Uniform: &Uniform{Min: sd(10 * ms), Max: sd(50 * ms)}}},
		{"normal", Latency{Normal: &Normal{Mean: sd(100 * ms), Stddev: sd(20 * ms)}}},
		{"lognormal", Latency{LogNormal: &LogNormal{Median: sd(80 * ms), P99: sd(400 * ms)}}},
		{"percentiles", Latency{Percentiles: Percentiles{"p50": sd(40 * ms), "p90": sd(120 * ms), "p99": sd(400 * ms), "max": sd(2 * time.Second)}}},
		{"lognormal+perKB", Latency{LogNormal: &LogNormal{Median: sd(80 * ms), P99: sd(400 * ms)}, PerKB: sd(ms)}},
	}
	for _, sp := range specs {
		s, errs := CompileLatency(sp.spec, nil)
		if len(errs) > 0 {
			b.Fatal(errs)
		}
		b.Run(sp.name, func(b *testing.B) {
			b.ReportAllocs()
			var sink time.Duration
			var call uint64
			for b.Loop() {
				call++
				sink += s.Sample(42, "GET /api/v1/users/{id}", call, 4096)
			}
			_ = sink
		})
		b.Run(sp.name+"/key", func(b *testing.B) {
			b.ReportAllocs()
			k := NewKey(42, "GET /api/v1/users/{id}")
			var sink time.Duration
			var call uint64
			for b.Loop() {
				call++
				sink += s.SampleKey(k, call, 4096)
			}
			_ = sink
		})
	}
}

func BenchmarkDecide(b *testing.B) {
	set, errs := CompileFaults(Faults{{Kind: "reset", Probability: fp(0.05)}, {Kind: "error", Probability: fp(0.10)}, {Kind: "hang", Probability: fp(0.01)}})
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	b.Run("seed+id", func(b *testing.B) {
		b.ReportAllocs()
		var call uint64
		n := 0
		for b.Loop() {
			call++
			if _, ok := set.Decide(42, "GET /api/v1/users/{id}", call); ok {
				n++
			}
		}
		_ = n
	})
	b.Run("key", func(b *testing.B) {
		b.ReportAllocs()
		k := NewKey(42, "GET /api/v1/users/{id}")
		var call uint64
		n := 0
		for b.Loop() {
			call++
			if _, ok := set.DecideKey(k, call); ok {
				n++
			}
		}
		_ = n
	})
}

// BenchmarkSchedule walks the schedule of a 10 MB body at 1 MiB/s (954
// chunks) per iteration.
func BenchmarkSchedule(b *testing.B) {
	p := NewThrottlePacer(1 << 20)
	b.ReportAllocs()
	var sink time.Duration
	for b.Loop() {
		s := p.Schedule(10_000_000)
		for c, ok := s.Next(); ok; c, ok = s.Next() {
			sink += c.At
		}
	}
	_ = sink
}

// BenchmarkSend sends 1 MiB through a throttle on a fake clock: the cost
// of pacing itself, per body.
func BenchmarkSend(b *testing.B) {
	p := NewThrottlePacer(1 << 20)
	body := make([]byte, 1<<20)
	clk := newFakeClock()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := p.Send(context.Background(), io.Discard, body, clk); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSleepAccuracy runs 10,000 concurrent 20 ms Sleeps per
// iteration and reports how late they wake: p50, p99 and max lateness in
// microseconds. It measures; it asserts nothing.
func BenchmarkSleepAccuracy(b *testing.B) {
	const n, d = 10000, 20 * time.Millisecond
	late := make([]time.Duration, 0, n*b.N)
	var mu sync.Mutex
	for b.Loop() {
		var wg sync.WaitGroup
		batch := make([]time.Duration, n)
		for i := range n {
			wg.Go(func() {
				start := time.Now()
				_ = Sleep(context.Background(), d)
				batch[i] = time.Since(start) - d
			})
		}
		wg.Wait()
		mu.Lock()
		late = append(late, batch...)
		mu.Unlock()
	}
	slices.Sort(late)
	q := func(p float64) float64 { return float64(late[int(p*float64(len(late)-1))].Microseconds()) }
	b.ReportMetric(q(0.5), "p50-late-µs")
	b.ReportMetric(q(0.99), "p99-late-µs")
	b.ReportMetric(q(1), "max-late-µs")
	if late[0] < 0 {
		b.Errorf("a Sleep returned %v early", -late[0])
	}
}

// BenchmarkSleepIdle sleeps 1.3 ms at a time in an otherwise idle process,
// with Sleep and with time.Sleep, and reports how late each woke at p50
// and p99 in microseconds: the runtime's poller counts in whole
// milliseconds, which Sleep's wake-up (package wake) corrects.
func BenchmarkSleepIdle(b *testing.B) {
	const d = 1300 * time.Microsecond
	for _, c := range []struct {
		name  string
		sleep func()
	}{
		{"Sleep", func() { _ = Sleep(context.Background(), d) }},
		{"time.Sleep", func() { time.Sleep(d) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			var late []time.Duration
			for b.Loop() {
				start := time.Now()
				c.sleep()
				late = append(late, time.Since(start)-d)
			}
			slices.Sort(late)
			q := func(p float64) float64 { return float64(late[int(p*float64(len(late)-1))].Microseconds()) }
			b.ReportMetric(q(0.5), "p50-late-µs")
			b.ReportMetric(q(0.99), "p99-late-µs")
			b.ReportMetric(0, "ns/op")
		})
	}
}
