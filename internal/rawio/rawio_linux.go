package rawio

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"

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
	return r
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
