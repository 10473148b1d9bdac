package cli

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/openapi"
	"github.com/decoy-dev/decoy/internal/protoload"
	"github.com/fsnotify/fsnotify"
)

// stubPaths are the files and folders among files that hold stubs and
// OpenAPI documents (a .proto file alone holds neither).
func stubPaths(files []string) []string {
	var out []string
	for _, f := range files {
		if info, err := os.Stat(f); err == nil && info.IsDir() || !protoload.IsProtoFile(f) {
			out = append(out, f)
		}
	}
	return out
}

// reloader reads the stub files and OpenAPI documents in paths again and
// serves them from store, in place of what it served: the admin API's
// POST /reload, and what watch calls. A file that does not load changes
// nothing; its problems come back with file:line. Reloads run one at a
// time.
func reloader(paths []string, spec openapi.Options, store *engine.Store) func() (int, error) {
	var mu sync.Mutex
	return func() (int, error) {
		mu.Lock()
		defer mu.Unlock()
		l, err := config.LoadStubs(paths, spec)
		if err != nil {
			return 0, err
		}
		// The store checks gRPC stubs against the .proto files loaded
		// at start (its check), as for a change made through the admin API.
		if err := store.SetBase(l.Sources); err != nil {
			var errs engine.Errors
			if errors.As(err, &errs) {
				return 0, l.Locate(errs)
			}
			return 0, err
		}
		return store.Engine().Snapshot().Len(), nil
	}
}

// settle is how long the files must be quiet after a change before they
// are read again: an editor's save, or a generator writing a document,
// comes as several events.
const settle = 200 * time.Millisecond

// watch reloads when a stub file or OpenAPI document under paths changes,
// until ctx ends. It watches folders (a file given by name, through its
// folder: editors save by writing a new file and renaming it over the old
// one), and the folders made inside them later.
func watch(ctx context.Context, paths []string, reload func() (int, error), log *slog.Logger) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	files := map[string]bool{} // files given by name
	trees := map[string]bool{} // folders given, watched with their subfolders
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		if info, err := os.Stat(abs); err == nil && info.IsDir() {
			trees[abs] = true
			addTree(w, abs, log)
			continue
		}
		files[abs] = true
		if err := w.Add(filepath.Dir(abs)); err != nil {
			log.Warn("watch: cannot watch a file's folder; edits to it are not reloaded", "path", p, "err", err)
		}
	}
	go func() {
		defer w.Close()
		var timer *time.Timer
		var fire <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				log.Warn("watch: the file watcher failed; edits may not be reloaded", "err", err)
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if !relevant(ev, files, trees) {
					continue
				}
				if ev.Has(fsnotify.Create) && underTree(ev.Name, trees) {
					if info, err := os.Stat(ev.Name); err == nil && info.IsDir() {
						addTree(w, ev.Name, log)
					}
				}
				if timer == nil {
					timer = time.NewTimer(settle)
				} else {
					timer.Reset(settle)
				}
				fire = timer.C
			case <-fire:
				fire = nil
				n, err := reload()
				if err != nil {
					log.Error("files changed but do not load; the stubs served before still serve\n" + err.Error())
					continue
				}
				log.Info("files changed: stubs reloaded", "stubs", n)
			}
		}
	}()
	return nil
}

// addTree watches dir and its folders, but those whose name starts with
// '.' (which decoy does not read).
func addTree(w *fsnotify.Watcher, dir string, log *slog.Logger) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if err := w.Add(p); err != nil {
			log.Warn("watch: cannot watch a folder; edits in it are not reloaded", "path", p, "err", err)
		}
		return nil
	})
}

// relevant reports whether ev may change what decoy serves: a file given
// by name, or a file or folder under a folder given (a stub file, an
// OpenAPI document, a body file), but those whose name starts with '.'.
func relevant(ev fsnotify.Event, files, trees map[string]bool) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	if files[ev.Name] {
		return true
	}
	if !underTree(ev.Name, trees) {
		return false
	}
	return !strings.HasPrefix(filepath.Base(ev.Name), ".")
}

func underTree(name string, trees map[string]bool) bool {
	for t := range trees {
		if name == t || strings.HasPrefix(name, t+string(filepath.Separator)) {
			return true
		}
	}
	return false
}
