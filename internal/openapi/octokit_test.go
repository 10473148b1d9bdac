package openapi

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/external"
)

// octokitPackage holds GitHub's OpenAPI documents.
const octokitPackage = "@octokit/openapi@23.0.2"

// TestGitHubSpecValidates checks every JSON body decoy renders for GitHub's
// api.github.com document (the default response of each operation and
// each declared response) against its schema with the independent
// validator of the corpus tests. It needs npm (skipped with -short, and
// without npm unless DECOY_REQUIRE_EXTERNAL=1).
func TestGitHubSpecValidates(t *testing.T) {
	root := external.NPMPackage(t, octokitPackage)
	var cs corpusStats
	res := cs.check(t, filepath.Join(root, "generated", "api.github.com.json"), root)
	if res == nil {
		t.Fatalf("does not load: %v", cs.notLoaded)
	}
	cs.report(t, "api.github.com", 1, 0.999)
}

// TestGitHubSpecLoads loads GitHub's api.github.com document from the npm
// package @octokit/openapi (13 MB of JSON, about 1100 operations) with
// request validation compiled, and reports the time and the heap it takes.
// The target is under 5 s. It needs npm (skipped with -short, and
// without npm unless DECOY_REQUIRE_EXTERNAL=1).
func TestGitHubSpecLoads(t *testing.T) {
	doc := filepath.Join(external.NPMPackage(t, octokitPackage), "generated", "api.github.com.json")
	tests := []struct {
		validation string
		minStubs   int
	}{
		// One stub per operation's answer whatever its media types,
		// plus the Prefer stubs (and, validating, the 405s): 7446 and
		// 6635 on 2026-11-26.
		{"enforce", 7000},
		{"off", 6000},
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
