//go:build unix

package listen

import (
	"net"
	"syscall"
	"testing"
)

// TestOpenNoKeepAlive: connections accepted on a listener from Open,
// shared or not, have no TCP keep-alive probes (SO_KEEPALIVE off), so
// accepting one makes no setsockopt calls for them.
func TestOpenNoKeepAlive(t *testing.T) {
	for _, shared := range []bool{false, true} {
		ln, err := Open("127.0.0.1:0", shared)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		a, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		rc, err := a.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var on int
		var serr error
		if err := rc.Control(func(fd uintptr) {
			on, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
		}); err != nil || serr != nil {
			t.Fatal(err, serr)
		}
		if on != 0 {
			t.Errorf("shared=%v: SO_KEEPALIVE = %d on an accepted connection, want 0", shared, on)
		}
	}
}
