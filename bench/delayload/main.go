// Command delayload measures how late a server's delayed answers are, and
// how close it comes to the request rate a delay allows, over HTTP/1.1
// keep-alive connections; bench/delay-accuracy.sh runs it against decoy.
//
// It opens -conns connections (binding them round-robin to the -sources
// loopback addresses, so that the ephemeral ports of one address suffice)
// and keeps exactly one GET request in flight on each: a connection sends
// its next request as soon as it has read the answer to the last. With a
// server that delays every answer by -delay, the best possible rate is
// conns / delay requests per second (the bound).
//
// When each connection starts matters. With -start spread (the default)
// connection i sends its first request i/conns of one delay after the
// start, so that answers come due evenly over the delay period, as they
// would from independent clients. With -start together every connection
// sends its first request in the same instant, as wrk does, so that the
// answers come due in bursts of conns at once and the server has to write
// them all in the same instant.
//
// For each request it measures the time from writing the request to having
// read the whole answer, minus -delay: the lateness. The epoll engine also
// measures the lateness on arrival: the same, but to the kernel's timestamp
// (SO_TIMESTAMPNS) of the answer's last segment reaching the client's
// socket. The difference is the time the answer waited for the client to
// read it, which is the client's: when answers come due in bursts, a
// single-threaded client reads the last of a burst late however punctual
// the server was. It checks every answer's status (-status) and body size
// (Content-Length, and -body-bytes when set); a wrong answer or a
// connection error counts as an error (the connection is not used again).
// Latenesses go into histograms (log-linear buckets, under 0.8 % relative
// error, no allocation per request). Requests that end in the first
// -warmup are not counted; then it measures for -duration, lets the
// requests in flight finish (at most one delay plus -grace), and prints a
// report and one SUMMARY line of key=value pairs.
//
// The client's own CPU time is reported too: when it nears 100 % of a core,
// the figures measure the client, not the server; so is the time the
// server's and the client's threads spent ready to run but waiting for a
// CPU (the run queue).
//
// Two engines run the connections (-engine). epoll, the default on Linux,
// is one goroutine locked to its OS thread driving raw nonblocking sockets
// through one level-triggered epoll instance: no goroutine per connection,
// no Go scheduler between an answer's arrival and its timestamp, which is
// taken right after the read that brings the answer's last byte, and one
// thread doing all the work, so the client adds as little lateness as it
// can.
// goroutines, the default elsewhere, runs a goroutine per net.Conn
// connection; it is kept to compare with, and its figures include the
// scheduling of many goroutines over several OS threads.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/bits"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/decoy-dev/decoy/bench/internal/answer"
	"github.com/decoy-dev/decoy/bench/internal/loopback"
)

type options struct {
	addr      string
	path      string
	conns     int
	delay     time.Duration
	start     string
	duration  time.Duration
	warmup    time.Duration
	grace     time.Duration
	sources   string
	status    int
	bodyBytes int
	dialPar   int
	label     string
	serverPID int
	engine    string
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8080", "server address (host:port)")
	flag.StringVar(&o.path, "path", "/users/42", "path of the GET request")
	flag.IntVar(&o.conns, "conns", 1000, "keep-alive connections, each with one request in flight")
	flag.DurationVar(&o.delay, "delay", 100*time.Millisecond, "the delay the server applies to every answer")
	flag.StringVar(&o.start, "start", "spread", "spread: connection starts spread evenly over one delay; together: all in the same instant")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured time")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured time first (requests ending in it are not counted)")
	flag.DurationVar(&o.grace, "grace", 10*time.Second, "how long past one delay an answer may take before its connection is given up")
	flag.StringVar(&o.sources, "sources", "127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5", "source addresses to spread the connections over (comma-separated; empty: let the system choose)")
	flag.IntVar(&o.status, "status", 200, "the status every answer must have")
	flag.IntVar(&o.bodyBytes, "body-bytes", -1, "the body size every answer must have (-1: any)")
	flag.IntVar(&o.dialPar, "dial-parallel", 64, "connections opened at once")
	flag.StringVar(&o.label, "label", "", "a name for the case, repeated on the SUMMARY line")
	flag.StringVar(&o.engine, "engine", defaultEngine, "how the client runs its connections: epoll (one thread, Linux only) or goroutines (one per connection)")
	flag.IntVar(&o.serverPID, "server-pid", 0, "PID of the server (one process), to report its CPU time per answer (0: not measured)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "delayload: %v\n", err)
		os.Exit(1)
	}
}

func (o *options) check() error {
	var errs []error
	if o.conns <= 0 {
		errs = append(errs, fmt.Errorf("-conns %d: want at least 1", o.conns))
	}
	if o.delay <= 0 {
		errs = append(errs, fmt.Errorf("-delay %v: want more than 0", o.delay))
	}
	if o.duration <= 0 || o.warmup < 0 || o.grace <= 0 {
		errs = append(errs, errors.New("-duration and -grace must be more than 0, -warmup 0 or more"))
	}
	if o.start != "spread" && o.start != "together" {
		errs = append(errs, fmt.Errorf("-start %q: want spread or together", o.start))
	}
	if o.engine != "epoll" && o.engine != "goroutines" {
		errs = append(errs, fmt.Errorf("-engine %q: want epoll or goroutines", o.engine))
	}
	if o.dialPar <= 0 {
		errs = append(errs, fmt.Errorf("-dial-parallel %d: want at least 1", o.dialPar))
	}
	if !strings.HasPrefix(o.path, "/") || strings.ContainsAny(o.path, " \r\n") {
		errs = append(errs, fmt.Errorf("-path %q: want an absolute path without spaces", o.path))
	}
	return errors.Join(errs...)
}

// ---------------------------------------------------------------- histogram

// subBits sets the histogram's resolution: 2^subBits buckets per power of
// two, so a bucket is at most 1/128 of its value wide (values below 128 are
// exact).
const (
	subBits  = 7
	subCount = 1 << subBits
	nBuckets = (64 - subBits + 1) * subCount
)

// hist counts non-negative values (lateness in µs) in log-linear buckets.
// Add is safe for concurrent use and allocates nothing.
type hist struct {
	b     [nBuckets]atomic.Uint64
	n     atomic.Uint64
	early atomic.Uint64 // values below 0: answers sooner than the delay
	sum   atomic.Uint64
	max   atomic.Uint64
}

func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(v) - subBits // >= 1
	return e*subCount + int(v>>(e-1)) - subCount
}

// bucketLow is the smallest value of bucket i.
func bucketLow(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	e := i / subCount
	return uint64(i%subCount+subCount) << (e - 1)
}

func (h *hist) add(us int64) {
	h.n.Add(1)
	if us < 0 {
		h.early.Add(1)
		us = 0
	}
	v := uint64(us)
	h.b[bucketOf(v)].Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
}

// quantile is the value at quantile q (0..1): the middle of the bucket
// holding it, never more than the largest value seen.
func (h *hist) quantile(q float64) uint64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen uint64
	for i := range h.b {
		seen += h.b[i].Load()
		if seen >= rank {
			lo := bucketLow(i)
			hi := lo
			if i+1 < nBuckets {
				hi = bucketLow(i+1) - 1
			}
			return min((lo+hi)/2, h.max.Load())
		}
	}
	return h.max.Load()
}

// ---------------------------------------------------------------- the run

// result is what the connections measured, shared by all of them.
type result struct {
	late        hist
	wire        hist         // lateness on arrival at the client's machine (epoll engine only)
	counted     atomic.Int64 // answers ending inside the measured window
	all         atomic.Int64 // answers in all
	errs        atomic.Int64
	firstErr    atomic.Value // error
	lostConns   atomic.Int64 // connections given up after an error
	dialTime    time.Duration
	cpu         time.Duration // the client's CPU time over the measured window
	serverTicks int64         // the server's CPU ticks over the window, -1 unknown
	// serverWait and clientWait: time the process's threads spent ready
	// to run but waiting for a CPU over the window (-1 unknown).
	serverWait, clientWait time.Duration
}

func (r *result) fail(err error) {
	r.errs.Add(1)
	r.firstErr.CompareAndSwap(nil, err)
}

func run(o options) error {
	res, err := measure(o)
	if err != nil {
		return err
	}
	report(os.Stdout, &o, res)
	return nil
}

// measure opens the connections, loads the server and returns what it
// measured.
func measure(o options) (*result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	srcs, err := loopback.ParseSources(o.sources)
	if err != nil {
		return nil, err
	}
	raddr, err := net.ResolveTCPAddr("tcp", o.addr)
	if err != nil {
		return nil, err
	}
	req := []byte("GET " + o.path + " HTTP/1.1\r\nHost: " + o.addr + "\r\nUser-Agent: delayload\r\n\r\n")
	res := &result{}
	var w window
	if o.engine == "epoll" {
		err = runEpoll(&o, srcs, raddr, req, res, &w)
	} else {
		err = runGoroutines(&o, srcs, raddr, req, res, &w)
	}
	if err != nil {
		return nil, err
	}
	w.finish(res)
	return res, nil
}

// window is the timetable of a run and what was sampled at the start and
// the end of its measured window.
type window struct {
	// Each connection's first request goes at start + its offset; answers
	// ending in [mStart, mEnd) are counted; no request starts after mEnd;
	// an answer not read by deadline is given up.
	start, mStart, mEnd, deadline time.Time

	wg                 sync.WaitGroup
	ru0, ru1           syscall.Rusage
	srv0, srv1         int64
	sw0, sw1, cw0, cw1 time.Duration
}

// begin fixes the timetable, starting 50 ms from now, and samples the CPU
// times and run-queue waits at mStart and mEnd from a goroutine of its own.
func (w *window) begin(o *options) {
	w.start = time.Now().Add(50 * time.Millisecond)
	w.mStart = w.start.Add(o.warmup)
	w.mEnd = w.mStart.Add(o.duration)
	w.deadline = w.mEnd.Add(o.delay + o.grace)
	self := os.Getpid()
	w.wg.Go(func() {
		time.Sleep(time.Until(w.mStart))
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &w.ru0)
		w.srv0 = procTicks(o.serverPID)
		w.sw0, w.cw0 = runQueueWait(o.serverPID), runQueueWait(self)
		time.Sleep(time.Until(w.mEnd))
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &w.ru1)
		w.srv1 = procTicks(o.serverPID)
		w.sw1, w.cw1 = runQueueWait(o.serverPID), runQueueWait(self)
	})
}

// offset is when connection i sends its first request, after start.
func (o *options) offset(i int) time.Duration {
	if o.start != "spread" {
		return 0
	}
	return time.Duration(int64(o.delay) * int64(i) / int64(o.conns))
}

// finish waits for the samples and puts their differences into res.
func (w *window) finish(res *result) {
	w.wg.Wait()
	res.cpu = time.Duration(w.ru1.Utime.Nano() + w.ru1.Stime.Nano() - w.ru0.Utime.Nano() - w.ru0.Stime.Nano())
	res.serverTicks = -1
	if w.srv0 >= 0 && w.srv1 >= 0 {
		res.serverTicks = w.srv1 - w.srv0
	}
	res.serverWait, res.clientWait = -1, -1
	if w.sw0 >= 0 && w.sw1 >= 0 {
		res.serverWait = w.sw1 - w.sw0
	}
	if w.cw0 >= 0 && w.cw1 >= 0 {
		res.clientWait = w.cw1 - w.cw0
	}
}

// runGoroutines is the goroutine engine: net.Conn connections, each run by
// a goroutine of its own.
func runGoroutines(o *options, srcs []net.IP, raddr *net.TCPAddr, req []byte, res *result, w *window) error {
	// Open every connection first.
	conns := make([]*net.TCPConn, o.conns)
	t0 := time.Now()
	var dialErr atomic.Value
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(o.dialPar, o.conns) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= o.conns || dialErr.Load() != nil {
					return
				}
				var src net.IP
				if len(srcs) > 0 {
					src = srcs[i%len(srcs)]
				}
				c, err := loopback.Dialer(10*time.Second, src).Dial("tcp", raddr.String())
				if err != nil {
					dialErr.CompareAndSwap(nil, fmt.Errorf("connection %d: %w", i, err))
					return
				}
				conns[i] = c.(*net.TCPConn)
			}
		})
	}
	wg.Wait()
	if e := dialErr.Load(); e != nil {
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
		return e.(error)
	}
	res.dialTime = time.Since(t0)

	w.begin(o)
	for i, c := range conns {
		off := o.offset(i)
		wg.Go(func() {
			defer c.Close()
			if err := c.SetDeadline(w.deadline); err != nil {
				res.fail(err)
				res.lostConns.Add(1)
				return
			}
			time.Sleep(time.Until(w.start.Add(off)))
			if err := loop(c, req, o, res, w.mStart, w.mEnd); err != nil {
				res.fail(err)
				res.lostConns.Add(1)
			}
		})
	}
	wg.Wait()
	return nil
}

// clkTck is the kernel's clock tick rate for /proc/PID/stat times
// (USER_HZ, 100 on every Linux architecture Go runs on).
const clkTck = 100

// procTicks is the user + system CPU time of process pid (all its threads)
// in clock ticks, from /proc/PID/stat; -1 when pid is 0 or unreadable.
func procTicks(pid int) int64 {
	if pid <= 0 {
		return -1
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// The command name, in parentheses, may hold spaces: fields count from
	// after its closing parenthesis (state is field 3, utime 14, stime 15).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return u + s
}

// runQueueWait is the time every thread of process pid has spent ready to
// run but waiting for a CPU, summed from /proc/PID/task/*/schedstat (its
// second field); -1 when pid is 0 or it cannot be read. Threads that ended
// no longer count, which is fine over a window where the thread set is
// steady. A server whose answers are late while it waited long for a CPU
// was held up by other work on its CPU, not by itself.
func runQueueWait(pid int) time.Duration {
	if pid <= 0 {
		return -1
	}
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return -1
	}
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if err != nil {
			continue // the thread ended
		}
		f := strings.Fields(string(b))
		if len(f) < 2 {
			return -1
		}
		ns, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return -1
		}
		sum += ns
	}
	return time.Duration(sum)
}

// loop asks requests on c until mEnd, one at a time.
func loop(c *net.TCPConn, req []byte, o *options, res *result, mStart, mEnd time.Time) error {
	br := bufio.NewReaderSize(c, 2048)
	for {
		t0 := time.Now()
		if !t0.Before(mEnd) {
			return nil
		}
		if _, err := c.Write(req); err != nil {
			return err
		}
		if err := answer.Read(br, o.status, o.bodyBytes); err != nil {
			return err
		}
		t1 := time.Now()
		res.all.Add(1)
		if !t1.Before(mStart) && t1.Before(mEnd) {
			res.counted.Add(1)
			res.late.add((t1.Sub(t0) - o.delay).Microseconds())
		}
	}
}

// ---------------------------------------------------------------- report

func report(w io.Writer, o *options, res *result) {
	dialTime, cpu := res.dialTime, res.cpu
	h := &res.late
	n := res.counted.Load()
	rps := float64(n) / o.duration.Seconds()
	bound := float64(o.conns) / o.delay.Seconds()
	ms := func(us uint64) string { return strconv.FormatFloat(float64(us)/1000, 'f', 2, 64) }
	mean := 0.0
	if hn := h.n.Load(); hn > 0 {
		mean = float64(h.sum.Load()) / float64(hn) / 1000
	}
	cpuShare := cpu.Seconds() / o.duration.Seconds() * 100
	var cpuPerReq float64
	if n > 0 {
		cpuPerReq = float64(cpu.Microseconds()) / float64(n)
	}
	first := ""
	if e, ok := res.firstErr.Load().(error); ok {
		first = e.Error()
	}

	fmt.Fprintf(w, "delayload: %d connections to %s%s, delay %v, start %s, engine %s; opened in %v\n",
		o.conns, o.addr, o.path, o.delay, o.start, o.engine, dialTime.Round(time.Millisecond))
	fmt.Fprintf(w, "measured %v after %v of warm-up: %d answers (%d in all), %.0f requests/s = %.1f%% of the bound %.0f (conns / delay)\n",
		o.duration, o.warmup, n, res.all.Load(), rps, 100*rps/bound, bound)
	fmt.Fprintf(w, "lateness (answer time minus %v), ms: p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  mean %.2f\n",
		o.delay, ms(h.quantile(0.50)), ms(h.quantile(0.90)), ms(h.quantile(0.99)), ms(h.quantile(0.999)), ms(h.max.Load()), mean)
	wire := &res.wire
	wp50, wp99, wp999 := "-", "-", "-"
	if wire.n.Load() > 0 {
		wp50, wp99, wp999 = ms(wire.quantile(0.50)), ms(wire.quantile(0.99)), ms(wire.quantile(0.999))
		fmt.Fprintf(w, "lateness on arrival (the kernel's timestamp of the answer's last segment, %d answers), ms: p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n",
			wire.n.Load(), wp50, ms(wire.quantile(0.90)), wp99, wp999, ms(wire.max.Load()))
	}
	if e := h.early.Load(); e > 0 {
		fmt.Fprintf(w, "WARNING: %d answers came sooner than the delay: is the server delaying by %v?\n", e, o.delay)
	}
	if first != "" {
		first = "; first: " + first
	}
	fmt.Fprintf(w, "errors: %d (connections given up: %d)%s\n", res.errs.Load(), res.lostConns.Load(), first)
	fmt.Fprintf(w, "client CPU: %.1f%% of one core over the measured time, %.1f µs per answer\n", cpuShare, cpuPerReq)
	srvShare, srvPerReq := "-", "-"
	if res.serverTicks >= 0 {
		sec := float64(res.serverTicks) / clkTck
		srvShare = strconv.FormatFloat(100*sec/o.duration.Seconds(), 'f', 1, 64)
		if n > 0 {
			srvPerReq = strconv.FormatFloat(sec*1e6/float64(n), 'f', 1, 64)
		}
		fmt.Fprintf(w, "server CPU (pid %d): %s%% of one core over the measured time, %s µs per answer\n", o.serverPID, srvShare, srvPerReq)
	}
	waited := func(d time.Duration) string {
		if d < 0 {
			return "-"
		}
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
	}
	fmt.Fprintf(w, "waiting for a CPU while ready to run (run queue): server %s ms, client %s ms over the measured time\n",
		waited(res.serverWait), waited(res.clientWait))
	if cpuShare > 80 {
		fmt.Fprintln(w, "WARNING: the client used more than 80% of a core: the figures may measure the client rather than the server")
	}
	fmt.Fprintf(w, "SUMMARY label=%s conns=%d delay_ms=%g start=%s rps=%.0f bound=%.0f share_pct=%.1f late_p50_ms=%s late_p90_ms=%s late_p99_ms=%s late_p999_ms=%s late_max_ms=%s errors=%d client_cpu_pct=%.1f server_cpu_pct=%s server_us_per_req=%s server_runq_ms=%s client_runq_ms=%s engine=%s wire_p50_ms=%s wire_p99_ms=%s wire_p999_ms=%s\n",
		labelOr(o.label), o.conns, float64(o.delay)/float64(time.Millisecond), o.start, rps, bound, 100*rps/bound,
		ms(h.quantile(0.50)), ms(h.quantile(0.90)), ms(h.quantile(0.99)), ms(h.quantile(0.999)), ms(h.max.Load()),
		res.errs.Load(), cpuShare, srvShare, srvPerReq, waited(res.serverWait), waited(res.clientWait), o.engine, wp50, wp99, wp999)
}

func labelOr(s string) string {
	if s == "" {
		return "-"
	}
	return strings.ReplaceAll(s, " ", "_")
}
