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
// or a file that such a document refers to with $ref (in any folder),
// until ctx ends. It watches folders, not files (editors save by writing
// a new file and renaming it over the old one): the folders given, with
// their subfolders and those made in them later, and the folder of each
// file given by name or referred to (see watchSet.follow).
func watch(ctx context.Context, paths []string, reload func() (int, error), log *slog.Logger) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	s := &watchSet{w: w, log: log, files: map[string]bool{}, trees: map[string]bool{}}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		if info, err := os.Stat(abs); err == nil && info.IsDir() {
			s.trees[abs] = true
			addTree(w, abs, log)
			continue
		}
		s.files[abs] = true
	}
	s.follow()
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
				if !s.relevant(ev) {
					continue
				}
				if ev.Has(fsnotify.Create) && underTree(ev.Name, s.trees) && !strings.HasPrefix(filepath.Base(ev.Name), ".") {
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
				// The $refs first, then the files: an edit made after
				// the folders are watched is seen, one made before is read.
				s.follow()
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

// watchSet is what watch watches besides the folders given, which
// addTree watches with their subfolders.
type watchSet struct {
	w     *fsnotify.Watcher
	log   *slog.Logger
	files map[string]bool // files given by name
	trees map[string]bool // folders given
	refs  map[string]bool // files that the OpenAPI documents refer to
	dirs  map[string]bool // folders watched for files and refs (see follow)
}

// follow finds the files that the OpenAPI documents given by name or
// found under the folders given refer to, and watches the folder of each
// of them and of each file given by name; a folder that does not exist is
// watched through the nearest one above it that does (making it is an
// event, see relevant). A folder under a folder given is addTree's. The
// folders no longer needed are let go: a $ref removed is not watched.
func (s *watchSet) follow() {
	s.refs = map[string]bool{}
	add := func(doc string) {
		for _, f := range openapi.Referenced(doc) {
			s.refs[f] = true
		}
	}
	for f := range s.files {
		add(f)
	}
	for t := range s.trees {
		_ = filepath.WalkDir(t, func(p string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
			case p != t && strings.HasPrefix(d.Name(), "."):
				if d.IsDir() {
					return filepath.SkipDir
				}
			case !d.IsDir() && isStubFile(p):
				add(p)
			}
			return nil
		})
	}
	dirs := map[string]bool{}
	for _, set := range []map[string]bool{s.files, s.refs} {
		for f := range set {
			if d := existingDir(filepath.Dir(f)); !s.treeWatches(d) {
				dirs[d] = true
			}
		}
	}
	for d := range dirs {
		// Added again each time: a folder deleted and made again has
		// lost its watch (adding a watched folder changes nothing).
		if err := s.w.Add(d); err != nil {
			s.log.Warn("watch: cannot watch a folder; edits to the files in it are not reloaded", "path", d, "err", err)
			delete(dirs, d)
		}
	}
	for d := range s.dirs {
		if !dirs[d] {
			_ = s.w.Remove(d) // an error: it is gone already
		}
	}
	s.dirs = dirs
}

// relevant reports whether ev may change what decoy serves: a file given
// by name or referred to, a folder on the way to one (made, removed or
// renamed), or a file or folder under a folder given (a stub file, an
// OpenAPI document, a body file), but those whose name starts with '.'.
func (s *watchSet) relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	if s.files[ev.Name] || s.refs[ev.Name] {
		return true
	}
	if underTree(ev.Name, s.trees) && !strings.HasPrefix(filepath.Base(ev.Name), ".") {
		return true
	}
	prefix := ev.Name + string(filepath.Separator)
	for _, set := range []map[string]bool{s.files, s.refs} {
		for f := range set {
			if strings.HasPrefix(f, prefix) {
				return true
			}
		}
	}
	return false
}

// treeWatches reports whether addTree watches dir: it is a folder given
// or under one, and none of its names under it starts with '.'.
func (s *watchSet) treeWatches(dir string) bool {
	for t := range s.trees {
		rel, err := filepath.Rel(t, dir)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		if rel == "." {
			return true
		}
		hidden := false
		for _, name := range strings.Split(rel, string(filepath.Separator)) {
			hidden = hidden || strings.HasPrefix(name, ".")
		}
		if !hidden {
			return true
		}
	}
	return false
}

// existingDir is dir, or the nearest folder above it that exists.
func existingDir(dir string) string {
	for {
		if info, err := os.Stat(dir); err == nil && info.IsDir() {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return dir
		}
		dir = up
	}
}

// isStubFile reports whether name has an extension of the files decoy
// reads stubs and OpenAPI documents from.
func isStubFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
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

func underTree(name string, trees map[string]bool) bool {
	for t := range trees {
		if name == t || strings.HasPrefix(name, t+string(filepath.Separator)) {
			return true
		}
	}
	return false
}
