// Command conns holds many idle HTTP/1.1 keep-alive connections to one
// server and asks a request on each of them, round after round, while all
// are held; bench/held-conns.sh runs it against decoy.
//
// One process may open at most as many files as the machine allows (20,000
// on the machines this was written for), so conns spreads the connections
// over several child processes (itself, run with -child), each holding at
// most -per-proc of them, and binds them to several source addresses
// (127.0.0.2, 127.0.0.3, ...) so that the ephemeral ports of one address
// suffice. The parent process tells the children what to do over their
// standard input, gathers what they measured from their standard output,
// and between the phases samples the server: its resident memory (VmRSS and
// Pss of -server-pid and its child processes, from /proc: a decoy run with
// --workers counts as the supervisor and its workers together) and, from
// its Prometheus endpoint (-metrics), go_goroutines,
// go_memstats_heap_inuse_bytes and decoy_connections_open (summed over the
// workers by the supervisor's admin API).
//
// Phases: baseline (after -warmup requests on one connection), connect
// every connection, rounds of one request on each connection (paced at
// -rate requests/s in all, or all at once with -rate 0), a pause of -hold
// between rounds, close everything, then watch the server for -settle as it
// returns toward its baseline.
//
// With -abuse, one more round runs while an abuser (one more child process,
// run with -abuser, with its own open-file budget and source addresses
// -abuse-sources) misbehaves at the same time: it holds half-open
// connections (a partial request line or partial headers, then nothing),
// silent ones, and clients that ask for a large body (-large-path) or
// pipeline requests and never read, at most -abuse-conns connections in
// all, and sends malformed requests at -abuse-rate, each of which must be
// answered with a 4xx or closed within -abuse-timeout. With -abuse-rounds N
// that happens N times, each after a clean round, and the p99 of all the
// abuse rounds' requests together is compared with that of the clean
// rounds before them (-max-abuse-p99-ratio).
//
// It prints tables, then "RESULT: PASS" when every request of every round
// was answered with the expected status (and body size, with -body-bytes),
// the abuse (if any) was rejected as it should be, the server was back to
// its baseline after the clients left (open connections 0, goroutines
// within -max-goroutines-over; heap in use within -max-heap-over-mib when
// -settle is long enough for Go's forced GC), and the bounds given were
// met, else "RESULT: FAIL". The exit status is 0 on PASS, 2 on FAIL once it
// has measured, 1 when it could not run.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/decoy-dev/decoy/bench/internal/answer"
	"github.com/decoy-dev/decoy/bench/internal/loopback"
)

type options struct {
	addr       string
	path       string
	conns      int
	perProc    int
	sources    string
	rate       float64
	rounds     int
	hold       time.Duration
	settle     time.Duration
	timeout    time.Duration
	dialPar    int
	serverPID  int
	metricsURL string
	status     int
	bodyBytes  int
	warmup     int
	maxRSSMiB  float64
	maxP99us   int64
	engine     string

	// the abuse round
	abuse            bool
	abuseAddr        string
	abuseConns       int
	abuseSources     string
	abuseRate        float64
	abuseTimeout     time.Duration
	abuseHeaderBytes int
	largePath        string
	abuseCPU         int
	abuseNice        int
	abuseKinds       string
	abuseRounds      int
	maxAbuseRatio    float64
	// after the clients leave
	maxGoroutinesOver int64
	maxHeapOverMiB    float64

	abuser bool // child mode: the abuser

	// child mode
	child     bool
	childID   int
	childConn int
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8080", "server address (host:port)")
	flag.StringVar(&o.path, "path", "/users/42", "path of the GET request asked on every connection")
	flag.IntVar(&o.conns, "conns", 19000, "connections to hold, in all")
	flag.IntVar(&o.perProc, "per-proc", 9500, "most connections one client process holds (its open-file limit must allow them)")
	flag.StringVar(&o.sources, "sources", "127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5", "source addresses to spread the connections over (comma-separated)")
	flag.Float64Var(&o.rate, "rate", 5000, "requests per second of a round, over all connections (0: every connection at once)")
	flag.IntVar(&o.rounds, "rounds", 2, "rounds: one request on every connection each")
	flag.DurationVar(&o.hold, "hold", 5*time.Second, "pause, all connections idle, after connecting and between rounds")
	flag.DurationVar(&o.settle, "settle", 30*time.Second, "how long to watch the server after the clients close")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Second, "deadline of one request (write and whole response)")
	flag.IntVar(&o.dialPar, "dial-parallel", 128, "connections each client process opens at once")
	flag.IntVar(&o.serverPID, "server-pid", 0, "PID of the server, for its resident memory (0: not sampled)")
	flag.StringVar(&o.metricsURL, "metrics", "", "the server's Prometheus endpoint (empty: not sampled)")
	flag.IntVar(&o.status, "status", 200, "the status every answer must have")
	flag.IntVar(&o.bodyBytes, "body-bytes", -1, "the body size every answer must have (-1: any)")
	flag.IntVar(&o.warmup, "warmup", 100, "requests on one connection before the baseline")
	flag.Float64Var(&o.maxRSSMiB, "max-rss-mib", 0, "fail when the server's resident memory (all its processes) passes this while the connections are held (0: no bound)")
	flag.Int64Var(&o.maxP99us, "max-p99-us", 0, "fail when a round's p99 latency passes this, in µs (0: no bound)")
	flag.StringVar(&o.engine, "engine", defaultEngine, "how a client process runs a round: epoll (Linux: one thread, raw sockets, latency also on arrival) or goroutines (a goroutine per request)")
	flag.BoolVar(&o.abuse, "abuse", false, "after the rounds, one more round while an abuser process sends malformed requests, holds half-open and silent connections and stops reading answers")
	flag.StringVar(&o.abuseAddr, "abuse-addr", "", "where the abuser aims (empty: -addr); aimed at another server on the server's CPU, a control run that measures what the abuse costs the machine and the load generator rather than the server under test")
	flag.IntVar(&o.abuseConns, "abuse-conns", 2000, "most connections the abuser holds at once (its own process and open-file budget)")
	flag.StringVar(&o.abuseSources, "abuse-sources", "127.0.0.6,127.0.0.7", "the abuser's source addresses (comma-separated), apart from the well-behaved clients'")
	flag.Float64Var(&o.abuseRate, "abuse-rate", 2000, "malformed requests per second during the abuse round, a connection each (0: as fast as -abuse-conns / 10 at once allow)")
	flag.DurationVar(&o.abuseTimeout, "abuse-timeout", 5*time.Second, "how long a malformed request may go without an answer or a close before it counts as hung")
	flag.IntVar(&o.abuseHeaderBytes, "abuse-header-bytes", 32<<10, "size of the oversized header (more than the server's limit)")
	flag.StringVar(&o.largePath, "large-path", "/files/payload.bin", "path of a large body (a few MiB) that the abuser asks for and never reads")
	flag.StringVar(&o.abuseKinds, "abuse-kinds", "all", "which abuse to do: all, or some of burst (malformed requests), half-open, silent, no-read (comma-separated)")
	flag.IntVar(&o.abuseCPU, "abuse-cpu", -1, "pin the abuser to this CPU with taskset (-1: where this process runs)")
	flag.IntVar(&o.abuseRounds, "abuse-rounds", 1, "abuse rounds, each after a clean round of its own; p99 is compared over all of them together")
	flag.IntVar(&o.abuseNice, "abuse-nice", 0, "run the abuser at this nice value (0-19): with the clients on one CPU, 19 lets the kernel run a waiting client before the abuser")
	flag.Float64Var(&o.maxAbuseRatio, "max-abuse-p99-ratio", 2, "fail when the abuse round's p99 passes this multiple of the clean round before it (0: no bound)")
	flag.Int64Var(&o.maxGoroutinesOver, "max-goroutines-over", 20, "after the clients leave, goroutines must be back within this many of the baseline")
	flag.Float64Var(&o.maxHeapOverMiB, "max-heap-over-mib", 16, "after the clients leave, heap in use must be back within this many MiB of the baseline per server process (judged only with -settle of 245 s or more: two forced GCs must have run)")
	flag.BoolVar(&o.abuser, "abuser", false, "internal: run as the abuser")
	flag.BoolVar(&o.child, "child", false, "internal: run as a client process")
	flag.IntVar(&o.childID, "child-id", 0, "internal: which client process")
	flag.IntVar(&o.childConn, "child-conns", 0, "internal: connections of this client process")
	flag.Parse()

	if o.abuser {
		if err := runAbuser(o); err != nil {
			fmt.Fprintf(os.Stderr, "conns abuser: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if o.child {
		if err := runChild(o); err != nil {
			fmt.Fprintf(os.Stderr, "conns child %d: %v\n", o.childID, err)
			os.Exit(1)
		}
		return
	}
	pass, err := runParent(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "conns: %v\n", err)
		os.Exit(1)
	}
	if !pass {
		os.Exit(2)
	}
}

// ---------------------------------------------------------------- messages

// report is what a child sends back after each command.
type report struct {
	Phase  string  `json:"phase"` // connected, round, closed
	OK     int     `json:"ok"`
	Errors int     `json:"errors"`
	First  string  `json:"first,omitempty"` // the first error
	Lat    []int64 `json:"lat,omitempty"`   // µs, one per answered request
	Wire   []int64 `json:"wire,omitempty"`  // µs to the answer's arrival (kernel timestamp), when known
	Ms     int64   `json:"ms"`              // how long the phase took
}

// ---------------------------------------------------------------- child

type client struct {
	c  net.Conn
	br *bufio.Reader
	fd int // the socket, for the epoll engine
}

func runChild(o options) error {
	srcs, err := parseSources(o.sources)
	if err != nil {
		return err
	}
	raddr, err := net.ResolveTCPAddr("tcp", o.addr)
	if err != nil {
		return err
	}
	out := json.NewEncoder(os.Stdout)
	in := bufio.NewScanner(os.Stdin)

	// Connect: connection i of client process k binds to a source address
	// chosen round-robin over the global connection index.
	start := time.Now()
	clients := make([]*client, o.childConn)
	var firstErr atomic.Value
	var failed atomic.Int64
	sem := make(chan struct{}, max(o.dialPar, 1))
	var wg sync.WaitGroup
	for i := range clients {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			global := o.childID*o.perProc + i
			// Idle means idle: no TCP keep-alive probes.
			d := loopback.Dialer(o.timeout, srcs[global%len(srcs)])
			c, err := d.Dial("tcp", raddr.String())
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				return
			}
			fd := -1
			if o.engine == "epoll" {
				if fd, err = rawFD(c.(*net.TCPConn)); err != nil {
					_ = c.Close()
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					return
				}
			}
			clients[i] = &client{c: c, br: bufio.NewReaderSize(c, 1024), fd: fd}
		}()
	}
	wg.Wait()
	r := report{Phase: "connected", OK: o.childConn - int(failed.Load()), Errors: int(failed.Load()), Ms: time.Since(start).Milliseconds()}
	if v := firstErr.Load(); v != nil {
		r.First = v.(string)
	}
	if err := out.Encode(r); err != nil {
		return err
	}

	req := []byte("GET " + o.path + " HTTP/1.1\r\nHost: " + o.addr + "\r\nUser-Agent: decoy-bench-conns\r\n\r\n")
	for in.Scan() {
		cmd := strings.Fields(in.Text())
		if len(cmd) == 0 {
			continue
		}
		switch cmd[0] {
		case "round":
			rate := 0.0
			if len(cmd) > 1 {
				rate, _ = strconv.ParseFloat(cmd[1], 64)
			}
			round := childRound
			if o.engine == "epoll" {
				round = epollRound
			}
			if err := out.Encode(round(o, clients, req, rate)); err != nil {
				return err
			}
		case "close":
			start := time.Now()
			for _, cl := range clients {
				if cl != nil {
					_ = cl.c.Close()
				}
			}
			return out.Encode(report{Phase: "closed", Ms: time.Since(start).Milliseconds()})
		default:
			return fmt.Errorf("unknown command %q", cmd[0])
		}
	}
	return in.Err()
}

// childRound asks one request on every held connection, the i-th at
// start + i/rate (all at once when rate is 0), and waits for every answer.
//
// The client's own pauses would count as the server's latency, so the
// round runs without garbage collection (a collection first, and the
// garbage of one round is a few tens of MiB), and each request's
// goroutine starts at its time: goroutines started at once and sleeping
// until their turn would all run when the round starts, and the first
// answers would wait behind thousands of them (a max of 20 ms).
func childRound(o options, clients []*client, req []byte, rate float64) report {
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	lat := make([]int64, len(clients))
	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	start := time.Now()
	for i, cl := range clients {
		if cl == nil {
			errs[i] = errors.New("not connected")
			continue
		}
		if rate > 0 {
			time.Sleep(time.Until(start.Add(offset(i, rate))))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat[i], errs[i] = ask(o, cl, req)
		}()
	}
	wg.Wait()
	r := report{Phase: "round", Ms: time.Since(start).Milliseconds()}
	for i := range clients {
		if errs[i] != nil {
			r.Errors++
			if r.First == "" {
				r.First = errs[i].Error()
			}
			continue
		}
		r.OK++
		r.Lat = append(r.Lat, lat[i])
	}
	return r
}

// offset is when the i-th request of a round at rate requests/s is due,
// from the round's start.
func offset(i int, rate float64) time.Duration {
	return time.Duration(float64(i) / rate * float64(time.Second))
}

// ask writes the request on cl and reads the whole answer: its latency in µs.
func ask(o options, cl *client, req []byte) (int64, error) {
	t0 := time.Now()
	_ = cl.c.SetDeadline(t0.Add(o.timeout))
	if _, err := cl.c.Write(req); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	resp, err := http.ReadResponse(cl.br, nil)
	if err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return 0, fmt.Errorf("read body: %w", err)
	}
	d := time.Since(t0)
	if resp.StatusCode != o.status {
		return 0, fmt.Errorf("status %d, want %d", resp.StatusCode, o.status)
	}
	if o.bodyBytes >= 0 && n != int64(o.bodyBytes) {
		return 0, fmt.Errorf("body of %d bytes, want %d", n, o.bodyBytes)
	}
	if resp.Close {
		return 0, answer.ErrClose
	}
	return d.Microseconds(), nil
}

// ---------------------------------------------------------------- parent

type childProc struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *json.Decoder
	n   int
}

// sample is the server's state at one moment.
type sample struct {
	rssKiB     int64 // VmRSS of the server and its child processes (workers)
	pssKiB     int64 // Pss of the same: shared pages counted once
	procs      int   // how many processes that is
	goroutines int64
	heapInuse  int64
	open       int64
}

func (o options) sample() sample {
	s := sample{rssKiB: -1, pssKiB: -1, goroutines: -1, heapInuse: -1, open: -1}
	if o.serverPID > 0 {
		s.rssKiB, s.pssKiB, s.procs = treeMemory(o.serverPID)
	}
	if o.metricsURL != "" {
		m := scrape(o.metricsURL)
		s.goroutines = m["go_goroutines"]
		s.heapInuse = m["go_memstats_heap_inuse_bytes"]
		s.open = m["decoy_connections_open"]
	}
	return s
}

// treeMemory sums the resident memory (VmRSS) and proportional set size
// (Pss, from smaps_rollup: pages shared between the processes, such as the
// executable's, counted once in all) of pid and its descendants: a server
// run as a supervisor and workers counts as the whole. -1 when pid is gone.
func treeMemory(pid int) (rss, pss int64, procs int) {
	pids := []int{pid}
	children := map[int][]int{}
	if ents, err := os.ReadDir("/proc"); err == nil {
		for _, e := range ents {
			p, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
			if err != nil {
				continue
			}
			// The fields after the command name, which may hold spaces.
			i := strings.LastIndexByte(string(b), ')')
			f := strings.Fields(string(b[i+1:]))
			if len(f) > 1 {
				pp, _ := strconv.Atoi(f[1])
				children[pp] = append(children[pp], p)
			}
		}
	}
	for i := 0; i < len(pids); i++ {
		pids = append(pids, children[pids[i]]...)
	}
	rss, pss = -1, -1
	for _, p := range pids {
		r := readKiB(fmt.Sprintf("/proc/%d/status", p), "VmRSS:")
		if r < 0 {
			continue
		}
		rss = max(rss, 0) + r
		procs++
		if v := readKiB(fmt.Sprintf("/proc/%d/smaps_rollup", p), "Pss:"); v >= 0 {
			pss = max(pss, 0) + v
		}
	}
	return rss, pss, procs
}

// readKiB reads the "key: N kB" line of a /proc file.
func readKiB(file, key string) int64 {
	b, err := os.ReadFile(file)
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return -1
}

// scrape reads the un-labelled samples of a Prometheus text endpoint.
func scrape(url string) map[string]int64 {
	m := map[string]int64{}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return m
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || strings.Contains(line, "{") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err == nil {
			m[f[0]] = int64(v)
		}
	}
	return m
}

func mib(kib int64) string {
	if kib < 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(kib)/1024)
}

func num(v int64) string {
	if v < 0 {
		return "-"
	}
	return strconv.FormatInt(v, 10)
}

func printSample(phase string, s sample) {
	heap := s.heapInuse
	if heap > 0 {
		heap /= 1024
	}
	fmt.Printf("%-28s  %9s  %9s  %5d  %10s  %15s  %10s\n", phase, mib(s.rssKiB), mib(s.pssKiB), s.procs, num(s.goroutines), mib(heap), num(s.open))
}

// warmup asks n requests on one connection from the first source address.
func warmup(o options, n int) error {
	if n <= 0 {
		return nil
	}
	srcs, err := parseSources(o.sources)
	if err != nil {
		return err
	}
	c, err := loopback.Dialer(o.timeout, srcs[0]).Dial("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	defer c.Close()
	cl := &client{c: c, br: bufio.NewReader(c)}
	req := []byte("GET " + o.path + " HTTP/1.1\r\nHost: " + o.addr + "\r\nUser-Agent: decoy-bench-conns\r\n\r\n")
	for range n {
		if _, err := ask(o, cl, req); err != nil {
			return fmt.Errorf("warm-up request: %w", err)
		}
	}
	return nil
}

// roundResult is one round over every well-behaved connection.
type roundResult struct {
	label    string
	ok, errs int
	first    string
	ms       int64
	p50, p99 int64
	max      int64
	after    sample
	lat      []int64 // every answer's latency, sorted
	wire     []int64 // every answer's latency on arrival (when known), sorted
	w50, w99 int64
}

// percentiles returns the p50, p99 and max of sorted latencies.
func percentiles(lat []int64) (p50, p99, top int64) {
	if len(lat) == 0 {
		return 0, 0, 0
	}
	return quantile(lat, 500), quantile(lat, 990), lat[len(lat)-1]
}

// quantile is the latency below which permille thousandths of sorted
// latencies fall.
func quantile(lat []int64, permille int) int64 {
	if len(lat) == 0 {
		return 0
	}
	return lat[max(len(lat)*permille/1000-1, 0)]
}

// sumRound adds up the children's reports of one round.
func sumRound(label string, rs []report) roundResult {
	rr := roundResult{label: label}
	var lat []int64
	for _, x := range rs {
		rr.ok += x.OK
		rr.errs += x.Errors
		rr.ms = max(rr.ms, x.Ms)
		if rr.first == "" {
			rr.first = x.First
		}
		lat = append(lat, x.Lat...)
		rr.wire = append(rr.wire, x.Wire...)
	}
	slices.Sort(lat)
	slices.Sort(rr.wire)
	rr.lat = lat
	rr.p50, rr.p99, rr.max = percentiles(lat)
	rr.w50, rr.w99, _ = percentiles(rr.wire)
	return rr
}

// startAbuser starts the abuser process, which waits for "start".
func startAbuser(o options, self string) (*childProc, error) {
	target := o.addr
	if o.abuseAddr != "" {
		target = o.abuseAddr
	}
	args := []string{self, "-abuser", "-addr", target, "-path", o.path, "-large-path", o.largePath,
		"-abuse-conns", strconv.Itoa(o.abuseConns), "-abuse-sources", o.abuseSources,
		"-abuse-rate", strconv.FormatFloat(o.abuseRate, 'g', -1, 64), "-abuse-timeout", o.abuseTimeout.String(),
		"-abuse-header-bytes", strconv.Itoa(o.abuseHeaderBytes), "-abuse-kinds", o.abuseKinds, "-timeout", o.timeout.String()}
	if o.abuseCPU >= 0 {
		// Pinned before it starts, so that Go sizes GOMAXPROCS to it.
		args = append([]string{"taskset", "-c", strconv.Itoa(o.abuseCPU)}, args...)
	}
	if o.abuseNice > 0 {
		args = append([]string{"nice", "-n", strconv.Itoa(o.abuseNice)}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &childProc{cmd: cmd, in: in, out: json.NewDecoder(out)}, nil
}

// runParent runs every phase and prints what it measured; it reports
// whether the run passed.
func runParent(o options) (bool, error) {
	if o.conns <= 0 || o.perProc <= 0 {
		return false, errors.New("-conns and -per-proc must be positive")
	}
	if o.engine != "goroutines" && (o.engine != "epoll" || defaultEngine != "epoll") {
		return false, fmt.Errorf("-engine %q: want goroutines, or epoll (Linux only)", o.engine)
	}
	if _, err := parseSources(o.sources); err != nil {
		return false, err
	}
	if o.abuse {
		if o.abuseConns < 20 {
			return false, errors.New("-abuse-conns must be at least 20")
		}
		if o.rounds < 1 {
			return false, errors.New("-abuse needs a clean round before it to compare with: -rounds 1 or more")
		}
		if _, err := parseSources(o.abuseSources); err != nil {
			return false, fmt.Errorf("-abuse-sources: %w", err)
		}
		if _, err := parseAbuseKinds(o.abuseKinds); err != nil {
			return false, err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return false, err
	}
	nproc := (o.conns + o.perProc - 1) / o.perProc
	fmt.Printf("holding %d connections to %s from %d client processes (at most %d each), source addresses %s\n",
		o.conns, o.addr, nproc, o.perProc, o.sources)
	if o.rate > 0 {
		fmt.Printf("each round: one GET %s on every connection, %.0f requests/s in all\n", o.path, o.rate)
	} else {
		fmt.Printf("each round: one GET %s on every connection, all at once\n", o.path)
	}
	if o.abuse {
		burst, line, hdr, silent, large, pipe := abuseShares(o.abuseConns)
		where := "beside the clients"
		if o.abuseCPU >= 0 {
			where = fmt.Sprintf("on CPU %d", o.abuseCPU)
		}
		if o.abuseNice > 0 {
			where += fmt.Sprintf(", nice %d", o.abuseNice)
		}
		fmt.Printf("then an abuse round: the same round while one abuser process (%s, source addresses %s, at most %d connections at once)\n", where, o.abuseSources, o.abuseConns)
		if o.abuseKinds != "all" {
			fmt.Printf("  (only: %s; the rest below is left out)\n", o.abuseKinds)
		}
		fmt.Printf("  opens over the first half of the round and holds: %d half-open connections (%d with a partial request line, %d with partial headers), %d silent ones,\n", line+hdr, line, hdr, silent)
		fmt.Printf("  %d that ask for %s and never read, %d that pipeline 64 small and 4 large requests and never read;\n", large, o.largePath, pipe)
		fmt.Printf("  and sends malformed requests, a connection each, at %.0f/s (at most %d at once) until the round ends: each must be answered 4xx or closed within %s\n", o.abuseRate, burst, o.abuseTimeout)
	}

	if err := warmup(o, o.warmup); err != nil {
		return false, err
	}
	time.Sleep(500 * time.Millisecond)
	fmt.Printf("\n%-28s  %9s  %9s  %5s  %10s  %15s  %10s\n", "server after", "RSS MiB", "PSS MiB", "procs", "goroutines", "heap in use MiB", "open conns")
	base := o.sample()
	printSample("baseline", base)

	// Start the client processes; each connects at once.
	var kids []*childProc
	var abuser *childProc
	defer func() {
		for _, k := range append(kids, abuser) {
			if k == nil {
				continue
			}
			_ = k.in.Close()
			if k.cmd.Process != nil {
				_ = k.cmd.Process.Kill()
				_ = k.cmd.Wait()
			}
		}
	}()
	left := o.conns
	for id := range nproc {
		n := min(left, o.perProc)
		left -= n
		cmd := exec.Command(self, "-child", "-child-id", strconv.Itoa(id), "-child-conns", strconv.Itoa(n),
			"-addr", o.addr, "-path", o.path, "-per-proc", strconv.Itoa(o.perProc), "-sources", o.sources,
			"-timeout", o.timeout.String(), "-dial-parallel", strconv.Itoa(o.dialPar),
			"-status", strconv.Itoa(o.status), "-body-bytes", strconv.Itoa(o.bodyBytes), "-engine", o.engine)
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			return false, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return false, err
		}
		if err := cmd.Start(); err != nil {
			return false, err
		}
		kids = append(kids, &childProc{cmd: cmd, in: in, out: json.NewDecoder(out), n: n})
	}
	gather := func(phase string) ([]report, error) {
		rs := make([]report, len(kids))
		for i, k := range kids {
			if err := k.out.Decode(&rs[i]); err != nil {
				return nil, fmt.Errorf("client process %d: %w (during %s)", i, err, phase)
			}
			if rs[i].Phase != phase {
				return nil, fmt.Errorf("client process %d sent %q, expected %q", i, rs[i].Phase, phase)
			}
		}
		return rs, nil
	}
	send := func(cmd string) error {
		for i, k := range kids {
			if _, err := io.WriteString(k.in, cmd+"\n"); err != nil {
				return fmt.Errorf("client process %d: %w", i, err)
			}
		}
		return nil
	}

	rs, err := gather("connected")
	if err != nil {
		return false, err
	}
	var connected, connErrs int
	var connMs int64
	first := ""
	for _, r := range rs {
		connected += r.OK
		connErrs += r.Errors
		connMs = max(connMs, r.Ms)
		if first == "" {
			first = r.First
		}
	}
	time.Sleep(o.hold)
	held := o.sample()
	printSample(fmt.Sprintf("%d connected, idle", connected), held)

	var rounds []roundResult
	allOK := connErrs == 0
	round := func(label string) error {
		if err := send(fmt.Sprintf("round %g", o.rate/float64(len(kids)))); err != nil {
			return err
		}
		rs, err := gather("round")
		if err != nil {
			return err
		}
		rr := sumRound(label, rs)
		rr.after = o.sample()
		printSample(label+" answered", rr.after)
		if rr.errs > 0 || rr.ok != o.conns {
			allOK = false
		}
		rounds = append(rounds, rr)
		return nil
	}
	for r := 1; r <= o.rounds; r++ {
		if r > 1 {
			time.Sleep(o.hold)
		}
		if err := round(fmt.Sprintf("round %d", r)); err != nil {
			return false, err
		}
	}

	// The abuse rounds: the abuser starts misbehaving, then the same
	// round; with -abuse-rounds N, N times, each after a clean round of
	// its own (the first after the last of -rounds), so that clean and
	// abused rounds alternate and the machine's own hiccups, which come and
	// go over seconds, fall on both.
	var abuses []abuseReport
	var cleanLat, abuseLat, cleanWire, abuseWire []int64
	for a := 1; o.abuse && a <= max(o.abuseRounds, 1); a++ {
		if a > 1 {
			time.Sleep(o.hold)
			if err := round(fmt.Sprintf("clean %d", a)); err != nil {
				return false, err
			}
		}
		cleanLat = append(cleanLat, rounds[len(rounds)-1].lat...)
		cleanWire = append(cleanWire, rounds[len(rounds)-1].wire...)
		if abuser, err = startAbuser(o, self); err != nil {
			return false, err
		}
		time.Sleep(o.hold)
		// The held connections arrive over the first half of the round.
		spread := 0.0
		if o.rate > 0 {
			spread = float64(o.conns) / o.rate / 2
		}
		if _, err := fmt.Fprintf(abuser.in, "start %g\n", spread); err != nil {
			return false, fmt.Errorf("abuser: %w", err)
		}
		if err := round(fmt.Sprintf("abuse %d", a)); err != nil {
			return false, err
		}
		abuseLat = append(abuseLat, rounds[len(rounds)-1].lat...)
		abuseWire = append(abuseWire, rounds[len(rounds)-1].wire...)
		if _, err := io.WriteString(abuser.in, "stop\n"); err != nil {
			return false, fmt.Errorf("abuser: %w", err)
		}
		var rep abuseReport
		if err := abuser.out.Decode(&rep); err != nil || rep.Phase != "abuse" {
			return false, fmt.Errorf("abuser: no report (%v)", err)
		}
		abuses = append(abuses, rep)
		_ = abuser.in.Close()
		_ = abuser.cmd.Wait()
		abuser = nil
		printSample("abuser gone", o.sample())
	}

	if err := send("close"); err != nil {
		return false, err
	}
	if _, err := gather("closed"); err != nil {
		return false, err
	}
	for _, k := range kids {
		_ = k.in.Close()
		_ = k.cmd.Wait()
	}
	kids = nil
	closedAt := time.Now()

	// Watch the server return toward its baseline: at 1, 2, 4, 8, 16 s, then
	// every 30 s.
	backTo := func(s sample) bool {
		return s.open == 0 && s.goroutines >= 0 && base.goroutines >= 0 && s.goroutines <= base.goroutines+o.maxGoroutinesOver
	}
	var back time.Duration = -1
	var last sample
	next := time.Second
	for {
		el := time.Since(closedAt)
		if el >= next || el >= o.settle {
			last = o.sample()
			printSample(fmt.Sprintf("clients gone %2.0f s", el.Seconds()), last)
			if back < 0 && backTo(last) {
				back = el
			}
			if next < 16*time.Second {
				next *= 2
			} else {
				next += 30 * time.Second
			}
		}
		if el >= o.settle {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	fmt.Printf("\nconnect: %d of %d connected in %d ms, %d failed", connected, o.conns, connMs, connErrs)
	if first != "" {
		fmt.Printf(" (first error: %s)", first)
	}
	fmt.Println()
	fmt.Printf("\n%-11s  %9s  %7s  %9s  %8s  %8s  %8s  %12s  %12s\n", "round", "answered", "errors", "took ms", "p50 us", "p99 us", "max us", "arrived p50", "arrived p99")
	for _, rr := range rounds {
		w50, w99 := "-", "-"
		if len(rr.wire) > 0 {
			w50, w99 = strconv.FormatInt(rr.w50, 10), strconv.FormatInt(rr.w99, 10)
		}
		fmt.Printf("%-11s  %9d  %7d  %9d  %8d  %8d  %8d  %12s  %12s\n", strings.TrimPrefix(rr.label, "round "), rr.ok, rr.errs, rr.ms, rr.p50, rr.p99, rr.max, w50, w99)
		if rr.first != "" {
			fmt.Printf("        first error: %s\n", rr.first)
		}
	}

	var abuseVerdicts []string
	if len(abuses) > 0 {
		abuseOK := true
		for _, a := range abuses {
			abuseOK = printAbuse(a) && abuseOK
		}
		allOK = allOK && abuseOK
		fmt.Println()
		slices.Sort(cleanLat)
		slices.Sort(abuseLat)
		c50, c99, cmax := percentiles(cleanLat)
		a50, a99, amax := percentiles(abuseLat)
		answered := 0
		for _, rr := range rounds {
			if strings.HasPrefix(rr.label, "abuse ") {
				answered += rr.ok
			}
		}
		fmt.Printf("%d abuse round(s) against the clean round before each, all their requests together: p50 %d -> %d us (x%s), p99 %d -> %d us (x%s), max %d -> %d us; answered %d of %d\n",
			len(abuses), c50, a50, ratio(a50, c50), c99, a99, ratio(a99, c99), cmax, amax, answered, o.conns*len(abuses))
		fmt.Printf("the same, more of the distribution (clean -> abuse, us):")
		for _, pm := range []int{900, 950, 980, 990, 995, 999} {
			c, a := quantile(cleanLat, pm), quantile(abuseLat, pm)
			fmt.Printf(" p%g %d -> %d (x%s);", float64(pm)/10, c, a, ratio(a, c))
		}
		fmt.Println()
		if len(cleanWire) > 0 && len(abuseWire) > 0 {
			slices.Sort(cleanWire)
			slices.Sort(abuseWire)
			c50, c99, _ := percentiles(cleanWire)
			a50, a99, _ := percentiles(abuseWire)
			fmt.Printf("the same on arrival (to the kernel's timestamp of each answer reaching the client's socket): p50 %d -> %d us (x%s), p99 %d -> %d us (x%s)\n",
				c50, a50, ratio(a50, c50), c99, a99, ratio(a99, c99))
		}
		abuseVerdicts = append(abuseVerdicts, fmt.Sprintf("bound: every well-behaved request answered during the abuse rounds: %s", passFail(answered == o.conns*len(abuses))))
		abuseVerdicts = append(abuseVerdicts, fmt.Sprintf("bound: every malformed request rejected (4xx) or closed, none hung, every held connection made: %s", passFail(abuseOK)))
		if o.maxAbuseRatio > 0 {
			within := c99 > 0 && float64(a99) <= o.maxAbuseRatio*float64(c99)
			abuseVerdicts = append(abuseVerdicts, fmt.Sprintf("bound: p99 under abuse at most %gx the clean rounds': %s", o.maxAbuseRatio, passFail(within)))
			allOK = allOK && within
		}
	}

	fmt.Println()
	if o.rounds > 0 && base.rssKiB >= 0 && connected > 0 {
		after := rounds[o.rounds-1].after
		fmt.Printf("server memory per held connection (after round %d): RSS %.1f KiB, heap in use %s KiB, goroutines %s\n",
			o.rounds,
			float64(after.rssKiB-base.rssKiB)/float64(connected),
			perConn(base.heapInuse, after.heapInuse, connected, 1024),
			perConn(base.goroutines, after.goroutines, connected, 1))
		fmt.Printf("server memory per held connection (connected, before any request): RSS %.1f KiB, heap in use %s KiB, goroutines %s\n",
			float64(held.rssKiB-base.rssKiB)/float64(connected),
			perConn(base.heapInuse, held.heapInuse, connected, 1024),
			perConn(base.goroutines, held.goroutines, connected, 1))
	}
	peak := held
	for _, rr := range rounds {
		if rr.after.rssKiB > peak.rssKiB {
			peak = rr.after
		}
	}
	fmt.Printf("server memory in all, at its peak with %d connections held: RSS %s MiB, PSS %s MiB, over %d processes\n",
		connected, mib(peak.rssKiB), mib(peak.pssKiB), peak.procs)

	// Back to baseline after everyone left.
	fmt.Printf("after the clients left (%.0f s): goroutines %s (baseline %s), open connections %s, heap in use %s MiB (baseline %s), RSS %s MiB (baseline %s)",
		o.settle.Seconds(), num(last.goroutines), num(base.goroutines), num(last.open),
		mib(kibOf(last.heapInuse)), mib(kibOf(base.heapInuse)), mib(last.rssKiB), mib(base.rssKiB))
	if back >= 0 {
		fmt.Printf("; goroutines and connections back within %.0f s", back.Seconds())
	}
	fmt.Println()
	var verdicts []string
	if o.rounds > 0 {
		within := true
		for _, rr := range rounds {
			within = within && rr.errs == 0 && rr.ok == o.conns
		}
		verdicts = append(verdicts, fmt.Sprintf("bound: every request of every round answered: %s", passFail(within)))
	}
	verdicts = append(verdicts, abuseVerdicts...)
	if o.maxRSSMiB > 0 {
		within := peak.rssKiB >= 0 && float64(peak.rssKiB)/1024 <= o.maxRSSMiB
		verdicts = append(verdicts, fmt.Sprintf("bound: RSS at most %.0f MiB: %s", o.maxRSSMiB, passFail(within)))
		allOK = allOK && within
	}
	if o.maxP99us > 0 {
		within := true
		for _, rr := range rounds[:o.rounds] {
			within = within && rr.p99 <= o.maxP99us
		}
		verdicts = append(verdicts, fmt.Sprintf("bound: p99 at most %d us in every clean round: %s", o.maxP99us, passFail(within)))
		allOK = allOK && within
	}
	if o.metricsURL != "" {
		within := backTo(last)
		verdicts = append(verdicts, fmt.Sprintf("bound: after the clients left, open connections 0 and goroutines at most baseline + %d (%s): %s",
			o.maxGoroutinesOver, num(base.goroutines+o.maxGoroutinesOver), passFail(within)))
		allOK = allOK && within
		// With nothing allocating, Go's runtime collects only when its
		// forced GC comes round, every 2 minutes, and part of what the
		// closed connections used (most likely buffers in sync.Pools)
		// survives one collection: the heap is back only after the
		// second, about 4 minutes on.
		if o.settle >= 245*time.Second {
			procs := max(last.procs, 1)
			allowed := o.maxHeapOverMiB * float64(procs)
			within := last.heapInuse >= 0 && base.heapInuse >= 0 &&
				float64(last.heapInuse-base.heapInuse) <= allowed*(1<<20)
			verdicts = append(verdicts, fmt.Sprintf("bound: after the clients left, heap in use at most baseline + %g MiB (%g per process, %d): %s",
				allowed, o.maxHeapOverMiB, procs, passFail(within)))
			allOK = allOK && within
		} else {
			verdicts = append(verdicts, fmt.Sprintf("heap in use after the clients left: not judged (settle %.0f s < 245 s: when idle, Go collects every 2 minutes, and the heap is back only after the second collection)", o.settle.Seconds()))
		}
	}
	for _, v := range verdicts {
		fmt.Println(v)
	}
	if allOK {
		fmt.Println("RESULT: PASS (every connection connected, every request of every round answered, every bound met)")
	} else {
		fmt.Println("RESULT: FAIL (some connections or requests failed, or a bound was not met; see above)")
	}
	return allOK, nil
}

// ratio is a / b to one decimal, or "-" when b is 0.
func ratio(a, b int64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(a)/float64(b))
}

// kibOf turns bytes into KiB, keeping -1 (not sampled).
func kibOf(b int64) int64 {
	if b < 0 {
		return -1
	}
	return b / 1024
}

func passFail(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT MET"
}

// perConn is (to - from) / n / unit, or "-" when either was not sampled.
func perConn(from, to int64, n int, unit float64) string {
	if from < 0 || to < 0 || n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(to-from)/unit/float64(n))
}

// parseSources is loopback.ParseSources with at least one address.
func parseSources(s string) ([]net.IP, error) {
	ips, err := loopback.ParseSources(s)
	if err == nil && len(ips) == 0 {
		err = errors.New("no source address")
	}
	return ips, err
}
