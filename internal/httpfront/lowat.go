package httpfront

import (
	"net"
	"sync/atomic"

	"github.com/decoy-dev/decoy/internal/h1loop"
)

// lowatWrites limits what the socket of a connection written more than
// h1loop.NotSentMost holds unsent, as the loops do (see there).
type lowatWrites struct {
	written atomic.Int64 // until it passes NotSentMost
	set     atomic.Bool
}

// write writes p to nc, first setting TCP_NOTSENT_LOWAT when the
// connection's writes pass h1loop.NotSentMost with it.
func (w *lowatWrites) write(nc net.Conn, p []byte) (int, error) {
	if !w.set.Load() && w.written.Add(int64(len(p))) > h1loop.NotSentMost {
		w.set.Store(true)
		if tc, ok := nc.(*net.TCPConn); ok {
			setNotSentLowat(tc, h1loop.NotSentMost)
		}
	}
	return nc.Write(p)
}
