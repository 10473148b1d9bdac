package metrics

import (
	"context"
	"log/slog"
	"math"
	"os"
	"runtime"
	rtmetrics "runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// SaturatedFor is how long a saturation signal must stay on (CPU use at
// or above the threshold, connections waiting in an accept queue, Go's
// scheduling delay above its bound) before decoy reports itself
// saturated.
const SaturatedFor = 5 * time.Second

// DefaultSchedLatencyBound is the 99th percentile of Go's scheduling delay
// (how long runnable goroutines waited for a CPU) at or above which decoy
// counts as busy.
const DefaultSchedLatencyBound = 5 * time.Millisecond

// DefaultRunQueueBound is the mean time decoy's threads waited in the
// kernel's run queue each time they were scheduled, at or above which
// decoy counts as busy: normally microseconds, milliseconds when other
// processes (or decoy's own threads) take the CPUs decoy needs.
const DefaultRunQueueBound = time.Millisecond

// MinRunQueueWait is the run-queue wait, summed over decoy's threads in
// one reading's second, below which the run-queue signal stays off
// whatever the mean: a few late wake-ups of an idle process are not a
// bottleneck.
const MinRunQueueWait = 10 * time.Millisecond

// Saturation signals, as indexes into Signals.
const (
	// SignalCPU: decoy used at least the threshold of its CPUs.
	SignalCPU = iota
	// SignalAcceptQueue: connections were waiting in an accept queue.
	SignalAcceptQueue
	// SignalSchedLatency: the p99 scheduling delay was at or above its
	// bound.
	SignalSchedLatency
	// SignalRunQueue: decoy's threads waited in the kernel's run queue
	// for a CPU, on average, at least its bound each time they ran.
	SignalRunQueue
	NumSignals
)

// SignalNames are the names of the saturation signals, as /health and the
// decoy_saturation_signal metric give them.
var SignalNames = [NumSignals]string{"cpu", "accept-queue", "sched-latency", "run-queue"}

// Listener is a listening socket whose accept queue the saturation
// monitor watches.
type Listener struct {
	Name string // "http", "https", "grpc"
	// Socket is the listening socket (a *net.TCPListener, or a wrapper
	// with its SyscallConn); one that cannot be read (closed) is skipped.
	Socket syscall.Conn
	// Paused: the listener has no socket (it refuses connections until
	// it is resumed on a new one), so nothing waits in its queue: it
	// reads as an empty queue of no size where queues are measured.
	Paused bool
}

// AcceptQueue is one listener's accept queue at one moment.
type AcceptQueue struct {
	Listener string
	Length   int // connections waiting to be accepted
	Max      int // the most the queue holds (the listen backlog)
}

// Saturation answers "is decoy the bottleneck?". Once a second it reads
// four signals: the CPU time the process used against the CPUs it may use
// (affinity, cgroup quota, GOMAXPROCS), the connections waiting in its
// listeners' accept queues, the 99th percentile of Go's scheduling delay
// over the second, and the mean time its threads waited in the kernel's
// run queue for a CPU (what Go's delay cannot see: other processes taking
// the CPUs). When one of them stays on (CPU share at or above the
// threshold, an accept queue not empty, a delay at or above its bound) for
// SaturatedFor in a row, it logs a warning and reports itself
// saturated until no signal is on. Saturated is one atomic load, for the
// data path.
type Saturation struct {
	threshold  float64
	cpus       float64
	schedBound time.Duration
	cpuTime    func() (time.Duration, error)
	listeners  func() []Listener
	schedHist  func() (buckets []float64, counts []uint64)
	rqBound    time.Duration
	runQueue   func() (RunQueueStat, bool)
	log        *slog.Logger

	saturated atomic.Bool
	util      atomic.Uint64 // math.Float64bits of the last utilization
	episodes  atomic.Uint64
	queued    atomic.Int64 // connections in the accept queues at the last reading; -1: not measured
	schedP99  atomic.Int64 // ns; -1: not measured
	rqDelay   atomic.Int64 // ns, mean run-queue wait per scheduling; -1: not measured
	signals   [NumSignals]atomic.Bool

	mu      sync.Mutex
	lastAt  time.Time
	lastCPU time.Duration
	// since is the start of the current run of each signal; zero while
	// the signal is off.
	since [NumSignals]time.Time

	// prevSched is the scheduling-delay histogram at the last reading;
	// only sample touches it.
	prevSched []uint64
	// prevRQ is the run-queue accounting at the last reading (valid
	// when rqSeen); only sample touches it.
	prevRQ RunQueueStat
	rqSeen bool
}

// RunQueueStat is the kernel's scheduler accounting of decoy's threads,
// summed over them (Linux: /proc/self/task/*/schedstat).
type RunQueueStat struct {
	// Run is the time the threads ran on a CPU.
	Run time.Duration
	// Wait is the time they were ready to run and waited in a run queue
	// for a CPU: time another process, or another of decoy's threads,
	// had the CPU.
	Wait time.Duration
	// Slices is how many times they were given a CPU.
	Slices uint64
}

// Reading is one measurement of the saturation signals.
type Reading struct {
	// CPU is the process's CPU time so far (user and system).
	CPU time.Duration
	// AcceptQueue is the connections waiting in the accept queues of all
	// the listeners; -1 when not measured.
	AcceptQueue int
	// SchedP99 is the 99th percentile of Go's scheduling delay over the
	// interval since the last reading; -1 when not measured.
	SchedP99 time.Duration
	// RunQueueWait is the time decoy's threads waited in the kernel's
	// run queue over the interval since the last reading, summed over
	// them, and RunQueueSlices how many times they were given a CPU
	// meanwhile; RunQueueWait is -1 when not measured.
	RunQueueWait   time.Duration
	RunQueueSlices uint64
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
	// Listeners returns the listening sockets whose accept queues count;
	// nil: none.
	Listeners func() []Listener
	// SchedLatencyBound is the p99 scheduling delay at or above which
	// decoy counts as busy; default DefaultSchedLatencyBound.
	SchedLatencyBound time.Duration
	// SchedLatencies returns Go's cumulative scheduling-delay histogram
	// (bucket boundaries in seconds, one more than the counts); default
	// runtime/metrics' /sched/latencies:seconds.
	SchedLatencies func() (buckets []float64, counts []uint64)
	// RunQueueBound is the mean run-queue wait per scheduling at or above
	// which decoy counts as busy; default DefaultRunQueueBound.
	RunQueueBound time.Duration
	// RunQueue reads the kernel's accounting of decoy's threads; ok is
	// false when it cannot. Default ReadRunQueue.
	RunQueue func() (RunQueueStat, bool)
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
	if o.SchedLatencyBound <= 0 {
		o.SchedLatencyBound = DefaultSchedLatencyBound
	}
	if o.SchedLatencies == nil {
		o.SchedLatencies = readSchedLatencies
	}
	if o.RunQueueBound <= 0 {
		o.RunQueueBound = DefaultRunQueueBound
	}
	if o.RunQueue == nil {
		o.RunQueue = ReadRunQueue
	}
	s := &Saturation{threshold: o.Threshold, cpus: o.CPUs, schedBound: o.SchedLatencyBound, cpuTime: o.CPUTime,
		listeners: o.Listeners, schedHist: o.SchedLatencies, rqBound: o.RunQueueBound, runQueue: o.RunQueue, log: o.Logger}
	s.queued.Store(-1)
	s.schedP99.Store(-1)
	s.rqDelay.Store(-1)
	return s
}

// Baseline takes the first reading now, unless one was taken: the CPU
// time's baseline and the accept queues, and a scheduling delay of 0
// until the first interval is measured. The app calls it before the admin
// API serves, so that /health has every field from the start.
func (s *Saturation) Baseline() {
	s.mu.Lock()
	done := !s.lastAt.IsZero()
	s.mu.Unlock()
	if !done {
		s.sample(time.Now())
	}
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

// SchedLatencyBound is the p99 scheduling delay at or above which decoy
// counts as busy.
func (s *Saturation) SchedLatencyBound() time.Duration { return s.schedBound }

// Signals tells which signals have been on for SaturatedFor: decoy is
// saturated while any is.
func (s *Saturation) Signals() [NumSignals]bool {
	var out [NumSignals]bool
	if s == nil {
		return out
	}
	for i := range out {
		out[i] = s.signals[i].Load()
	}
	return out
}

// SignalsOn lists the names of the signals that have been on for
// SaturatedFor; empty, not nil, when none has.
func (s *Saturation) SignalsOn() []string {
	out := []string{}
	for i, on := range s.Signals() {
		if on {
			out = append(out, SignalNames[i])
		}
	}
	return out
}

// Queued is the number of connections that waited in the accept queues at
// the last reading; -1 when not measured.
func (s *Saturation) Queued() int {
	if s == nil {
		return -1
	}
	return int(s.queued.Load())
}

// SchedLatency is the 99th percentile of Go's scheduling delay over the
// last interval measured; -1 when not measured.
func (s *Saturation) SchedLatency() time.Duration {
	if s == nil {
		return -1
	}
	return time.Duration(s.schedP99.Load())
}

// RunQueueDelay is the mean time decoy's threads waited in the kernel's
// run queue each time they were given a CPU, over the last interval
// measured; -1 when not measured (not Linux).
func (s *Saturation) RunQueueDelay() time.Duration {
	if s == nil {
		return -1
	}
	return time.Duration(s.rqDelay.Load())
}

// RunQueueBound is the mean run-queue wait at or above which decoy counts
// as busy.
func (s *Saturation) RunQueueBound() time.Duration { return s.rqBound }

// AcceptQueues reads the accept queue of every listener now; a paused
// listener reads as an empty queue of no size (Length and Max 0), and
// listeners that cannot be read (closed, or not on Linux) are left out.
func (s *Saturation) AcceptQueues() []AcceptQueue {
	if s == nil || s.listeners == nil {
		return nil
	}
	var out []AcceptQueue
	for _, l := range s.listeners() {
		if l.Paused {
			if acceptQueueMeasured {
				out = append(out, AcceptQueue{Listener: l.Name})
			}
			continue
		}
		if l.Socket == nil {
			continue
		}
		n, limit, err := ReadAcceptQueue(l.Socket)
		if err != nil {
			continue
		}
		out = append(out, AcceptQueue{Listener: l.Name, Length: n, Max: limit})
	}
	return out
}

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
	s.Baseline()
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
	r := Reading{CPU: cpu, AcceptQueue: -1, SchedP99: -1, RunQueueWait: -1}
	if qs := s.AcceptQueues(); qs != nil {
		r.AcceptQueue = 0
		for _, q := range qs {
			r.AcceptQueue += q.Length
		}
	}
	if p, ok := s.schedWindow(); ok {
		r.SchedP99 = p
	}
	if st, ok := s.runQueue(); ok {
		// The first reading is the baseline: nothing waited over no
		// interval. A thread that exited takes its figures along; the
		// sums never count back.
		r.RunQueueWait = 0
		if s.rqSeen {
			if st.Wait > s.prevRQ.Wait {
				r.RunQueueWait = st.Wait - s.prevRQ.Wait
			}
			if st.Slices > s.prevRQ.Slices {
				r.RunQueueSlices = st.Slices - s.prevRQ.Slices
			}
		}
		s.prevRQ, s.rqSeen = st, true
	}
	s.ObserveReading(now, r)
}

// ReadRunQueue sums the kernel's scheduler accounting over the process's
// threads, from /proc/self/task/*/schedstat (Linux with sched_info: the
// time on a CPU, the time waiting in a run queue, and the times given a
// CPU). ok is false where there is no such file. It reads one small file
// per thread; the saturation monitor calls it once a second.
func ReadRunQueue() (RunQueueStat, bool) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return RunQueueStat{}, false
	}
	var st RunQueueStat
	var buf [96]byte
	found := false
	for _, t := range tasks {
		f, err := os.Open("/proc/self/task/" + t.Name() + "/schedstat")
		if err != nil {
			continue // the thread exited
		}
		n, _ := f.Read(buf[:])
		_ = f.Close()
		run, wait, slices, ok := parseSchedstat(string(buf[:n]))
		if !ok {
			continue
		}
		st.Run += run
		st.Wait += wait
		st.Slices += slices
		found = true
	}
	return st, found
}

// parseSchedstat reads a schedstat line: nanoseconds on a CPU, nanoseconds
// waiting in a run queue, times given a CPU.
func parseSchedstat(s string) (run, wait time.Duration, slices uint64, ok bool) {
	f := strings.Fields(s)
	if len(f) < 3 {
		return 0, 0, 0, false
	}
	r, err1 := strconv.ParseUint(f[0], 10, 63)
	w, err2 := strconv.ParseUint(f[1], 10, 63)
	n, err3 := strconv.ParseUint(f[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, 0, false
	}
	return time.Duration(r), time.Duration(w), n, true
}

// schedWindow returns the p99 scheduling delay since the last call: 0 on
// the first call, which takes the baseline; ok is false when the runtime
// does not report it.
func (s *Saturation) schedWindow() (time.Duration, bool) {
	buckets, counts := s.schedHist()
	if len(counts) == 0 || len(buckets) != len(counts)+1 {
		return 0, false
	}
	prev := s.prevSched
	if len(prev) != len(counts) {
		s.prevSched = append(s.prevSched[:0], counts...)
		return 0, true
	}
	delta := make([]uint64, len(counts))
	for i := range counts {
		if counts[i] >= prev[i] {
			delta[i] = counts[i] - prev[i]
		}
	}
	copy(s.prevSched, counts)
	q := Quantile(buckets, delta, 0.99)
	return time.Duration(q * float64(time.Second)), true
}

// Quantile returns the q-quantile (0-1] of a histogram: the upper bound of
// the bucket it falls in (the lower bound for the last, unbounded bucket),
// 0 when the histogram is empty. buckets holds the boundaries, one more
// than counts.
func Quantile(buckets []float64, counts []uint64, q float64) float64 {
	var total uint64
	for _, n := range counts {
		total += n
	}
	if total == 0 || len(buckets) != len(counts)+1 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	rank = max(rank, 1)
	var cum uint64
	for i, n := range counts {
		cum += n
		if cum >= rank {
			if hi := buckets[i+1]; !math.IsInf(hi, 1) {
				return hi
			}
			return max(buckets[i], 0)
		}
	}
	return max(buckets[len(buckets)-2], 0)
}

// readSchedLatencies reads runtime/metrics' scheduling-delay histogram.
func readSchedLatencies() ([]float64, []uint64) {
	sm := []rtmetrics.Sample{{Name: "/sched/latencies:seconds"}}
	rtmetrics.Read(sm)
	if sm[0].Value.Kind() != rtmetrics.KindFloat64Histogram {
		return nil, nil
	}
	h := sm[0].Value.Float64Histogram()
	return h.Buckets, h.Counts
}

// Observe takes a reading of the CPU alone: the process's total CPU time
// at now. The first reading only sets the baseline.
func (s *Saturation) Observe(now time.Time, cpu time.Duration) {
	s.ObserveReading(now, Reading{CPU: cpu, AcceptQueue: -1, SchedP99: -1, RunQueueWait: -1})
}

// ObserveReading takes one reading of the signals at now. The first
// reading only sets the baseline of the CPU time.
func (s *Saturation) ObserveReading(now time.Time, r Reading) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastAt.IsZero() || !now.After(s.lastAt) {
		if s.lastAt.IsZero() {
			// The accept queue and the scheduling delay (0: no
			// interval yet) are known from the first reading.
			s.queued.Store(int64(r.AcceptQueue))
			s.schedP99.Store(int64(r.SchedP99))
			s.rqDelay.Store(int64(r.runQueueDelay()))
		}
		s.lastAt, s.lastCPU = now, r.CPU
		return
	}
	wall := now.Sub(s.lastAt)
	u := float64(r.CPU-s.lastCPU) / float64(wall) / s.cpus
	s.lastAt, s.lastCPU = now, r.CPU
	s.util.Store(math.Float64bits(u))
	s.queued.Store(int64(r.AcceptQueue))
	s.schedP99.Store(int64(r.SchedP99))
	rq := r.runQueueDelay()
	s.rqDelay.Store(int64(rq))
	on := [NumSignals]bool{
		SignalCPU:          u >= s.threshold,
		SignalAcceptQueue:  r.AcceptQueue > 0,
		SignalSchedLatency: r.SchedP99 >= 0 && r.SchedP99 >= s.schedBound,
		SignalRunQueue:     rq >= s.rqBound && r.RunQueueWait >= MinRunQueueWait,
	}
	busy := false
	for i := range on {
		if !on[i] {
			s.since[i] = time.Time{}
			s.signals[i].Store(false)
			continue
		}
		if s.since[i].IsZero() {
			// The run began with the interval just measured.
			s.since[i] = now.Add(-wall)
		}
		if now.Sub(s.since[i]) >= SaturatedFor {
			s.signals[i].Store(true)
			busy = true
		}
	}
	switch {
	case busy && !s.saturated.Load():
		s.saturated.Store(true)
		s.episodes.Add(1)
		s.log.Warn("decoy is saturated: for 5s it has used more than its threshold of the CPUs it may use, left connections waiting to be accepted, kept goroutines waiting for a CPU, or its threads waited for a CPU other processes had; latencies the client measures now include decoy queueing. Give decoy more cores, pin the client and other busy processes elsewhere, or run more decoy instances",
			"signals", strings.Join(s.onNames(), ","), "cpu", round2(u), "cpus", s.cpus, "threshold", s.threshold,
			"acceptQueue", r.AcceptQueue, "schedP99", r.SchedP99, "runQueueDelay", rq)
	case !busy && s.saturated.Swap(false):
		s.log.Info("decoy is no longer saturated", "cpu", round2(u), "cpus", s.cpus)
	}
}

// runQueueDelay is the mean run-queue wait per scheduling over the
// reading's interval; -1 when not measured, 0 when no thread ran.
func (r Reading) runQueueDelay() time.Duration {
	switch {
	case r.RunQueueWait < 0:
		return -1
	case r.RunQueueSlices == 0:
		return 0
	}
	return r.RunQueueWait / time.Duration(r.RunQueueSlices)
}

// onNames lists the signals on for SaturatedFor; the caller holds mu.
func (s *Saturation) onNames() []string {
	var out []string
	for i := range s.signals {
		if s.signals[i].Load() {
			out = append(out, SignalNames[i])
		}
	}
	return out
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
