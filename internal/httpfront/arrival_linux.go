package httpfront

import (
	"io"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"

	"github.com/decoy-dev/decoy/internal/h1loop"
	"golang.org/x/sys/unix"
)

// arrivals reads a connection with recvmsg(2) and SO_TIMESTAMPNS, so that
// each read also tells when its bytes reached the machine. A delay then
// counts from the request's arrival rather than from the moment decoy got
// round to reading it: when many delayed answers fall due at once, the
// requests that arrive meanwhile wait unread until decoy has written them,
// and without the timestamp their delays would start late, together, and
// end late, together, round after round.
type arrivals struct {
	raw  syscall.RawConn
	read func(fd uintptr) bool // recvmsg into p and oob; made once

	p    []byte
	oob  [64]byte
	iov  unix.Iovec
	msg  unix.Msghdr
	n    int
	oobn int
	err  error

	// last is when the bytes of the latest read arrived (time since
	// epoch), 0 when the kernel gave no timestamp.
	last time.Duration
}

// enableArrivals turns on arrival timestamps for c's later reads. It does
// nothing when the connection is not a socket or the kernel refuses.
func (c *conn) enableArrivals() {
	if c.arr != nil || c.arrOff || unsafe.Sizeof(uintptr(0)) != 8 {
		return
	}
	c.arrOff = true // tried once, whatever happens
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return
	}
	a := &arrivals{raw: raw}
	a.read = func(fd uintptr) bool {
		// recvmsg by hand: unix.Recvmsg allocates on every call. The
		// message header lives in a, which the heap already holds.
		if len(a.p) > 0 {
			a.iov.Base = &a.p[0]
		} else {
			a.iov.Base = nil
		}
		a.iov.SetLen(len(a.p))
		a.msg = unix.Msghdr{Iov: &a.iov, Iovlen: 1, Control: &a.oob[0]}
		a.msg.SetControllen(len(a.oob))
		n, _, errno := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&a.msg)), 0)
		if errno == unix.EAGAIN {
			return false
		}
		a.n, a.oobn, a.err = int(n), int(a.msg.Controllen), nil
		if errno != 0 {
			a.n, a.oobn, a.err = 0, 0, errno
		}
		return true
	}
	c.arr = a
}

// readArrival reads into p through recvmsg and notes the bytes' arrival.
func (c *conn) readArrival(p []byte) (int, error) {
	a := c.arr
	a.p = p
	err := a.raw.Read(a.read)
	a.p = nil
	a.iov.Base = nil
	if err == nil {
		err = a.err
		if err != nil {
			err = &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("recvmsg", err)}
		}
	}
	n := a.n
	a.n, a.err = 0, nil
	if err != nil {
		return 0, err
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	if sec, nsec, ok := h1loop.TimestampNS(a.oob[:a.oobn]); ok {
		a.last = arrivedAt(time.Now(), sec, nsec)
	} else {
		a.last = 0
	}
	return n, nil
}

// arrivedAt converts a kernel timestamp (wall clock) into time since
// epoch on the monotonic clock, given now. A timestamp from the future or
// from long ago (the wall clock was set meanwhile) gives 0: unknown.
func arrivedAt(now time.Time, sec, nsec int64) time.Duration {
	age := now.Sub(time.Unix(sec, nsec)) // both wall clock: time.Unix has no monotonic reading
	if age < 0 || age > time.Minute {
		return 0
	}
	return now.Sub(epoch) - age
}
