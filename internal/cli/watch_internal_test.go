package cli

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fsnotify/fsnotify"
)

// TestWatchSetFollowsRefs: the folders watched follow the $refs of the
// documents: a folder that a $ref no longer names is let go, one that
// does not exist yet is watched through the folder above it, URLs are
// not watched, and a folder under a folder given is left to addTree.
func TestWatchSetFollowsRefs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	put := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	doc := func(refs ...string) string {
		s := "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n"
		for i, r := range refs {
			s += "    S" + string(rune('a'+i)) + ": {$ref: '" + r + "'}\n"
		}
		return s
	}
	put("api/api.yaml", doc("../one/a.yaml#/X", "../two/b.yaml#/X", "https://example.com/c.yaml#/X"))
	put("one/a.yaml", "X: {type: string}\n")
	put("two/b.yaml", "X: {type: string}\n")
	put("tree/inside.yaml", "X: {type: string}\n")
	put("tree/doc.yaml", doc("../three/c.yaml#/X", "inside.yaml#/X"))
	put("three/c.yaml", "X: {type: string}\n")

	w, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	tree := filepath.Join(dir, "tree")
	s := &watchSet{w: w, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		files: map[string]bool{filepath.Join(dir, "api/api.yaml"): true}, trees: map[string]bool{tree: true}}
	addTree(w, tree, s.log)
	watched := func(want ...string) {
		t.Helper()
		for i := range want {
			want[i] = filepath.Join(dir, want[i])
		}
		got := w.WatchList()
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("watched %q, want %q", got, want)
		}
	}
	s.follow()
	watched("api", "one", "two", "three", "tree")

	// A $ref removed, one to a folder not made yet.
	put("api/api.yaml", doc("../two/b.yaml#/X", "../four/five/d.yaml#/X"))
	s.follow()
	watched("api", "two", "three", "tree", ".")
	if !s.relevant(fsnotify.Event{Name: filepath.Join(dir, "four"), Op: fsnotify.Create}) {
		t.Error("making the folder of a file referred to is not relevant")
	}
	if s.relevant(fsnotify.Event{Name: filepath.Join(dir, "one", "a.yaml"), Op: fsnotify.Write}) {
		t.Error("a file no longer referred to is relevant")
	}
	put("four/five/d.yaml", "X: {type: string}\n")
	s.follow()
	watched("api", "two", "three", "tree", "four/five")
}
