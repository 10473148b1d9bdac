package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/openapi"
)

// TestRequestsTotalValidationCode: a request refused by OpenAPI validation
// (validation: enforce) counts in decoy_requests_total under the status
// sent (400), not the stub's (200), on every engine and protocol: the
// HTTP/1.1 loop, fasthttp, h2c and TLS (HTTP/1.1 and h2).
func TestRequestsTotalValidationCode(t *testing.T) {
	t.Parallel()
	for _, engineName := range []string{"loop", "fasthttp"} {
		t.Run(engineName, func(t *testing.T) {
			t.Parallel()
			res, err := openapi.Load("../openapi/testdata/validate.yaml", nil, openapi.Options{Seed: 1, Validation: "enforce"})
			if err != nil {
				t.Fatal(err)
			}
			r := startWith(t, res.Sources, func(s *config.Settings) { s.HTTP1Engine = engineName })
			clients := map[string]struct {
				c    *http.Client
				base string
			}{
				"h1": {r.h1("127.0.0.1"), r.http}, "h2c": {r.h2c(), r.http},
				"tls-h1": {r.tls(false), r.https}, "tls-h2": {r.tls(true), r.https},
			}
			for name, cl := range clients {
				req, _ := http.NewRequest("GET", cl.base+"/api/items/7?limit=101", nil)
				req.Header.Set("X-Trace", "ab")
				resp, err := cl.c.Do(req)
				if err != nil {
					t.Fatal(name, err)
				}
				resp.Body.Close()
				if resp.StatusCode != 400 {
					t.Fatalf("%s: status %d, want 400", name, resp.StatusCode)
				}
			}
			f := r.scrape(t)
			var by400, by200 float64
			for _, m := range f["decoy_requests_total"].GetMetric() {
				var stubID, code string
				for _, l := range m.GetLabel() {
					switch l.GetName() {
					case "stub":
						stubID = l.GetValue()
					case "code":
						code = l.GetValue()
					}
				}
				if !strings.Contains(stubID, "/items/") && !strings.Contains(stubID, "items") {
					continue
				}
				switch code {
				case "400":
					by400 += m.GetCounter().GetValue()
				case "200":
					by200 += m.GetCounter().GetValue()
				}
			}
			if by400 != 4 || by200 != 0 {
				t.Errorf("decoy_requests_total for the items stub: code 400 %v, code 200 %v; want 4 and 0", by400, by200)
			}
		})
	}
}
