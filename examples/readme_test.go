package examples_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/cli"
)

// TestReadmeStubs checks the README's YAML stub examples with `decoy check`,
// so the first page a user reads cannot show stubs that do not load.
func TestReadmeStubs(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	if len(blocks) == 0 {
		t.Fatal("the README has no YAML example")
	}
	for i, m := range blocks {
		name := filepath.Join(t.TempDir(), "readme.yaml")
		if err := os.WriteFile(name, []byte(m[1]), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errOut strings.Builder
		code := cli.Main(context.Background(), []string{"check", name}, cli.Env{Stdout: &out, Stderr: &errOut})
		if code != 0 {
			t.Errorf("README YAML block %d: decoy check exited %d\n%s%s", i+1, code, out.String(), errOut.String())
		}
	}
}
