package workers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/metrics"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

func TestMergeMetrics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      []string
		want    []string // lines the merged text must hold
		wantErr string
	}{
		{
			name: "counters with the same labels add up",
			in: []string{
				"# TYPE decoy_requests_total counter\ndecoy_requests_total{stub=\"a\"} 3\ndecoy_requests_total{stub=\"b\"} 1\n",
				"# TYPE decoy_requests_total counter\ndecoy_requests_total{stub=\"a\"} 4\n",
			},
			want: []string{`decoy_requests_total{stub="a"} 7`, `decoy_requests_total{stub="b"} 1`},
		},
		{
			name: "gauges add up",
			in: []string{
				"# TYPE decoy_connections_open gauge\ndecoy_connections_open 10\n",
				"# TYPE decoy_connections_open gauge\ndecoy_connections_open 15\n",
				"# TYPE decoy_connections_open gauge\ndecoy_connections_open 0\n",
			},
			want: []string{"decoy_connections_open 25"},
		},
		{
			name: "machine gauges keep the largest, start time the earliest",
			in: []string{
				"# TYPE decoy_cpus gauge\ndecoy_cpus 2\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 200\n# TYPE go_info gauge\ngo_info{version=\"go1.26\"} 1\n",
				"# TYPE decoy_cpus gauge\ndecoy_cpus 2\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 100\n# TYPE go_info gauge\ngo_info{version=\"go1.26\"} 1\n",
			},
			want: []string{"decoy_cpus 2", "process_start_time_seconds 100", `go_info{version="go1.26"} 1`},
		},
		{
			name: "histograms add bucket by bucket",
			in: []string{
				"# TYPE decoy_processing_seconds histogram\ndecoy_processing_seconds_bucket{le=\"0.001\"} 1\ndecoy_processing_seconds_bucket{le=\"+Inf\"} 2\ndecoy_processing_seconds_sum 0.5\ndecoy_processing_seconds_count 2\n",
				"# TYPE decoy_processing_seconds histogram\ndecoy_processing_seconds_bucket{le=\"0.001\"} 3\ndecoy_processing_seconds_bucket{le=\"+Inf\"} 3\ndecoy_processing_seconds_sum 0.25\ndecoy_processing_seconds_count 3\n",
			},
			want: []string{`decoy_processing_seconds_bucket{le="0.001"} 4`, `decoy_processing_seconds_bucket{le="+Inf"} 5`, "decoy_processing_seconds_sum 0.75", "decoy_processing_seconds_count 5"},
		},
		{
			name: "summaries add counts and keep the largest quantile",
			in: []string{
				"# TYPE go_gc_duration_seconds summary\ngo_gc_duration_seconds{quantile=\"0.5\"} 0.001\ngo_gc_duration_seconds_sum 0.01\ngo_gc_duration_seconds_count 10\n",
				"# TYPE go_gc_duration_seconds summary\ngo_gc_duration_seconds{quantile=\"0.5\"} 0.003\ngo_gc_duration_seconds_sum 0.02\ngo_gc_duration_seconds_count 5\n",
			},
			want: []string{`go_gc_duration_seconds{quantile="0.5"} 0.003`, "go_gc_duration_seconds_sum 0.03", "go_gc_duration_seconds_count 15"},
		},
		{
			name: "a series in one worker only is kept",
			in: []string{
				"# TYPE decoy_faults_total counter\ndecoy_faults_total{kind=\"reset\"} 2\n",
				"",
			},
			want: []string{`decoy_faults_total{kind="reset"} 2`},
		},
		{
			name: "different types are an error",
			in: []string{
				"# TYPE x counter\nx 1\n",
				"# TYPE x gauge\nx 1\n",
			},
			wantErr: "is a COUNTER in one worker and a GAUGE",
		},
		{
			name:    "malformed text is an error",
			in:      []string{"x{ 1\n"},
			wantErr: "worker 0's metrics",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			texts := make([][]byte, len(tc.in))
			for i, s := range tc.in {
				texts[i] = []byte(s)
			}
			fams, err := MergeMetrics(texts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
			for _, f := range fams {
				if err := enc.Encode(f); err != nil {
					t.Fatal(err)
				}
			}
			lines := strings.Split(buf.String(), "\n")
			for _, w := range tc.want {
				found := false
				for _, l := range lines {
					found = found || l == w
				}
				if !found {
					t.Errorf("no line %q in:\n%s", w, buf.String())
				}
			}
		})
	}
}

func TestMergeRequestLists(t *testing.T) {
	t.Parallel()
	at := func(s int) string { return time.Date(2026, 1, 1, 0, 0, s, 0, time.UTC).Format(time.RFC3339Nano) }
	list := func(total uint64, seqTimes ...int) []byte {
		var es []string
		for i := 0; i < len(seqTimes); i += 2 {
			es = append(es, `{"seq":`+itoa(seqTimes[i])+`,"time":"`+at(seqTimes[i+1])+`","method":"GET"}`)
		}
		return []byte(`{"total":` + itoa(int(total)) + `,"size":` + itoa(len(es)) + `,"capacity":100,"requests":[` + strings.Join(es, ",") + `]}`)
	}
	tests := []struct {
		name      string
		in        [][]byte
		limit     int
		wantTotal uint64
		wantOrder []string // worker/seq, newest first
	}{
		{"interleaved by time", [][]byte{list(2, 2, 30, 1, 10), list(2, 2, 20, 1, 5)}, 0, 4, []string{"0/2", "1/2", "0/1", "1/1"}},
		{"limit keeps the newest", [][]byte{list(2, 2, 30, 1, 10), list(2, 2, 20, 1, 5)}, 2, 4, []string{"0/2", "1/2"}},
		{"same time: by worker", [][]byte{list(1, 1, 10), list(1, 1, 10)}, 0, 2, []string{"0/1", "1/1"}},
		{"empty", [][]byte{list(0), list(0)}, 0, 0, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ids := make([]int, len(tc.in))
			for i := range ids {
				ids[i] = i
			}
			b, err := MergeRequestLists(tc.in, ids, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Total    uint64 `json:"total"`
				Capacity int    `json:"capacity"`
				Requests []struct {
					Worker int    `json:"worker"`
					Seq    int    `json:"seq"`
					Method string `json:"method"`
				} `json:"requests"`
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("%v: %s", err, b)
			}
			if got.Total != tc.wantTotal || got.Capacity != 100*len(tc.in) {
				t.Errorf("total %d capacity %d, want %d and %d", got.Total, got.Capacity, tc.wantTotal, 100*len(tc.in))
			}
			order := []string{}
			for _, r := range got.Requests {
				order = append(order, itoa(r.Worker)+"/"+itoa(r.Seq))
				if r.Method != "GET" {
					t.Errorf("entry lost its fields: %s", b)
				}
			}
			if strings.Join(order, " ") != strings.Join(tc.wantOrder, " ") {
				t.Errorf("order %v, want %v", order, tc.wantOrder)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestMergeCountsAndFinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []string
		want countResult
	}{
		{"sums", []string{`{"count":2,"searched":5,"complete":true,"requests":[]}`, `{"count":3,"searched":4,"complete":true,"requests":[]}`}, countResult{5, 9, true}},
		{"incomplete when one is", []string{`{"count":1,"searched":1,"complete":true,"requests":[]}`, `{"count":0,"searched":7,"complete":false,"requests":[]}`}, countResult{1, 8, false}},
		{"one worker", []string{`{"count":4,"searched":4,"complete":true,"requests":[]}`}, countResult{4, 4, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bodies := make([][]byte, len(tc.in))
			ids := make([]int, len(tc.in))
			for i, s := range tc.in {
				bodies[i], ids[i] = []byte(s), i
			}
			for what, f := range map[string]func() ([]byte, error){
				"count": func() ([]byte, error) { return MergeCounts(bodies) },
				"find":  func() ([]byte, error) { return MergeFinds(bodies, ids) },
			} {
				b, err := f()
				if err != nil {
					t.Fatal(err)
				}
				var got countResult
				if err := json.Unmarshal(b, &got); err != nil {
					t.Fatal(err)
				}
				if got != tc.want {
					t.Errorf("%s: %+v, want %+v", what, got, tc.want)
				}
			}
		})
	}
}

func TestMergeVerify(t *testing.T) {
	t.Parallel()
	ok := func(n int) string {
		return `{"expected":"exactly 3","count":` + itoa(n) + `,"searched":10,"complete":true}`
	}
	failed := func(n int) string {
		return `{"type":"about:blank","title":"Conflict","status":409,"expected":"exactly 3","count":` + itoa(n) +
			`,"searched":10,"complete":true,"nearMisses":[{"seq":1,"method":"GET","uri":"/x","reasons":["path"]}]}`
	}
	tests := []struct {
		name       string
		query      string
		in         []string
		wantStatus int
		wantCount  int
		wantMisses int
	}{
		{"each fails, the sum holds", `{"request":{},"count":{"exactly":3}}`, []string{failed(1), failed(2)}, http.StatusOK, 3, 0},
		{"each holds, the sum does not", `{"request":{},"count":{"atMost":3}}`, []string{ok(2), ok(2)}, http.StatusConflict, 4, 0},
		{"too few, near misses kept", `{"request":{},"count":{"atLeast":5}}`, []string{failed(1), failed(1), failed(0), failed(0)}, http.StatusConflict, 2, 3},
		{"no count: at least one", `{"request":{}}`, []string{failed(0), ok(1)}, http.StatusOK, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bodies := make([][]byte, len(tc.in))
			ids := make([]int, len(tc.in))
			for i, s := range tc.in {
				bodies[i], ids[i] = []byte(s), i
			}
			status, b, err := MergeVerify([]byte(tc.query), bodies, ids)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Status     int               `json:"status"`
				Count      int               `json:"count"`
				Searched   int               `json:"searched"`
				NearMisses []json.RawMessage `json:"nearMisses"`
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if status != tc.wantStatus || got.Count != tc.wantCount || len(got.NearMisses) != tc.wantMisses || got.Searched != 10*len(tc.in) {
				t.Errorf("status %d count %d searched %d misses %d, want %d %d %d %d: %s", status, got.Count, got.Searched, len(got.NearMisses),
					tc.wantStatus, tc.wantCount, 10*len(tc.in), tc.wantMisses, b)
			}
			if status == http.StatusConflict && got.Status != http.StatusConflict {
				t.Errorf("a failed verification is not a problem document: %s", b)
			}
		})
	}
}

func TestMergeClients(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := func(addr string, conns, reqs uint64, first, last int, kinds ...string) metrics.ClientReport {
		r := metrics.ClientReport{Address: addr, Connections: conns, Requests: reqs,
			FirstSeen: t0.Add(time.Duration(first) * time.Second), LastSeen: t0.Add(time.Duration(last) * time.Second)}
		for _, k := range kinds {
			r.Findings = append(r.Findings, metrics.Finding{Kind: k})
		}
		return r
	}
	tests := []struct {
		name      string
		in        []metrics.Report
		wantAddrs []string
		check     func(t *testing.T, r metrics.Report)
	}{
		{
			name: "one address over two workers",
			in: []metrics.Report{
				{Clients: []metrics.ClientReport{c("127.0.0.2", 2, 10, 5, 20, "a")}, Capacity: 10},
				{Clients: []metrics.ClientReport{c("127.0.0.2", 3, 20, 1, 10, "a", "b")}, Capacity: 10},
			},
			wantAddrs: []string{"127.0.0.2"},
			check: func(t *testing.T, r metrics.Report) {
				m := r.Clients[0]
				// The workers' own findings are not kept: the merged
				// counts are judged again, and these show none.
				if m.Connections != 5 || m.Requests != 30 || m.ReuseRatio != 6 || len(m.Findings) != 0 ||
					!m.FirstSeen.Equal(t0.Add(time.Second)) || !m.LastSeen.Equal(t0.Add(20*time.Second)) || r.Capacity != 20 {
					t.Errorf("merged %+v", r)
				}
			},
		},
		{
			// 14 single-use connections spread 9 and 5: no worker has the
			// evidence (10) alone; the node has.
			name: "findings judged on the merged counts",
			in: []metrics.Report{
				{Clients: []metrics.ClientReport{{Address: "127.0.0.9", Connections: 9, Requests: 9, SingleUseConnections: 9,
					ClosedByClient: 9, PeakOpenConnections: 4, Findings: []metrics.Finding{}}}},
				{Clients: []metrics.ClientReport{{Address: "127.0.0.9", Connections: 5, Requests: 5, SingleUseConnections: 5,
					ClosedByClient: 5, PeakOpenConnections: 5, Findings: []metrics.Finding{}}}},
			},
			wantAddrs: []string{"127.0.0.9"},
			check: func(t *testing.T, r metrics.Report) {
				m := r.Clients[0]
				if len(m.Findings) != 1 || m.Findings[0].Kind != metrics.FindingConnPerRequest ||
					!strings.Contains(m.Findings[0].Message, "opened 14 connections for 14 requests, and 14 of them") {
					t.Errorf("findings %+v, want connection-per-request with the node's figures", m.Findings)
				}
				// Peaks 4 and 5 need not have been at the same moment: 5
				// is certain, 9 is not, and 9 would flag the client.
				if m.PeakOpenConnections != 5 {
					t.Errorf("peakOpenConnections %d, want 5 (the most one worker saw)", m.PeakOpenConnections)
				}
				fams := []*dto.MetricFamily{
					{Name: proto.String("decoy_clients_tracked"), Type: dto.MetricType_GAUGE.Enum(),
						Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(2)}}}},
					{Name: proto.String("decoy_client_findings"), Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{
						{Label: []*dto.LabelPair{{Name: proto.String("kind"), Value: proto.String(metrics.FindingConnPerRequest)}}, Gauge: &dto.Gauge{Value: proto.Float64(0)}},
						{Label: []*dto.LabelPair{{Name: proto.String("kind"), Value: proto.String(metrics.FindingParallel)}}, Gauge: &dto.Gauge{Value: proto.Float64(2)}}}},
				}
				SetClientGauges(fams, r)
				if v := fams[0].Metric[0].GetGauge().GetValue(); v != 1 {
					t.Errorf("decoy_clients_tracked %v, want 1", v)
				}
				if a, b := fams[1].Metric[0].GetGauge().GetValue(), fams[1].Metric[1].GetGauge().GetValue(); a != 1 || b != 0 {
					t.Errorf("decoy_client_findings %v and %v, want 1 and 0", a, b)
				}
			},
		},
		{
			name: "ordered by connections",
			in: []metrics.Report{
				{Clients: []metrics.ClientReport{c("127.0.0.2", 1, 1, 0, 1)}},
				{Clients: []metrics.ClientReport{c("127.0.0.3", 5, 5, 0, 1)}},
			},
			wantAddrs: []string{"127.0.0.3", "127.0.0.2"},
		},
		{name: "none", in: []metrics.Report{{}, {}}, wantAddrs: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := MergeClients(tc.in)
			addrs := []string{}
			for _, cl := range r.Clients {
				addrs = append(addrs, cl.Address)
			}
			if strings.Join(addrs, " ") != strings.Join(tc.wantAddrs, " ") || r.Tracked != len(tc.wantAddrs) {
				t.Fatalf("addresses %v (tracked %d), want %v", addrs, r.Tracked, tc.wantAddrs)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

func TestMergeHealth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []string
		want map[string]any
	}{
		{"longest uptime, summed CPU, any saturated",
			[]string{`{"status":"ok","uptimeSeconds":5,"saturated":false,"cpuUtilization":0.25,"cpus":2}`,
				`{"status":"ok","uptimeSeconds":9,"saturated":true,"cpuUtilization":0.5,"cpus":2}`},
			map[string]any{"status": "ok", "uptimeSeconds": 9.0, "saturated": true, "cpuUtilization": 0.75, "cpus": 2.0}},
		{"saturation signals: union, queues added, worst scheduling delay",
			[]string{`{"status":"ok","saturationSignals":["cpu"],"acceptQueue":3,"schedLatencyP99Us":800,"runQueueDelayUs":2500}`,
				`{"status":"ok","saturationSignals":["accept-queue","cpu"],"acceptQueue":4,"schedLatencyP99Us":6000,"runQueueDelayUs":12}`},
			map[string]any{"saturationSignals": []any{"cpu", "accept-queue"}, "acceptQueue": 7.0, "schedLatencyP99Us": 6000.0, "runQueueDelayUs": 2500.0}},
		{"one worker as it is",
			[]string{`{"status":"ok","uptimeSeconds":1,"saturated":false,"cpuUtilization":0,"cpus":2,"stubs":3}`},
			map[string]any{"status": "ok", "uptimeSeconds": 1.0, "saturated": false, "cpuUtilization": 0.0, "cpus": 2.0, "stubs": 3.0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bodies := make([][]byte, len(tc.in))
			for i, s := range tc.in {
				bodies[i] = []byte(s)
			}
			b, err := MergeHealth(bodies)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if !reflect.DeepEqual(got[k], v) {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

func TestMergeStubs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []string
		want string
	}{
		{"list: calls added by id",
			[]string{`{"stubs":[{"id":"a","calls":1},{"id":"b","calls":0}],"total":2}`, `{"stubs":[{"id":"a","calls":2},{"id":"b","calls":5}],"total":2}`},
			`{"stubs":[{"calls":3,"id":"a"},{"calls":5,"id":"b"}],"total":2}`},
		{"one stub",
			[]string{`{"id":"a","calls":1,"origin":"api"}`, `{"id":"a","calls":4,"origin":"api"}`},
			`{"calls":5,"id":"a","origin":"api"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bodies := make([][]byte, len(tc.in))
			for i, s := range tc.in {
				bodies[i] = []byte(s)
			}
			b, err := MergeStubs(bodies)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(bytes.TrimSpace(b)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// A gRPC call's entry keeps its status (200) and grpcStatus through the
// merge; the grpcStatus filter itself is applied by each worker, which
// gets the query as it was sent.
func TestMergeRequestListsGRPCStatus(t *testing.T) {
	t.Parallel()
	in := [][]byte{
		[]byte(`{"total":1,"size":1,"capacity":10,"requests":[{"seq":1,"time":"2026-01-01T00:00:01Z","proto":"gRPC","status":200,"grpcStatus":5}]}`),
		[]byte(`{"total":1,"size":1,"capacity":10,"requests":[{"seq":1,"time":"2026-01-01T00:00:02Z","proto":"gRPC","status":200,"grpcStatus":0}]}`),
	}
	b, err := MergeRequestLists(in, []int{0, 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Requests []struct {
			Worker     int  `json:"worker"`
			Status     int  `json:"status"`
			GRPCStatus *int `json:"grpcStatus"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Requests) != 2 || got.Requests[0].Worker != 1 || got.Requests[0].GRPCStatus == nil || *got.Requests[0].GRPCStatus != 0 ||
		got.Requests[1].Status != 200 || got.Requests[1].GRPCStatus == nil || *got.Requests[1].GRPCStatus != 5 {
		t.Errorf("merged: %s", b)
	}
}

// Near misses name the worker their seq counts in, and the merge takes
// every worker's nearest before any worker's second.
func TestMergeVerifyNearMisses(t *testing.T) {
	t.Parallel()
	failed := func(seqs ...int) []byte {
		var ms []string
		for _, s := range seqs {
			ms = append(ms, `{"seq":`+itoa(s)+`,"method":"GET","uri":"/x","reasons":["path"]}`)
		}
		return []byte(`{"type":"about:blank","title":"Conflict","status":409,"expected":"at least 9","count":0,"searched":10,"complete":true,"nearMisses":[` +
			strings.Join(ms, ",") + `]}`)
	}
	status, b, err := MergeVerify([]byte(`{"request":{},"count":{"atLeast":9}}`),
		[][]byte{failed(7, 3, 2), failed(5, 4), failed(9)}, []int{0, 2, 5})
	if err != nil || status != http.StatusConflict {
		t.Fatalf("status %d, err %v", status, err)
	}
	var got struct {
		NearMisses []struct {
			Worker *int `json:"worker"`
			Seq    int  `json:"seq"`
		} `json:"nearMisses"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, m := range got.NearMisses {
		if m.Worker == nil {
			t.Fatalf("a near miss without its worker: %s", b)
		}
		seen = append(seen, fmt.Sprintf("%d/%d", *m.Worker, m.Seq))
	}
	if want := []string{"0/7", "2/5", "5/9"}; !slices.Equal(seen, want) {
		t.Errorf("near misses (worker/seq) %v, want %v", seen, want)
	}
}
