//go:build linux

package httpfront

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/h1loop"
	"golang.org/x/sys/unix"
)

// TestLowatWrites: a connection written more than h1loop.NotSentFirst gets
// TCP_NOTSENT_LOWAT, after which a client that does not read holds about
// that much in decoy's socket, and a write to it ends at its deadline; a
// client that reads gets every byte and the limit raised to NotSentMost;
// small writes leave the default.
func TestLowatWrites(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	pair := func(rcvbuf int) (client net.Conn, server *conn, fd int) {
		d := net.Dialer{}
		if rcvbuf > 0 {
			d.Control = func(_, _ string, rc syscall.RawConn) error {
				return rc.Control(func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf) })
			}
		}
		cl, err := d.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		sv := <-accepted
		t.Cleanup(func() { sv.Close() })
		rc, err := sv.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		_ = rc.Control(func(f uintptr) { fd = int(f) })
		return cl, &conn{Conn: sv}, fd
	}
	lowat := func(fd int) int {
		v, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	// Small writes, even many: the default.
	reader, sv, fd := pair(0)
	go func() { _, _ = io.Copy(io.Discard, reader) }()
	for range 100 {
		if _, err := sv.Write(make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if v := lowat(fd); v == h1loop.NotSentFirst || v == h1loop.NotSentMost {
		t.Errorf("TCP_NOTSENT_LOWAT set after 100 KB of writes")
	}

	// A large body to a client that reads: all of it, in order.
	body := make([]byte, 3*h1loop.NotSentMost+12345)
	for i := range body {
		body[i] = byte(i % 251)
	}
	cl, sv, fd := pair(0)
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(cl, int64(len(body))))
		got <- b
	}()
	if n, err := sv.Write(body); n != len(body) || err != nil {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(body))
	}
	if b := <-got; !bytes.Equal(b, body) {
		t.Errorf("the client read %d bytes, not what was written", len(b))
	}
	if v := lowat(fd); v != h1loop.NotSentMost {
		t.Errorf("TCP_NOTSENT_LOWAT %d after a large write, want %d", v, h1loop.NotSentMost)
	}

	// A client that does not read: the write ends at its deadline, with
	// about NotSentMost in the socket rather than megabytes.
	_, sv, fd = pair(4096)
	_ = sv.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	n, err := sv.Write(make([]byte, 64<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Write to a client that does not read: %v, want a timeout", err)
	}
	unsent, err2 := unix.IoctlGetInt(fd, unix.SIOCOUTQNSD)
	if err2 != nil {
		t.Fatal(err2)
	}
	if v := lowat(fd); v != h1loop.NotSentFirst {
		t.Errorf("TCP_NOTSENT_LOWAT %d for a client that does not read, want %d", v, h1loop.NotSentFirst)
	}
	if most := h1loop.NotSentFirst + 256<<10; n > most+64<<10 || unsent > most {
		t.Errorf("wrote %d bytes, %d unsent, to a client that does not read; want at most about %d", n, unsent, most)
	}
}
