// Package metrics owns decoy's observability: the Prometheus registry and
// the collector that turns the engine's per-stub statistics and the front
// doors' connection counters into metrics at scrape time, and the
// client-behaviour diagnostics (Clients) behind the admin API's
// GET /clients.
//
// Nothing here runs per request. The request path only adds to plain
// atomic counters that the engine (engine.Stats) and the front doors
// (ConnStats, Conn) own; the collector reads them when Prometheus scrapes,
// so no label is looked up per request and a stub that never served a
// request costs nothing.
//
// The metrics are documented in docs/metrics.md.
package metrics

import (
	"net/http"
	"strconv"

	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/wake"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// Sources are what the collector reads at scrape time.
type Sources struct {
	// Engine serves the stubs whose statistics are reported. Required.
	Engine *engine.Engine
	// Conns returns the connection counters of each front door; nil
	// functions are skipped, and counters of several are added up.
	Conns []func() ConnStats
	// Clients is the client tracker (nil: no client metrics).
	Clients *Clients
	// Saturation is decoy's CPU monitor (nil: no saturation gauges).
	Saturation *Saturation
	// Refused returns, for each data listener, the connections its
	// allow-list (allow-cidr) refused (nil: no such metric).
	Refused func() []Refused
}

// Refused is how many connections a data listener's allow-list refused.
type Refused struct {
	Listener string
	N        uint64
}

// NewRegistry returns a private registry (not Prometheus's global one)
// holding decoy's collector and the standard process and Go collectors.
func NewRegistry(src Sources) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	cs := []prometheus.Collector{
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		newCollector(src),
	}
	if sat := src.Saturation; sat != nil {
		cs = append(cs,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "decoy_saturated",
				Help: "1 while a saturation signal has been on for 5 s in a row (CPU use at or above saturation-threshold, connections waiting to be accepted, p99 scheduling delay at or above its bound, threads waiting in the kernel's run queue): decoy may be the bottleneck."},
				func() float64 {
					if sat.Saturated() {
						return 1
					}
					return 0
				}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "decoy_cpu_utilization",
				Help: "Share of the CPUs decoy may use that it used over the last second (0-1)."}, sat.Utilization),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "decoy_cpus",
				Help: "CPUs decoy may use: the fewest of its affinity mask, cgroup cpu.max quota and GOMAXPROCS."}, sat.CPUs),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "decoy_saturation_episodes_total",
				Help: "Times decoy became saturated."}, func() float64 { return float64(sat.Episodes()) }),
			newSaturationCollector(sat),
		)
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// saturationCollector reads the saturation monitor's labelled and
// optional gauges at scrape time.
type saturationCollector struct {
	sat                             *Saturation
	queueLen, queueMax, sched, sigs *prometheus.Desc
	runQueue                        *prometheus.Desc
}

func newSaturationCollector(sat *Saturation) *saturationCollector {
	d := prometheus.NewDesc
	return &saturationCollector{
		sat: sat,
		queueLen: d("decoy_accept_queue_length",
			"Connections the kernel has completed that wait in a data listener's accept queue, read at scrape time (Linux).", []string{"listener"}, nil),
		queueMax: d("decoy_accept_queue_max",
			"The most connections a data listener's accept queue holds: its listen backlog (Linux).", []string{"listener"}, nil),
		sched: d("decoy_sched_latency_seconds",
			"99th percentile of Go's scheduling delay (how long runnable goroutines waited for a CPU) over the last second; 0 until measured.", nil, nil),
		sigs: d("decoy_saturation_signal",
			"1 while a saturation signal has been on for 5 s in a row: cpu, accept-queue (connections waiting to be accepted), sched-latency (p99 scheduling delay at or above its bound), run-queue (decoy's threads waiting in the kernel's run queue for a CPU).", []string{"signal"}, nil),
		runQueue: d("decoy_run_queue_delay_seconds",
			"Mean time decoy's threads waited in the kernel's run queue for a CPU each time they were given one, over the last second (Linux, /proc/self/task/*/schedstat): rises when other processes take decoy's CPUs. 0 until measured.", nil, nil),
	}
}

func (c *saturationCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.queueLen
	ch <- c.queueMax
	ch <- c.sched
	ch <- c.sigs
	ch <- c.runQueue
}

func (c *saturationCollector) Collect(ch chan<- prometheus.Metric) {
	for _, q := range c.sat.AcceptQueues() {
		send(ch, c.queueLen, prometheus.GaugeValue, float64(q.Length), q.Listener)
		send(ch, c.queueMax, prometheus.GaugeValue, float64(q.Max), q.Listener)
	}
	// 0 until measured, so that the series exists from the start.
	send(ch, c.sched, prometheus.GaugeValue, max(c.sat.SchedLatency(), 0).Seconds())
	send(ch, c.runQueue, prometheus.GaugeValue, max(c.sat.RunQueueDelay(), 0).Seconds())
	for i, on := range c.sat.Signals() {
		v := 0.0
		if on {
			v = 1
		}
		send(ch, c.sigs, prometheus.GaugeValue, v, SignalNames[i])
	}
}

// Handler serves g in the Prometheus text format, or OpenMetrics when the
// scraper asks for it in Accept. The Go collector's go_memstats_alloc_bytes
// gauge is left out: in OpenMetrics it has the family name of the counter
// go_memstats_alloc_bytes_total, which strict parsers refuse for the whole
// scrape (prometheus/client_golang#829), and its value is
// go_memstats_heap_alloc_bytes'.
func Handler(g prometheus.Gatherer) http.Handler {
	g = withoutFamily(g, collidingGoMemstats)
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		ErrorHandling:     promhttp.ContinueOnError,
	})
}

// collidingGoMemstats is the Go collector's family that collides with
// another in OpenMetrics.
const collidingGoMemstats = "go_memstats_alloc_bytes"

// withoutFamily gathers g without the family called name.
func withoutFamily(g prometheus.Gatherer, name string) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		fams, err := g.Gather()
		out := fams[:0]
		for _, f := range fams {
			if f.GetName() != name {
				out = append(out, f)
			}
		}
		return out, err
	})
}

// UnmatchedStub is the stub label of requests no stub matched.
const UnmatchedStub = "-"

// collector reads the sources at scrape time and emits constant metrics.
type collector struct {
	src Sources

	requests, bytesIn, bytesOut, processing *prometheus.Desc
	uploadBytes, uploadRate                 *prometheus.Desc
	injectedDelay, faults                   *prometheus.Desc
	delayLate                               *prometheus.Desc
	violations                              *prometheus.Desc

	accepted, open, closed, tlsHandshakes, httpRequests, perConn, rejected *prometheus.Desc
	h2Streams, slowWrites, idle, slowReading, loopHandOffs                 *prometheus.Desc

	clientsTracked, clientsEvicted, clientFindings *prometheus.Desc
	refused                                        *prometheus.Desc
}

func newCollector(src Sources) *collector {
	d := prometheus.NewDesc
	return &collector{
		src: src,
		requests: d("decoy_requests_total",
			`Requests answered, by stub id ("-" when no stub matched) and status code.`, []string{"stub", "code"}, nil),
		bytesIn: d("decoy_request_bytes_total",
			"Request body bytes received, by stub.", []string{"stub"}, nil),
		bytesOut: d("decoy_response_bytes_total",
			"Response body bytes sent, by stub.", []string{"stub"}, nil),
		uploadBytes: d("decoy_upload_bytes_total",
			"Request body bytes read and discarded by stubs with upload: {discard: true}, by stub.", []string{"stub"}, nil),
		uploadRate: d("decoy_upload_throughput_bytes_per_second",
			"Throughput of each discarded upload (its size over the time taken to read it), by stub.", []string{"stub"}, nil),
		processing: d("decoy_processing_seconds",
			"decoy's own time per request, by stub: from the request read to the response ready to write, injected delay excluded.", []string{"stub"}, nil),
		delayLate: d("decoy_delay_lateness_seconds",
			"How much later than due decoy's injected delays and paced waits ended, from their due instant to the moment decoy's code ran again: its own timing error (timers, scheduler, CPU), network not included. Over every protocol.", nil, nil),
		injectedDelay: d("decoy_injected_delay_seconds_total",
			"Delay injected by stub behaviour (latency drawn, or requested with X-Decoy-Delay), summed, by stub.", []string{"stub"}, nil),
		violations: d("decoy_validation_violations_total",
			"Request validation violations found against an OpenAPI document (enforce and report modes), by operation stub and kind (path, query, header, cookie, body, security, method, media-type).", []string{"stub", "kind"}, nil),
		faults: d("decoy_faults_total",
			"Faults injected, by stub and fault kind (reset, empty, malformed, garbage, close-mid-body, hang, error).", []string{"stub", "kind"}, nil),
		accepted: d("decoy_connections_accepted_total",
			"Connections accepted on the data ports.", nil, nil),
		open: d("decoy_connections_open",
			"Connections open now on the data ports.", nil, nil),
		closed: d("decoy_connections_closed_total",
			`Connections closed, by who ended them ("client" or "server") and why: eof, reset, asked-close (the client's); idle-timeout, read-timeout, shutdown, fault, bad-request, tls-handshake, other (decoy's).`, []string{"by", "reason"}, nil),
		idle: d("decoy_connections_idle",
			"Connections open now that are kept alive between requests, waiting for the next one (sampled at scrape time).", nil, nil),
		slowReading: d("decoy_connections_slow_reading",
			"Connections open now with a write blocked for a second or more (the front door's slow-write threshold): the client is not reading (sampled at scrape time).", nil, nil),
		tlsHandshakes: d("decoy_tls_handshakes_total",
			"TLS handshakes, by TLS version and result (ok or failed).", []string{"version", "result"}, nil),
		httpRequests: d("decoy_http_requests_total",
			"Requests answered, by HTTP version (1.0, 1.1, 2).", []string{"version"}, nil),
		perConn: d("decoy_requests_per_connection",
			"Requests served per connection, observed when the connection closes.", nil, nil),
		h2Streams: d("decoy_h2_streams_per_connection",
			"Streams answered per HTTP/2 connection, observed when the connection closes.", nil, nil),
		slowWrites: d("decoy_slow_reader_writes_total",
			"Writes to a data connection that took a second or more because the client did not read fast enough.", nil, nil),
		loopHandOffs: d("decoy_http1_loop_handoffs_total",
			"Plaintext HTTP/1.1 connections decoy's epoll loops gave to its full HTTP server, from a request they do not answer themselves (a delay or a fault, a chunked or large request body, an upgrade, an answer over 64 KiB) on: such connections cost more per request.", nil, nil),
		rejected: d("decoy_rejected_requests_total",
			"Requests that could not be read, by the status answered: 400 malformed, 408 too slow, 413 body too large, 431 headers too large.", []string{"code"}, nil),
		refused: d("decoy_connections_refused_total",
			"Connections reset as they were accepted because the client's address is not in allow-cidr, by listener (http, https, grpc).", []string{"listener"}, nil),
		clientsTracked: d("decoy_clients_tracked",
			"Client addresses tracked for GET /clients.", nil, nil),
		clientFindings: d("decoy_client_findings",
			"Tracked client addresses with a finding (an anti-pattern, see GET /clients), by kind.", []string{"kind"}, nil),
		clientsEvicted: d("decoy_clients_evicted_total",
			"Client addresses dropped from tracking (least recently seen first) to stay within the limit.", nil, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.requests, c.bytesIn, c.bytesOut, c.processing, c.uploadBytes, c.uploadRate,
		c.injectedDelay, c.faults, c.violations, c.delayLate,
		c.accepted, c.open, c.closed, c.tlsHandshakes, c.httpRequests, c.perConn, c.rejected, c.h2Streams, c.slowWrites, c.loopHandOffs,
		c.idle, c.slowReading,
		c.clientsTracked, c.clientsEvicted, c.clientFindings, c.refused} {
		ch <- d
	}
}

// overheadBounds are engine.OverheadBounds in seconds.
var overheadBounds = func() []float64 {
	out := make([]float64, len(engine.OverheadBounds))
	for i, b := range engine.OverheadBounds {
		out[i] = b.Seconds()
	}
	return out
}()

var (
	unmatchedStatus = []int{404}
	preflightStatus = []int{204}
)

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	if e := c.src.Engine; e != nil {
		var seen map[ViolationCounter]bool // a check shared by stubs counts once
		for _, st := range e.Snapshot().Stubs() {
			resps := st.Responses()
			status := make([]int, len(resps))
			for i, r := range resps {
				status[i] = r.Status
			}
			c.collectStub(ch, st.ID, status, st.Stats().Read())
			if st.Upload() != nil {
				c.collectUploads(ch, st.ID, st.Stats().ReadUploads())
			}
			c.collectInjected(ch, st.ID, st.Stats().ReadInjected())
			if vc, ok := st.Check().(ViolationCounter); ok && !seen[vc] {
				if seen == nil {
					seen = map[ViolationCounter]bool{}
				}
				seen[vc] = true
				c.collectViolations(ch, vc)
			}
		}
		if p := e.Snapshot().Preflight(); p != nil {
			c.collectStub(ch, p.ID, preflightStatus, p.Stats().Read())
		}
		c.collectStub(ch, UnmatchedStub, unmatchedStatus, e.Unmatched().Read())
	}
	c.collectLateness(ch)
	if len(c.src.Conns) > 0 {
		c.collectConns(ch)
	}
	if c.src.Refused != nil {
		for _, r := range c.src.Refused() {
			send(ch, c.refused, prometheus.CounterValue, float64(r.N), r.Listener)
		}
	}
	if cl := c.src.Clients; cl != nil {
		send(ch, c.clientsTracked, prometheus.GaugeValue, float64(cl.Len()))
		send(ch, c.clientsEvicted, prometheus.CounterValue, float64(cl.Evicted()))
		c.collectFindings(ch, cl)
	}
}

// FindingKinds are the kinds of client findings, each exported as a
// decoy_client_findings series (0 when no client has it).
var FindingKinds = []string{FindingConnPerRequest, FindingTLSPerRequest, FindingHTTP10, FindingParallel}

// collectFindings counts the tracked clients with each kind of finding.
func (c *collector) collectFindings(ch chan<- prometheus.Metric, cl *Clients) {
	n := make(map[string]int, len(FindingKinds))
	for _, r := range cl.Report().Clients {
		for _, f := range r.Findings {
			n[f.Kind]++
		}
	}
	for _, k := range FindingKinds {
		send(ch, c.clientFindings, prometheus.GaugeValue, float64(n[k]), k)
	}
}

// ViolationCounter is a request check (engine.RequestCheck) that counts
// the violations it finds, such as an OpenAPI operation's: its stub label,
// and the counts by kind (kinds[i] has counts[i]). Several stubs may share
// one check; it is reported once.
type ViolationCounter interface {
	ViolationCounts() (stub string, kinds []string, counts []uint64)
}

// collectViolations emits a check's violation counts; kinds never seen
// have none.
func (c *collector) collectViolations(ch chan<- prometheus.Metric, vc ViolationCounter) {
	stub, kinds, counts := vc.ViolationCounts()
	for i, n := range counts {
		if n > 0 && i < len(kinds) {
			send(ch, c.violations, prometheus.CounterValue, float64(n), stub, kinds[i])
		}
	}
}

// collectInjected emits a stub's injected delay and faults; a stub that
// injected neither has none.
func (c *collector) collectInjected(ch chan<- prometheus.Metric, id string, v engine.InjectedView) {
	if v.Delay > 0 {
		send(ch, c.injectedDelay, prometheus.CounterValue, v.Delay.Seconds(), id)
	}
	for k, n := range v.Faults {
		if n > 0 {
			send(ch, c.faults, prometheus.CounterValue, float64(n), id, behave.FaultKind(k).String())
		}
	}
}

// collectUploads emits the upload metrics of a stub that discards uploads.
func (c *collector) collectUploads(ch chan<- prometheus.Metric, id string, v engine.UploadView) {
	send(ch, c.uploadBytes, prometheus.CounterValue, float64(v.Bytes), id)
	var cum, count uint64
	for _, k := range v.Rates {
		count += k
	}
	buckets := make(map[float64]uint64, len(engine.UploadRateBounds))
	for i, b := range engine.UploadRateBounds {
		cum += v.Rates[i]
		buckets[b] = cum
	}
	if m, err := prometheus.NewConstHistogram(c.uploadRate, count, float64(v.RateSum), buckets, id); err == nil {
		ch <- m
	}
}

// collectStub emits the metrics of one stub; a stub that has not served a
// request has none.
func (c *collector) collectStub(ch chan<- prometheus.Metric, id string, status []int, v engine.StatsView) {
	n := v.Requests()
	if n == 0 {
		return
	}
	byCode := map[int]uint64{}
	for i, k := range v.Responses {
		if k > 0 && i < len(status) {
			byCode[status[i]] += k
		}
	}
	for _, o := range v.Others {
		byCode[o.Status] += o.N
	}
	for code, k := range byCode {
		send(ch, c.requests, prometheus.CounterValue, float64(k), id, strconv.Itoa(code))
	}
	send(ch, c.bytesIn, prometheus.CounterValue, float64(v.BytesIn), id)
	send(ch, c.bytesOut, prometheus.CounterValue, float64(v.BytesOut), id)
	var cum, count uint64
	for _, k := range v.Overhead {
		count += k
	}
	buckets := make(map[float64]uint64, len(overheadBounds))
	for i, b := range overheadBounds {
		cum += v.Overhead[i]
		buckets[b] = cum
	}
	if m, err := prometheus.NewConstHistogram(c.processing, count, v.OverheadSum.Seconds(), buckets, id); err == nil {
		ch <- m
	}
}

// collectLateness reports how late delays ended (package wake's
// histogram), once some delay has ended.
func (c *collector) collectLateness(ch chan<- prometheus.Metric) {
	counts, sum := wake.Lateness()
	var cum uint64
	buckets := make(map[float64]uint64, len(wake.LateBounds))
	for i, b := range wake.LateBounds {
		cum += counts[i]
		buckets[b.Seconds()] = cum
	}
	count := cum + counts[len(counts)-1]
	if count == 0 {
		return
	}
	if m, err := prometheus.NewConstHistogram(c.delayLate, count, sum.Seconds(), buckets); err == nil {
		ch <- m
	}
}

func (c *collector) collectConns(ch chan<- prometheus.Metric) {
	var s ConnStats
	for _, f := range c.src.Conns {
		if f == nil {
			continue
		}
		add(&s, f())
	}
	send(ch, c.accepted, prometheus.CounterValue, float64(s.Accepted))
	send(ch, c.slowWrites, prometheus.CounterValue, float64(s.SlowWrites))
	send(ch, c.loopHandOffs, prometheus.CounterValue, float64(s.LoopHandOffs))
	send(ch, c.open, prometheus.GaugeValue, float64(s.Open))
	send(ch, c.idle, prometheus.GaugeValue, float64(s.Idle))
	send(ch, c.slowReading, prometheus.GaugeValue, float64(s.SlowReading))
	for r, n := range s.Closed {
		by := "server"
		if CloseByClient(r) {
			by = "client"
		}
		send(ch, c.closed, prometheus.CounterValue, float64(n), by, CloseReasonNames[r])
	}
	for v := range s.TLSHandshakes {
		for r, n := range s.TLSHandshakes[v] {
			if n == 0 {
				continue
			}
			result := "ok"
			if r == HandshakeFailed {
				result = "failed"
			}
			send(ch, c.tlsHandshakes, prometheus.CounterValue, float64(n), TLSVersionNames[v], result)
		}
	}
	for v, n := range s.Requests {
		send(ch, c.httpRequests, prometheus.CounterValue, float64(n), HTTPVersionNames[v])
	}
	for i, n := range s.Rejected {
		if n > 0 {
			send(ch, c.rejected, prometheus.CounterValue, float64(n), strconv.Itoa(RejectedCodes[i]))
		}
	}
	var cum, count uint64
	for _, n := range s.PerConn {
		count += n
	}
	buckets := make(map[float64]uint64, len(RequestsPerConnBounds))
	for i, b := range RequestsPerConnBounds {
		cum += s.PerConn[i]
		buckets[float64(b)] = cum
	}
	if m, err := prometheus.NewConstHistogram(c.perConn, count, float64(s.PerConnSum), buckets); err == nil {
		ch <- m
	}
	cum, count = 0, 0
	for _, n := range s.H2Streams {
		count += n
	}
	buckets = make(map[float64]uint64, len(RequestsPerConnBounds))
	for i, b := range RequestsPerConnBounds {
		cum += s.H2Streams[i]
		buckets[float64(b)] = cum
	}
	if m, err := prometheus.NewConstHistogram(c.h2Streams, count, float64(s.H2StreamsSum), buckets); err == nil {
		ch <- m
	}
}

// add adds the counters of b to a.
func add(a *ConnStats, b ConnStats) {
	a.Accepted += b.Accepted
	a.Open += b.Open
	for i := range a.Closed {
		a.Closed[i] += b.Closed[i]
	}
	a.Idle += b.Idle
	a.SlowReading += b.SlowReading
	for v := range a.TLSHandshakes {
		for r := range a.TLSHandshakes[v] {
			a.TLSHandshakes[v][r] += b.TLSHandshakes[v][r]
		}
	}
	for i := range a.Requests {
		a.Requests[i] += b.Requests[i]
	}
	for i := range a.Rejected {
		a.Rejected[i] += b.Rejected[i]
	}
	for i := range a.PerConn {
		a.PerConn[i] += b.PerConn[i]
	}
	a.PerConnSum += b.PerConnSum
	for i := range a.H2Streams {
		a.H2Streams[i] += b.H2Streams[i]
	}
	a.H2StreamsSum += b.H2StreamsSum
	a.SlowWrites += b.SlowWrites
	a.LoopHandOffs += b.LoopHandOffs
}

// send emits a constant metric; a label value Prometheus refuses (a stub
// id that is not UTF-8) drops the sample rather than the scrape.
func send(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	if m, err := prometheus.NewConstMetric(d, t, v, labels...); err == nil {
		ch <- m
	}
}
