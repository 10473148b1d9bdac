package listen

import (
	"errors"
	"strings"
	"syscall"
	"testing"
)

// The refusal says what is there and what to do.
func TestCongestionErrorWording(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *CongestionError
		want []string
	}{
		{"not available", &CongestionError{Name: "vegas", Err: syscall.ENOENT, Available: "reno bbr cubic", Allowed: "reno bbr"},
			[]string{`tcp-congestion "vegas"`, "available: reno bbr cubic", availableFile, "sudo modprobe tcp_vegas", "auto"}},
		{"not allowed", &CongestionError{Name: "cubic", Err: syscall.EPERM, Available: "reno bbr cubic", Allowed: "reno bbr"},
			[]string{`tcp-congestion "cubic"`, "only root (CAP_NET_ADMIN)", "allows reno bbr", allowedFile, `tcp_allowed_congestion_control="reno bbr cubic"`, "as root", "auto"}},
		{"lists unknown", &CongestionError{Name: "cubic", Err: syscall.EPERM},
			[]string{"allows unknown", `tcp_allowed_congestion_control="cubic"`}},
		{"other refusal", &CongestionError{Name: "bbr", Err: syscall.EBUSY, Available: "reno bbr", Allowed: "reno"},
			[]string{`tcp-congestion "bbr"`, "refused", "available: reno bbr", "allowed without root: reno", "auto"}},
		{"not Linux", &CongestionError{Name: "cubic", Err: errOnlyLinux},
			[]string{`tcp-congestion "cubic"`, "only on Linux", "auto or system"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg := tt.err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
			if !errors.Is(tt.err, tt.err.Err) {
				t.Error("the kernel's error is not wrapped")
			}
		})
	}
}
