package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/doctor"
	"github.com/spf13/cobra"
)

// ExitNeedsFix is decoy doctor's exit code when a finding needs fixing.
const ExitNeedsFix = 1

func newDoctor(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check this host for what would limit decoy or a load generator; exit 1 when something needs fixing",
		Long: `Doctor checks the host against the troubleshooting matrix of decoy's brief:
the open-file limit against the connections wanted, somaxconn and the SYN
backlog, the ephemeral port range and tcp_tw_reuse (for a load generator
on this host), connection tracking, dropped packets, the CPUs and this
process's CPU affinity (pinning advice), the cgroup CPU quota, the
frequency governor and the load. It needs no root and changes nothing:
each finding says what was found, why it matters and the exact fix.

Exit codes: 0 when nothing needs fixing (warnings are advice), 1 when
something does, 2 for bad flags. Linux is the target; elsewhere doctor
says what it cannot check.`,
		Example: `  decoy doctor                                # for 50,000 connections, load generator on this host
  decoy doctor --connections 100000 --workers 4
  decoy doctor --remote-clients --json        # load generators elsewhere; machine-readable`,
		Args: cobra.NoArgs,
	}
	conns := cmd.Flags().Int("connections", doctor.DefaultConnections, "concurrent connections decoy should hold on this node")
	workers := cmd.Flags().String("workers", "1", "decoy processes that will share the ports, as serve --workers takes them (N, or auto: one per usable CPU): each has its own open-file limit")
	remote := cmd.Flags().Bool("remote-clients", false, "the load generators run on other hosts: skip the checks of what a client here needs")
	asJSON := cmd.Flags().Bool("json", false, "print the report as JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *conns < 1 {
			return fail(ExitBadInput, fmt.Errorf("--connections %d: want 1 or more", *conns))
		}
		var s config.Settings
		t, _ := config.Lookup("workers")
		if err := t.Set(&s, *workers); err != nil {
			return fail(ExitBadInput, fmt.Errorf("--workers %w", err))
		}
		r := doctor.Check(doctor.Local(), doctor.Options{Connections: *conns, Workers: workerCount(s), RemoteClients: *remote})
		if *asJSON {
			enc := json.NewEncoder(env.Stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(r); err != nil {
				return fail(ExitRuntime, err)
			}
		} else {
			printDoctor(env.Stdout, r)
		}
		if n := r.Count(doctor.Fix); n > 0 {
			return fail(ExitNeedsFix, fmt.Errorf("%d finding(s) need fixing", n))
		}
		return nil
	}
	return cmd
}

// printDoctor writes a report as text: one block per finding, the ones
// to fix first.
func printDoctor(w io.Writer, r doctor.Report) {
	clients := "load generators on this host"
	if r.Options.RemoteClients {
		clients = "load generators on other hosts"
	}
	fmt.Fprintf(w, "decoy doctor: %d to fix, %d warnings, %d ok, %d skipped (%s; %d connections, %d process(es), %s)\n",
		r.Count(doctor.Fix), r.Count(doctor.Warn), r.Count(doctor.OK), r.Count(doctor.Skip), r.OS, r.Options.Connections, r.Options.Workers, clients)
	for _, l := range []doctor.Level{doctor.Fix, doctor.Warn, doctor.OK, doctor.Skip} {
		for _, f := range r.Findings {
			if f.Level != l {
				continue
			}
			fmt.Fprintf(w, "\n%-4s  %s: %s\n", strings.ToUpper(string(f.Level)), f.Check, f.Found)
			if f.Why != "" && (l == doctor.Fix || l == doctor.Warn) {
				fmt.Fprintf(w, "      why: %s\n", f.Why)
			}
			for i, fix := range f.Fix {
				label := "fix:"
				if l == doctor.OK {
					label = "tip:"
				}
				if i > 0 {
					label = "    "
				}
				fmt.Fprintf(w, "      %s %s\n", label, strings.ReplaceAll(fix, "\n", "\n           "))
			}
		}
	}
}
