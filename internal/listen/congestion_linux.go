package listen

import (
	"net"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// setCongestion gives the socket c the congestion control that want asks
// for (see Options.Congestion), before it listens. Connections accepted
// from a listening socket whose algorithm was set with setsockopt keep
// that algorithm, so the kernel default's own set-up (BBR's pacing) never
// runs for them, at no cost per connection.
func setCongestion(c syscall.RawConn, want string) error {
	if want == "" || want == CongestionSystem {
		return nil
	}
	var serr error
	err := c.Control(func(fd uintptr) {
		if want != CongestionAuto {
			if e := unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, want); e != nil {
				serr = newCongestionError(want, e)
			}
			return
		}
		cur, e := unix.GetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION)
		if e != nil || !strings.HasPrefix(cur, "bbr") {
			return
		}
		// cubic may be neither built in nor allowed without root; reno
		// always is both. When neither can be set the default stays.
		for _, name := range []string{"cubic", "reno"} {
			if unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, name) == nil {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// CongestionOf is the TCP congestion control of ln's socket, the one the
// connections it accepts get ("" when it cannot be read).
func CongestionOf(ln net.Listener) string {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return ""
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return ""
	}
	var name string
	_ = rc.Control(func(fd uintptr) {
		name, _ = unix.GetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION)
	})
	return name
}

// newCongestionError is the kernel's refusal err of name, with its lists.
func newCongestionError(name string, err error) *CongestionError {
	read := func(f string) string {
		b, _ := os.ReadFile(f)
		return strings.TrimSpace(string(b))
	}
	return &CongestionError{Name: name, Err: err, Available: read(availableFile), Allowed: read(allowedFile)}
}
