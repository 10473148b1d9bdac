package metrics

import (
	"bytes"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	t.Parallel()
	inf := math.Inf(1)
	b := []float64{0, 0.001, 0.002, 0.005, inf}
	tests := []struct {
		name   string
		counts []uint64
		q      float64
		want   float64
	}{
		{"empty", []uint64{0, 0, 0, 0}, 0.99, 0},
		{"all in the first bucket", []uint64{10, 0, 0, 0}, 0.99, 0.001},
		{"p99 in the tail", []uint64{98, 1, 1, 0}, 0.99, 0.002},
		{"p99 at the last one", []uint64{90, 0, 10, 0}, 0.99, 0.005},
		{"unbounded bucket gives its lower bound", []uint64{1, 0, 0, 99}, 0.99, 0.005},
		{"one sample", []uint64{0, 1, 0, 0}, 0.99, 0.002},
		{"median", []uint64{50, 50, 0, 0}, 0.5, 0.001},
	}
	for _, tt := range tests {
		if got := Quantile(b, tt.counts, tt.q); got != tt.want {
			t.Errorf("%s: Quantile = %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := Quantile(b, []uint64{1}, 0.99); got != 0 {
		t.Errorf("mismatched buckets: %v", got)
	}
	if got := Quantile([]float64{math.Inf(-1), 0.001, inf}, []uint64{5, 0}, 0.99); got != 0.001 {
		t.Errorf("-Inf lower bound: %v", got)
	}
}

// TestSaturationSignals drives the monitor with injected readings, one a
// second: each signal saturates on its own after 5 s, and saturation ends
// when no signal is on.
func TestSaturationSignals(t *testing.T) {
	t.Parallel()
	idle := Reading{AcceptQueue: 0, SchedP99: 50 * time.Microsecond}
	queued := Reading{AcceptQueue: 3, SchedP99: 50 * time.Microsecond}
	late := Reading{AcceptQueue: 0, SchedP99: 8 * time.Millisecond}
	unknown := Reading{AcceptQueue: -1, SchedP99: -1}
	rep := func(r Reading, n int) []Reading { return slices.Repeat([]Reading{r}, n) }
	tests := []struct {
		name      string
		readings  []Reading
		saturated bool
		signals   []string
		episodes  uint64
	}{
		{"idle", rep(idle, 8), false, []string{}, 0},
		{"not measured", rep(unknown, 8), false, []string{}, 0},
		{"queue for four seconds", rep(queued, 4), false, []string{}, 0},
		{"queue for five seconds", rep(queued, 5), true, []string{"accept-queue"}, 1},
		{"an empty queue restarts the count", append(append(rep(queued, 3), idle), rep(queued, 4)...), false, []string{}, 0},
		{"late scheduling for five seconds", rep(late, 5), true, []string{"sched-latency"}, 1},
		{"both", rep(Reading{AcceptQueue: 1, SchedP99: time.Second}, 6), true, []string{"accept-queue", "sched-latency"}, 1},
		{"one signal after another is one episode", append(rep(queued, 5), rep(Reading{AcceptQueue: 2, SchedP99: time.Second}, 5)...),
			true, []string{"accept-queue", "sched-latency"}, 1},
		{"recovers", append(rep(late, 6), idle), false, []string{}, 1},
		{"at the bound counts", rep(Reading{SchedP99: 5 * time.Millisecond}, 5), true, []string{"sched-latency"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			s := NewSaturation(SaturationOptions{CPUs: 1, Threshold: 0.9, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			now := time.Unix(1000, 0)
			s.ObserveReading(now, Reading{})
			for _, r := range tt.readings {
				now = now.Add(time.Second)
				s.ObserveReading(now, r) // no CPU used
			}
			if got := s.Saturated(); got != tt.saturated {
				t.Errorf("Saturated = %v, want %v", got, tt.saturated)
			}
			if got := s.SignalsOn(); !slices.Equal(got, tt.signals) {
				t.Errorf("signals on %v, want %v", got, tt.signals)
			}
			if got := s.Episodes(); got != tt.episodes {
				t.Errorf("Episodes = %d, want %d", got, tt.episodes)
			}
			if got := uint64(strings.Count(logs.String(), "level=WARN")); got != tt.episodes {
				t.Errorf("%d warnings, want %d:\n%s", got, tt.episodes, logs.String())
			}
			last := tt.readings[len(tt.readings)-1]
			if s.Queued() != last.AcceptQueue || s.SchedLatency() != last.SchedP99 {
				t.Errorf("last reading: queued %d, sched %v; want %d, %v", s.Queued(), s.SchedLatency(), last.AcceptQueue, last.SchedP99)
			}
		})
	}
}

// TestSchedWindow feeds sample a fake cumulative histogram: each reading's
// p99 is over what was added since the one before.
func TestSchedWindow(t *testing.T) {
	t.Parallel()
	buckets := []float64{0, 0.0001, 0.001, 0.01, math.Inf(1)}
	counts := []uint64{0, 0, 0, 0}
	s := NewSaturation(SaturationOptions{CPUs: 1,
		CPUTime:        func() (time.Duration, error) { return 0, nil },
		SchedLatencies: func() ([]float64, []uint64) { return buckets, slices.Clone(counts) }})
	now := time.Unix(0, 0)
	steps := []struct {
		add  []uint64
		want time.Duration
	}{
		{[]uint64{1000, 0, 0, 0}, 0}, // the first reading is the baseline
		{[]uint64{1000, 0, 0, 0}, 100 * time.Microsecond},
		{[]uint64{0, 0, 50, 0}, 10 * time.Millisecond}, // only the new samples count
		{[]uint64{0, 0, 0, 0}, 0},                      // nothing scheduled
		{[]uint64{990, 10, 0, 0}, 100 * time.Microsecond},
		{[]uint64{980, 10, 10, 0}, time.Millisecond},
	}
	for i, st := range steps {
		for k := range counts {
			counts[k] += st.add[k]
		}
		s.sample(now)
		now = now.Add(time.Second)
		if got := s.SchedLatency(); got != st.want {
			t.Errorf("step %d: p99 %v, want %v", i, got, st.want)
		}
	}
}

func TestSchedLatenciesFromRuntime(t *testing.T) {
	t.Parallel()
	b, c := readSchedLatencies()
	if len(c) == 0 || len(b) != len(c)+1 {
		t.Fatalf("runtime/metrics gave %d buckets and %d counts", len(b), len(c))
	}
}

func TestCloseReasons(t *testing.T) {
	t.Parallel()
	var s ConnStats
	for r := range NumCloseReasons {
		if CloseReasonNames[r] == "" {
			t.Errorf("reason %d has no name", r)
		}
		s.Closed[r] = uint64(r + 1)
	}
	client, server := s.ClosedBy()
	if client != 1+2+3 || server != 4+5+6+7+8+9+10 {
		t.Errorf("ClosedBy = %d, %d", client, server)
	}
}

// TestRunQueueSignal feeds sample a fake kernel accounting: the run-queue
// signal turns on when decoy's threads waited at least the bound on
// average each time they ran, for five readings, as when another process
// takes decoy's CPU while decoy's own CPU use stays low; a few late
// wake-ups of an idle process do not count.
func TestRunQueueSignal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		wait      time.Duration // added each second
		slices    uint64        // added each second
		saturated bool
		delay     time.Duration
	}{
		{"starved by another process", 400 * time.Millisecond, 200, true, 2 * time.Millisecond},
		{"at the bound", 50 * time.Millisecond, 50, true, time.Millisecond},
		{"busy and served at once", 20 * time.Millisecond, 100_000, false, 200 * time.Nanosecond},
		{"idle, a few late wake-ups", 6 * time.Millisecond, 3, false, 2 * time.Millisecond},
		{"nothing ran", 0, 0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var st RunQueueStat
			s := NewSaturation(SaturationOptions{CPUs: 1,
				CPUTime:        func() (time.Duration, error) { return 0, nil },
				SchedLatencies: func() ([]float64, []uint64) { return nil, nil },
				RunQueue:       func() (RunQueueStat, bool) { return st, true }})
			now := time.Unix(0, 0)
			s.sample(now)
			if got := s.RunQueueDelay(); got != 0 {
				t.Errorf("first reading: delay %v, want 0", got)
			}
			for range 5 {
				st.Wait += tt.wait
				st.Slices += tt.slices
				st.Run += 10 * time.Millisecond
				now = now.Add(time.Second)
				s.sample(now)
			}
			if got := s.Saturated(); got != tt.saturated {
				t.Errorf("Saturated = %v, want %v (signals %v)", got, tt.saturated, s.SignalsOn())
			}
			if tt.saturated && !slices.Equal(s.SignalsOn(), []string{"run-queue"}) {
				t.Errorf("signals %v, want [run-queue]", s.SignalsOn())
			}
			if got := s.RunQueueDelay(); got != tt.delay {
				t.Errorf("RunQueueDelay = %v, want %v", got, tt.delay)
			}
		})
	}
	t.Run("not measured", func(t *testing.T) {
		t.Parallel()
		s := NewSaturation(SaturationOptions{CPUs: 1, CPUTime: func() (time.Duration, error) { return 0, nil },
			RunQueue: func() (RunQueueStat, bool) { return RunQueueStat{}, false }})
		s.sample(time.Unix(0, 0))
		s.sample(time.Unix(1, 0))
		if got := s.RunQueueDelay(); got != -1 {
			t.Errorf("RunQueueDelay = %v, want -1", got)
		}
	})
}

func TestParseSchedstat(t *testing.T) {
	t.Parallel()
	run, wait, n, ok := parseSchedstat("244790 4820138 2\n")
	if !ok || run != 244790 || wait != 4820138 || n != 2 {
		t.Errorf("parseSchedstat = %v %v %d %v", run, wait, n, ok)
	}
	for _, bad := range []string{"", "1 2", "a 2 3", "1 -2 3"} {
		if _, _, _, ok := parseSchedstat(bad); ok {
			t.Errorf("parseSchedstat(%q) ok", bad)
		}
	}
}

// TestReadRunQueue reads this process's own accounting where the kernel
// has it.
func TestReadRunQueue(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("no /proc/self/task")
	}
	st, ok := ReadRunQueue()
	if !ok {
		t.Skip("no schedstat (kernel without sched_info)")
	}
	if st.Run <= 0 || st.Slices == 0 {
		t.Errorf("ReadRunQueue = %+v: this process has run", st)
	}
}
