//go:build !linux

package listen

import (
	"net"
	"syscall"
)

// setCongestion: only Linux lets decoy choose the congestion control;
// auto and system leave the system's.
func setCongestion(_ syscall.RawConn, want string) error {
	if want == "" || want == CongestionSystem || want == CongestionAuto {
		return nil
	}
	return &CongestionError{Name: want, Err: errOnlyLinux}
}

// CongestionOf is "": only Linux tells.
func CongestionOf(net.Listener) string { return "" }
