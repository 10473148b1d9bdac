package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/config"
)

// writeWireMockRoot writes a WireMock root of n mappings, one file each,
// with a body file for every tenth.
func writeWireMockRoot(tb testing.TB, n int) string {
	tb.Helper()
	root := tb.TempDir()
	for _, d := range []string{"mappings", "__files"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range n {
		resp := fmt.Sprintf(`"jsonBody": {"id": %d, "name": "user %d"}, "headers": {"Content-Type": "application/json"}`, i, i)
		if i%10 == 0 {
			name := fmt.Sprintf("body-%d.json", i)
			if err := os.WriteFile(filepath.Join(root, "__files", name), []byte(fmt.Sprintf(`{"id": %d}`, i)), 0o644); err != nil {
				tb.Fatal(err)
			}
			resp = fmt.Sprintf(`"bodyFileName": %q, "fixedDelayMilliseconds": 5`, name)
		}
		m := fmt.Sprintf(`{
  "id": "m-%d",
  "request": {"method": "GET", "urlPath": "/users/%d", "headers": {"X-Tenant": {"equalTo": "t%d"}}},
  "response": {"status": 200, %s}
}`, i, i, i%7, resp)
		if err := os.WriteFile(filepath.Join(root, "mappings", fmt.Sprintf("m-%05d.json", i)), []byte(m), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return root
}

func TestWireMockRootLoads(t *testing.T) {
	t.Parallel()
	root := writeWireMockRoot(t, 50)
	l, _, err := config.Build([]string{root})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Sources) != 50 || len(l.Files) != 50 {
		t.Errorf("%d stubs from %d files, want 50 from 50", len(l.Sources), len(l.Files))
	}
	for _, f := range l.Files {
		if strings.Contains(f, "__files") {
			t.Errorf("read a body file as stubs: %s", f)
		}
	}
}

// BenchmarkLoadWireMock10000 loads and compiles a WireMock root of 10,000
// mappings (one file each), as decoy serve does at start.
func BenchmarkLoadWireMock10000(b *testing.B) {
	root := writeWireMockRoot(b, 10000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		l, _, err := config.Build([]string{root})
		if err != nil {
			b.Fatal(err)
		}
		if len(l.Sources) != 10000 {
			b.Fatalf("%d stubs", len(l.Sources))
		}
	}
}
