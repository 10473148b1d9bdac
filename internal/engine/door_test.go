package engine

import (
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/stub"
)

// doorStubs: stubs for HTTP requests only, gRPC calls only and both, as
// the gRPC front door's Doors option sorts them (here by ID prefix).
func doorStubs() ([]Source, Option) {
	srcs := []Source{
		{Stub: stub.Stub{ID: "http-maint", Priority: 1, Request: stub.Request{Path: "*",
			Headers: map[string]stub.StringMatcher{"x-maint": {Present: true}}}, Response: status(503)}},
		{Stub: stub.Stub{ID: "http-connect", Request: stub.Request{Method: "POST", Path: "/pkg.S/M"}, Response: ok200()}},
		{Stub: stub.Stub{ID: "grpc-m", Request: stub.Request{Path: "/pkg.S/M"}, Response: ok200()}},
		{Stub: stub.Stub{ID: "any-prefix", Priority: 9, Request: stub.Request{PathPrefix: "/pkg.S/"}, Response: ok200()}},
	}
	door := WithDoor(func(s stub.Stub) Door {
		switch {
		case strings.HasPrefix(s.ID, "http-"):
			return DoorHTTP
		case strings.HasPrefix(s.ID, "grpc-"):
			return DoorGRPC
		}
		return DoorAny
	})
	return srcs, door
}

// TestDoors: a gRPC call is matched against the stubs that answer gRPC
// calls only, an HTTP request against those that answer HTTP, whatever
// their rank; a stub for both answers either.
func TestDoors(t *testing.T) {
	srcs, door := doorStubs()
	snap, errs := Compile(srcs, door)
	if errs != nil {
		t.Fatal(errs)
	}
	maint := map[string]string{"x-maint": "1"}
	for _, tt := range []struct {
		name string
		grpc bool
		r    rq
		want string
	}{
		{"a gRPC call passes the HTTP catch-all", true, rq{method: "POST", path: "/pkg.S/M", header: maint}, "grpc-m"},
		{"an HTTP request gets the catch-all", false, rq{method: "POST", path: "/pkg.S/M", header: maint}, "http-maint"},
		{"an HTTP request at a method's path gets the HTTP stub", false, rq{method: "POST", path: "/pkg.S/M"}, "http-connect"},
		{"a gRPC call at a method's path gets the gRPC stub", true, rq{method: "POST", path: "/pkg.S/M"}, "grpc-m"},
		{"a gRPC call of another method gets the stub for both", true, rq{method: "POST", path: "/pkg.S/N"}, "any-prefix"},
		{"an HTTP request passes the gRPC stub", false, rq{method: "GET", path: "/pkg.S/M"}, "any-prefix"},
		{"an HTTP request elsewhere", false, rq{method: "GET", path: "/other"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r.req()
			r.GRPC = tt.grpc
			got := ""
			if st := snap.Match(r); st != nil {
				got = st.ID
			}
			if got != tt.want {
				t.Errorf("matched %q, want %q", got, tt.want)
			}
		})
	}
}

// TestDoorsExplained: the no-match report says when a stub answers the
// other front door's requests only.
func TestDoorsExplained(t *testing.T) {
	srcs, door := doorStubs()
	for _, tt := range []struct {
		name string
		keep string // the one stub compiled
		grpc bool
		want string
	}{
		{"an HTTP request at a gRPC stub", "grpc-m", false, "it answers gRPC calls only"},
		{"a gRPC call at an HTTP stub", "http-connect", true, "it answers HTTP requests only"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var one []Source
			for _, s := range srcs {
				if s.Stub.ID == tt.keep {
					one = append(one, s)
				}
			}
			snap, errs := Compile(one, door)
			if errs != nil {
				t.Fatal(errs)
			}
			r := rq{method: "POST", path: "/pkg.S/M"}.req()
			r.GRPC = tt.grpc
			if st := snap.Match(r); st != nil {
				t.Fatalf("%s matched", st.ID)
			}
			misses := snap.Explain(r, 3)
			if len(misses) != 1 || len(misses[0].Reasons) != 1 || !strings.Contains(misses[0].Reasons[0], tt.want) {
				t.Fatalf("misses %+v, want one reason saying %q", misses, tt.want)
			}
		})
	}
}
