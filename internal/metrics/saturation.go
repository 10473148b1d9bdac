package metrics

import (
	"context"
	"log/slog"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// SaturatedFor is how long decoy's CPU use must stay above the threshold
// before it reports itself saturated.
const SaturatedFor = 5 * time.Second

// Saturation answers "is decoy the bottleneck?": it compares the CPU time
// the process uses with the CPUs it may use (affinity, cgroup quota,
// GOMAXPROCS), once a second. Above the threshold for SaturatedFor in a row
// it logs a warning and reports itself saturated until a reading falls
// below the threshold again. Saturated is one atomic load, for the data
// path.
type Saturation struct {
	threshold float64
	cpus      float64
	cpuTime   func() (time.Duration, error)
	log       *slog.Logger

	saturated atomic.Bool
	util      atomic.Uint64 // math.Float64bits of the last utilization
	episodes  atomic.Uint64

	mu      sync.Mutex
	lastAt  time.Time
	lastCPU time.Duration
	since   time.Time // start of the current run above the threshold; zero when below
}

// SaturationOptions configures NewSaturation. Zero values take defaults.
type SaturationOptions struct {
	// Threshold is the share of the CPUs (0-1] above which decoy counts as
	// busy; default 0.9.
	Threshold float64
	// CPUs is how many CPUs decoy may use; default AvailableCPUs().
	CPUs float64
	// CPUTime returns the process's CPU time so far (user and system);
	// default ProcessCPUTime.
	CPUTime func() (time.Duration, error)
	Logger  *slog.Logger
}

// NewSaturation returns a monitor; it measures nothing until Run or
// Observe.
func NewSaturation(o SaturationOptions) *Saturation {
	if o.Threshold <= 0 || o.Threshold > 1 {
		o.Threshold = 0.9
	}
	if o.CPUs <= 0 {
		o.CPUs = AvailableCPUs()
	}
	if o.CPUTime == nil {
		o.CPUTime = ProcessCPUTime
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Saturation{threshold: o.Threshold, cpus: o.CPUs, cpuTime: o.CPUTime, log: o.Logger}
}

// Saturated reports whether decoy is saturated now. A nil monitor never is.
func (s *Saturation) Saturated() bool { return s != nil && s.saturated.Load() }

// Utilization is the share of its CPUs decoy used over the last interval
// measured (may exceed 1 briefly when the CPU count is a quota).
func (s *Saturation) Utilization() float64 {
	if s == nil {
		return 0
	}
	return math.Float64frombits(s.util.Load())
}

// CPUs is how many CPUs decoy may use.
func (s *Saturation) CPUs() float64 {
	if s == nil {
		return 0
	}
	return s.cpus
}

// Threshold is the share of the CPUs above which decoy counts as busy.
func (s *Saturation) Threshold() float64 { return s.threshold }

// Episodes counts the times decoy became saturated.
func (s *Saturation) Episodes() uint64 {
	if s == nil {
		return 0
	}
	return s.episodes.Load()
}

// Run reads the CPU time every second until ctx is done.
func (s *Saturation) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	s.sample(time.Now())
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.sample(now)
		}
	}
}

func (s *Saturation) sample(now time.Time) {
	cpu, err := s.cpuTime()
	if err != nil {
		s.log.Debug("saturation: cannot read the CPU time", "err", err)
		return
	}
	s.Observe(now, cpu)
}

// Observe takes one reading: the process's total CPU time at now. The
// first reading only sets the baseline.
func (s *Saturation) Observe(now time.Time, cpu time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastAt.IsZero() || !now.After(s.lastAt) {
		s.lastAt, s.lastCPU = now, cpu
		return
	}
	wall := now.Sub(s.lastAt)
	u := float64(cpu-s.lastCPU) / float64(wall) / s.cpus
	s.lastAt, s.lastCPU = now, cpu
	s.util.Store(math.Float64bits(u))
	if u < s.threshold {
		s.since = time.Time{}
		if s.saturated.Swap(false) {
			s.log.Info("decoy is no longer saturated", "cpu", round2(u), "cpus", s.cpus)
		}
		return
	}
	if s.since.IsZero() {
		// The run above the threshold began with the interval just
		// measured.
		s.since = now.Add(-wall)
	}
	if now.Sub(s.since) >= SaturatedFor && !s.saturated.Load() {
		s.saturated.Store(true)
		s.episodes.Add(1)
		s.log.Warn("decoy is saturated: it has used more than its threshold of the CPUs it may use for 5s; latencies the client measures now include decoy queueing. Give decoy more cores, pin the client elsewhere, or run more decoy instances",
			"cpu", round2(u), "cpus", s.cpus, "threshold", s.threshold)
	}
}

// ProcessCPUTime returns the CPU time (user and system) the process has
// used so far.
func ProcessCPUTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// AvailableCPUs is how many CPUs decoy may use: the fewest of the CPUs in
// its affinity mask, its cgroup v2 quota (cpu.max) and GOMAXPROCS.
func AvailableCPUs() float64 {
	n := float64(runtime.GOMAXPROCS(0))
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err == nil && set.Count() > 0 {
		n = min(n, float64(set.Count()))
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/cpu.max"); err == nil {
		if q, ok := parseCPUMax(string(b)); ok {
			n = min(n, q)
		}
	}
	return n
}

// parseCPUMax reads a cgroup v2 cpu.max ("max 100000" or "150000 100000")
// as a number of CPUs; ok is false when there is no quota.
func parseCPUMax(s string) (float64, bool) {
	f := strings.Fields(s)
	if len(f) != 2 || f[0] == "max" {
		return 0, false
	}
	quota, err1 := strconv.ParseFloat(f[0], 64)
	period, err2 := strconv.ParseFloat(f[1], 64)
	if err1 != nil || err2 != nil || quota <= 0 || period <= 0 {
		return 0, false
	}
	return quota / period, true
}
