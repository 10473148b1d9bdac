package listen_test

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/listen"
)

func TestRetryable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&os.SyscallError{Syscall: "accept4", Err: syscall.EMFILE}, true},
		{fmt.Errorf("accept: %w", syscall.ENFILE), true},
		{os.ErrDeadlineExceeded, true},
		{errors.New("use of closed network connection"), false},
		{syscall.EBADF, false},
	} {
		if got := listen.Retryable(tc.err); got != tc.want {
			t.Errorf("Retryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestNextBackoff(t *testing.T) {
	t.Parallel()
	var d time.Duration
	var got []time.Duration
	for range 9 {
		d = listen.NextBackoff(d)
		got = append(got, d)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 64, 64}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("waits %v, want 1 ms doubling to 64 ms", got)
		}
	}
}
