package protoload

import (
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Naming the files of a folder. A .proto file's name is the path its
// importers write ("google/pubsub/v1/schema.proto"), relative to an
// import root that protoc would be given with -I. A folder given to decoy
// is not always that root: it may be a service's own folder
// (google/pubsub/v1/, whose files import one another by their full path),
// a folder inside the root (google/), or a repository that holds several
// roots (proto/ for its own files, third_party/googleapis/ for a vendored
// copy of googleapis). Named relative to the folder, such files would not
// be found by their importers, or would be compiled twice under two names.
//
// So the imports of the folder's files say where its roots are: a file
// whose path ends with a name that some file imports is named so, and
// the rest of its path is a root; so is a folder above the one given in
// which an imported name is a file (the imports reach out of the folder
// given into the project around it). Files that no import names take the
// deepest such root above them; failing that, the folder above their
// package's path when that folder holds the one given; failing that, the
// folder given. Every root is an import path. A .proto file given alone
// is named as if it were alone in its folder.

var packageRe = regexp.MustCompile(`(?m)^\s*package\s+([A-Za-z_][A-Za-z0-9_.]*)\s*;`)

var importRe = regexp.MustCompile(`(?m)^\s*import\s+(?:(?:public|weak)\s+)?"([^"]+)"\s*;`)

// folderFile is a .proto file found in a folder, with the import root and
// name it is compiled under.
type folderFile struct {
	path string // as found by the walk (the folder given, joined)
	root string // the import root, in the form the folder was given
	name string // relative to root, with forward slashes
}

// nameFolder names the .proto files found under dir (paths, as the walk
// found them) by the imports among them; see above.
func nameFolder(dir string, paths []string) []folderFile {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return relativeTo(dir, paths)
	}
	abs := make([]string, len(paths))
	srcs := make([][]byte, len(paths))
	imported := map[string]bool{}
	for i, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			return relativeTo(dir, paths)
		}
		abs[i] = filepath.ToSlash(a)
		b, err := readHead(p)
		if err != nil {
			continue // the compiler reports it
		}
		srcs[i] = b
		for _, m := range importRe.FindAllSubmatch(b, -1) {
			imported[path.Clean(string(m[1]))] = true
		}
	}
	// own[i] is the root that the imports give file i, if any; roots are
	// all such roots.
	own := make([]string, len(paths))
	var roots []string
	for i, a := range abs {
		// The longest imported name that ends a's path: a file imported
		// under two names is compiled under the longer, and the other
		// import then fails as it would with protoc.
		for j := 0; j < len(a); j++ {
			if a[j] != '/' || !imported[a[j+1:]] {
				continue
			}
			root := a[:j]
			if root == "" {
				root = "/"
			}
			own[i] = root
			if !slices.Contains(roots, root) {
				roots = append(roots, root)
			}
			break
		}
	}
	slashDir := filepath.ToSlash(absDir)
	for _, r := range rootsAbove(slashDir, imported) {
		if !slices.Contains(roots, r) {
			roots = append(roots, r)
		}
	}
	out := make([]folderFile, len(paths))
	for i, a := range abs {
		root := own[i]
		if root == "" {
			root = deepestAbove(roots, a)
		}
		if root == "" {
			if pr, ok := packageRoot(srcs[i], a); ok && within(slashDir, pr) {
				root = pr
			}
		}
		if root == "" {
			root = slashDir
		}
		out[i] = folderFile{path: paths[i], root: asGiven(dir, slashDir, root), name: strings.TrimPrefix(a[len(root):], "/")}
	}
	return out
}

// maxAbove is how many folders above the one given rootsAbove looks in.
const maxAbove = 16

// rootsAbove returns dir and the folders above it (slash form, absolute)
// in which an imported name is a file: the roots of the project that dir
// lies in, such as the folder above google/ for a folder of googleapis
// that imports google/api/annotations.proto.
func rootsAbove(dir string, imported map[string]bool) []string {
	var roots []string
	for d, i := dir, 0; i <= maxAbove; i++ {
		for name := range imported {
			if st, err := os.Stat(filepath.FromSlash(path.Join(d, name))); err == nil && st.Mode().IsRegular() {
				roots = append(roots, d)
				break
			}
		}
		up := path.Dir(d)
		if up == d {
			break
		}
		d = up
	}
	return roots
}

// readHead reads the file at p, up to MaxFile bytes (the compiler
// refuses larger files).
func readHead(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxFile))
}

// relativeTo names every file relative to dir.
func relativeTo(dir string, paths []string) []folderFile {
	out := make([]folderFile, 0, len(paths))
	for _, p := range paths {
		if rel, err := filepath.Rel(dir, p); err == nil {
			out = append(out, folderFile{path: p, root: dir, name: filepath.ToSlash(rel)})
		}
	}
	return out
}

// deepestAbove returns the longest of roots that holds the file a, or "".
func deepestAbove(roots []string, a string) string {
	best := ""
	for _, r := range roots {
		if within(a, r) && len(r) > len(best) {
			best = r
		}
	}
	return best
}

// within reports whether p is root or lies under it (slash paths).
func within(p, root string) bool {
	return p == root || root == "/" || strings.HasPrefix(p, root+"/")
}

// packageRoot returns the folder above a's package path when a's folder
// ends with it (…/shop/v1/users.proto in package shop.v1: …).
func packageRoot(src []byte, a string) (string, bool) {
	m := packageRe.FindSubmatch(src)
	if m == nil {
		return "", false
	}
	pkgDir := strings.ReplaceAll(string(m[1]), ".", "/")
	d := path.Dir(a)
	if !strings.HasSuffix(d, "/"+pkgDir) {
		return "", false
	}
	root := strings.TrimSuffix(d, "/"+pkgDir)
	if root == "" {
		root = "/"
	}
	return root, true
}

// asGiven writes the absolute root (slash form) as the folder was given:
// the folder itself as given, a relative path when it was relative, so
// that messages name files as the user does.
func asGiven(dir, slashDir, root string) string {
	if root == slashDir {
		return dir
	}
	native := filepath.FromSlash(root)
	if filepath.IsAbs(dir) {
		return native
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, native); err == nil {
			return rel
		}
	}
	return native
}
