package h1loop

import (
	"net"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// socketPair is a connected loopback TCP pair as raw descriptors
// (duplicates, closed with the test).
func socketPair(b *testing.B) (client, server int) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	fd := func(conn net.Conn) int {
		f, err := conn.(*net.TCPConn).File() // a blocking duplicate
		if err != nil {
			b.Fatal(err)
		}
		_ = conn.Close()
		b.Cleanup(func() { _ = f.Close() })
		return int(f.Fd())
	}
	return fd(c), fd(s)
}

// BenchmarkSocketCalls: a 300-byte request written and read on loopback,
// with read(2)/write(2) and with the loop's recvfrom(2)/sendto(2).
func BenchmarkSocketCalls(b *testing.B) {
	msg, buf := make([]byte, 300), make([]byte, readQuantum)
	b.Run("write-read", func(b *testing.B) {
		c, s := socketPair(b)
		for b.Loop() {
			_, _, _ = syscall.RawSyscall(unix.SYS_WRITE, uintptr(c), uintptr(unsafe.Pointer(&msg[0])), uintptr(len(msg)))
			_, _, _ = syscall.RawSyscall(unix.SYS_READ, uintptr(s), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		}
	})
	b.Run("sendto-recvfrom", func(b *testing.B) {
		c, s := socketPair(b)
		for b.Loop() {
			_, _ = Send(c, msg)
			_, _ = Recv(s, buf)
		}
	})
}

// BenchmarkAcceptNone: an accept on a listening socket with no connection
// waiting (EAGAIN), which the loop no longer makes at the end of a turn.
func BenchmarkAcceptNone(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	_ = rc.Control(func(fd uintptr) {
		var sa unix.RawSockaddrAny
		for b.Loop() {
			size := uint32(unix.SizeofSockaddrAny)
			_, _, e := syscall.RawSyscall6(unix.SYS_ACCEPT4, fd, uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&size)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
			if e != unix.EAGAIN {
				b.Fatalf("accept: %v, want EAGAIN", e)
			}
		}
	})
}
