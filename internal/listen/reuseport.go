package listen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
)

// Options say how OpenWith opens a listening socket.
type Options struct {
	// Shared opens it with SO_REUSEPORT, so that several processes
	// (decoy's workers) can listen on the same address, the kernel
	// spreading new connections over them; every one of them must open
	// it shared.
	Shared bool
	// Congestion is the TCP congestion control set on the socket, which
	// the connections accepted from it keep: CongestionAuto,
	// CongestionSystem (also ""), or an algorithm's name, which the
	// kernel must have (else OpenWith fails with a *CongestionError).
	Congestion string
}

// Open is OpenWith(addr, Options{Shared: shared}).
func Open(addr string, shared bool) (net.Listener, error) {
	return OpenWith(addr, Options{Shared: shared})
}

// OpenWith listens for TCP on addr as o says.
//
// Accepted connections get no TCP keep-alive probes: decoy's read and idle
// timeouts already end connections whose peer went away, and turning the
// probes on costs four system calls per accepted connection.
func OpenWith(addr string, o Options) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1, Control: func(network, address string, c syscall.RawConn) error {
		if o.Shared {
			if err := reusePort(network, address, c); err != nil {
				return err
			}
		}
		// Before listen, so that no connection is accepted with the
		// kernel's default.
		return setCongestion(c, o.Congestion)
	}}
	return lc.Listen(context.Background(), "tcp", addr)
}

// NewWith wraps ln, a listener opened with OpenWith(addr, o), serving
// under name: after a pause it listens again as o says.
func NewWith(name string, ln net.Listener, o Options) *Listener {
	l := New(name, ln)
	l.opts = o
	return l
}

// OpenFailed words err, a failure of OpenWith to listen for what ("HTTP",
// "the admin API") on addr, which the setting flag gave, with what to do:
// about a congestion control the kernel refused, or about the address.
func OpenFailed(what, addr, flag string, err error) error {
	if ce := (*CongestionError)(nil); errors.As(err, &ce) {
		return fmt.Errorf("cannot listen for %s on %s: %w", what, addr, ce)
	}
	return fmt.Errorf("cannot listen for %s on %s: %w (choose another address with --%s, or \"\" to turn it off)", what, addr, errors.Unwrap(err), flag)
}
