package workers

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/problem"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"
)

// writeJSON sends v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, ctype string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// ---------------------------------------------------------------- metrics

func mergeMetricsRoute(p *proxy, w http.ResponseWriter, r *http.Request, _ []byte, as []answer) error {
	if e := firstError(as); e != nil {
		relay(w, *e)
		return nil
	}
	texts := make([][]byte, len(as))
	for i, a := range as {
		texts[i] = a.body
	}
	fams, err := MergeMetrics(texts)
	if err != nil {
		return err
	}
	// The gauges that count clients come from the merged client table, as
	// /clients: a client seen by several workers is one client.
	ps := p.sup.live()
	cas := p.sendAll(r.Context(), ps, http.MethodGet, "/clients", "", nil)
	reports := make([]metrics.Report, len(cas))
	for i, a := range cas {
		if !a.ok() {
			return fmt.Errorf("worker %d's clients: status %d %v", a.worker, a.status, a.err)
		}
		if err := json.Unmarshal(a.body, &reports[i]); err != nil {
			return fmt.Errorf("worker %d's clients: %w", a.worker, err)
		}
	}
	SetClientGauges(fams, MergeClients(reports))
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, format)
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	w.Header().Set("Content-Type", string(format))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
	return nil
}

// MergeMetrics merges the Prometheus text expositions of the workers into
// one, as a single decoy would expose them: samples with the same name and
// labels are added up (counters, gauges, histogram buckets, summary counts
// and sums). The exceptions are values that describe the machine or a
// setting rather than an amount: their largest value is kept (gauges in
// maxGauges and any name ending in _info), and process_start_time_seconds
// keeps the earliest. Summary quantiles cannot be added: the largest
// worker's quantile is kept, an upper bound.
func MergeMetrics(texts [][]byte) ([]*dto.MetricFamily, error) {
	out := map[string]*dto.MetricFamily{}
	index := map[string]map[string]*dto.Metric{} // family → labels → metric
	for i, text := range texts {
		fams, err := parseMetrics(text)
		if err != nil {
			return nil, fmt.Errorf("worker %d's metrics: %w", i, err)
		}
		for name, f := range fams {
			of, ok := out[name]
			if !ok {
				of = &dto.MetricFamily{Name: f.Name, Help: f.Help, Type: f.Type, Unit: f.Unit}
				out[name] = of
				index[name] = map[string]*dto.Metric{}
			}
			if of.GetType() != f.GetType() {
				return nil, fmt.Errorf("metric %s is a %s in one worker and a %s in another", name, of.GetType(), f.GetType())
			}
			rule := ruleFor(name)
			for _, m := range f.Metric {
				key := labelKey(m.Label)
				om, ok := index[name][key]
				if !ok {
					index[name][key] = m
					of.Metric = append(of.Metric, m)
					continue
				}
				if err := add(om, m, f.GetType(), rule); err != nil {
					return nil, fmt.Errorf("metric %s%s: %w", name, key, err)
				}
			}
		}
	}
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	fams := make([]*dto.MetricFamily, 0, len(names))
	for _, n := range names {
		f := out[n]
		sort.SliceStable(f.Metric, func(i, j int) bool { return labelKey(f.Metric[i].Label) < labelKey(f.Metric[j].Label) })
		fams = append(fams, f)
	}
	return fams, nil
}

// parseMetrics reads a Prometheus text exposition. The parser panics on
// some malformed input (a line that opens with '{'): that is an error too.
func parseMetrics(text []byte) (fams map[string]*dto.MetricFamily, err error) {
	defer func() {
		if r := recover(); r != nil {
			fams, err = nil, fmt.Errorf("malformed exposition: %v", r)
		}
	}()
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(bytes.NewReader(text))
}

// How two workers' values of a gauge combine.
type combine int

const (
	sum combine = iota
	maximum
	minimum
)

// maxGauges describe the machine or a setting, the same in every worker.
var maxGauges = map[string]bool{
	"decoy_cpus":                       true,
	"decoy_saturated":                  true,
	"decoy_saturation_signal":          true,
	"decoy_sched_latency_seconds":      true,
	"decoy_run_queue_delay_seconds":    true,
	"decoy_accept_queue_max":           true,
	"go_gomaxprocs":                    true,
	"go_gogc_percent":                  true,
	"go_gomemlimit_bytes":              true,
	"go_gc_gogc_percent":               true,
	"go_gc_gomemlimit_bytes":           true,
	"go_sched_gomaxprocs_threads":      true,
	"process_virtual_memory_max_bytes": true,
}

func ruleFor(name string) combine {
	switch {
	case name == "process_start_time_seconds":
		return minimum
	case maxGauges[name], strings.HasSuffix(name, "_info"):
		return maximum
	}
	return sum
}

func labelKey(ls []*dto.LabelPair) string {
	if len(ls) == 0 {
		return ""
	}
	parts := make([]string, 0, len(ls))
	for _, l := range ls {
		parts = append(parts, l.GetName()+"="+strconv.Quote(l.GetValue()))
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

func combineValues(a, b float64, rule combine) float64 {
	switch rule {
	case maximum:
		return math.Max(a, b)
	case minimum:
		return math.Min(a, b)
	}
	return a + b
}

// add adds m into into.
func add(into, m *dto.Metric, t dto.MetricType, rule combine) error {
	switch t {
	case dto.MetricType_COUNTER:
		into.Counter.Value = ptr(into.Counter.GetValue() + m.Counter.GetValue())
	case dto.MetricType_GAUGE:
		into.Gauge.Value = ptr(combineValues(into.Gauge.GetValue(), m.Gauge.GetValue(), rule))
	case dto.MetricType_UNTYPED:
		into.Untyped.Value = ptr(combineValues(into.Untyped.GetValue(), m.Untyped.GetValue(), rule))
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		h, o := into.Histogram, m.Histogram
		h.SampleCount = ptr(h.GetSampleCount() + o.GetSampleCount())
		h.SampleSum = ptr(h.GetSampleSum() + o.GetSampleSum())
		if len(h.Bucket) != len(o.Bucket) {
			return fmt.Errorf("the workers have different buckets")
		}
		for i, b := range h.Bucket {
			if b.GetUpperBound() != o.Bucket[i].GetUpperBound() {
				return fmt.Errorf("the workers have different buckets")
			}
			b.CumulativeCount = ptr(b.GetCumulativeCount() + o.Bucket[i].GetCumulativeCount())
		}
	case dto.MetricType_SUMMARY:
		s, o := into.Summary, m.Summary
		s.SampleCount = ptr(s.GetSampleCount() + o.GetSampleCount())
		s.SampleSum = ptr(s.GetSampleSum() + o.GetSampleSum())
		for _, q := range s.Quantile {
			for _, oq := range o.Quantile {
				if oq.GetQuantile() == q.GetQuantile() {
					q.Value = ptr(math.Max(q.GetValue(), oq.GetValue()))
				}
			}
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// ---------------------------------------------------------------- journal

// entry is a journal entry kept as the worker wrote it, with the worker's
// id added and its time read for ordering.
type entry struct {
	raw    json.RawMessage
	time   time.Time
	worker int
	seq    uint64
}

// MarshalJSON writes the entry with "worker" first.
func (e entry) MarshalJSON() ([]byte, error) {
	body := bytes.TrimSpace(e.raw)
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("a journal entry is not an object")
	}
	out := fmt.Appendf(nil, `{"worker":%d`, e.worker)
	if rest := bytes.TrimSpace(body[1:]); len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, body[1:]...), nil
}

// mergeEntries merges the workers' entries (each newest first) into one
// list, newest first (by time, then worker and sequence), at most limit
// long (0: all).
func mergeEntries(lists [][]json.RawMessage, workers []int, limit int) ([]entry, error) {
	var all []entry
	for i, l := range lists {
		for _, raw := range l {
			var h struct {
				Time time.Time `json:"time"`
				Seq  uint64    `json:"seq"`
			}
			if err := json.Unmarshal(raw, &h); err != nil {
				return nil, fmt.Errorf("worker %d's journal entry: %w", workers[i], err)
			}
			all = append(all, entry{raw: raw, time: h.Time, worker: workers[i], seq: h.Seq})
		}
	}
	slices.SortStableFunc(all, func(a, b entry) int {
		if c := b.time.Compare(a.time); c != 0 {
			return c
		}
		if c := cmp.Compare(a.worker, b.worker); c != 0 {
			return c
		}
		return cmp.Compare(b.seq, a.seq)
	})
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	if all == nil {
		all = []entry{}
	}
	return all, nil
}

// requestList is GET /requests.
type requestList struct {
	Total    uint64            `json:"total"`
	Size     int               `json:"size"`
	Capacity int               `json:"capacity"`
	Requests []json.RawMessage `json:"requests"`
}

// MergeRequestLists merges the workers' GET /requests answers: totals,
// sizes and capacities added, entries merged newest first and cut to limit
// (0: all), each with the "worker" that recorded it.
func MergeRequestLists(bodies [][]byte, workers []int, limit int) ([]byte, error) {
	var out struct {
		Total    uint64  `json:"total"`
		Size     int     `json:"size"`
		Capacity int     `json:"capacity"`
		Requests []entry `json:"requests"`
	}
	lists := make([][]json.RawMessage, len(bodies))
	for i, b := range bodies {
		var l requestList
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("worker %d's journal: %w", workers[i], err)
		}
		out.Total += l.Total
		out.Size += l.Size
		out.Capacity += l.Capacity
		lists[i] = l.Requests
	}
	var err error
	if out.Requests, err = mergeEntries(lists, workers, limit); err != nil {
		return nil, err
	}
	return marshal(out)
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return buf.Bytes(), err
}

func bodiesOf(as []answer) ([][]byte, []int) {
	bodies, ids := make([][]byte, len(as)), make([]int, len(as))
	for i, a := range as {
		bodies[i], ids[i] = a.body, a.worker
	}
	return bodies, ids
}

func writeBody(w http.ResponseWriter, status int, ctype string, b []byte) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func mergeRequestsRoute(_ *proxy, w http.ResponseWriter, r *http.Request, _ []byte, as []answer) error {
	if e := firstError(as); e != nil {
		relay(w, *e)
		return nil
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit")) // checked by the workers
	bodies, ids := bodiesOf(as)
	b, err := MergeRequestLists(bodies, ids, limit)
	if err != nil {
		return err
	}
	writeBody(w, http.StatusOK, "application/json", b)
	return nil
}

// countResult is POST /requests/count, and the head of /requests/find and
// /verify.
type countResult struct {
	Count    int  `json:"count"`
	Searched int  `json:"searched"`
	Complete bool `json:"complete"`
}

func (c *countResult) add(o countResult, first bool) {
	c.Count += o.Count
	c.Searched += o.Searched
	c.Complete = (first || c.Complete) && o.Complete
}

// MergeCounts adds up the workers' POST /requests/count answers; the
// result is complete when every worker's is.
func MergeCounts(bodies [][]byte) ([]byte, error) {
	var out countResult
	for i, b := range bodies {
		var c countResult
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("worker %d's count: %w", i, err)
		}
		out.add(c, i == 0)
	}
	return marshal(out)
}

func mergeCountRoute(_ *proxy, w http.ResponseWriter, _ *http.Request, _ []byte, as []answer) error {
	if e := firstError(as); e != nil {
		relay(w, *e)
		return nil
	}
	bodies, _ := bodiesOf(as)
	b, err := MergeCounts(bodies)
	if err != nil {
		return err
	}
	writeBody(w, http.StatusOK, "application/json", b)
	return nil
}

// MergeFinds merges the workers' POST /requests/find answers: counts added,
// requests merged newest first, each with its "worker".
func MergeFinds(bodies [][]byte, workers []int) ([]byte, error) {
	var out struct {
		countResult
		Requests []entry `json:"requests"`
	}
	lists := make([][]json.RawMessage, len(bodies))
	for i, b := range bodies {
		var f struct {
			countResult
			Requests []json.RawMessage `json:"requests"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("worker %d's find: %w", workers[i], err)
		}
		out.add(f.countResult, i == 0)
		lists[i] = f.Requests
	}
	var err error
	if out.Requests, err = mergeEntries(lists, workers, 0); err != nil {
		return nil, err
	}
	return marshal(out)
}

func mergeFindRoute(_ *proxy, w http.ResponseWriter, _ *http.Request, _ []byte, as []answer) error {
	if e := firstError(as); e != nil {
		relay(w, *e)
		return nil
	}
	bodies, ids := bodiesOf(as)
	b, err := MergeFinds(bodies, ids)
	if err != nil {
		return err
	}
	writeBody(w, http.StatusOK, "application/json", b)
	return nil
}

// countSpec is the count a POST /verify expects.
type countSpec struct {
	AtLeast *int `json:"atLeast"`
	AtMost  *int `json:"atMost"`
	Exactly *int `json:"exactly"`
}

func (c *countSpec) holds(n int) bool {
	if c == nil || (c.AtLeast == nil && c.AtMost == nil && c.Exactly == nil) {
		return n >= 1
	}
	return (c.AtLeast == nil || n >= *c.AtLeast) && (c.AtMost == nil || n <= *c.AtMost) && (c.Exactly == nil || n == *c.Exactly)
}

// nearMisses is how many near misses a failed verification reports, as a
// single decoy does.
const nearMisses = 3

// verifyHead is what every worker's POST /verify answer holds.
type verifyHead struct {
	Expected   string            `json:"expected"`
	NearMisses []json.RawMessage `json:"nearMisses"`
	countResult
}

// MergeVerify judges a verification over the workers' POST /verify answers
// (200 or 409 each): the counts are added and the expected count (from
// query, the request body) checked against the total. It returns the status
// (200 or 409) and the body.
func MergeVerify(query []byte, bodies [][]byte, workers []int) (int, []byte, error) {
	var q struct {
		Count *countSpec `json:"count"`
	}
	if err := json.Unmarshal(query, &q); err != nil {
		return 0, nil, fmt.Errorf("the verification: %w", err)
	}
	var total countResult
	expected := ""
	lists := make([][]json.RawMessage, len(bodies))
	for i, b := range bodies {
		var h verifyHead
		if err := json.Unmarshal(b, &h); err != nil {
			return 0, nil, fmt.Errorf("worker %d's verification: %w", workers[i], err)
		}
		total.add(h.countResult, i == 0)
		expected = h.Expected
		lists[i] = h.NearMisses
	}
	// Each worker's near misses come nearest first, the newest first among
	// equally near ones, as a single decoy orders them; how near is not in
	// the answer, so the merge takes each worker's nearest, then each one's
	// second, and so on (workers in order of id within a round). Each
	// carries its "worker", which its seq counts in.
	var misses []entry
	for rank := 0; ; rank++ {
		more := false
		for i, l := range lists {
			if rank < len(l) {
				more = true
				misses = append(misses, entry{raw: l[rank], worker: workers[i]})
			}
		}
		if !more {
			break
		}
	}
	out := struct {
		*problem.Problem
		Expected   string  `json:"expected"`
		Count      int     `json:"count"`
		Searched   int     `json:"searched"`
		Complete   bool    `json:"complete"`
		NearMisses []entry `json:"nearMisses,omitempty"`
	}{Expected: expected, Count: total.Count, Searched: total.Searched, Complete: total.Complete}
	if q.Count.holds(total.Count) {
		b, err := marshal(out)
		return http.StatusOK, b, err
	}
	out.Problem = problem.New(http.StatusConflict, fmt.Sprintf("expected %s matching request(s), found %d", expected, total.Count))
	if len(misses) > nearMisses {
		misses = misses[:nearMisses]
	}
	out.NearMisses = misses
	b, err := marshal(out)
	return http.StatusConflict, b, err
}

func mergeVerifyRoute(_ *proxy, w http.ResponseWriter, _ *http.Request, body []byte, as []answer) error {
	for i := range as {
		if !as[i].ok() && as[i].status != http.StatusConflict {
			relay(w, as[i])
			return nil
		}
		// A 409 is a verification that failed, or a journal that is off
		// (no count in it): relay that one.
		if as[i].status == http.StatusConflict && !bytes.Contains(as[i].body, []byte(`"expected"`)) {
			relay(w, as[i])
			return nil
		}
	}
	bodies, ids := bodiesOf(as)
	status, b, err := MergeVerify(body, bodies, ids)
	if err != nil {
		return err
	}
	ctype := "application/json"
	if status != http.StatusOK {
		ctype = problem.ContentType
	}
	writeBody(w, status, ctype, b)
	return nil
}

// ---------------------------------------------------------------- clients

// MergeClients merges the workers' client reports: a client address seen
// by several workers (its connections were spread over them) is one entry
// with the counts added, first seen the earliest and last seen the latest,
// and its findings judged again on those counts, so that a client whose
// connections were spread thinly is flagged as one decoy would flag it,
// with the node's figures in the text. The peak of connections open at
// once cannot be added (the workers' peaks need not be at the same
// moment): it is the most one worker saw, or the connections open now on
// all of them, whichever is more, a figure the client certainly reached.
func MergeClients(reports []metrics.Report) metrics.Report {
	out := metrics.Report{Clients: []metrics.ClientReport{}}
	byAddr := map[string]int{}
	for _, r := range reports {
		out.Capacity += r.Capacity
		out.Evicted += r.Evicted
		for _, c := range r.Clients {
			i, ok := byAddr[c.Address]
			if !ok {
				byAddr[c.Address] = len(out.Clients)
				c.Findings = slices.Clone(c.Findings)
				out.Clients = append(out.Clients, c)
				continue
			}
			m := &out.Clients[i]
			if c.FirstSeen.Before(m.FirstSeen) {
				m.FirstSeen = c.FirstSeen
			}
			if c.LastSeen.After(m.LastSeen) {
				m.LastSeen = c.LastSeen
			}
			m.Connections += c.Connections
			m.OpenConnections += c.OpenConnections
			m.PeakOpenConnections = max(m.PeakOpenConnections, c.PeakOpenConnections)
			m.ClosedByClient += c.ClosedByClient
			m.ClosedByServer += c.ClosedByServer
			m.SingleUseConnections += c.SingleUseConnections
			m.Requests += c.Requests
			m.RequestsPerSecond += c.RequestsPerSecond
			m.HTTPVersions.HTTP10 += c.HTTPVersions.HTTP10
			m.HTTPVersions.HTTP11 += c.HTTPVersions.HTTP11
			m.HTTPVersions.HTTP2 += c.HTTPVersions.HTTP2
			m.ConnectionCloseRequests += c.ConnectionCloseRequests
			m.HTTP10NoKeepAlive += c.HTTP10NoKeepAlive
			m.TLSHandshakes += c.TLSHandshakes
			m.TLSResumed += c.TLSResumed
			m.TLSFailed += c.TLSFailed
		}
	}
	for i := range out.Clients {
		c := &out.Clients[i]
		c.PeakOpenConnections = max(c.PeakOpenConnections, c.OpenConnections)
		if c.Connections > 0 {
			c.ReuseRatio = math.Round(float64(c.Requests)/float64(c.Connections)*100) / 100
		}
		c.Findings = metrics.Findings(c)
	}
	out.Tracked = len(out.Clients)
	slices.SortStableFunc(out.Clients, func(a, b metrics.ClientReport) int {
		if c := cmp.Compare(b.Connections, a.Connections); c != 0 {
			return c
		}
		return cmp.Compare(a.Address, b.Address)
	})
	return out
}

// SetClientGauges sets decoy_clients_tracked and decoy_client_findings in
// fams (merged expositions, where they were sums over the workers) from
// the merged client table rep.
func SetClientGauges(fams []*dto.MetricFamily, rep metrics.Report) {
	kinds := map[string]float64{}
	for _, c := range rep.Clients {
		for _, f := range c.Findings {
			kinds[f.Kind]++
		}
	}
	for _, f := range fams {
		switch f.GetName() {
		case "decoy_clients_tracked":
			for _, m := range f.GetMetric() {
				if g := m.GetGauge(); g != nil {
					g.Value = proto.Float64(float64(rep.Tracked))
				}
			}
		case "decoy_client_findings":
			for _, m := range f.GetMetric() {
				g := m.GetGauge()
				if g == nil {
					continue
				}
				for _, l := range m.GetLabel() {
					if l.GetName() == "kind" {
						g.Value = proto.Float64(kinds[l.GetValue()])
					}
				}
			}
		}
	}
}

func mergeClientsRoute(_ *proxy, w http.ResponseWriter, _ *http.Request, _ []byte, as []answer) error {
	if e := firstError(as); e != nil {
		relay(w, *e)
		return nil
	}
	reports := make([]metrics.Report, len(as))
	for i, a := range as {
		if err := json.Unmarshal(a.body, &reports[i]); err != nil {
			return fmt.Errorf("worker %d's clients: %w", a.worker, err)
		}
	}
	return writeJSON(w, http.StatusOK, "application/json", MergeClients(reports))
}

// ---------------------------------------------------------------- health

// MergeHealth merges the workers' GET /health answers, kept as JSON
// objects: the first worker's, with the longest uptime, saturated when any
// worker is, and the CPU utilization added up (the workers share the CPUs).
func MergeHealth(bodies [][]byte) ([]byte, error) {
	var out map[string]any
	for i, b := range bodies {
		var h map[string]any
		if err := json.Unmarshal(b, &h); err != nil {
			return nil, fmt.Errorf("worker %d's health: %w", i, err)
		}
		if i == 0 {
			out = h
			continue
		}
		if v, ok := h["uptimeSeconds"].(float64); ok {
			if o, _ := out["uptimeSeconds"].(float64); v > o {
				out["uptimeSeconds"] = v
			}
		}
		if v, _ := h["saturated"].(bool); v {
			out["saturated"] = true
		}
		if v, ok := h["cpuUtilization"].(float64); ok {
			o, _ := out["cpuUtilization"].(float64)
			out["cpuUtilization"] = math.Round((o+v)*1000) / 1000
		}
		// Each worker has its own accept queue (SO_REUSEPORT): they add
		// up. The worst scheduling delay stands for the node, and a
		// signal on in any worker is on.
		if v, ok := h["acceptQueue"].(float64); ok {
			o, _ := out["acceptQueue"].(float64)
			out["acceptQueue"] = o + v
		}
		for _, k := range []string{"schedLatencyP99Us", "runQueueDelayUs"} {
			if v, ok := h[k].(float64); ok {
				if o, _ := out[k].(float64); v > o {
					out[k] = v
				}
			}
		}
		if vs, ok := h["saturationSignals"].([]any); ok {
			have, _ := out["saturationSignals"].([]any)
			for _, v := range vs {
				if !slices.Contains(have, v) {
					have = append(have, v)
				}
			}
			out["saturationSignals"] = have
		}
	}
	return marshal(out)
}

func mergeHealthRoute(_ *proxy, w http.ResponseWriter, _ *http.Request, _ []byte, as []answer) error {
	if e := firstError(as); e != nil {
		relay(w, *e)
		return nil
	}
	bodies, _ := bodiesOf(as)
	b, err := MergeHealth(bodies)
	if err != nil {
		return err
	}
	writeBody(w, http.StatusOK, "application/json", b)
	return nil
}

// mergeReady answers GET /ready: ready when every one of the n workers
// runs and is ready.
func mergeReady(w http.ResponseWriter, as []answer, n int) {
	ready := len(as) == n
	for _, a := range as {
		ready = ready && a.ok()
	}
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	_ = writeJSON(w, status, "application/json", struct {
		Ready bool `json:"ready"`
	}{ready})
}

func mergeReadyRoute(p *proxy, w http.ResponseWriter, _ *http.Request, _ []byte, as []answer) error {
	mergeReady(w, as, len(p.sup.procs))
	return nil
}

// ---------------------------------------------------------------- stubs

// MergeStubs merges the workers' GET /stubs or GET /stubs/{id} answers:
// the first worker's, with each stub's calls (how often its response
// sequence advanced) added up over the workers.
func MergeStubs(bodies [][]byte) ([]byte, error) {
	type stubs struct {
		Stubs []map[string]json.RawMessage `json:"stubs"`
	}
	calls := map[string]uint64{}
	count := func(m map[string]json.RawMessage) {
		var id string
		var n uint64
		_ = json.Unmarshal(m["id"], &id)
		_ = json.Unmarshal(m["calls"], &n)
		calls[id] += n
	}
	var first map[string]json.RawMessage
	for i, b := range bodies {
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("worker %d's stubs: %w", i, err)
		}
		if i == 0 {
			first = doc
		}
		if _, list := doc["stubs"]; !list {
			count(doc)
			continue
		}
		var l stubs
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("worker %d's stubs: %w", i, err)
		}
		for _, m := range l.Stubs {
			count(m)
		}
	}
	set := func(m map[string]json.RawMessage) {
		var id string
		_ = json.Unmarshal(m["id"], &id)
		if _, ok := m["calls"]; ok {
			m["calls"] = json.RawMessage(strconv.FormatUint(calls[id], 10))
		}
	}
	if _, list := first["stubs"]; !list {
		set(first)
		return marshal(first)
	}
	var l []map[string]json.RawMessage
	if err := json.Unmarshal(first["stubs"], &l); err != nil {
		return nil, err
	}
	for _, m := range l {
		set(m)
	}
	b, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	first["stubs"] = b
	return marshal(first)
}

func mergeStubsRoute(_ *proxy, w http.ResponseWriter, _ *http.Request, _ []byte, as []answer) error {
	if e := firstError(as); e != nil {
		relay(w, *e)
		return nil
	}
	bodies, _ := bodiesOf(as)
	b, err := MergeStubs(bodies)
	if err != nil {
		return err
	}
	writeBody(w, http.StatusOK, "application/json", b)
	return nil
}
