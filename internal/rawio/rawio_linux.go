package rawio

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"github.com/decoy-dev/decoy/internal/h1loop"
	"golang.org/x/sys/unix"
)

// IO reads and writes a TCP connection's socket with the loops'
// recvfrom(2) and sendto(2), made directly (h1loop.Recv, h1loop.Send),
// waiting in Go's poller through the connection's syscall.RawConn when the
// socket is not ready: what net.TCPConn does, without the runtime's
// system-call entry around each call. The sockets are non-blocking, so
// neither call can hold the thread.
//
// The entry and its exit cost a little on every call, and the entry wakes
// the runtime's monitor thread whenever that sleeps because the process
// was idle (see package h1loop, whose loops make their calls the same
// way). This is for the connections served by goroutines: TLS, those the
// loops hand over, and the gRPC port's. On TLS HTTP/1.1 keep-alive it took
// decoy's CPU per request from 1.02 to 0.94 of nginx's
// (docs/BENCHMARKS.md).
type IO struct {
	raw           syscall.RawConn
	local, remote net.Addr // for errors

	rmu    sync.Mutex
	readFn func(fd uintptr) bool // made once
	rp     []byte
	rn     int
	rerr   syscall.Errno

	wmu     sync.Mutex
	writeFn func(fd uintptr) bool // made once
	wp      []byte
	wn      int
	werr    syscall.Errno

	// Writev's state, under wmu: the buffers, the one the next call
	// starts in and how much of it went out, the iovec array.
	writevFn func(fd uintptr) bool // made once
	wv       [][]byte
	wvi, wvo int
	iov      []unix.Iovec
}

// maxRawIO is the most one call reads or writes, as in package net.
const maxRawIO = 1 << 30

// New returns raw reads and writes for tc's socket, or nil.
func New(tc *net.TCPConn) *IO {
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &IO{raw: raw, local: tc.LocalAddr(), remote: tc.RemoteAddr()}
	r.readFn = func(fd uintptr) bool {
		for {
			n, e := h1loop.Recv(int(fd), r.rp)
			switch e {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // wait in the poller, then again
			case 0:
				r.rn = int(n)
			}
			r.rerr = e
			return true
		}
	}
	r.writeFn = func(fd uintptr) bool {
		for r.wn < len(r.wp) {
			p := r.wp[r.wn:]
			p = p[:min(len(p), maxRawIO)]
			n, e := h1loop.Send(int(fd), p)
			switch e {
			case 0:
				r.wn += int(n)
			case unix.EINTR:
			case unix.EAGAIN:
				return false
			default:
				r.werr = e
				return true
			}
		}
		return true
	}
	r.writevFn = func(fd uintptr) bool {
		for r.wvi < len(r.wv) {
			n, e := sendmsg(int(fd), r.iovecs())
			switch e {
			case 0:
				r.wn += int(n)
				r.advance(int(n))
			case unix.EINTR:
			case unix.EAGAIN:
				return false
			default:
				r.werr = e
				return true
			}
		}
		return true
	}
	return r
}

// iovMax is the most buffers one sendmsg(2) takes (Linux's IOV_MAX).
const iovMax = 1024

// iovecs points r.iov at what is left of r.wv, at most iovMax buffers.
func (r *IO) iovecs() []unix.Iovec {
	iov := r.iov[:0]
	off := r.wvo
	for _, b := range r.wv[r.wvi:] {
		if len(iov) == iovMax {
			break
		}
		if b = b[off:]; len(b) > 0 {
			v := unix.Iovec{Base: &b[0]}
			v.SetLen(len(b))
			iov = append(iov, v)
		}
		off = 0
	}
	r.iov = iov
	return iov
}

// advance moves Writev's place n bytes on.
func (r *IO) advance(n int) {
	for n > 0 && r.wvi < len(r.wv) {
		left := len(r.wv[r.wvi]) - r.wvo
		if n < left {
			r.wvo += n
			return
		}
		n -= left
		r.wvi, r.wvo = r.wvi+1, 0
	}
	for r.wvi < len(r.wv) && len(r.wv[r.wvi]) == r.wvo {
		r.wvi, r.wvo = r.wvi+1, 0
	}
}

// sendmsg sends iov's bytes in order with sendmsg(2), without SIGPIPE, as
// h1loop.Send does one buffer.
func sendmsg(fd int, iov []unix.Iovec) (uintptr, syscall.Errno) {
	var msg unix.Msghdr
	msg.Iov = &iov[0]
	msg.SetIovlen(len(iov))
	n, _, e := syscall.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_NOSIGNAL)
	return n, e
}

// Read reads into p as net.TCPConn does: io.EOF when the peer has closed,
// the poller's error on a deadline or a closed connection.
func (r *IO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.rmu.Lock()
	defer r.rmu.Unlock()
	r.rp = p[:min(len(p), maxRawIO)]
	err := r.raw.Read(r.readFn)
	n, e := r.rn, r.rerr
	r.rp, r.rn, r.rerr = nil, 0, 0
	switch {
	case err != nil:
		return 0, err
	case e != 0:
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: r.local, Addr: r.remote, Err: os.NewSyscallError("recvfrom", e)}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of p as net.TCPConn does, or returns the error that
// stopped it and what was written before.
func (r *IO) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.wp, r.wn = p, 0
	err := r.raw.Write(r.writeFn)
	n, e := r.wn, r.werr
	r.wp, r.wn, r.werr = nil, 0, 0
	switch {
	case err != nil:
		return n, err
	case e != 0:
		return n, &net.OpError{Op: "write", Net: "tcp", Source: r.local, Addr: r.remote, Err: os.NewSyscallError("sendto", e)}
	}
	return n, nil
}

// Writev writes the buffers in order, as Write would write them joined,
// with sendmsg(2) made directly: a body sent from where it lies, with no
// copy into a write buffer first. It returns how much went out and the
// error that stopped it, as Write does; bufs is left as it was.
func (r *IO) Writev(bufs [][]byte) (int64, error) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.wv, r.wvi, r.wvo, r.wn = bufs, 0, 0, 0
	r.advance(0) // past empty buffers
	var err error
	if r.wvi < len(bufs) {
		err = r.raw.Write(r.writevFn)
	}
	n, e := r.wn, r.werr
	clear(r.iov[:cap(r.iov)])
	r.wv, r.wn, r.werr = nil, 0, 0
	switch {
	case err != nil:
		return int64(n), err
	case e != 0:
		return int64(n), &net.OpError{Op: "write", Net: "tcp", Source: r.local, Addr: r.remote, Err: os.NewSyscallError("sendmsg", e)}
	}
	return int64(n), nil
}
