package httpfront

import (
	"testing"

	"github.com/decoy-dev/decoy/internal/engine"
)

// lean-idle reaches fasthttp, for both HTTP/1.1 servers, and only when set.
func TestLeanIdle(t *testing.T) {
	store, err := engine.NewStore(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, lean := range []bool{false, true} {
		s := New(Options{Engine: store.Engine(), LeanIdle: lean})
		if s.fast.ReduceMemoryUsage != lean || s.fastStream.ReduceMemoryUsage != lean {
			t.Errorf("LeanIdle %v: fasthttp ReduceMemoryUsage %v, %v", lean, s.fast.ReduceMemoryUsage, s.fastStream.ReduceMemoryUsage)
		}
	}
}
