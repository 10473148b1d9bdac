package metrics

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/stub"
	dto "github.com/prometheus/client_model/go"
)

func testEngine(t *testing.T) *engine.Engine {
	t.Helper()
	st, err := engine.NewStore([]engine.Source{
		{Stub: stub.Stub{ID: "user", Request: stub.Request{Path: "/users"}, Response: &stub.Response{Body: stub.Text("hi")}}},
		{Stub: stub.Stub{ID: "flaky", Request: stub.Request{Path: "/flaky"}, Sequence: stub.SequenceRepeat,
			Responses: []stub.Response{{Status: 503}, {Status: 200}, {Status: 503}}}},
		{Stub: stub.Stub{ID: "idle", Request: stub.Request{Path: "/idle"}, Response: &stub.Response{}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return st.Engine()
}

// sample finds the metric of family name whose labels include want.
func sample(t *testing.T, fams []*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	t.Helper()
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if got[k] != v {
					continue next
				}
			}
			return m
		}
	}
	return nil
}

func value(m *dto.Metric) float64 {
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return -2
}

func TestCollector(t *testing.T) {
	t.Parallel()
	eng := testEngine(t)
	snap := eng.Snapshot()
	user := snap.Get("user")
	user.Stats().Record(0, 0, 2, 3*time.Microsecond)
	user.Stats().Record(0, 7, 2, 150*time.Microsecond)
	flaky := snap.Get("flaky")
	for range 5 {
		i, _, _ := flaky.Pick()
		flaky.Stats().Record(i, 0, 0, time.Microsecond)
	}
	eng.Unmatched().Record(0, 0, 300, 40*time.Microsecond)

	conns := ConnStats{Accepted: 9, Open: 2, PerConnSum: 30, Idle: 1, SlowReading: 1, LoopHandOffs: 3}
	conns.Closed[CloseClientEOF] = 4
	conns.Closed[CloseClientReset] = 1
	conns.Closed[CloseIdleTimeout] = 2
	conns.Requests[HTTP11] = 25
	conns.Requests[HTTP2] = 5
	conns.TLSHandshakes[TLS13][HandshakeOK] = 3
	conns.TLSHandshakes[TLSUnknown][HandshakeFailed] = 1
	conns.Rejected[RejectedIndex(431)] = 4
	conns.PerConn[PerConnBucket(1)] = 5
	conns.PerConn[PerConnBucket(25)] = 2
	clients := NewClients(0)
	var c Conn
	clients.Open(&c, netip.MustParseAddr("127.0.0.1"))

	reg, err := NewRegistry(Sources{Engine: eng, Conns: []func() ConnStats{func() ConnStats { return conns }, nil}, Clients: clients})
	if err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"decoy_requests_total", map[string]string{"stub": "user", "code": "200"}, 2},
		{"decoy_requests_total", map[string]string{"stub": "flaky", "code": "503"}, 3}, // two of three responses are 503
		{"decoy_requests_total", map[string]string{"stub": "flaky", "code": "200"}, 2},
		{"decoy_requests_total", map[string]string{"stub": "-", "code": "404"}, 1},
		{"decoy_request_bytes_total", map[string]string{"stub": "user"}, 7},
		{"decoy_response_bytes_total", map[string]string{"stub": "user"}, 4},
		{"decoy_response_bytes_total", map[string]string{"stub": "-"}, 300},
		{"decoy_connections_accepted_total", nil, 9},
		{"decoy_connections_open", nil, 2},
		{"decoy_connections_idle", nil, 1},
		{"decoy_connections_slow_reading", nil, 1},
		{"decoy_http1_loop_handoffs_total", nil, 3},
		{"decoy_connections_closed_total", map[string]string{"by": "client", "reason": "eof"}, 4},
		{"decoy_connections_closed_total", map[string]string{"by": "client", "reason": "reset"}, 1},
		{"decoy_connections_closed_total", map[string]string{"by": "client", "reason": "asked-close"}, 0},
		{"decoy_connections_closed_total", map[string]string{"by": "server", "reason": "idle-timeout"}, 2},
		{"decoy_connections_closed_total", map[string]string{"by": "server", "reason": "fault"}, 0},
		{"decoy_http_requests_total", map[string]string{"version": "1.0"}, 0},
		{"decoy_http_requests_total", map[string]string{"version": "1.1"}, 25},
		{"decoy_http_requests_total", map[string]string{"version": "2"}, 5},
		{"decoy_tls_handshakes_total", map[string]string{"version": "1.3", "result": "ok"}, 3},
		{"decoy_tls_handshakes_total", map[string]string{"version": "unknown", "result": "failed"}, 1},
		{"decoy_rejected_requests_total", map[string]string{"code": "431"}, 4},
		{"decoy_clients_tracked", nil, 1},
		{"decoy_clients_evicted_total", nil, 0},
	}
	for _, tt := range tests {
		if got := value(sample(t, fams, tt.name, tt.labels)); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	// A stub that never answered has no series.
	if m := sample(t, fams, "decoy_requests_total", map[string]string{"stub": "idle"}); m != nil {
		t.Errorf("idle stub reported: %v", m)
	}
	// Histograms.
	h := sample(t, fams, "decoy_processing_seconds", map[string]string{"stub": "user"}).GetHistogram()
	if h.GetSampleCount() != 2 || h.GetSampleSum() != 153e-6 {
		t.Errorf("processing histogram: count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
	}
	for _, b := range h.GetBucket() {
		want := uint64(0)
		switch {
		case b.GetUpperBound() >= 200e-6:
			want = 2
		case b.GetUpperBound() >= 5e-6:
			want = 1
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("processing bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	pc := sample(t, fams, "decoy_requests_per_connection", nil).GetHistogram()
	if pc.GetSampleCount() != 7 || pc.GetSampleSum() != 30 {
		t.Errorf("requests per connection: count %d sum %v", pc.GetSampleCount(), pc.GetSampleSum())
	}
	for _, b := range pc.GetBucket() {
		if b.GetUpperBound() == 1 && b.GetCumulativeCount() != 5 || b.GetUpperBound() == 50 && b.GetCumulativeCount() != 7 {
			t.Errorf("requests per connection bucket le=%v: %d", b.GetUpperBound(), b.GetCumulativeCount())
		}
	}
	// The standard collectors.
	for _, name := range []string{"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "go_goroutines"} {
		if sample(t, fams, name, nil) == nil {
			t.Errorf("%s missing", name)
		}
	}
}

// TestHandlerFormats: text by default, OpenMetrics when asked.
func TestHandlerFormats(t *testing.T) {
	t.Parallel()
	eng := testEngine(t)
	eng.Snapshot().Get("user").Stats().Record(0, 0, 2, time.Microsecond)
	reg, err := NewRegistry(Sources{Engine: eng})
	if err != nil {
		t.Fatal(err)
	}
	h := Handler(reg)
	tests := []struct {
		accept, wantType, wantBody string
	}{
		{"", "text/plain; version=0.0.4", `decoy_requests_total{code="200",stub="user"} 1`},
		{"application/openmetrics-text; version=1.0.0", "application/openmetrics-text; version=1.0.0", "# EOF"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if tt.accept != "" {
			req.Header.Set("Accept", tt.accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), tt.wantType) || !strings.Contains(w.Body.String(), tt.wantBody) {
			t.Errorf("Accept %q: %d %s\n%s", tt.accept, w.Code, w.Header().Get("Content-Type"), w.Body.String())
		}
	}
}
