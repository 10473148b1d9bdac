package protoload_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/protoload"
)

// FuzzLoadSources: whatever a .proto file holds (beside one it may
// import), loading it does not panic, and a file that does not compile
// is reported as problems that each name a file.
func FuzzLoadSources(f *testing.F) {
	for _, s := range []string{
		"syntax = \"proto3\";\npackage a.v1;\nimport \"b.proto\";\nservice S { rpc M(b.Req) returns (stream b.Req); }\n",
		"syntax = \"proto2\";\npackage p;\nmessage M { optional group G = 1 { optional int32 x = 2; } extensions 100 to 200; }\nextend M { optional string e = 100; }\n",
		"edition = \"2023\";\npackage e;\nmessage M { string s = 1 [features.field_presence = IMPLICIT]; map<string, M> m = 2; }\n",
		"syntax = \"proto3\";\npackage g;\nimport \"google/api/annotations.proto\";\nimport \"buf/validate/validate.proto\";\nmessage R { string id = 1 [(buf.validate.field).string.min_len = 1]; }\nservice S { rpc Get(R) returns (R) { option (google.api.http) = {get: \"/v1/{id}\"}; } }\n",
		"syntax = \"proto3\";\nmessage M { oneof o { string a = 1; int32 b = 2; } reserved 3 to 5; reserved \"x\"; }\nenum E { E_0 = 0; E_1 = 1; }\n",
		"syntax = \"proto3\";\nmessage M { M m = 1; \n",
	} {
		f.Add(s)
	}
	const b = "syntax = \"proto3\";\npackage b;\nmessage Req { string id = 1; }\n"
	f.Fuzz(func(t *testing.T, src string) {
		_, err := protoload.LoadSources(map[string]string{"a.proto": src, "b.proto": b})
		checkProblems(t, err)
	})
}

// FuzzLoadFolder: whatever the files of a folder import and declare
// (their names are chosen from those imports, see nameFolder), loading
// the folder does not panic, and what does not load is reported as
// problems that each name a file.
func FuzzLoadFolder(f *testing.F) {
	f.Add("syntax = \"proto3\";\npackage p.v1;\nimport \"p/v1/y.proto\";\nservice S { rpc M(Y) returns (Y); }\n",
		"syntax = \"proto3\";\npackage p.v1;\nmessage Y {}\n")
	f.Add("syntax = \"proto3\";\npackage q;\nimport \"v1/y.proto\";\nimport \"../y.proto\";\n",
		"syntax = \"proto3\";\npackage p.v1;\nimport public \"y.proto\";\nimport weak \"x.proto\";\n")
	f.Add("import \"/\";\nimport \"\";\nimport \"p//v1/./x.proto\";\n", "package ..;\nimport \"v1\";\n")
	f.Fuzz(func(t *testing.T, x, y string) {
		// A folder of each input's own, removed when the input is done:
		// a fuzzing worker is stopped without running f's cleanups.
		root := t.TempDir()
		folder := filepath.Join(root, "p", "v1")
		write(t, root, "p/v1/x.proto", x)
		write(t, root, "p/v1/y.proto", y)
		_, err := protoload.Load([]string{folder})
		checkProblems(t, err)
	})
}

// checkProblems fails t unless err is nil or config.Problems that each
// name a file and say something.
func checkProblems(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var probs config.Problems
	if !errors.As(err, &probs) || len(probs) == 0 {
		t.Fatalf("%v (%T), want problems", err, err)
	}
	for _, p := range probs {
		if p.File == "" || strings.TrimSpace(p.Msg) == "" {
			t.Errorf("a problem without its file or message: %+v", p)
		}
	}
}
