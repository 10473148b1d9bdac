package h1loop

import (
	"encoding/binary"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Arrival timestamps: a connection whose answers are held for a delay is
// read with recvmsg(2) and SO_TIMESTAMPNS, so that each request tells when
// it reached the machine (Request.ArrivedAt) and its delay can count from
// then. When many held answers come due at once, the requests that arrive
// meanwhile wait unread until the loop has written them; counted from the
// read, their delays would start late, together, and end late, together.

// StampArrivals has the loop read c with arrival timestamps from its next
// read on (see Request.ArrivedAt). It does nothing when the kernel
// refuses. Only the Handler may call it.
func (c *Conn) StampArrivals() {
	if c.stampTried {
		return
	}
	c.stampTried = true
	one := int32(1)
	_, _, e := syscall.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(c.fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS,
		uintptr(unsafe.Pointer(&one)), unsafe.Sizeof(one), 0)
	c.stamps = e == 0
}

// stampOOB is room for the control message of one timestamp.
const stampOOB = 64

// recvStamped reads from the socket fd into b as recv does, and returns
// when the bytes read arrived (as Now; 0 when the kernel says nothing).
func recvStamped(fd int, b []byte, oob *[stampOOB]byte) (uintptr, syscall.Errno, int64) {
	iov := unix.Iovec{Base: &b[0]}
	iov.SetLen(len(b))
	msg := unix.Msghdr{Iov: &iov, Iovlen: 1, Control: &oob[0]}
	msg.SetControllen(stampOOB)
	n, _, e := syscall.RawSyscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), 0)
	if e != 0 || n == 0 {
		return n, e, 0
	}
	sec, nsec, ok := TimestampNS(oob[:msg.Controllen])
	if !ok {
		// None yet: the kernel turns timestamping on a little after
		// the first socket asks for it.
		return n, 0, 0
	}
	return n, 0, arrivedAt(time.Now(), sec, nsec)
}

// TimestampNS finds the SCM_TIMESTAMPNS control message in oob, the
// control messages of a recvmsg(2), and returns its time (wall clock).
func TimestampNS(oob []byte) (sec, nsec int64, ok bool) {
	const hdr = int(unsafe.Sizeof(unix.Cmsghdr{}))
	for len(oob) >= hdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdr || l > len(oob) {
			return 0, 0, false
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SO_TIMESTAMPNS && l >= hdr+16 {
			d := oob[hdr:l]
			return int64(binary.NativeEndian.Uint64(d)), int64(binary.NativeEndian.Uint64(d[8:])), true
		}
		// Control messages are aligned to the size of a word.
		l = (l + 7) &^ 7
		if l >= len(oob) {
			break
		}
		oob = oob[l:]
	}
	return 0, 0, false
}

// arrivedAt converts a kernel timestamp (wall clock) into the loop's clock
// (Now), given now. A timestamp from the future or from long ago (the wall
// clock was set meanwhile) gives 0: unknown.
func arrivedAt(now time.Time, sec, nsec int64) int64 {
	age := now.Sub(time.Unix(sec, nsec)) // both wall clock: time.Unix has no monotonic reading
	if age < 0 || age > time.Minute {
		return 0
	}
	return max(int64(now.Sub(epoch)-age), 1)
}
