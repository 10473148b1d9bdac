package grpcfront_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/external"
	"github.com/decoy-dev/decoy/internal/protoload"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/dynamicpb"
)

// googleProtos is the npm package of googleapis' .proto files (Google
// Cloud, Pub/Sub, Spanner, Firestore, Maps, Ads, ...; grafeas): some
// 6,000 files of real services, with their long-running operations,
// resource names, field behaviours, oneofs, maps, Any and Struct fields.
const googleProtos = "google-proto-files@6.0.1"

var serviceRe = regexp.MustCompile(`(?m)^\s*service\s+\w+`)

// TestGoogleAPIsCorpus serves the services of googleapis, folder by
// folder (every 7th of the ~490 folders that define one, each given to
// decoy as a user would give it: the service's own folder), with answers
// generated from the types alone, and calls every method with an empty
// request. Each folder must load with its files named as their importers
// name them (google/pubsub/v1/schema.proto, whichever folder is given),
// every call must end OK with its messages, and each message must convert
// to JSON as a client such as grpcurl shows it.
func TestGoogleAPIsCorpus(t *testing.T) {
	t.Parallel()
	root := external.NPMPackage(t, googleProtos)
	var folders []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if rel == filepath.Join("google", "protobuf") || rel == "node_modules" || rel == "build" {
				return filepath.SkipDir // protobuf's own tests, not services
			}
			return nil
		}
		if !strings.HasSuffix(p, ".proto") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if dir := filepath.Dir(p); serviceRe.Match(b) && !slices.Contains(folders, dir) {
			folders = append(folders, dir)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(folders) < 300 {
		t.Fatalf("%d folders with services in %s, want hundreds", len(folders), googleProtos)
	}
	slices.Sort(folders)
	calls, served := 0, 0
	for i := 0; i < len(folders); i += 7 {
		served++
		dir := folders[i]
		rel, _ := filepath.Rel(root, dir)
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			set, err := protoload.Load([]string{dir})
			if err != nil {
				t.Fatal(err)
			}
			own, _ := filepath.Glob(filepath.Join(dir, "*.proto"))
			for _, p := range own {
				name, _ := filepath.Rel(root, p)
				if _, err := set.Files().FindFileByPath(filepath.ToSlash(name)); err != nil {
					t.Errorf("%s is not loaded under its import name: %v", name, err)
				}
			}
			s := start(t, "", opts{set: set})
			for _, path := range set.Methods() {
				calls++
				callEmpty(t, s, set, path)
			}
		})
	}
	t.Logf("%d calls to the services of %d folders", calls, served)
}

// callEmpty calls the method path with one empty request and checks that
// it ends OK, with at least one answer unless it is a stream, each of
// which converts to JSON.
func callEmpty(t *testing.T, s *server, set *protoload.Set, path string) {
	t.Helper()
	md := set.Method(path)
	desc := &grpc.StreamDesc{ServerStreams: md.IsStreamingServer(), ClientStreams: md.IsStreamingClient()}
	st, err := s.conn.NewStream(ctx(t), desc, path)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if err := st.SendMsg(dynamicpb.NewMessage(md.Input())); err != nil && !errors.Is(err, io.EOF) {
		t.Errorf("%s: send: %v", path, err)
	}
	if err := st.CloseSend(); err != nil {
		t.Errorf("%s: close: %v", path, err)
	}
	got := 0
	for {
		out := dynamicpb.NewMessage(md.Output())
		err := st.RecvMsg(out)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return
		}
		got++
		if _, err := (protojson.MarshalOptions{Resolver: set.Types()}).Marshal(out); err != nil {
			t.Errorf("%s: answer %d as JSON: %v", path, got, err)
		}
		if !desc.ServerStreams {
			if err := st.RecvMsg(dynamicpb.NewMessage(md.Output())); !errors.Is(err, io.EOF) {
				t.Errorf("%s: after the answer: %v, want the end", path, err)
			}
			break
		}
	}
	if got == 0 && !desc.ServerStreams {
		t.Errorf("%s: no answer", path)
	}
}
