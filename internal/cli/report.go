package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"
)

func newReport(env Env) *cobra.Command {
	var adminAddr string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Summarise how clients behaved and whether decoy was the bottleneck",
		Long: `report reads a running decoy's admin API (GET /clients, /health and
/metrics) and prints, per client address, its connections, requests and
connection reuse with each anti-pattern found and its fix, then decoy's own
CPU use and whether it was saturated.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if v := env.Getenv("DECOY_ADMIN"); v != "" && !cmd.Flags().Changed("admin") {
				adminAddr = v
			}
			return runReport(cmd.Context(), adminAddr, env.Stdout)
		},
	}
	cmd.Flags().StringVar(&adminAddr, "admin", "127.0.0.1:9901", "address of the running decoy's admin API (env DECOY_ADMIN)")
	return cmd
}

// reportHealth is the part of GET /health report uses.
type reportHealth struct {
	Version        string  `json:"version"`
	UptimeSeconds  float64 `json:"uptimeSeconds"`
	Saturated      bool    `json:"saturated"`
	CPUUtilization float64 `json:"cpuUtilization"`
	CPUs           float64 `json:"cpus"`
}

func runReport(ctx context.Context, addr string, out io.Writer) error {
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	c := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		if err != nil {
			return nil, fail(ExitBadInput, fmt.Errorf("--admin %q: %w", addr, err))
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, fail(ExitRuntime, fmt.Errorf("cannot reach decoy's admin API at %s: %w (is decoy running? give its address with --admin)", addr, err))
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		if err != nil || resp.StatusCode != http.StatusOK {
			return nil, fail(ExitRuntime, fmt.Errorf("GET %s%s: %s %v", base, path, resp.Status, err))
		}
		return b, nil
	}
	var clients metrics.Report
	var health reportHealth
	b, err := get("/clients")
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &clients); err != nil {
		return fail(ExitRuntime, fmt.Errorf("GET /clients: %w", err))
	}
	if b, err = get("/health"); err != nil {
		return err
	}
	if err := json.Unmarshal(b, &health); err != nil {
		return fail(ExitRuntime, fmt.Errorf("GET /health: %w", err))
	}
	if b, err = get("/metrics"); err != nil {
		return err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(b)))
	if err != nil {
		return fail(ExitRuntime, fmt.Errorf("GET /metrics: %w", err))
	}
	value := func(name string) (float64, bool) {
		f, ok := fams[name]
		if !ok || len(f.GetMetric()) == 0 {
			return 0, false
		}
		m := f.GetMetric()[0]
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		}
		return 0, false
	}
	writeReport(out, &clients, &health, value)
	return nil
}

func writeReport(w io.Writer, r *metrics.Report, h *reportHealth, value func(string) (float64, bool)) {
	fmt.Fprintf(w, "decoy %s, up %s\n\n", h.Version, (time.Duration(h.UptimeSeconds) * time.Second).String())
	fmt.Fprintf(w, "Clients (%d tracked", r.Tracked)
	if r.Evicted > 0 {
		fmt.Fprintf(w, ", %d more dropped from tracking", r.Evicted)
	}
	fmt.Fprintln(w, ")")
	if len(r.Clients) == 0 {
		fmt.Fprintln(w, "  none yet")
	}
	flagged := 0
	for _, c := range r.Clients {
		fmt.Fprintf(w, "\n  %s: %d connections, %d requests, %.2f requests per connection", c.Address, c.Connections, c.Requests, c.ReuseRatio)
		if c.TLSHandshakes > 0 {
			fmt.Fprintf(w, ", %d TLS handshakes", c.TLSHandshakes)
		}
		fmt.Fprintln(w)
		if len(c.Findings) == 0 {
			fmt.Fprintln(w, "    ok: no anti-pattern seen")
			continue
		}
		flagged++
		for _, f := range c.Findings {
			fmt.Fprintf(w, "    ! %s\n      fix: %s\n", f.Message, f.Fix)
		}
	}

	fmt.Fprintln(w, "\ndecoy itself")
	cpu, okCPU := value("process_cpu_seconds_total")
	started, okStart := value("process_start_time_seconds")
	if okCPU && okStart && h.CPUs > 0 {
		up := float64(time.Now().UnixNano())/1e9 - started
		if up > 0 {
			fmt.Fprintf(w, "  CPU: %.2f s over %.0f s of uptime: %.1f%% of the %g CPUs it may use on average\n", cpu, up, 100*cpu/up/h.CPUs, h.CPUs)
		}
	} else if okCPU {
		fmt.Fprintf(w, "  CPU: %.2f s\n", cpu)
	}
	fmt.Fprintf(w, "  last second: %.1f%% of its CPUs\n", 100*h.CPUUtilization)
	episodes, _ := value("decoy_saturation_episodes_total")
	switch {
	case h.Saturated:
		fmt.Fprintln(w, "  SATURATED now: decoy may be the bottleneck; latencies measured now include decoy's queueing.")
		fmt.Fprintln(w, "    fix: give decoy more cores (or fewer to the client on the same host), or run more decoy instances")
	case episodes > 0:
		fmt.Fprintf(w, "  was saturated %g time(s) during the run (decoy_saturated): results from those moments may include decoy's queueing\n", episodes)
	default:
		fmt.Fprintln(w, "  not saturated: decoy was not the bottleneck")
	}
	if flagged == 0 && len(r.Clients) > 0 {
		fmt.Fprintln(w, "\nNo client anti-patterns found.")
	}
}
