package httpfront

import (
	"net"
	"sync/atomic"

	"github.com/decoy-dev/decoy/internal/h1loop"
)

// lowatWrites limits what the socket of a connection written more than
// h1loop.NotSentMost holds unsent, as the loops do (h1loop.Written; an
// atomic count here, as a connection served by Go's HTTP/2 server may be
// written from more than one goroutine).
type lowatWrites struct {
	written atomic.Int64 // until it passes NotSentMost
}

// write writes p to nc, first setting TCP_NOTSENT_LOWAT when the
// connection's writes pass h1loop.NotSentMost with it.
func (w *lowatWrites) write(nc net.Conn, p []byte) (int, error) {
	if w.written.Load() <= h1loop.NotSentMost {
		if n := w.written.Add(int64(len(p))); n > h1loop.NotSentMost && n-int64(len(p)) <= h1loop.NotSentMost {
			setNotSentLowat(nc)
		}
	}
	return nc.Write(p)
}

// setNotSentLowat sets TCP_NOTSENT_LOWAT on nc when it is a TCP
// connection.
func setNotSentLowat(nc net.Conn) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return
	}
	if rc, err := tc.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { h1loop.SetNotSentLowat(int(fd)) })
	}
}
