package cli_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/cli"
)

// clientFrom returns an HTTP client whose connections come from ip.
func clientFrom(ip string, keepAlive bool) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: !keepAlive}}
}

func TestReport(t *testing.T) {
	t.Parallel()
	a, _ := serve(t, nil, "--quiet")
	base := "http://" + a.HTTPAddr.String()
	for ip, keep := range map[string]bool{"127.0.0.2": false, "127.0.0.3": true} {
		c := clientFrom(ip, keep)
		for range 12 {
			resp, err := c.Get(base + "/users")
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		c.CloseIdleConnections()
	}
	// Connections are counted when they close: wait until decoy has seen
	// all 13 close.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		_, body := fetch(t, "http://"+a.AdminAddr.String()+"/clients")
		var r struct {
			Clients []struct{ ClosedByClient, ClosedByServer int }
		}
		_ = json.Unmarshal([]byte(body), &r)
		closed := 0
		for _, c := range r.Clients {
			closed += c.ClosedByClient + c.ClosedByServer
		}
		if closed >= 13 {
			break
		}
	}

	tests := []struct {
		name     string
		args     []string
		vars     map[string]string
		code     int
		want     []string
		dontWant []string
	}{
		{"flags the client that does not reuse", []string{"report", "--admin", a.AdminAddr.String()}, nil, 0,
			[]string{
				"127.0.0.2: 12 connections, 12 requests, 1.00 requests per connection",
				"does not reuse connections (keep-alive)",
				"fix: Keep connections alive",
				"127.0.0.3: 1 connections, 12 requests, 12.00 requests per connection\n    ok: no anti-pattern seen",
				"decoy itself",
				"of the ", "CPUs it may use",
			}, nil},
		{"address from the environment", []string{"report"}, map[string]string{"DECOY_ADMIN": a.AdminAddr.String()}, 0,
			[]string{"127.0.0.2: 12 connections"}, nil},
		{"nothing listening", []string{"report", "--admin", "127.0.0.1:1"}, nil, cli.ExitRuntime,
			[]string{"cannot reach decoy's admin API at 127.0.0.1:1", "--admin"}, nil},
		{"extra argument", []string{"report", "x"}, nil, cli.ExitBadInput, []string{"unknown command"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, out, errOut := env(tt.vars)
			code := cli.Main(context.Background(), tt.args, e)
			text := out.String() + errOut.String()
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", code, tt.code, text)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
			if tt.code == 0 && !strings.Contains(text, "not saturated: decoy was not the bottleneck") &&
				!strings.Contains(text, "SATURATED now: decoy may be the bottleneck") && !strings.Contains(text, "was saturated ") {
				// Either verdict, as the machine running the tests has it
				// (other tests in parallel load it), but one of them.
				t.Errorf("output gives no saturation verdict:\n%s", text)
			}
			for _, w := range tt.dontWant {
				if strings.Contains(text, w) {
					t.Errorf("output has %q:\n%s", w, text)
				}
			}
		})
	}
}
