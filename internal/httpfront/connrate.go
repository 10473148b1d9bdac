package httpfront

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/decoy-dev/decoy/internal/behave"
)

// rateConn caps the bytes per second written on a connection (the
// connection-rate setting). Writes are cut into chunks of 10 ms worth of
// bytes, each sent once the rate has paid for it; reads are untouched.
type rateConn struct {
	net.Conn
	mu sync.Mutex // writes may come from several goroutines (HTTP/2)
	tw *behave.ThrottledWriter
}

// newRateConn wraps c. slow, when set, counts the writes to c that took
// slowWrite or longer (the client reading too slowly), leaving out the
// cap's own waits.
func newRateConn(c net.Conn, bytesPerSec int64, slow *atomic.Uint64, slowWrite time.Duration) *rateConn {
	return &rateConn{Conn: c, tw: behave.NewThrottledWriter(&timedWriter{c: c, slow: slow, slowWrite: slowWrite}, bytesPerSec, nil)}
}

func (c *rateConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tw.Write(p)
}

// NetConn returns the connection under the cap (for SO_LINGER).
func (c *rateConn) NetConn() net.Conn { return c.Conn }

// timedWriter writes to c, counting slow writes.
type timedWriter struct {
	c         net.Conn
	slow      *atomic.Uint64
	slowWrite time.Duration
}

func (w *timedWriter) Write(p []byte) (int, error) {
	if w.slow == nil {
		return w.c.Write(p)
	}
	t0 := time.Since(epoch)
	n, err := w.c.Write(p)
	if time.Since(epoch)-t0 >= w.slowWrite {
		w.slow.Add(1)
	}
	return n, err
}
