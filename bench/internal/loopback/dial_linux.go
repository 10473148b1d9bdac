package loopback

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// noPortControl sets IP_BIND_ADDRESS_NO_PORT, best effort: without it the
// dial still works, as before.
func noPortControl(_, _ string, c syscall.RawConn) error {
	return c.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
}
