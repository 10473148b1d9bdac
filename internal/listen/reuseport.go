package listen

import (
	"context"
	"net"
)

// Open listens for TCP on addr. With shared, the socket is opened with
// SO_REUSEPORT, so that several processes (decoy's workers) can listen on
// the same address, the kernel spreading new connections over them; every
// one of them must open it shared.
//
// Accepted connections get no TCP keep-alive probes: decoy's read and idle
// timeouts already end connections whose peer went away, and turning the
// probes on costs four system calls per accepted connection.
func Open(addr string, shared bool) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	if shared {
		lc.Control = reusePort
	}
	return lc.Listen(context.Background(), "tcp", addr)
}

// NewShared wraps ln, a listener opened with Open(addr, true), serving
// under name: after a pause it listens again with SO_REUSEPORT.
func NewShared(name string, ln net.Listener) *Listener {
	l := New(name, ln)
	l.shared = true
	return l
}
