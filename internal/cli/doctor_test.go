package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/cli"
	"github.com/decoy-dev/decoy/internal/doctor"
)

// TestDoctor runs decoy doctor on this machine: whatever the machine, the
// exit code follows the findings and the output is readable or JSON.
func TestDoctor(t *testing.T) {
	t.Parallel()
	run := func(args ...string) (int, string, string) {
		e, out, errOut := env(nil)
		code := cli.Main(context.Background(), append([]string{"doctor"}, args...), e)
		return code, out.String(), errOut.String()
	}

	code, out, errOut := run("--json", "--connections", "1000")
	var r doctor.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if r.Options.Connections != 1000 || r.Options.Workers != 1 || len(r.Findings) == 0 {
		t.Errorf("report %+v", r)
	}
	want := cli.ExitOK
	if r.NeedsFix() {
		want = cli.ExitNeedsFix
		if !strings.Contains(errOut, "need fixing") {
			t.Errorf("exit 1 without saying why: %q", errOut)
		}
	}
	if code != want {
		t.Errorf("exit %d, want %d (%d to fix)", code, want, r.Count(doctor.Fix))
	}

	// More connections than any host gives one process: the open-file
	// limit needs fixing everywhere, and the text says how.
	code, out, _ = run("--connections", "100000000")
	if code != cli.ExitNeedsFix {
		t.Errorf("exit %d for 10^8 connections, want 1", code)
	}
	for _, w := range []string{"decoy doctor: ", "FIX   open-files:", "why: ", "fix: LimitNOFILE="} {
		if !strings.Contains(out, w) {
			t.Errorf("text lacks %q:\n%s", w, out)
		}
	}

	code, out, _ = run("--remote-clients", "--json")
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Findings {
		if (f.Check == "ephemeral-ports" || f.Check == "tcp-tw-reuse" || f.Check == "client-open-files") && f.Level != doctor.Skip {
			t.Errorf("--remote-clients: %s is %s", f.Check, f.Level)
		}
	}
	if code != cli.ExitOK && code != cli.ExitNeedsFix {
		t.Errorf("exit %d", code)
	}

	for _, bad := range [][]string{{"--connections", "0"}, {"--workers", "-1"}, {"extra"}, {"--nope"}} {
		if code, _, errOut := run(bad...); code != cli.ExitBadInput {
			t.Errorf("doctor %v: exit %d, want 2 (%s)", bad, code, errOut)
		}
	}
}
