package h1loop

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// NotSentMost is the most a connection's socket holds that the client's
// window has no room for, once decoy has written more than that to it:
// TCP_NOTSENT_LOWAT (see Written), which also makes a write stop copying there and the
// socket say it is writable only below it. Without it a socket takes
// megabytes (net.ipv4.tcp_wmem) from a client that does not read: copied
// in one system call on decoy's CPU (6-10 ms for a 4 MiB body, while every
// other connection on that CPU waited) and held in kernel memory for as
// long as the client keeps the connection. Downloads read at once are as
// fast with it (bench/payload.sh; 128 KiB made a 100 MB download 1.6 times
// slower on loopback). Connections given less, all those answered small
// bodies one at a time, never pay for the system call.
const NotSentMost = 1 << 20

// SetNotSentLowat sets TCP_NOTSENT_LOWAT to NotSentMost on the socket fd,
// best effort (one that refuses it keeps the kernel's default).
func SetNotSentLowat(fd int) {
	v := int32(NotSentMost)
	_, _, _ = syscall.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT,
		uintptr(unsafe.Pointer(&v)), 4, 0)
}

// Written counts the bytes written to a connection until they pass
// NotSentMost, and tells when they do.
type Written int

// Add counts n more bytes and reports whether they made the count pass
// NotSentMost, once in the connection's life: the time to set
// TCP_NOTSENT_LOWAT.
func (w *Written) Add(n int) bool {
	if *w > NotSentMost {
		return false
	}
	*w += Written(n)
	return *w > NotSentMost
}
