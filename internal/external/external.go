// Package external finds what tests need from outside the module: programs
// (curl, grpcurl, nginx, h2spec, ...) and npm packages (OpenAPI documents,
// .proto files of real projects). A test whose program or package is
// missing is skipped on a developer's machine and fails under CI, which
// sets DECOY_REQUIRE_EXTERNAL=1 and installs them (.ci/run).
package external

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Required reports whether missing programs and packages fail tests
// instead of skipping them (DECOY_REQUIRE_EXTERNAL=1).
func Required() bool { return os.Getenv("DECOY_REQUIRE_EXTERNAL") == "1" }

// Program returns the path of the program name, found on PATH or at one
// of paths (tried first, for tools installed outside PATH such as
// ~/go/bin/h2spec). Without it the test is skipped, or fails when
// Required.
func Program(t testing.TB, name string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	missing(t, name+" is not installed")
	return ""
}

// NPMPackage installs the npm package spec (name@version) into a
// temporary folder and returns the package's folder. It skips the test
// with -short, and without npm or when the install fails unless Required.
func NPMPackage(t testing.TB, spec string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("downloads an npm package")
	}
	npm := Program(t, "npm")
	dir := t.TempDir()
	cmd := exec.Command(npm, "install", "--silent", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", dir, spec)
	if out, err := cmd.CombinedOutput(); err != nil {
		missing(t, "npm install "+spec+" failed (offline?): "+err.Error()+"\n"+string(out))
	}
	name := spec[:strings.LastIndex(spec, "@")]
	return filepath.Join(dir, "node_modules", filepath.FromSlash(name))
}

func missing(t testing.TB, why string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s (required: DECOY_REQUIRE_EXTERNAL=1; .ci/run installs it)", why)
	}
	t.Skip(why)
}
