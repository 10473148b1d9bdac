package cli

import (
	"runtime"
	"testing"
)

// TestEnsureProcs runs alone (not parallel): it changes GOMAXPROCS, which
// workerCount reads.
func TestEnsureProcs(t *testing.T) {
	was := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(was) })
	tests := []struct {
		name   string
		start  int
		envVal string
		want   int
	}{
		{"one CPU: raised", 1, "", 2},
		{"one CPU, GOMAXPROCS set: kept", 1, "1", 1},
		{"two CPUs: kept", 2, "", 2},
		{"four CPUs: kept", 4, "", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runtime.GOMAXPROCS(tt.start)
			getenv := func(k string) string {
				if k == "GOMAXPROCS" {
					return tt.envVal
				}
				return ""
			}
			if got := ensureProcs(getenv); got != tt.want {
				t.Errorf("ensureProcs = %d, want %d", got, tt.want)
			}
			if got := runtime.GOMAXPROCS(0); got != tt.want {
				t.Errorf("GOMAXPROCS = %d after ensureProcs, want %d", got, tt.want)
			}
		})
	}
}
