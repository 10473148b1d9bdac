package listen

import (
	"context"
	"net"
)

// Open listens for TCP on addr. With shared, the socket is opened with
// SO_REUSEPORT, so that several processes (decoy's workers) can listen on
// the same address, the kernel spreading new connections over them; every
// one of them must open it shared.
func Open(addr string, shared bool) (net.Listener, error) {
	if !shared {
		return net.Listen("tcp", addr)
	}
	lc := net.ListenConfig{Control: reusePort}
	return lc.Listen(context.Background(), "tcp", addr)
}

// NewShared wraps ln, a listener opened with Open(addr, true), serving
// under name: after a pause it listens again with SO_REUSEPORT.
func NewShared(name string, ln net.Listener) *Listener {
	l := New(name, ln)
	l.shared = true
	return l
}
