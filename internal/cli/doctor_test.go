package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
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

	// The JSON's keys are camelCase, as scripts will bind to them, and
	// each fix is one line.
	_, out, _ = run("--json", "--connections", "100000000", "--workers", "auto")
	var raw any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if k == "" || k[0] < 'a' || k[0] > 'z' || strings.ContainsAny(k, "_- ") {
					t.Errorf("--json key %s.%s is not camelCase", path, k)
				}
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		}
	}
	walk("", raw)
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Options.Workers != runtime.GOMAXPROCS(0) {
		t.Errorf("--workers auto: %d workers, want one per usable CPU (%d)", r.Options.Workers, runtime.GOMAXPROCS(0))
	}
	for _, f := range r.Findings {
		for _, fix := range f.Fix {
			if strings.Contains(fix, "\n") {
				t.Errorf("%s: a fix of several lines: %q", f.Check, fix)
			}
		}
	}

	for _, bad := range [][]string{{"--connections", "0"}, {"--workers", "-1"}, {"--workers", "some"}, {"extra"}, {"--nope"}} {
		if code, _, errOut := run(bad...); code != cli.ExitBadInput {
			t.Errorf("doctor %v: exit %d, want 2 (%s)", bad, code, errOut)
		}
	}
}
