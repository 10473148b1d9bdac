package listen

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// The tcp-congestion keywords; any other value names an algorithm.
const (
	// CongestionAuto replaces a BBR default with cubic (or reno) and
	// leaves any other default alone: BBR paces every send on the
	// kernel's timers when the interface has no fq qdisc (loopback has
	// none), which caps a download at its own estimate of the path.
	CongestionAuto = "auto"
	// CongestionSystem leaves the kernel's default.
	CongestionSystem = "system"
)

// congestionNameMax is the kernel's TCP_CA_NAME_MAX, which counts the
// terminating NUL.
const congestionNameMax = 16

// ParseCongestion reads a tcp-congestion value: auto, system (either in
// any case), or the name of a congestion control algorithm, which is
// checked for its shape only (the kernel says whether it has it when a
// socket asks for it).
func ParseCongestion(s string) (string, error) {
	s = strings.TrimSpace(s)
	if k := strings.ToLower(s); k == CongestionAuto || k == CongestionSystem {
		return k, nil
	}
	if s == "" {
		return "", errors.New(`"": want auto, system, or the name of a TCP congestion control algorithm such as cubic or reno (see /proc/sys/net/ipv4/tcp_available_congestion_control)`)
	}
	if len(s) >= congestionNameMax {
		return "", fmt.Errorf("%q is not a TCP congestion control algorithm: the kernel's names are at most %d bytes (cubic, reno, bbr, ...)", s, congestionNameMax-1)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return "", fmt.Errorf("%q is not a TCP congestion control algorithm: a name has no spaces, control characters or non-ASCII letters (cubic, reno, bbr, ...)", s)
		}
	}
	return s, nil
}

// CongestionError is a congestion control algorithm the kernel refused
// for a listening socket.
type CongestionError struct {
	Name string
	Err  error // ENOENT: not available; EPERM: not allowed without CAP_NET_ADMIN
	// Available and Allowed are the kernel's lists (from /proc), "" when
	// unknown.
	Available, Allowed string
}

// The kernel's lists of algorithms.
const (
	availableFile = "/proc/sys/net/ipv4/tcp_available_congestion_control"
	allowedFile   = "/proc/sys/net/ipv4/tcp_allowed_congestion_control"
)

// errOnlyLinux is the error of an algorithm named on another system.
var errOnlyLinux = errors.New("choosing the TCP congestion control works only on Linux")

func (e *CongestionError) Error() string {
	list := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	const other = "or use tcp-congestion auto (the default: cubic, or reno, in place of BBR) or system (the kernel's default)"
	switch {
	case errors.Is(e.Err, errOnlyLinux):
		return fmt.Sprintf("tcp-congestion %q: %v: use tcp-congestion auto or system (both leave the system's)", e.Name, e.Err)
	case errors.Is(e.Err, syscall.ENOENT):
		return fmt.Sprintf("tcp-congestion %q: the kernel has no such algorithm (available: %s, in %s): load its module with `sudo modprobe tcp_%s`, choose one of those, %s",
			e.Name, list(e.Available), availableFile, e.Name, other)
	case errors.Is(e.Err, syscall.EPERM):
		return fmt.Sprintf("tcp-congestion %q: only root (CAP_NET_ADMIN) may use it; without root the kernel allows %s (%s): choose one of those, run decoy as root, add it to that list with `sudo sysctl -w net.ipv4.tcp_allowed_congestion_control=\"%s\"`, %s",
			e.Name, list(e.Allowed), allowedFile, strings.TrimSpace(e.Allowed+" "+e.Name), other)
	}
	return fmt.Sprintf("tcp-congestion %q: the kernel refused it: %v (available: %s; allowed without root: %s): choose another, %s",
		e.Name, e.Err, list(e.Available), list(e.Allowed), other)
}

func (e *CongestionError) Unwrap() error { return e.Err }
