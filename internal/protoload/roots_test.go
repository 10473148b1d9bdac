package protoload_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/protoload"
)

// TestFolderNames: a folder's files are named as the imports among them
// name them, whichever folder of the project is given: the import root,
// a folder inside it, a service's own folder, or a repository holding
// its own root and a vendored one; and so is a file given alone.
func TestFolderNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A project with its files under proto/ (imported as acme/v1/...), a
	// vendored copy of a googleapis file, a folder of files that import
	// one another relative to it, and files no import names.
	write(t, dir, "repo/proto/acme/v1/common.proto", `syntax = "proto3";
package acme.v1;
message Thing { string name = 1; }
`)
	write(t, dir, "repo/proto/acme/v1/svc.proto", `syntax = "proto3";
package acme.v1;
import "acme/v1/common.proto";
import "google/api/annotations.proto";
service Things { rpc Get(Thing) returns (Thing) { option (google.api.http) = {get: "/v1/{name=things/*}"}; } }
`)
	write(t, dir, "repo/third_party/googleapis/google/api/annotations.proto", `syntax = "proto3";
package google.api;
import "google/api/http.proto";
import "google/protobuf/descriptor.proto";
extend google.protobuf.MethodOptions { HttpRule http = 72295728; }
`)
	write(t, dir, "repo/third_party/googleapis/google/api/http.proto", `syntax = "proto3";
package google.api;
message HttpRule { oneof pattern { string get = 2; } }
`)
	write(t, dir, "flat/api/shop/v1/common.proto", `syntax = "proto3";
package shop.v1;
message M {}
`)
	write(t, dir, "flat/api/shop/v1/svc.proto", `syntax = "proto3";
package shop.v1;
import "v1/common.proto";
service Shop { rpc Get(M) returns (M); }
`)
	write(t, dir, "lone/tools/v2/echo.proto", `syntax = "proto3";
package tools.v2;
service Echo { rpc Ping(Beat) returns (Beat); }
message Beat {}
`)
	write(t, dir, "odd/misc/thing.proto", `syntax = "proto3";
package elsewhere;
service Odd { rpc Do(Req) returns (Req); }
message Req {}
`)
	// A folder whose file imports one from a sibling folder of the
	// project, by its path from the project's root, and whose package is
	// not its path.
	write(t, dir, "side/proj/b/v1/b.proto", `syntax = "proto3";
package proj.b.v1;
message B {}
`)
	write(t, dir, "side/proj/a/v1beta/a.proto", `syntax = "proto3";
package proj.a.v1;
import "proj/b/v1/b.proto";
service A { rpc Get(proj.b.v1.B) returns (proj.b.v1.B); }
`)
	// A file that imports its neighbour by its bare name, in a folder
	// that is its package's path.
	write(t, dir, "near/pkg/v1/x.proto", `syntax = "proto3";
package pkg.v1;
import "y.proto";
service X { rpc Get(Y) returns (Y); }
`)
	write(t, dir, "near/pkg/v1/y.proto", `syntax = "proto3";
package pkg.v1;
message Y {}
`)
	p := func(s string) string { return filepath.Join(dir, filepath.FromSlash(s)) }
	for _, tc := range []struct {
		name    string
		paths   []string
		files   []string // names the set must hold, each from its own folder
		methods []string
	}{
		{"the import root", []string{p("repo/proto")},
			[]string{"acme/v1/common.proto", "acme/v1/svc.proto"}, []string{"/acme.v1.Things/Get"}},
		{"a folder inside the root", []string{p("repo/proto/acme")},
			[]string{"acme/v1/common.proto", "acme/v1/svc.proto"}, []string{"/acme.v1.Things/Get"}},
		{"the service's own folder", []string{p("repo/proto/acme/v1")},
			[]string{"acme/v1/common.proto", "acme/v1/svc.proto"}, []string{"/acme.v1.Things/Get"}},
		{"a repository with a vendored root", []string{p("repo")},
			[]string{"acme/v1/common.proto", "acme/v1/svc.proto", "google/api/annotations.proto", "google/api/http.proto"},
			[]string{"/acme.v1.Things/Get"}},
		{"a vendored root inside", []string{p("repo/third_party")},
			[]string{"google/api/annotations.proto", "google/api/http.proto"}, nil},
		{"imports relative to the folder", []string{p("flat/api/shop")},
			[]string{"v1/common.proto", "v1/svc.proto"}, []string{"/shop.v1.Shop/Get"}},
		{"no imports: the package's path", []string{p("lone/tools/v2")},
			[]string{"tools/v2/echo.proto"}, []string{"/tools.v2.Echo/Ping"}},
		{"no imports, the package below the folder", []string{p("lone")},
			[]string{"tools/v2/echo.proto"}, []string{"/tools.v2.Echo/Ping"}},
		{"an import from a sibling folder", []string{p("side/proj/a/v1beta")},
			[]string{"proj/a/v1beta/a.proto", "proj/b/v1/b.proto"}, []string{"/proj.a.v1.A/Get"}},
		{"a file alone, importing from a sibling folder", []string{p("side/proj/a/v1beta/a.proto")},
			[]string{"proj/a/v1beta/a.proto", "proj/b/v1/b.proto"}, []string{"/proj.a.v1.A/Get"}},
		{"a file alone, importing its neighbour", []string{p("near/pkg/v1/x.proto")},
			[]string{"x.proto", "y.proto"}, []string{"/pkg.v1.X/Get"}},
		{"a file alone, no imports: the package's path", []string{p("lone/tools/v2/echo.proto")},
			[]string{"tools/v2/echo.proto"}, []string{"/tools.v2.Echo/Ping"}},
		{"no imports, no package path", []string{p("odd")},
			[]string{"misc/thing.proto"}, []string{"/elsewhere.Odd/Do"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := protoload.Load(tc.paths)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range tc.files {
				fd, err := set.Files().FindFileByPath(f)
				if err != nil {
					t.Errorf("%s: %v", f, err)
					continue
				}
				// The user's copy, not one compiled into decoy.
				if fd.Path() != f {
					t.Errorf("%s compiled as %s", f, fd.Path())
				}
			}
			if got := strings.Join(set.Methods(), ","); got != strings.Join(tc.methods, ",") {
				t.Errorf("methods %s, want %s", got, strings.Join(tc.methods, ","))
			}
			for _, src := range set.Sources {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("source %s: %v", src, err)
				}
			}
		})
	}
}

// TestFolderNamesRelativePaths: a folder given relative to the working
// directory keeps the paths in messages relative, even when the import
// root lies above it.
func TestFolderNamesRelativePaths(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "proto/acme/v1/common.proto", "syntax = \"proto3\";\npackage acme.v1;\nmessage Thing { string name = 1; }\n")
	write(t, dir, "proto/acme/v1/svc.proto", "syntax = \"proto3\";\npackage acme.v1;\nimport \"acme/v1/common.proto\";\nimport \"acme/v1/gone.proto\";\nservice S { rpc G(Thing) returns (Thing); }\n")
	t.Chdir(dir)
	_, err := protoload.Load([]string{"proto/acme/v1"})
	if err == nil {
		t.Fatal("no error for a missing import")
	}
	msg := err.Error()
	for _, want := range []string{filepath.FromSlash("proto/acme/v1/svc.proto") + ":4:8", "acme/v1/gone.proto not found in " + filepath.FromSlash("proto/acme/v1") + ", proto "} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, dir) {
		t.Errorf("error %q names the absolute path", msg)
	}
}
