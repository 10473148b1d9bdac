//go:build unix

package listen_test

import (
	"net"
	"testing"

	"github.com/decoy-dev/decoy/internal/listen"
)

func TestOpenShared(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		first      bool // the first socket is shared
		second     bool // the second socket is shared
		wantSecond bool // the second listen succeeds
	}{
		{"both shared", true, true, true},
		{"first not shared", false, true, false},
		{"second not shared", true, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := listen.Open("127.0.0.1:0", tc.first)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := listen.Open(a.Addr().String(), tc.second)
			if err == nil {
				defer b.Close()
			}
			if (err == nil) != tc.wantSecond {
				t.Fatalf("second listen on %s: err %v, want success %v", a.Addr(), err, tc.wantSecond)
			}
		})
	}
}

// A shared listener paused and resumed listens again with SO_REUSEPORT,
// beside another process's (here: another socket's) listener on the port.
func TestSharedResume(t *testing.T) {
	t.Parallel()
	other, err := listen.Open("127.0.0.1:0", true)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ln, err := listen.Open(other.Addr().String(), true)
	if err != nil {
		t.Fatal(err)
	}
	l := listen.NewWith("http", ln, listen.Options{Shared: true})
	serve(t, l)
	if err := l.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := l.Resume(); err != nil {
		t.Fatalf("resume beside another listener on %s: %v", other.Addr(), err)
	}
	// Connections now reach either socket; ours answers HTTP.
	for range 20 {
		c, err := net.Dial("tcp", other.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
	}
}
