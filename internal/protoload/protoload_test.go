package protoload_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/protoload"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

const example = "../../examples/grpc"

var wantMethods = "/shop.v1.Users/Chat,/shop.v1.Users/GetUser,/shop.v1.Users/ImportUsers,/shop.v1.Users/ListUsers"

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFolderResolvesImports(t *testing.T) {
	t.Parallel()
	set, err := protoload.Load([]string{example})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(set.Methods(), ","); got != wantMethods {
		t.Errorf("methods = %s", got)
	}
	if n := len(set.Services()); n != 1 || set.Services()[0].FullName() != "shop.v1.Users" {
		t.Errorf("services = %v", set.Services())
	}
	if len(set.Sources) != 2 {
		t.Errorf("sources = %v", set.Sources)
	}
	md := set.Method("/shop.v1.Users/ListUsers")
	if md == nil || !md.IsStreamingServer() || md.IsStreamingClient() || md.Output().FullName() != "shop.v1.User" {
		t.Errorf("ListUsers = %v", md)
	}
	// Well-known types come from decoy itself.
	fd, err := set.Resolver().FindFileByPath("google/protobuf/timestamp.proto")
	if err != nil || fd.Messages().ByName("Timestamp") == nil {
		t.Errorf("timestamp.proto: %v", err)
	}
	// Dynamic types resolve by URL, the set's and decoy's own.
	for _, url := range []string{"type.googleapis.com/shop.v1.User", "type.googleapis.com/google.protobuf.Duration"} {
		if _, err := set.Types().FindMessageByURL(url); err != nil {
			t.Errorf("%s: %v", url, err)
		}
	}
	if set.Method("/shop.v1.Users/Nope") != nil {
		t.Error("a method that does not exist")
	}
}

func TestLoadSingleFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := write(t, dir, "api/echo.proto", `syntax = "proto3";
package echo;
import "google/protobuf/empty.proto";
service Echo { rpc Ping(google.protobuf.Empty) returns (google.protobuf.Empty); }
`)
	set, err := protoload.Load([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	if set.Method("/echo.Echo/Ping") == nil {
		t.Errorf("methods = %v", set.Methods())
	}
	// A file in a folder named after its package imports its neighbours
	// by their package path.
	set, err = protoload.Load([]string{example + "/shop/v1/users.proto"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(set.Methods(), ","); got != wantMethods || len(set.Sources) != 2 {
		t.Errorf("methods = %s, sources = %v", got, set.Sources)
	}
}

// descriptorSet writes the files of set (those named, and with imports
// their dependencies first) as a FileDescriptorSet.
func descriptorSet(t *testing.T, set *protoload.Set, imports bool, names ...string) []byte {
	t.Helper()
	var fds descriptorpb.FileDescriptorSet
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		if imports {
			for i := 0; i < fd.Imports().Len(); i++ {
				add(fd.Imports().Get(i).FileDescriptor)
			}
		}
		fds.File = append(fds.File, protodesc.ToFileDescriptorProto(fd))
	}
	for _, n := range names {
		fd, err := set.Files().FindFileByPath(n)
		if err != nil {
			t.Fatal(err)
		}
		add(fd)
	}
	b, err := proto.Marshal(&fds)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadDescriptorSet(t *testing.T) {
	t.Parallel()
	src, err := protoload.Load([]string{example})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	full := filepath.Join(dir, "shop.protoset")
	if err := os.WriteFile(full, descriptorSet(t, src, true, "shop/v1/users.proto"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := protoload.Load([]string{full})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(set.Methods(), ","); got != wantMethods {
		t.Errorf("methods = %s", got)
	}

	// A .pb file, and the same files also given as .proto: no conflict.
	pb := filepath.Join(dir, "shop.pb")
	if err := os.WriteFile(pb, descriptorSet(t, src, true, "shop/v1/users.proto"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := protoload.Load([]string{example, pb}); err != nil {
		t.Errorf("a folder and a set of the same files: %v", err)
	}

	// Without --include_imports: the well-known types are found anyway,
	// the set's own imports are not.
	partial := filepath.Join(dir, "partial.protoset")
	if err := os.WriteFile(partial, descriptorSet(t, src, false, "shop/v1/users.proto"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = protoload.Load([]string{partial})
	if err == nil || !strings.Contains(err.Error(), "shop/v1/common.proto") || !strings.Contains(err.Error(), "--include_imports") {
		t.Errorf("partial set: %v", err)
	}
	withCommon := filepath.Join(dir, "with-common.protoset")
	if err := os.WriteFile(withCommon, descriptorSet(t, src, false, "shop/v1/users.proto", "shop/v1/common.proto"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := protoload.Load([]string{withCommon}); err != nil {
		t.Errorf("dependencies out of order, well-known types left out: %v", err)
	}
}

func TestLoadSources(t *testing.T) {
	t.Parallel()
	set, err := protoload.LoadSources(map[string]string{
		"a/a.proto": `syntax = "proto3"; package a; import "b/b.proto"; service A { rpc M(b.B) returns (b.B); }`,
		"b/b.proto": `syntax = "proto3"; package b; message B { string s = 1; }`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if set.Method("/a.A/M") == nil {
		t.Errorf("methods = %v", set.Methods())
	}
}

// TestBadProtos: every problem comes back with file:line:col.
func TestBadProtos(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := []struct {
		name, file, content string
		want                []string
	}{
		{"syntax error", "syntax.proto", "syntax = \"proto3\";\npackage x;\nmessage A {\n  int32 x = 1\n}\n",
			[]string{"syntax.proto:5:1: syntax error: expecting ';'"}},
		{"missing import", "imp.proto", "syntax = \"proto3\";\nimport \"nope/missing.proto\";\n",
			[]string{"imp.proto:2:8: nope/missing.proto not found in"}},
		{"unknown type", "types.proto", "syntax = \"proto3\";\npackage x;\nmessage A {\n  Strng s = 1;\n}\nservice S { rpc M(A) returns (A); }\n",
			[]string{`types.proto:4:3: field x.A.s: unknown type Strng`}},
		{"editions are supported", "ed.proto", "edition = \"2023\";\npackage x;\nmessage A { string s = 1; }\n", nil},
		{"a later edition: how to load it", "ed24.proto", "edition = \"2024\";\npackage x;\nmessage A { string s = 1; }\n",
			[]string{`ed24.proto:1:11: edition value "2024" not recognized; should be one of ["2023"] (decoy compiles .proto files of editions up to 2023; for a later edition, give it a descriptor set: protoc --include_imports`}},
		// protocompile accepts these, protoc and Go's protodesc do not: a
		// client would fail to use the descriptors reflection serves.
		{"proto2 map of a closed enum without 0", "cmap.proto", "syntax = \"proto2\";\npackage x;\nenum Closed { C_ONE = 1; }\nmessage A {\n  map<string, Closed> cmap = 1;\n}\n",
			[]string{`cmap.proto:5:3: message field "x.A.cmap" is an invalid map: map enum value must have zero number for the first value`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sub := filepath.Join(dir, tc.name)
			p := write(t, sub, tc.file, tc.content)
			_, err := protoload.Load([]string{p})
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			var ps config.Problems
			if !asProblems(err, &ps) {
				t.Fatalf("not config.Problems: %T", err)
			}
			got := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(got, filepath.Join(sub, w)) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
		})
	}
}

func asProblems(err error, ps *config.Problems) bool {
	p, ok := err.(config.Problems)
	*ps = p
	return ok
}

func TestBadPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	junk := write(t, dir, "junk.pb", "this is not a descriptor set")
	empty := write(t, dir, "empty.protoset", "")
	other := write(t, dir, "notes.txt", "x")
	_, err := protoload.Load([]string{filepath.Join(dir, "nope"), junk, empty, other})
	if err == nil {
		t.Fatal("no error")
	}
	got := err.Error()
	for _, w := range []string{
		filepath.Join(dir, "nope") + ": no such file or folder",
		junk + ": not a protobuf descriptor set",
		empty + ": the descriptor set holds no files",
		other + ": not a .proto, .protoset or .pb file",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	if !protoload.IsProtoFile("a.PROTO") || !protoload.IsProtoFile("x.protoset") || protoload.IsProtoFile("x.yaml") {
		t.Error("IsProtoFile")
	}
}

// TestSameImportNameInTwoFolders: two different files with one import name
// (common.proto in two folders) are an error naming both, not the second
// dropped with its services; the same file or an identical copy is fine.
func TestSameImportNameInTwoFolders(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := write(t, dir, "a/common.proto", "syntax = \"proto3\";\npackage one;\nmessage M {}\nservice S1 { rpc G(M) returns (M); }\n")
	b := write(t, dir, "b/common.proto", "syntax = \"proto3\";\npackage two;\nmessage M {}\nservice S2 { rpc G(M) returns (M); }\n")
	write(t, dir, "c/common.proto", "syntax = \"proto3\";\npackage one;\nmessage M {}\nservice S1 { rpc G(M) returns (M); }\n")
	da, db, dc := filepath.Dir(a), filepath.Dir(b), filepath.Join(dir, "c")
	for _, tc := range []struct {
		name  string
		paths []string
		err   []string // all in the error; nil: no error
	}{
		{"two folders", []string{da, db}, []string{b, `import name "common.proto" is taken by ` + a}},
		{"a file and a folder", []string{a, db}, []string{b, a}},
		{"one folder twice", []string{da, da}, nil},
		{"a file and its folder", []string{a, da}, nil},
		{"an identical copy", []string{da, dc}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := protoload.Load(tc.paths)
			if tc.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.err {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}
		})
	}
}

// TestLoadEdition2024Set: a descriptor set of a later edition than the
// compiler reads (as protoc or buf build it) loads, which the compiler's
// error for such a .proto file tells the user.
func TestLoadEdition2024Set(t *testing.T) {
	t.Parallel()
	field := &descriptorpb.FieldDescriptorProto{Name: proto.String("a"), Number: proto.Int32(1), JsonName: proto.String("a"),
		Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()}
	fdp := &descriptorpb.FileDescriptorProto{
		Name: proto.String("x/v1/x.proto"), Package: proto.String("x.v1"),
		Syntax: proto.String("editions"), Edition: descriptorpb.Edition_EDITION_2024.Enum(),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("M"), Field: []*descriptorpb.FieldDescriptorProto{field}}},
		Service: []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("S"), Method: []*descriptorpb.MethodDescriptorProto{
			{Name: proto.String("Get"), InputType: proto.String(".x.v1.M"), OutputType: proto.String(".x.v1.M")}}}},
	}
	b, err := proto.Marshal(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{fdp}})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "x.protoset")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := protoload.Load([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	if md := set.Method("/x.v1.S/Get"); md == nil || md.ParentFile().Syntax() != protoreflect.Editions {
		t.Errorf("methods %v", set.Methods())
	}
}
