package h1loop

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// NotSentFirst is the most a connection's socket holds that the client's
// window has no room for, once decoy has written more than that to it:
// TCP_NOTSENT_LOWAT (see Written), which also makes a write stop copying
// there and the socket say it is writable only below it. Without it a
// socket takes megabytes (net.ipv4.tcp_wmem) from a client that does not
// read: copied in one system call on decoy's CPU (6-10 ms for a 4 MiB
// body, while every other connection on that CPU waited) and held in
// kernel memory for as long as the client keeps the connection. Kept
// low, so that 90 clients that stop reading make decoy copy about 35 MiB
// into the kernel rather than 90: on a virtual machine whose memory the
// host had taken back, 1 MiB each stalled decoy's CPU long enough to
// raise other clients' p99 ninefold (bench/held-conns.sh with
// ABUSE_KINDS=no-read). Connections given less, all those answered small
// bodies one at a time, never pay for the system call.
const NotSentFirst = 256 << 10

// NotSentMost is the limit once the socket has taken more than
// ReaderAfter: a client that reads nothing cannot take that much (its
// receive window plus NotSentFirst), so this one reads, and a download
// read at once goes as fast as without a limit (bench/payload.sh; 256 KiB
// throughout made a 100 MB download 1.6 times slower on loopback).
const NotSentMost = 1 << 20

// ReaderAfter is how much a connection's socket has taken when the limit
// rises to NotSentMost.
const ReaderAfter = 2 << 20

// SetNotSentLowat sets TCP_NOTSENT_LOWAT to v on the socket fd, best
// effort (one that refuses it keeps what it had).
func SetNotSentLowat(fd, v int) {
	x := int32(v)
	_, _, _ = syscall.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT,
		uintptr(unsafe.Pointer(&x)), 4, 0)
}

// Written counts the bytes written to a connection, asked and taken by
// its socket, until they pass NotSentFirst and ReaderAfter, and tells
// when the socket's limit is to be set.
type Written struct {
	asked, took int
}

// Ask counts n more bytes about to be written and returns NotSentFirst
// when they make the count pass it, once in the connection's life (the
// time to set TCP_NOTSENT_LOWAT), else 0.
func (w *Written) Ask(n int) int { return pass(&w.asked, n, NotSentFirst, NotSentFirst) }

// Took counts n more bytes the socket took and returns NotSentMost when
// they make the count pass ReaderAfter, once in the connection's life,
// else 0.
func (w *Written) Took(n int) int { return pass(&w.took, n, ReaderAfter, NotSentMost) }

// pass adds n to *count, until it is past limit, and returns v when this
// addition took it past, else 0.
func pass(count *int, n, limit, v int) int {
	if *count > limit {
		return 0
	}
	*count += n
	if *count > limit {
		return v
	}
	return 0
}
