package workers_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/decoy-dev/decoy/internal/workers"
)

// TestCopyPaths: files and folders are copied with what decoy reads (dot
// files and folders left out), each under a slot of its own, and
// PathsSize counts what is copied.
func TestCopyPaths(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	put := func(name, content string) {
		t.Helper()
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put("stubs/a.yaml", "aaaa")
	put("stubs/sub/b.json", "bb")
	put("stubs/.git/config", "hidden")
	put("stubs/.swp", "x")
	put("one.yaml", "cccccc")
	paths := []string{filepath.Join(src, "stubs"), filepath.Join(src, "one.yaml")}
	if n := workers.PathsSize(paths); n != 12 {
		t.Errorf("PathsSize %d, want 12 (dot files left out)", n)
	}
	dst := t.TempDir()
	copies, err := workers.CopyPaths(dst, paths)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{filepath.Join(copies[0], "a.yaml"), "aaaa"},
		{filepath.Join(copies[0], "sub", "b.json"), "bb"},
		{copies[1], "cccccc"},
	} {
		if b, err := os.ReadFile(c.path); err != nil || string(b) != c.want {
			t.Errorf("%s: %q, %v; want %q", c.path, b, err, c.want)
		}
	}
	for _, hidden := range []string{".git", ".swp"} {
		if _, err := os.Stat(filepath.Join(copies[0], hidden)); !os.IsNotExist(err) {
			t.Errorf("%s copied", hidden)
		}
	}
	if n := workers.PathsSize(copies); n != 12 {
		t.Errorf("the copy holds %d bytes, want 12", n)
	}
}
