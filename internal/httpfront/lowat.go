package httpfront

import (
	"io"
	"net"
	"sync/atomic"

	"github.com/decoy-dev/decoy/internal/h1loop"
	"github.com/decoy-dev/decoy/internal/h2serve"
)

// lowatWrites limits what the socket of a connection holds unsent, as
// the loops do (h1loop.Written): h1loop.NotSentFirst once its writes pass
// that, h1loop.NotSentMost once its socket has taken h1loop.ReaderAfter.
// The counts are atomic here, as a connection served by Go's HTTP/2
// server may be written from more than one goroutine.
type lowatWrites struct {
	asked atomic.Int64 // until it passes NotSentFirst
	took  atomic.Int64 // until it passes ReaderAfter
}

// lowatPiece is the most written in one call until the limit has risen,
// so that it can rise within a large body.
const lowatPiece = 1 << 20

// write writes p to nc through wr (nc itself, or what writes its socket),
// setting TCP_NOTSENT_LOWAT when the connection's writes pass the limits
// with it.
func (w *lowatWrites) write(nc net.Conn, wr io.Writer, p []byte) (int, error) {
	if passes(&w.asked, len(p), h1loop.NotSentFirst) {
		setNotSentLowat(nc, h1loop.NotSentFirst)
	}
	total := 0
	for w.took.Load() <= h1loop.ReaderAfter {
		k := min(len(p), lowatPiece)
		n, err := wr.Write(p[:k])
		total += n
		if passes(&w.took, n, h1loop.ReaderAfter) {
			setNotSentLowat(nc, h1loop.NotSentMost)
		}
		p = p[n:]
		if err != nil || len(p) == 0 {
			return total, err
		}
	}
	n, err := wr.Write(p)
	return total + n, err
}

// writev is write for buffers written as one, through a vectored write.
// The writes it serves (h2serve's) are far smaller than lowatPiece.
func (w *lowatWrites) writev(nc net.Conn, wr h2serve.VectorWriter, bufs [][]byte) (int64, error) {
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	if passes(&w.asked, total, h1loop.NotSentFirst) {
		setNotSentLowat(nc, h1loop.NotSentFirst)
	}
	n, err := wr.Writev(bufs)
	if passes(&w.took, int(n), h1loop.ReaderAfter) {
		setNotSentLowat(nc, h1loop.NotSentMost)
	}
	return n, err
}

// passes adds n to *count, until it is past limit, and reports whether
// this addition took it past (true for one caller only).
func passes(count *atomic.Int64, n, limit int) bool {
	if count.Load() > int64(limit) {
		return false
	}
	t := count.Add(int64(n))
	return t > int64(limit) && t-int64(n) <= int64(limit)
}

// setNotSentLowat sets TCP_NOTSENT_LOWAT to v on nc when it is a TCP
// connection.
func setNotSentLowat(nc net.Conn, v int) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return
	}
	if rc, err := tc.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { h1loop.SetNotSentLowat(int(fd), v) })
	}
}
