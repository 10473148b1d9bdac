package workers

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CopyPaths copies the files and folders in paths (stub files, folders of
// them, .proto files) into dir, which must exist: paths[i] becomes
// dir/i/<its base name>, a folder with what it holds (files and folders
// whose names start with a dot left out, as decoy reads none). It returns
// the copies' paths, parallel to paths. The supervisor keeps such a copy of
// the files as they last loaded well, for a worker started while they do
// not load (Plan.Fallback).
func CopyPaths(dir string, paths []string) ([]string, error) {
	out := make([]string, len(paths))
	for i, p := range paths {
		p = filepath.Clean(p)
		slot := filepath.Join(dir, strconv.Itoa(i))
		if err := os.Mkdir(slot, 0o700); err != nil {
			return nil, err
		}
		dst := filepath.Join(slot, filepath.Base(p))
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			if err := copyFile(p, dst); err != nil {
				return nil, err
			}
			out[i] = dst
			continue
		}
		err = filepath.WalkDir(p, func(name string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(p, name)
			if err != nil {
				return err
			}
			if name != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			target := filepath.Join(dst, rel)
			if d.IsDir() {
				return os.Mkdir(target, 0o700)
			}
			if info, err := os.Stat(name); err != nil || !info.Mode().IsRegular() {
				return nil // a dangling link, a socket: nothing decoy reads
			}
			return copyFile(name, target)
		})
		if err != nil {
			return nil, fmt.Errorf("copying %s: %w", p, err)
		}
		out[i] = dst
	}
	return out, nil
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o600)
}

// PathsSize is how many bytes CopyPaths would copy from paths (what it
// cannot read counts nothing).
func PathsSize(paths []string) int64 {
	var n int64
	for _, p := range paths {
		_ = filepath.WalkDir(filepath.Clean(p), func(name string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return nil
			case name != filepath.Clean(p) && strings.HasPrefix(d.Name(), "."):
				if d.IsDir() {
					return filepath.SkipDir
				}
			case !d.IsDir():
				if info, err := os.Stat(name); err == nil && info.Mode().IsRegular() {
					n += info.Size()
				}
			}
			return nil
		})
	}
	return n
}
