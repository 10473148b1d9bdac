package demo_test

import (
	"testing"

	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/demo"
	"github.com/decoy-dev/decoy/internal/grpcfront"
)

// TestGRPCDemoIsValid compiles the demo's .proto file and checks its stubs
// against it, as decoy does at start.
func TestGRPCDemoIsValid(t *testing.T) {
	t.Parallel()
	set, err := demo.Protos()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(set.Services()); n != 1 {
		t.Fatalf("%d services", n)
	}
	l, _, err := config.BuildBytes(demo.GRPCName, demo.GRPCYAML())
	if err != nil {
		t.Fatal(err)
	}
	if errs := grpcfront.Check(set, l.Sources); errs != nil {
		t.Fatal(l.Locate(errs))
	}
	for _, s := range l.Sources {
		if !grpcfront.IsGRPC(set, s.Stub) {
			t.Errorf("stub %s is not a gRPC stub", s.Stub.ID)
		}
	}
}
