//go:build unix

package listen_test

import (
	"net"
	"syscall"
	"testing"

	"github.com/decoy-dev/decoy/internal/listen"
)

// onAccepted connects to ln and calls f with the socket of the connection
// ln accepts, to read its options.
func onAccepted(t *testing.T, ln net.Listener, f func(fd int)) {
	t.Helper()
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
	if err := rc.Control(func(fd uintptr) { f(int(fd)) }); err != nil {
		t.Fatal(err)
	}
}

// TestOpenNoKeepAlive: connections accepted on a listener from Open,
// shared or not, have no TCP keep-alive probes (SO_KEEPALIVE off), so
// accepting one makes no setsockopt calls for them.
func TestOpenNoKeepAlive(t *testing.T) {
	for _, shared := range []bool{false, true} {
		ln, err := listen.Open("127.0.0.1:0", shared)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		var on int
		var serr error
		onAccepted(t, ln, func(fd int) { on, serr = syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE) })
		if serr != nil {
			t.Fatal(serr)
		}
		if on != 0 {
			t.Errorf("shared=%v: SO_KEEPALIVE = %d on an accepted connection, want 0", shared, on)
		}
	}
}
