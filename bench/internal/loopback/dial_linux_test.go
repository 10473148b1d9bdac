package loopback

import (
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestDialerLeavesThePortToConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := Dialer(5*time.Second, net.IPv4(127, 0, 0, 2)).Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ip := c.LocalAddr().(*net.TCPAddr).IP; !ip.Equal(net.IPv4(127, 0, 0, 2)) {
		t.Fatalf("connected from %v, want 127.0.0.2", ip)
	}
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var noPort, keepAlive int
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		noPort, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT)
		if gerr == nil {
			keepAlive, gerr = unix.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	if noPort != 1 || keepAlive != 0 {
		t.Fatalf("IP_BIND_ADDRESS_NO_PORT %d, SO_KEEPALIVE %d; want 1 and 0", noPort, keepAlive)
	}
}
