package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/decoy-dev/decoy/internal/stub"
)

func baseSources() []Source {
	return []Source{
		{Stub: withID("users", meth("GET", path("/users"))), Origin: "a.yaml:1"},
		{Stub: seqStub("flaky", stub.SequenceStick, 500, 503, 200), Origin: "a.yaml:5"},
		{Stub: seqStub("other-seq", stub.SequenceStick, 201, 202, 203), Origin: "a.yaml:9"},
	}
}

func fixSeqPaths(l []Source) []Source {
	// seqStub puts every sequence on /seq; give each its own path.
	for i := range l {
		if len(l[i].Stub.Responses) > 0 {
			l[i].Stub.Request.Path = "/" + l[i].Stub.ID
		}
	}
	return l
}

func newStore(t *testing.T) *Store {
	t.Helper()
	st, err := NewStore(fixSeqPaths(baseSources()))
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	return st
}

func ids(l []Source) string {
	var out []string
	for _, s := range l {
		out = append(out, s.Stub.ID)
	}
	return strings.Join(out, ",")
}

func statusFor(t *testing.T, st *Store, p string) int {
	t.Helper()
	s := st.Engine().Match(rq{path: p}.req())
	if s == nil {
		return 0
	}
	return s.Next().Status
}

func TestStoreNew(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	if st.Version() != 1 {
		t.Errorf("Version() = %d, want 1", st.Version())
	}
	if got := ids(st.List()); got != "users,flaky,other-seq" {
		t.Errorf("List() = %s", got)
	}
	if src, ok := st.Get("users"); !ok || src.Origin != "a.yaml:1" {
		t.Errorf("Get(users) = %+v, %v", src, ok)
	}
	if _, ok := st.Get("nope"); ok {
		t.Error("Get(nope) found something")
	}
	if st.Engine().Snapshot().Len() != 3 {
		t.Errorf("snapshot has %d stubs", st.Engine().Snapshot().Len())
	}
	// List returns a copy.
	l := st.List()
	l[0].Stub.ID = "changed"
	if got := ids(st.List()); got != "users,flaky,other-seq" {
		t.Errorf("List() after changing a copy = %s", got)
	}

	var errs Errors
	if _, err := NewStore([]Source{{Stub: withID("x", path("bad"))}}); !errors.As(err, &errs) || len(errs) != 1 {
		t.Errorf("NewStore(bad) = %v, want Errors", err)
	}
}

func TestStoreChanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		change  func(st *Store) error
		wantIDs string // List after the change
		probe   string // a path to try afterwards
		status  int    // what it answers (0: nothing)
	}{
		{"create", func(st *Store) error {
			src, err := st.Create(withID("new", stub.Stub{Request: stub.Request{Path: "/new"}, Response: status(201)}), "api")
			if err == nil && (src.Stub.ID != "new" || src.Origin != "api") {
				t.Errorf("Create returned %+v", src)
			}
			return err
		}, "users,flaky,other-seq,new", "/new", 201},
		{"create without id gets api-1", func(st *Store) error {
			src, err := st.Create(stub.Stub{Request: stub.Request{Path: "/new"}, Response: status(201)}, "api")
			if err == nil && src.Stub.ID != "api-1" {
				t.Errorf("ID = %q, want api-1", src.Stub.ID)
			}
			return err
		}, "users,flaky,other-seq,api-1", "/new", 201},
		{"create outranks by priority", func(st *Store) error {
			_, err := st.Create(stub.Stub{ID: "override", Priority: 1, Request: stub.Request{Path: "/users"}, Response: status(418)}, "api")
			return err
		}, "users,flaky,other-seq,override", "/users", 418},
		{"create with same rank comes after", func(st *Store) error {
			_, err := st.Create(stub.Stub{ID: "late", Request: stub.Request{Path: "/users"}, Response: status(418)}, "api")
			return err
		}, "users,flaky,other-seq,late", "/users", 200},
		{"replace", func(st *Store) error {
			src, err := st.Replace("users", stub.Stub{Request: stub.Request{Path: "/users"}, Response: status(202)}, "api")
			if err == nil && src.Stub.ID != "users" {
				t.Errorf("Replace kept ID %q", src.Stub.ID)
			}
			return err
		}, "users,flaky,other-seq", "/users", 202},
		{"replace with the same id", func(st *Store) error {
			_, err := st.Replace("users", stub.Stub{ID: "users", Request: stub.Request{Path: "/people"}, Response: status(202)}, "api")
			return err
		}, "users,flaky,other-seq", "/users", 0},
		{"delete", func(st *Store) error { return st.Delete("users") }, "flaky,other-seq", "/users", 0},
		{"delete middle", func(st *Store) error { return st.Delete("flaky") }, "users,other-seq", "/flaky", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := newStore(t)
			before := st.Engine().Snapshot()
			if err := tt.change(st); err != nil {
				t.Fatalf("change: %v", err)
			}
			if st.Engine().Snapshot() == before {
				t.Error("snapshot was not replaced")
			}
			if st.Version() != 2 {
				t.Errorf("Version() = %d, want 2", st.Version())
			}
			if got := ids(st.List()); got != tt.wantIDs {
				t.Errorf("List() = %s, want %s", got, tt.wantIDs)
			}
			if got := statusFor(t, st, tt.probe); got != tt.status {
				t.Errorf("%s answers %d, want %d", tt.probe, got, tt.status)
			}
			// The old snapshot is untouched: readers holding it see the old set.
			if before.Len() != 3 || before.Get("users") == nil {
				t.Error("the old snapshot changed")
			}
		})
	}
}

// A change that fails leaves everything as it was: same snapshot pointer,
// same list, same version.
func TestStoreInvalidChange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(st *Store) error
		field  string // field of the single error; "" when the error is ErrNotFound
	}{
		{"create invalid", func(st *Store) error {
			_, err := st.Create(stub.Stub{ID: "bad", Request: stub.Request{PathRegex: "("}, Response: ok200()}, "api")
			return err
		}, "request.pathRegex"},
		{"create duplicate id", func(st *Store) error {
			_, err := st.Create(withID("users", path("/x")), "api")
			return err
		}, "id"},
		{"create without response", func(st *Store) error {
			_, err := st.Create(stub.Stub{ID: "x", Request: stub.Request{Path: "/x"}}, "api")
			return err
		}, "response"},
		{"replace invalid", func(st *Store) error {
			_, err := st.Replace("users", stub.Stub{Request: stub.Request{Path: "users"}, Response: ok200()}, "api")
			return err
		}, "request.path"},
		{"replace with another id", func(st *Store) error {
			_, err := st.Replace("users", withID("flaky", path("/x")), "api")
			return err
		}, "id"},
		{"replace unknown", func(st *Store) error {
			_, err := st.Replace("nope", withID("", path("/x")), "api")
			return err
		}, ""},
		{"delete unknown", func(st *Store) error { return st.Delete("nope") }, ""},
		{"set base invalid", func(st *Store) error {
			return st.SetBase([]Source{{Stub: withID("a", path("/a"))}, {Stub: withID("a", path("/b"))}})
		}, "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := newStore(t)
			before := st.Engine().Snapshot()
			err := tt.change(st)
			if err == nil {
				t.Fatal("change succeeded")
			}
			if tt.field == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("err = %v, want ErrNotFound", err)
				}
			} else {
				var errs Errors
				if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Field != tt.field {
					t.Errorf("err = %#v, want one error on %s", err, tt.field)
				}
			}
			if st.Engine().Snapshot() != before {
				t.Error("the snapshot pointer changed")
			}
			if st.Version() != 1 {
				t.Errorf("Version() = %d, want 1", st.Version())
			}
			if got := ids(st.List()); got != "users,flaky,other-seq" {
				t.Errorf("List() = %s", got)
			}
		})
	}
}

func TestStoreCreateAutoIDSkipsUsed(t *testing.T) {
	t.Parallel()
	st, err := NewStore([]Source{{Stub: withID("api-1", path("/a"))}, {Stub: withID("api-3", path("/b"))}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 3 {
		src, err := st.Create(stub.Stub{Response: ok200()}, "api")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, src.Stub.ID)
	}
	if strings.Join(got, ",") != "api-2,api-4,api-5" {
		t.Errorf("auto IDs = %v, want api-2,api-4,api-5", got)
	}
	// A deleted auto ID is not given again.
	if err := st.Delete("api-5"); err != nil {
		t.Fatal(err)
	}
	if src, err := st.Create(stub.Stub{Response: ok200()}, "api"); err != nil || src.Stub.ID != "api-6" {
		t.Errorf("after delete: %q, %v; want api-6", src.Stub.ID, err)
	}
}

// A stub refused uses up no id: the ids given depend only on the changes
// accepted (the workers of --workers N see refused ones on one worker).
func TestStoreCreateRefusedUsesNoID(t *testing.T) {
	t.Parallel()
	bad := stub.Stub{Response: &stub.Response{Status: 99}}
	tests := []struct {
		name    string
		refused []stub.Stub
	}{
		{"none", nil},
		{"a bad status", []stub.Stub{bad}},
		{"two", []stub.Stub{bad, bad}},
		{"a bad regex", []stub.Stub{{Request: stub.Request{PathRegex: "("}, Response: ok200()}}},
		{"an id taken", []stub.Stub{withID("a", path("/x"))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, err := NewStore([]Source{{Stub: withID("a", path("/a"))}})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.refused {
				if _, err := st.Create(s, "api"); err == nil {
					t.Fatalf("%+v was accepted", s)
				}
			}
			var got []string
			for range 2 {
				src, err := st.Create(stub.Stub{Response: ok200()}, "api")
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, src.Stub.ID)
			}
			if strings.Join(got, ",") != "api-1,api-2" {
				t.Errorf("ids given after %d refused: %v, want api-1,api-2", len(tt.refused), got)
			}
		})
	}
}

// Sequences of stubs a change does not touch continue where they were; the
// touched stub starts again; Reset starts every sequence again.
func TestStoreSequenceCarry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(st *Store) error
		flaky  int // next status of /flaky after two calls and the change
		other  int // next status of /other-seq after one call and the change
	}{
		{"create", func(st *Store) error {
			_, err := st.Create(withID("x", path("/x")), "api")
			return err
		}, 200, 202},
		{"delete another", func(st *Store) error { return st.Delete("users") }, 200, 202},
		{"replace another", func(st *Store) error {
			_, err := st.Replace("users", withID("", path("/users")), "api")
			return err
		}, 200, 202},
		{"replace flaky restarts it", func(st *Store) error {
			s := seqStub("", "", 500, 503, 200)
			s.Request.Path = "/flaky"
			_, err := st.Replace("flaky", s, "api")
			return err
		}, 500, 202},
		{"replace flaky with another length", func(st *Store) error {
			s := seqStub("", "", 500, 200)
			s.Request.Path = "/flaky"
			_, err := st.Replace("flaky", s, "api")
			return err
		}, 500, 202},
		{"reset restarts all", func(st *Store) error { return st.Reset() }, 500, 201},
		{"set base restarts all", func(st *Store) error { return st.SetBase(fixSeqPaths(baseSources())) }, 500, 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := newStore(t)
			statusFor(t, st, "/flaky")
			statusFor(t, st, "/flaky")
			statusFor(t, st, "/other-seq")
			if err := tt.change(st); err != nil {
				t.Fatal(err)
			}
			if got := statusFor(t, st, "/flaky"); got != tt.flaky {
				t.Errorf("/flaky answers %d, want %d", got, tt.flaky)
			}
			if got := statusFor(t, st, "/other-seq"); got != tt.other {
				t.Errorf("/other-seq answers %d, want %d", got, tt.other)
			}
		})
	}
}

// Replace keeps the Dir of the stub it replaces, so a relative bodyFile
// still resolves next to the original stub file.
func TestStoreReplaceKeepsDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "b.txt"), []byte("from file"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := NewStore([]Source{{Stub: withID("f", path("/f")), Dir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Replace("f", stub.Stub{Request: stub.Request{Path: "/f"}, Response: &stub.Response{BodyFile: "b.txt"}}, "api")
	if err != nil {
		t.Fatalf("Replace: %v", err)
	}
	if s := st.Engine().Match(rq{path: "/f"}.req()); s == nil || string(s.Next().Body) != "from file" {
		t.Errorf("body after Replace is not the file")
	}
}

func TestStoreResetAndSetBase(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	if _, err := st.Create(withID("extra", path("/extra")), "api"); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete("users"); err != nil {
		t.Fatal(err)
	}
	if err := st.Reset(); err != nil {
		t.Fatal(err)
	}
	if got := ids(st.List()); got != "users,flaky,other-seq" {
		t.Errorf("after Reset List() = %s", got)
	}
	if st.Version() != 4 {
		t.Errorf("Version() = %d, want 4", st.Version())
	}
	if err := st.SetBase([]Source{{Stub: withID("only", path("/only"))}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Create(withID("extra", path("/extra")), "api"); err != nil {
		t.Fatal(err)
	}
	if err := st.Reset(); err != nil {
		t.Fatal(err)
	}
	if got := ids(st.List()); got != "only" {
		t.Errorf("after SetBase+Reset List() = %s, want only", got)
	}
}

// Changes and matching run at once without races (run with -race), and
// every change is counted.
func TestStoreConcurrent(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			r := rq{path: "/users"}.req()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if s := st.Engine().Match(r); s != nil {
					s.Next()
				}
				st.Engine().Snapshot().Explain(r, 3)
			}
		})
	}
	const writers, per = 4, 25
	var ww sync.WaitGroup
	for w := range writers {
		ww.Go(func() {
			for i := range per {
				src, err := st.Create(stub.Stub{Request: stub.Request{Path: "/w"}, Response: ok200()}, "api")
				if err != nil {
					t.Error(err)
					return
				}
				if i%2 == w%2 {
					if err := st.Delete(src.Stub.ID); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	ww.Wait()
	close(stop)
	wg.Wait()
	changes := uint64(0)
	for w := range writers {
		changes += per
		for i := range per {
			if i%2 == w%2 {
				changes++
			}
		}
	}
	if got := st.Version(); got != 1+changes {
		t.Errorf("Version() = %d, want %d", got, 1+changes)
	}
	if got := len(st.List()); got != 3+writers*per-int(changes-writers*per) {
		t.Errorf("List() has %d stubs", got)
	}
}

// A change to one stub must not fail because of another, unchanged stub:
// here the body file of a base stub was removed after it was loaded (its
// body is already in memory). Today every change recompiles every source,
// so every change re-reads every body file (and regenerates every
// generated body, up to 1 GiB each).
func TestStoreChangeDoesNotReloadUntouchedBodyFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "big.json")
	if err := os.WriteFile(file, []byte(`{"big":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := NewStore([]Source{{Stub: stub.Stub{ID: "f", Request: stub.Request{Path: "/f"}, Response: &stub.Response{BodyFile: "big.json"}}, Dir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Create(withID("new", path("/new")), "api"); err != nil {
		t.Errorf("Create of an unrelated stub failed: %v", err)
	}
	if s := st.Engine().Match(rq{path: "/f"}.req()); s == nil || string(s.Next().Body) != `{"big":true}` {
		t.Error("/f lost its body")
	}
}
