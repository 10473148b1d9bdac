package metrics

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestSaturation(t *testing.T) {
	t.Parallel()
	// Each reading is the CPU share used over the second before it, on 2
	// CPUs with threshold 0.9.
	tests := []struct {
		name      string
		shares    []float64
		saturated bool
		episodes  uint64
		warnings  int
	}{
		{"idle", []float64{0.01, 0.02, 0.0, 0.05, 0.01, 0.02, 0.03}, false, 0, 0},
		{"four busy seconds are not enough", []float64{0.95, 0.95, 0.95, 0.95}, false, 0, 0},
		{"five busy seconds are", []float64{0.95, 0.95, 0.95, 0.95, 0.95}, true, 1, 1},
		{"stays saturated, warns once", []float64{0.95, 0.95, 0.95, 0.95, 0.95, 1, 1, 0.99}, true, 1, 1},
		{"a dip restarts the count", []float64{0.95, 0.95, 0.95, 0.5, 0.95, 0.95, 0.95, 0.95}, false, 0, 0},
		{"recovers", []float64{0.95, 0.95, 0.95, 0.95, 0.95, 0.2}, false, 1, 1},
		{"two episodes", []float64{1, 1, 1, 1, 1, 0.1, 1, 1, 1, 1, 1}, true, 2, 2},
		{"at the threshold counts", []float64{0.9, 0.9, 0.9, 0.9, 0.9}, true, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			s := NewSaturation(SaturationOptions{CPUs: 2, Threshold: 0.9,
				CPUTime: func() (time.Duration, error) { return 0, errors.New("not used") },
				Logger:  slog.New(slog.NewTextHandler(&logs, nil))})
			now := time.Unix(1000, 0)
			var cpu time.Duration
			s.Observe(now, cpu) // baseline
			if s.Saturated() || s.Utilization() != 0 {
				t.Fatal("saturated before any interval")
			}
			for _, f := range tt.shares {
				now = now.Add(time.Second)
				cpu += time.Duration(f * 2 * float64(time.Second))
				s.Observe(now, cpu)
			}
			if got := s.Saturated(); got != tt.saturated {
				t.Errorf("Saturated = %v, want %v", got, tt.saturated)
			}
			if got := s.Episodes(); got != tt.episodes {
				t.Errorf("Episodes = %d, want %d", got, tt.episodes)
			}
			if got := strings.Count(logs.String(), "level=WARN"); got != tt.warnings {
				t.Errorf("%d warnings, want %d:\n%s", got, tt.warnings, logs.String())
			}
			last := tt.shares[len(tt.shares)-1]
			if u := s.Utilization(); u < last-0.001 || u > last+0.001 {
				t.Errorf("Utilization = %v, want %v", u, last)
			}
		})
	}
}

// TestSaturationSamples drives sample with a fake CPU source and irregular
// ticks: the utilization is per wall-clock time, and a failed reading is
// skipped.
func TestSaturationSamples(t *testing.T) {
	t.Parallel()
	var cpu time.Duration
	fail := false
	s := NewSaturation(SaturationOptions{CPUs: 1, CPUTime: func() (time.Duration, error) {
		if fail {
			return 0, errors.New("no rusage")
		}
		return cpu, nil
	}})
	now := time.Unix(0, 0)
	s.sample(now)
	for range 3 {
		now = now.Add(2 * time.Second) // a late tick covers 2 s
		cpu += 2 * time.Second
		s.sample(now)
	}
	if !s.Saturated() || s.Utilization() != 1 {
		t.Errorf("after 6 s at 100%%: saturated %v, utilization %v", s.Saturated(), s.Utilization())
	}
	fail = true
	s.sample(now.Add(time.Second))
	if !s.Saturated() {
		t.Error("a failed reading changed the state")
	}
	fail = false
	now = now.Add(3 * time.Second)
	cpu += 300 * time.Millisecond
	s.sample(now)
	if s.Saturated() || s.Utilization() != 0.1 {
		t.Errorf("after 3 s at 10%%: saturated %v, utilization %v", s.Saturated(), s.Utilization())
	}
}

func TestParseCPUMax(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"max 100000\n", 0, false},
		{"150000 100000\n", 1.5, true},
		{"50000 100000", 0.5, true},
		{"", 0, false},
		{"x 100000", 0, false},
		{"100000 0", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseCPUMax(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseCPUMax(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestAvailableCPUsAndRusage(t *testing.T) {
	t.Parallel()
	if n := AvailableCPUs(); n <= 0 {
		t.Errorf("AvailableCPUs = %v", n)
	}
	a, err := ProcessCPUTime()
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for i := range 20_000_000 {
		x += i
	}
	if b, _ := ProcessCPUTime(); b < a || x == 0 {
		t.Errorf("CPU time went from %v to %v", a, b)
	}
}

func TestNilSaturation(t *testing.T) {
	t.Parallel()
	var s *Saturation
	if s.Saturated() || s.Utilization() != 0 || s.CPUs() != 0 || s.Episodes() != 0 {
		t.Error("a nil monitor reports something")
	}
}
