package metrics

import (
	"bufio"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestExpositionsParse: both formats decoy serves parse strictly. The
// Prometheus text format with expfmt's parser; OpenMetrics with the rules
// a strict OpenMetrics parser (Python's prometheus_client, Prometheus'
// own) applies that the text parser does not: one descriptor block per
// family name, before the family's samples and never again after them,
// the family name of a counter without its _total, and samples named for
// their family's type. The Go collector's go_memstats_alloc_bytes (a
// gauge) and go_memstats_alloc_bytes_total (a counter) are both family
// go_memstats_alloc_bytes there, which broke the whole scrape.
func TestExpositionsParse(t *testing.T) {
	t.Parallel()
	eng := testEngine(t)
	eng.Snapshot().Get("user").Stats().Record(0, 0, 2, time.Microsecond)
	reg, err := NewRegistry(Sources{Engine: eng, Clients: NewClients(8), Saturation: NewSaturation(SaturationOptions{})})
	if err != nil {
		t.Fatal(err)
	}
	h := Handler(reg)
	get := func(accept string) string {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			t.Fatalf("Accept %q: %d", accept, w.Code)
		}
		return w.Body.String()
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(get("")))
	if err != nil {
		t.Fatalf("text format: %v", err)
	}
	if fams["go_memstats_alloc_bytes_total"] == nil || fams["go_memstats_heap_alloc_bytes"] == nil {
		t.Errorf("text format: the Go collector's allocation counter or heap gauge is missing")
	}
	for _, accept := range []string{"application/openmetrics-text; version=1.0.0", "application/openmetrics-text; version=0.0.1"} {
		if err := checkOpenMetrics(get(accept)); err != nil {
			t.Errorf("%s: %v", accept, err)
		}
	}
	// The checker catches the collision it is here for.
	bad := "# TYPE a gauge\na 1\n# TYPE a counter\na_total 2\n# EOF\n"
	if checkOpenMetrics(bad) == nil {
		t.Error("checkOpenMetrics accepts two families named a")
	}
}

// checkOpenMetrics applies the structural rules of the OpenMetrics text
// format (1.0): descriptors of a family grouped before its samples, no
// family twice, sample names that fit the family's type, # EOF last.
func checkOpenMetrics(text string) error {
	suffixes := map[string][]string{
		"counter":        {"_total", "_created"},
		"gauge":          {""},
		"histogram":      {"_bucket", "_count", "_sum", "_created"},
		"gaugehistogram": {"_bucket", "_gcount", "_gsum"},
		"summary":        {"", "_count", "_sum", "_created"},
		"info":           {"_info"},
		"stateset":       {""},
		"unknown":        {""},
	}
	seen := map[string]bool{}
	var family, typ string
	sampled, eof := false, false
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if eof {
			return fmt.Errorf("line %d: after # EOF", n)
		}
		if line == "# EOF" {
			eof = true
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# "); ok {
			f := strings.SplitN(rest, " ", 3)
			if len(f) < 2 || (f[0] != "HELP" && f[0] != "TYPE" && f[0] != "UNIT") {
				return fmt.Errorf("line %d: bad descriptor %q", n, line)
			}
			name := f[1]
			if name != family {
				if seen[name] {
					return fmt.Errorf("line %d: family %s again (metadata after its samples, or a second family of that name)", n, name)
				}
				seen[name], family, typ, sampled = true, name, "unknown", false
			} else if sampled {
				return fmt.Errorf("line %d: metadata of %s after its samples", n, name)
			}
			if f[0] == "TYPE" {
				if len(f) < 3 || suffixes[f[2]] == nil {
					return fmt.Errorf("line %d: bad type %q", n, line)
				}
				typ = f[2]
			}
			continue
		}
		name, _, _ := strings.Cut(line, " ")
		name, _, _ = strings.Cut(name, "{")
		ok := false
		for _, suf := range suffixes[typ] {
			if name == family+suf {
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("line %d: sample %s does not belong to family %s of type %s", n, name, family, typ)
		}
		sampled = true
	}
	if !eof {
		return fmt.Errorf("no # EOF")
	}
	return sc.Err()
}
