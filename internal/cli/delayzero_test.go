package cli_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDelayZeroOptsOut: a stub that says delay: 0 (or 0s) answers with no
// delay although a global latency is set; a stub that says nothing takes
// the global latency. Server-Timing names the delay applied, so the test
// reads it instead of timing the answers.
func TestDelayZeroOptsOut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stubs := write(t, dir, "stubs.yaml", `
- {id: zero, request: {path: /zero}, response: {body: a, delay: 0}}
- {id: zeros, request: {path: /zeros}, response: {body: b, delay: 0s}}
- {id: json, request: {path: /json}, response: {"body": "c", "delay": "0ms"}}
- {id: global, request: {path: /global}, response: {body: d}}
`)
	a, _ := serve(t, nil, "--quiet", "--server-timing", "--latency", "20ms", stubs)
	base := "http://" + a.HTTPAddr.String()
	for path, wantDelay := range map[string]bool{"/zero": false, "/zeros": false, "/json": false, "/global": true} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		st := resp.Header.Get("Server-Timing")
		if got := strings.Contains(st, "delay;dur="); got != wantDelay {
			t.Errorf("GET %s: Server-Timing %q, want a delay entry: %v", path, st, wantDelay)
		}
	}
	// The admin API shows the explicit zero, so a stub sent back keeps it.
	_, body := fetch(t, "http://"+a.AdminAddr.String()+"/stubs/zero")
	if !strings.Contains(body, `"delay":"0s"`) {
		t.Errorf("GET /stubs/zero: %s, want delay 0s", body)
	}
}
