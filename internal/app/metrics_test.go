package app_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/app"
	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/stub"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func testStubs() []engine.Source {
	return []engine.Source{
		{Stub: stub.Stub{ID: "user", Request: stub.Request{Method: "GET", Path: "/users/{id}"},
			Response: &stub.Response{Body: stub.Text("ada")}}},
		{Stub: stub.Stub{ID: "flaky", Request: stub.Request{Path: "/flaky"}, Sequence: stub.SequenceRepeat,
			Responses: []stub.Response{{Status: 200, Body: stub.Text("ok")}, {Status: 503}}}},
		{Stub: stub.Stub{ID: "slow", Request: stub.Request{Path: "/slow"},
			Response: &stub.Response{Body: stub.Text("late"), Delay: new(stub.Duration(20 * time.Millisecond))}}},
	}
}

// running is an app on ephemeral loopback ports with clients for it.
type running struct {
	*app.App
	http, https, admin string // base URLs
	roots              *x509.CertPool
}

func start(t *testing.T, mod func(*config.Settings)) *running {
	t.Helper()
	return startWith(t, testStubs(), mod)
}

// startWith starts an app serving srcs.
func startWith(t *testing.T, srcs []engine.Source, mod func(*config.Settings)) *running {
	t.Helper()
	return startLogged(t, srcs, nil, mod)
}

// startLogged starts an app serving srcs that logs to log, the stubs
// compiled with the settings, as the CLI does.
func startLogged(t *testing.T, srcs []engine.Source, log *slog.Logger, mod func(*config.Settings)) *running {
	t.Helper()
	set := config.Defaults()
	set.HTTP, set.HTTPS, set.Admin = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	set.Quiet = true
	if mod != nil {
		mod(&set)
	}
	store, err := engine.NewStore(srcs, set.EngineOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.Start(set, store, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	r := &running{App: a, http: "http://" + a.HTTPAddr.String(), https: "https://" + a.HTTPSAddr.String(),
		admin: "http://" + a.AdminAddr.String(), roots: x509.NewCertPool()}
	r.roots.AppendCertsFromPEM(a.CAPEM)
	return r
}

// from returns a dialer bound to a loopback source address, so that one
// test can play several clients.
func from(ip string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return d.DialContext
}

func (r *running) h1(ip string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: from(ip)}}
}

func (r *running) h2c() *http.Client {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Protocols: p}}
}

func (r *running) tls(h2 bool) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.roots}, ForceAttemptHTTP2: h2}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: tr}
}

// do sends a GET and reads the whole answer; close asks for
// Connection: close.
func do(t *testing.T, c *http.Client, url string, close bool) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Close = close
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// http10 sends one HTTP/1.0 request without keep-alive on a connection of
// its own and reads until the server closes it.
func http10(t *testing.T, addr, path string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.0\r\n\r\n", path)
	b, err := io.ReadAll(c)
	if err != nil || !bytes.HasPrefix(b, []byte("HTTP/1.0 200")) && !bytes.HasPrefix(b, []byte("HTTP/1.1 200")) {
		t.Fatalf("HTTP/1.0 answer %q, %v", b, err)
	}
}

type families map[string]*dto.MetricFamily

func (r *running) scrape(t *testing.T) families {
	t.Helper()
	resp, err := http.Get(r.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// metric finds the sample of name with exactly the given labels ("k=v,k=v").
func (f families) metric(name, labels string) *dto.Metric {
	fam := f[name]
	if fam == nil {
		return nil
	}
	for _, m := range fam.GetMetric() {
		var got []string
		for _, l := range m.GetLabel() {
			got = append(got, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(got)
		want := strings.Split(labels, ",")
		if labels == "" {
			want = nil
		}
		sort.Strings(want)
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return m
		}
	}
	return nil
}

// value is a counter's or gauge's value, or a histogram's count; -1 when
// the sample is missing. Without a sample with exactly these labels, it is
// the sum of the counters whose labels include them (-1 when none does).
func (f families) value(name, labels string) float64 {
	m := f.metric(name, labels)
	switch {
	case m == nil:
		return f.sum(name, labels)
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -2
}

// sum adds up the counters of name whose labels include labels; -1 when
// none does.
func (f families) sum(name, labels string) float64 {
	fam := f[name]
	if fam == nil || labels == "" {
		return -1
	}
	total, found := 0.0, false
next:
	for _, m := range fam.GetMetric() {
		have := map[string]bool{}
		for _, l := range m.GetLabel() {
			have[l.GetName()+"="+l.GetValue()] = true
		}
		for _, want := range strings.Split(labels, ",") {
			if !have[want] {
				continue next
			}
		}
		if m.Counter != nil {
			total, found = total+m.Counter.GetValue(), true
		}
	}
	if !found {
		return -1
	}
	return total
}

// settle waits until every connection the server accepted has closed, and
// returns the metrics then.
// settleAtLeast waits until no connection is open and at least accepted
// were accepted (a client may open a spare connection), and returns the
// scrape and the number accepted.
func (r *running) settleAtLeast(t *testing.T, accepted int) (families, int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f := r.scrape(t)
		n := f.value("decoy_connections_accepted_total", "")
		if n >= float64(accepted) && f.value("decoy_connections_open", "") == 0 {
			return f, int(n)
		}
		if time.Now().After(deadline) {
			t.Fatalf("connections never settled: accepted %v (want at least %d), open %v", n, accepted, f.value("decoy_connections_open", ""))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *running) settle(t *testing.T, accepted int) families {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f := r.scrape(t)
		if f.value("decoy_connections_accepted_total", "") == float64(accepted) && f.value("decoy_connections_open", "") == 0 {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("connections never settled: accepted %v (want %d), open %v",
				f.value("decoy_connections_accepted_total", ""), accepted, f.value("decoy_connections_open", ""))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMetricsAfterTraffic sends a known pattern over each protocol and
// checks the exact counts scraped from /metrics.
func TestMetricsAfterTraffic(t *testing.T) {
	t.Parallel()
	// Every pattern sends, per connection: 3 × /users/N (200), the
	// sequence /flaky twice (200 then 503), and 1 unmatched (404).
	pattern := func(t *testing.T, c *http.Client, base string, close bool) {
		for i := range 3 {
			do(t, c, base+"/users/"+strconv.Itoa(i), close)
		}
		do(t, c, base+"/flaky", close)
		do(t, c, base+"/flaky", close)
		do(t, c, base+"/nothing", close)
	}
	tests := []struct {
		name     string
		run      func(t *testing.T, r *running)
		accepted int
		version  string // HTTP version of all 6 requests
		perConn  string // bucket le whose cumulative count is every connection
		tls      bool
	}{
		{"HTTP/1.1 keep-alive", func(t *testing.T, r *running) {
			c := r.h1("127.0.0.1")
			pattern(t, c, r.http, false)
			c.CloseIdleConnections()
		}, 1, "1.1", "10", false},
		{"HTTP/1.1 Connection: close per request", func(t *testing.T, r *running) {
			pattern(t, r.h1("127.0.0.1"), r.http, true)
		}, 6, "1.1", "1", false},
		{"h2c", func(t *testing.T, r *running) {
			c := r.h2c()
			pattern(t, c, r.http, false)
			c.CloseIdleConnections()
		}, 1, "2", "10", false},
		{"TLS h2", func(t *testing.T, r *running) {
			c := r.tls(true)
			pattern(t, c, r.https, false)
			c.CloseIdleConnections()
		}, 1, "2", "10", true},
		{"TLS HTTP/1.1", func(t *testing.T, r *running) {
			c := r.tls(false)
			pattern(t, c, r.https, false)
			c.CloseIdleConnections()
		}, 1, "1.1", "10", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := start(t, nil)
			tt.run(t, r)
			f := r.settle(t, tt.accepted)
			want := []struct {
				name, labels string
				v            float64
			}{
				{"decoy_requests_total", "stub=user,code=200", 3},
				{"decoy_requests_total", "stub=flaky,code=200", 1},
				{"decoy_requests_total", "stub=flaky,code=503", 1},
				{"decoy_requests_total", "stub=-,code=404", 1},
				{"decoy_response_bytes_total", "stub=user", 9}, // "ada" × 3
				{"decoy_request_bytes_total", "stub=user", 0},
				{"decoy_processing_seconds", "stub=user", 3},
				{"decoy_processing_seconds", "stub=-", 1},
				{"decoy_connections_accepted_total", "", float64(tt.accepted)},
				{"decoy_connections_open", "", 0},
				{"decoy_connections_closed_total", "by=client", float64(tt.accepted)},
				{"decoy_connections_closed_total", "by=server", 0},
				{"decoy_http_requests_total", "version=" + tt.version, 6},
				{"decoy_requests_per_connection", "", float64(tt.accepted)},
			}
			for _, w := range want {
				if got := f.value(w.name, w.labels); got != w.v {
					t.Errorf("%s{%s} = %v, want %v", w.name, w.labels, got, w.v)
				}
			}
			for _, v := range []string{"1.0", "1.1", "2"} {
				if v != tt.version && f.value("decoy_http_requests_total", "version="+v) != 0 {
					t.Errorf("decoy_http_requests_total{version=%s} = %v, want 0", v, f.value("decoy_http_requests_total", "version="+v))
				}
			}
			if f.metric("decoy_requests_total", "stub=slow,code=200") != nil {
				t.Error("a stub that answered nothing has a series")
			}
			h := f.metric("decoy_requests_per_connection", "").GetHistogram()
			if h.GetSampleSum() != 6 {
				t.Errorf("requests per connection: sum %v, want 6", h.GetSampleSum())
			}
			for _, b := range h.GetBucket() {
				le := strconv.FormatFloat(b.GetUpperBound(), 'f', -1, 64)
				if le == tt.perConn && b.GetCumulativeCount() != uint64(tt.accepted) {
					t.Errorf("requests per connection le=%s: %d, want %d", le, b.GetCumulativeCount(), tt.accepted)
				}
			}
			tlsOK := f.value("decoy_tls_handshakes_total", "version=1.3,result=ok")
			if tt.tls && tlsOK != 1 || !tt.tls && tlsOK != -1 {
				t.Errorf("TLS 1.3 handshakes: %v", tlsOK)
			}
			if f.metric("process_cpu_seconds_total", "") == nil || f.metric("go_goroutines", "") == nil {
				t.Error("the process and Go collectors are missing")
			}
		})
	}
}

func TestMetricsHTTP10(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	for range 3 {
		http10(t, r.HTTPAddr.String(), "/users/1")
	}
	f := r.settle(t, 3)
	for _, w := range []struct {
		name, labels string
		v            float64
	}{
		{"decoy_http_requests_total", "version=1.0", 3},
		{"decoy_http_requests_total", "version=1.1", 0},
		{"decoy_requests_total", "stub=user,code=200", 3},
		{"decoy_connections_closed_total", "by=client", 3}, // asked to close, by HTTP/1.0 without keep-alive
		{"decoy_connections_closed_total", "by=client,reason=asked-close", 3},
	} {
		if got := f.value(w.name, w.labels); got != w.v {
			t.Errorf("%s{%s} = %v, want %v", w.name, w.labels, got, w.v)
		}
	}
	var rep metrics.Report
	getJSON(t, r.admin+"/clients", &rep)
	c := client(rep, "127.0.0.1")
	if c == nil || c.HTTP10NoKeepAlive != 3 || c.HTTPVersions.HTTP10 != 3 {
		t.Fatalf("client report %+v", c)
	}
}

// TestMetricsRejected: every refusal of a request decoy cannot read is
// counted by its status, and the connection as closed for a bad request.
func TestMetricsRejected(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		code    string
		request string
	}{
		{"431", "GET /users/1 HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 8000) + "\r\n\r\n"},
		{"414", "GET /users/1?q=" + strings.Repeat("a", 8000) + " HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"505", "GET /users/1 HTTP/2.0\r\nHost: x\r\n\r\n"},
		{"400", "GET /users/1 HTTP/1.1\r\nHost x\r\n\r\n"},
	} {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			r := start(t, func(s *config.Settings) { s.MaxHeaderBytes = 4096 })
			c, err := net.Dial("tcp", r.HTTPAddr.String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprint(c, tt.request)
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil || !strings.Contains(line, " "+tt.code+" ") {
				t.Fatalf("status line %q, %v", line, err)
			}
			f := r.settle(t, 1)
			if got := f.value("decoy_rejected_requests_total", "code="+tt.code); got != 1 {
				t.Errorf("rejected %s: %v", tt.code, got)
			}
			if got := f.value("decoy_connections_closed_total", "by=server,reason=bad-request"); got != 1 {
				t.Errorf("closed by server for a bad request: %v", got)
			}
			if got := f.value("decoy_requests_per_connection", ""); got != 1 {
				t.Errorf("requests per connection observed %v times", got)
			}
		})
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func client(r metrics.Report, addr string) *metrics.ClientReport {
	for i := range r.Clients {
		if r.Clients[i].Address == addr {
			return &r.Clients[i]
		}
	}
	return nil
}

// TestClientsReport: a client that opens a connection per request is
// flagged, with the fix; one that reuses its connection is not.
func TestClientsReport(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	const n = 12
	perRequest, reuser := r.h1("127.0.0.2"), r.h1("127.0.0.3")
	for i := range n {
		do(t, perRequest, r.http+"/users/"+strconv.Itoa(i), true)
		do(t, reuser, r.http+"/users/"+strconv.Itoa(i), false)
	}
	reuser.CloseIdleConnections()
	r.settle(t, n+1)

	var rep metrics.Report
	getJSON(t, r.admin+"/clients", &rep)
	if rep.Tracked != 2 || rep.Capacity != metrics.DefaultMaxClients || rep.Evicted != 0 {
		t.Errorf("tracked %d, capacity %d, evicted %d", rep.Tracked, rep.Capacity, rep.Evicted)
	}
	bad, good := client(rep, "127.0.0.2"), client(rep, "127.0.0.3")
	if bad == nil || good == nil {
		t.Fatalf("clients %+v", rep.Clients)
	}
	if bad.Connections != n || bad.Requests != n || bad.ReuseRatio != 1 || bad.SingleUseConnections != n || bad.ClosedByClient != n || bad.ConnectionCloseRequests != n {
		t.Errorf("per-request client %+v", bad)
	}
	if len(bad.Findings) != 1 || bad.Findings[0].Kind != metrics.FindingConnPerRequest ||
		!strings.Contains(bad.Findings[0].Message, "127.0.0.2 opened 12 connections for 12 requests") ||
		!strings.Contains(bad.Findings[0].Fix, "Keep connections alive") {
		t.Errorf("per-request client findings %+v", bad.Findings)
	}
	if good.Connections != 1 || good.Requests != n || good.ReuseRatio != n || len(good.Findings) != 0 {
		t.Errorf("reusing client %+v", good)
	}
	if rep.Clients[0].Address != "127.0.0.2" {
		t.Errorf("clients not sorted by connections: first is %s", rep.Clients[0].Address)
	}
	f := r.scrape(t)
	for _, k := range metrics.FindingKinds {
		want := 0.0
		if k == metrics.FindingConnPerRequest {
			want = 1
		}
		if got := f.value("decoy_client_findings", "kind="+k); got != want {
			t.Errorf("decoy_client_findings{kind=%q} = %v, want %v", k, got, want)
		}
	}
}

// TestStatsAcrossAdminChanges: changing another stub through the admin API
// keeps a stub's counts; replacing the stub itself starts them again.
func TestStatsAcrossAdminChanges(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	c := r.h1("127.0.0.1")
	for range 3 {
		do(t, c, r.http+"/users/1", false)
	}
	put := func(id, body string) {
		t.Helper()
		req, _ := http.NewRequest("PUT", r.admin+"/stubs/"+id, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("PUT /stubs/%s: %d", id, resp.StatusCode)
		}
	}
	put("flaky", `{"request":{"path":"/flaky"},"response":{"status":204}}`)
	if got := r.scrape(t).value("decoy_requests_total", "stub=user,code=200"); got != 3 {
		t.Errorf("after changing another stub: user has %v requests, want 3", got)
	}
	put("user", `{"request":{"path":"/users/{id}"},"response":{"status":202}}`)
	f := r.scrape(t)
	if m := f.metric("decoy_requests_total", "stub=user,code=200"); m != nil {
		t.Errorf("after replacing the stub: old counts remain %v", m)
	}
	do(t, c, r.http+"/users/1", false)
	f = r.scrape(t)
	if got := f.value("decoy_requests_total", "stub=user,code=202"); got != 1 {
		t.Errorf("replaced stub counts %v, want 1", got)
	}
	if got := f.value("decoy_http_requests_total", "version=1.1"); got != 4 {
		t.Errorf("HTTP/1.1 requests %v, want 4 (connection counters do not reset)", got)
	}
	c.CloseIdleConnections()
}

var (
	timingRe      = regexp.MustCompile(`^decoy;dur=\d+\.\d{3}$`)
	timingDelayRe = regexp.MustCompile(`^decoy;dur=\d+\.\d{3}, delay;dur=(\d+)\.\d{3}$`)
)

// TestServerTiming: the header is there only when the setting is on, on
// HTTP/1.1 and HTTP/2, with the injected delay as its own entry.
func TestServerTiming(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("server-timing=%v", on), func(t *testing.T) {
			t.Parallel()
			r := start(t, func(s *config.Settings) { s.ServerTiming = on })
			for _, c := range []struct {
				name   string
				client *http.Client
				base   string
			}{{"HTTP/1.1", r.h1("127.0.0.1"), r.http}, {"h2c", r.h2c(), r.http}, {"TLS h2", r.tls(true), r.https}} {
				for _, p := range []string{"/users/1", "/nothing", "/slow"} {
					resp := do(t, c.client, c.base+p, false)
					v, has := resp.Header["Server-Timing"]
					switch {
					case !on && has:
						t.Errorf("%s %s: Server-Timing %q while off", c.name, p, v)
					case on && len(v) != 1:
						t.Errorf("%s %s: Server-Timing %q, want one", c.name, p, v)
					case on && p == "/slow":
						m := timingDelayRe.FindStringSubmatch(v[0])
						if m == nil {
							t.Errorf("%s %s: Server-Timing %q", c.name, p, v[0])
						} else if ms, _ := strconv.Atoi(m[1]); ms < 20 {
							t.Errorf("%s %s: delay %s ms is shorter than the stub's 20ms", c.name, p, m[1])
						}
					case on && !timingRe.MatchString(v[0]):
						t.Errorf("%s %s: Server-Timing %q", c.name, p, v[0])
					}
				}
				c.client.CloseIdleConnections()
			}
		})
	}
}

// TestOpenMetrics: the admin API answers in OpenMetrics when asked.
func TestOpenMetrics(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	req, _ := http.NewRequest("GET", r.admin+"/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/openmetrics-text") || !bytes.HasSuffix(b, []byte("# EOF\n")) ||
		!bytes.Contains(b, []byte("process_cpu_seconds_total")) {
		t.Fatalf("%s\n%s", resp.Header.Get("Content-Type"), b)
	}
}
