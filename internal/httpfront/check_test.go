package httpfront_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/openapi"
)

func startSpec(t *testing.T, file string, so openapi.Options, o httpfront.Options) string {
	t.Helper()
	res, err := openapi.Load(file, nil, so)
	if err != nil {
		t.Fatal(err)
	}
	store, err := engine.NewStore(res.Sources)
	if err != nil {
		t.Fatal(err)
	}
	o.Engine = store.Engine()
	o.ServerTiming = true
	srv := httpfront.New(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String()
}

// TestRequestCheckProtocols: a stub's request check runs on HTTP/1.1 and
// on decoy's HTTP/2 loop alike, in enforce and report modes.
func TestRequestCheckProtocols(t *testing.T) {
	t.Parallel()
	for _, proto := range []struct {
		name string
		c    *http.Client
	}{{"HTTP/1.1", h1c()}, {"h2c", h2cc()}} {
		for _, mode := range []string{"enforce", "report"} {
			t.Run(proto.name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				base := startSpec(t, "../openapi/testdata/validate.yaml", openapi.Options{Seed: 1, Validation: mode}, httpfront.Options{})
				resp, b := do(t, proto.c, "GET", base+"/api/items/7?limit=101", map[string]string{"X-Trace": "ab"})
				switch mode {
				case "enforce":
					if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(b), "query.limit") {
						t.Errorf("%d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
					}
				case "report":
					if resp.StatusCode != 200 || resp.Header.Get("Decoy-Validation") != "1 violation: query.limit: must be <= 100" {
						t.Errorf("%d %q %s", resp.StatusCode, resp.Header.Get("Decoy-Validation"), b)
					}
				}
				resp, b = do(t, proto.c, "GET", base+"/api/items/7?limit=10", map[string]string{"X-Trace": "ab"})
				if resp.StatusCode != 200 || resp.Header.Get("Decoy-Validation") != "" {
					t.Errorf("valid: %d %q %s", resp.StatusCode, resp.Header.Get("Decoy-Validation"), b)
				}
				resp, _ = do(t, proto.c, "GET", base+"/api/secure/key", nil)
				if want := map[string]int{"enforce": 401, "report": 200}[mode]; resp.StatusCode != want {
					t.Errorf("no API key: %d, want %d", resp.StatusCode, want)
				}
			})
		}
	}
}

// TestPreferOff: with NoPrefer (setting prefer: false) Prefer: delay= is
// ignored and X-Decoy-Delay still counts; the Prefer stubs are not made.
func TestPreferOff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		noPrefer bool
		headers  map[string]string
		delay    string
		status   int
	}{
		{"prefer delay honoured", false, map[string]string{"Prefer": "delay=15"}, "15.000", 200},
		{"prefer delay ignored", true, map[string]string{"Prefer": "delay=15"}, "", 200},
		{"x-decoy-delay still", true, map[string]string{"X-Decoy-Delay": "15ms"}, "15.000", 200},
		{"prefer code honoured", false, map[string]string{"Prefer": "code=404"}, "", 404},
		{"prefer code ignored", true, map[string]string{"Prefer": "code=404"}, "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base := startSpec(t, "../../examples/openapi/petstore.yaml", openapi.Options{Seed: 1, NoPrefer: tt.noPrefer},
				httpfront.Options{DelayHeader: true, NoPrefer: tt.noPrefer, MaxRequestedDelay: time.Second})
			resp, b := do(t, h1c(), "GET", base+"/v1/pets/7", tt.headers)
			if d := delayOf(resp.Header); d != tt.delay || resp.StatusCode != tt.status {
				t.Errorf("%d delay %q %s; want %d delay %q", resp.StatusCode, d, b, tt.status, tt.delay)
			}
		})
	}
}
