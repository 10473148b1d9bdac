package app_test

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMetricsDocumented: every metric of decoy's own that a scrape after
// traffic shows has a row in docs/metrics.md.
func TestMetricsDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	r := startWith(t, injectedStubs(), nil)
	h1 := r.h1("127.0.0.1")
	do(t, h1, r.http+"/slow", false)
	do(t, h1, r.http+"/broken", false)
	if c, err := net.Dial("tcp", r.App.HTTPAddr.String()); err == nil {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Write([]byte("GET /x HTTP/1.1\r\nHost x\r\n\r\n"))
		_, _ = c.Read(make([]byte, 512))
		c.Close()
	}
	h1.CloseIdleConnections()
	f := r.scrape(t)
	n := 0
	for name := range f {
		if !strings.HasPrefix(name, "decoy_") {
			continue
		}
		n++
		if !strings.Contains(string(doc), "| `"+name+"` |") {
			t.Errorf("%s is not documented in docs/metrics.md (a table row \"| `%s` | ...\")", name, name)
		}
	}
	for _, want := range []string{"decoy_connections_idle", "decoy_connections_slow_reading", "decoy_accept_queue_length",
		"decoy_accept_queue_max", "decoy_sched_latency_seconds", "decoy_saturation_signal",
		"decoy_delay_lateness_seconds"} { // /slow has a delay
		if f[want] == nil {
			t.Errorf("the scrape has no %s", want)
		}
	}
	if n < 20 {
		t.Errorf("only %d decoy_ metrics in the scrape", n)
	}
}
