package app_test

import (
	"encoding/json"
	"net"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// dashboardExprs returns every PromQL expression of the Grafana dashboard
// (panel targets and templating queries), panels inside rows included.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../deploy/grafana/decoy-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		Expr string `json:"expr"`
	}
	type panel struct {
		Title   string   `json:"title"`
		Type    string   `json:"type"`
		Targets []target `json:"targets"`
		Panels  []panel  `json:"panels"`
	}
	var d struct {
		Title      string  `json:"title"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("decoy-dashboard.json: %v", err)
	}
	var exprs []string
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("panel %q has an empty query", p.Title)
				}
				exprs = append(exprs, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(string); ok && v.Type == "query" {
			exprs = append(exprs, q)
		}
	}
	if len(exprs) < 10 {
		t.Fatalf("only %d expressions in the dashboard", len(exprs))
	}
	return exprs
}

// metricNameRe finds the metric names in a PromQL expression: decoy's,
// and those of the process and Go collectors.
var metricNameRe = regexp.MustCompile(`\b(?:decoy|process|go)_[a-zA-Z0-9_]+`)

// TestDashboardMetricsExist: every metric the Grafana dashboard queries is
// one decoy exports, checked against a live scrape after traffic that
// makes every series appear.
func TestDashboardMetricsExist(t *testing.T) {
	t.Parallel()
	exprs := dashboardExprs(t)
	r := startWith(t, injectedStubs(), nil)
	h1, tlsc := r.h1("127.0.0.1"), r.tls(true)
	do(t, h1, r.http+"/slow", false)
	do(t, h1, r.http+"/broken", false)
	do(t, tlsc, r.https+"/plain", false)
	// A malformed request, for decoy_rejected_requests_total.
	if c, err := net.Dial("tcp", r.App.HTTPAddr.String()); err == nil {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Write([]byte("GET /x HTTP/1.1\r\nHost x\r\n\r\n"))
		_, _ = c.Read(make([]byte, 512))
		c.Close()
	}
	h1.CloseIdleConnections()
	tlsc.CloseIdleConnections()
	f := r.scrape(t)
	have := map[string]bool{}
	for name, fam := range f {
		have[name] = true
		if fam.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				have[name+s] = true
			}
		}
	}
	used := map[string]bool{}
	for _, e := range exprs {
		for _, m := range metricNameRe.FindAllString(e, -1) {
			used[m] = true
		}
	}
	var names []string
	for m := range used {
		names = append(names, m)
		if !have[m] {
			t.Errorf("the dashboard queries %s, which decoy does not export", m)
		}
	}
	sort.Strings(names)
	// The dashboard covers what issue 5 asks it to plot.
	for _, want := range []string{"decoy_requests_total", "decoy_processing_seconds_bucket", "decoy_connections_open",
		"decoy_connections_accepted_total", "decoy_connections_closed_total", "decoy_requests_per_connection_bucket",
		"decoy_http_requests_total", "decoy_tls_handshakes_total", "decoy_injected_delay_seconds_total", "decoy_faults_total",
		"decoy_saturated", "decoy_cpu_utilization", "process_cpu_seconds_total", "decoy_client_findings"} {
		if !used[want] {
			t.Errorf("the dashboard does not plot %s (it uses %s)", want, strings.Join(names, ", "))
		}
	}
}
