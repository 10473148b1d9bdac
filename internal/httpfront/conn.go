package httpfront

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/h1loop"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/rawio"
	"github.com/decoy-dev/decoy/internal/wsfront"
)

// h2Preface is how an HTTP/2 client with prior knowledge opens.
var h2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// conn is an accepted connection. It replays the bytes read while
// sniffing before reading on, keeps the connection's counters (requests by
// HTTP version, for Stats and the client report), and notes how the
// connection ended: a read or write that fails because the peer closed or
// reset it means the client ended it, a timeout means decoy did.
type conn struct {
	net.Conn
	buf []byte // read while sniffing, not yet replayed
	// loopBuf is the buffer a loop handed over with the connection (buf
	// starts as it), given back to the loop once buf is all read.
	loopBuf []byte

	mc metrics.Conn
	// cert is the certificate the client presented in the TLS handshake,
	// nil when none (set before the first request is read).
	cert *engine.ClientCert
	std  atomic.Bool // served by Go's server (HTTP/2, or the h2c Upgrade)
	// goServed: Go's server has it (std is also set for decoy's HTTP/2).
	goServed atomic.Bool
	h2       atomic.Bool  // speaks HTTP/2 (prior knowledge or ALPN h2)
	idle     atomic.Int64 // std: unix ns since when it has been idle; 0 while active
	ended    atomic.Int32 // an end* constant: the first sign seen
	closing  atomic.Bool  // decoy is closing it: later errors say nothing
	// linger, when above 0, makes Close a lingering close: the most bytes
	// of a refused body to read and drop first (see lingerClose).
	linger atomic.Int64

	// slow, when set, counts writes that took slowWrite or longer: the
	// client read too slowly for the kernel's buffers to absorb them.
	slow      *atomic.Uint64
	slowWrite time.Duration
	// writing is when the write in progress began (time since epoch), 0
	// between writes: a write that has lasted slowWrite is a slow reader's.
	writing atomic.Int64
	lowat   lowatWrites

	// state is connNew, connActive or connIdle, as fasthttp reports it
	// (HTTP/1.x only), for the idle gauge and to tell an idle timeout from
	// a read timeout.
	state atomic.Int32
	// cause is why decoy closed the connection, when it knows better than
	// its reads and writes tell: a metrics.Close* reason, 0 for none.
	cause atomic.Int32

	// The journal's wire timestamps of HTTP/1.x requests, while stamp is
	// set (the journal is on). Only the goroutine serving the connection
	// touches them; times are since epoch, 0 for none.
	stamp bool
	// inFirst is when the first read of the request in progress returned
	// bytes (0 once a request has taken it), inLast the last read.
	inFirst, inLast time.Duration
	// outFirst and outLast are when the first write since the last
	// request was handled began and when the last one ended.
	outFirst, outLast time.Duration
	// sentSeq is the journal record whose response is being written.
	sentSeq uint64

	// frames, once the connection is a WebSocket, follows what it reads;
	// stall bounds a pause inside one of its frames (see stallDeadline).
	frames *wsfront.Frames
	stall  frameStall
	// wsPending: the request being served upgraded the connection to a
	// WebSocket, if fasthttp hands it over (set and read on the goroutine
	// serving the connection). ws: it did; the conversation owns the
	// connection and closes its books when it ends, not serveFast.
	wsPending bool
	ws        atomic.Bool
	// faultPending: a fault of the request being served takes the
	// connection over, if fasthttp hands it over (set and read on the
	// goroutine serving the connection); faultHeld: it did. The fault
	// holds the connection open (a hang, a paced close-mid-body), so it
	// stays counted open until the fault ends: the fault and serveFast
	// each pass faultEnds, and the second closes the books (the fault may
	// end before fasthttp says it handed the connection over).
	faultPending, faultHeld bool
	faultEnds               atomic.Int32

	// arr, once a request on the connection had a delay, reads with
	// arrival timestamps (see arrivals); arrOff: enabling was tried.
	arr    *arrivals
	arrOff bool
	// rio reads and writes a TCP connection's socket without the
	// runtime's system-call entry (see package rawio); nil: through Conn.
	rio *rawio.IO

	// loopSeqs are the journal records whose answers a loop is writing
	// (while a loop serves the connection; Conn is nil until then).
	loopSeqs []uint64
	// loopHold is the count of a request whose answer a loop holds until
	// due (h1loop.Request.Due), settled once it is written or dropped.
	loopHold loopHold
	// resumed: a loop answered requests on the connection before it
	// handed it over, so it is HTTP/1.x whatever comes next.
	resumed bool
	// held: the listener holds it before its first read (handed over at
	// once).
	held bool
	// aborted: Go's server set a read deadline in the past to stop a
	// pending read (see closeNotifyConn.SetReadDeadline); the timeout that
	// read ends with is not the client's idleness.
	aborted atomic.Bool

	// gate, while fasthttp serves the connection in plaintext, judges each
	// request in what is read before fasthttp parses it (see gatedRead).
	gate *h1loop.Gate
}

// errRefused is what a read returns once the connection's gate found a
// request malformed: fasthttp then answers it (fastError, in the gate's
// words) and closes the connection.
var errRefused = errors.New("malformed HTTP request")

// gatedRead passes on what g lets through of the n bytes just read into
// p, by the rules h1loop.Check applies to a first request: a malformed
// request after the first, which fasthttp would judge by rules of its own
// (and frame differently from the loops: the shape of request smuggling),
// is refused in decoy's words as the loops refuse it. The read that finds
// it passes on the bytes before it, and the next read fails.
func gatedRead(g *h1loop.Gate, p []byte, n int, err error) (int, error) {
	if g == nil || n == 0 {
		return n, err
	}
	k, v := g.Feed(p[:n])
	switch {
	case v.Status == 0:
		return n, err
	case k == 0:
		return 0, errRefused
	}
	return k, nil
}

// refused reports whether g found a request malformed.
func refused(g *h1loop.Gate) bool { return g != nil && g.Verdict().Status != 0 }

// arrivedAgo is how long ago the bytes of the connection's latest read
// arrived, by the kernel's timestamp; 0 when unknown. For a request read
// whole, that is how long it has waited since it arrived.
func (c *conn) arrivedAgo() time.Duration {
	if c.arr == nil || c.arr.last == 0 {
		return 0
	}
	return max(time.Since(epoch)-c.arr.last, 0)
}

// delayLeft is what remains of a delay d for the request just read, which
// counts from the request's arrival: the time it waited to be read is part
// of it. It turns arrival timestamps on for the connection's later reads.
// Only the goroutine reading the connection may call it.
func (c *conn) delayLeft(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	d -= c.arrivedAgo()
	c.enableArrivals()
	return d
}

// How a connection ended, as far as its reads and writes tell.
const (
	endUnknown     = iota
	endClient      // the peer closed it (EOF)
	endClientReset // the peer reset it, or the write side broke
	endServerIdle  // a read timed out between requests
	endServerRead  // a read timed out in the middle of a request
)

// What a connection is doing, as fasthttp reports it.
const (
	connNew    = iota // no request yet
	connActive        // a request is being read or answered
	connIdle          // kept alive, waiting for the next request
)

func (c *conn) Read(p []byte) (int, error) {
	if refused(c.gate) {
		return 0, errRefused
	}
	n, err := c.read(p)
	return gatedRead(c.gate, p, n, err)
}

func (c *conn) read(p []byte) (int, error) {
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		if len(c.buf) == 0 {
			c.buf = nil
			if c.loopBuf != nil {
				h1loop.Release(c.loopBuf)
				c.loopBuf = nil
			}
		}
		return n, nil
	}
	var (
		n   int
		err error
	)
	switch {
	case c.arr != nil:
		n, err = c.readArrival(p)
	case c.rio != nil:
		n, err = c.rio.Read(p)
	default:
		n, err = c.Conn.Read(p)
	}
	if n > 0 && c.stamp {
		c.received()
	}
	if c.frames != nil {
		c.frames.Feed(p[:n])
		c.stall.after(c.Conn, c.frames)
	}
	if err != nil {
		c.note(err)
	}
	return n, err
}

// frameStall bounds how long a WebSocket client may stop in the middle of
// a frame: read-timeout from the last bytes it sent. Between frames a
// conversation may rest as long as it likes.
type frameStall struct {
	d   time.Duration // 0: no bound
	set bool          // a read deadline is set
}

// after sets or clears nc's read deadline after a read fed to f.
func (s *frameStall) after(nc net.Conn, f *wsfront.Frames) {
	switch {
	case s.d <= 0 || f.Closing():
		// Serve sets the deadlines while the conversation closes.
	case f.Partial():
		_ = nc.SetReadDeadline(time.Now().Add(s.d))
		s.set = true
	case s.set:
		_ = nc.SetReadDeadline(time.Time{})
		s.set = false
	}
}

// received notes the time of a read that returned bytes.
func (c *conn) received() {
	now := time.Since(epoch)
	if c.inFirst == 0 {
		c.inFirst = now
	}
	c.inLast = now
}

func (c *conn) Write(p []byte) (int, error) {
	if c.slow == nil && !c.stamp {
		n, err := c.lowat.write(c.Conn, c.writer(), p)
		if err != nil {
			c.note(err)
		}
		return n, err
	}
	// Two monotonic clock reads per write, next to a system call.
	t0 := time.Since(epoch)
	if c.slow != nil {
		c.writing.Store(int64(t0))
	}
	n, err := c.lowat.write(c.Conn, c.writer(), p)
	t1 := time.Since(epoch)
	if c.slow != nil {
		c.writing.Store(0)
		if t1-t0 >= c.slowWrite {
			c.slow.Add(1)
		}
	}
	if c.stamp {
		if c.outFirst == 0 {
			c.outFirst = t0
		}
		c.outLast = t1
	}
	if err != nil {
		c.note(err)
	}
	return n, err
}

// useRawIO has c read and write its socket with raw system calls (see
// package rawio), when Conn is a TCP connection. Call it when Conn is
// set, before the connection is read.
func (c *conn) useRawIO() {
	c.rio = nil
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		c.rio = rawio.New(tc)
	}
}

// Writev writes the buffers as Write would write them joined (h2serve
// sends large bodies so): with one system call where the connection makes
// raw writes, else joined through Write.
func (c *conn) Writev(bufs [][]byte) (int64, error) {
	if c.rio == nil || c.stamp {
		n, err := c.Write(bytes.Join(bufs, nil))
		return int64(n), err
	}
	var t0 time.Duration
	if c.slow != nil {
		t0 = time.Since(epoch)
		c.writing.Store(int64(t0))
	}
	n, err := c.lowat.writev(c.Conn, c.rio, bufs)
	if c.slow != nil {
		c.writing.Store(0)
		if time.Since(epoch)-t0 >= c.slowWrite {
			c.slow.Add(1)
		}
	}
	if err != nil {
		c.note(err)
	}
	return n, err
}

// CanWritev reports whether Writev makes vectored writes: with raw
// writes, and without the journal's timestamps (HTTP/1.x only).
func (c *conn) CanWritev() bool { return c.rio != nil && !c.stamp }

// writer is what c's writes go through.
func (c *conn) writer() io.Writer {
	if c.rio != nil {
		return c.rio
	}
	return c.Conn
}

// takeReceived returns when the request being handled began and finished
// arriving, and starts the count of its response's writes. A request read
// with an earlier one (pipelined) began no later than the read that brought
// it.
func (c *conn) takeReceived() (first, last time.Time) {
	f := c.inFirst
	if f == 0 {
		f = c.inLast
	}
	c.inFirst, c.outFirst, c.outLast = 0, 0, 0
	if f == 0 {
		return time.Time{}, time.Time{}
	}
	return epoch.Add(f), epoch.Add(c.inLast)
}

// flushSent gives the journal record awaiting them the times its response
// was written, once the response is out.
func (c *conn) flushSent(j *journal.Journal) {
	if c.sentSeq == 0 || c.outFirst == 0 {
		return
	}
	j.Sent(c.sentSeq, epoch.Add(c.outFirst), epoch.Add(c.outLast))
	c.sentSeq = 0
}

func (c *conn) Close() error {
	c.closing.Store(true)
	if n := c.linger.Swap(0); n > 0 {
		c.lingerClose(n)
	}
	return c.Conn.Close()
}

// Bounds of a lingering close: the longest wait for more of the body, and
// for all of it.
const (
	lingerIdle = time.Second
	lingerTime = 5 * time.Second
)

// lingerAfter makes the connection's close a lingering one, reading and
// dropping up to n more bytes of a request body decoy refused (413) while
// the client may still be sending it. Closed at once, a socket holding
// unread bytes resets the connection, and a client still writing its body
// (curl over TLS, for one) then fails on its write and never reads the
// answer that was already on its way.
func (c *conn) lingerAfter(n int64) {
	if n > 0 {
		c.linger.Store(n)
	}
}

// lingerClose half-closes the connection after its last answer and reads
// what the client still sends, up to n bytes, until it closes or pauses
// lingerIdle, for lingerTime at most (nginx's lingering close).
func (c *conn) lingerClose(n int64) {
	tc := tcpConn(c.Conn)
	if tc == nil || tc.CloseWrite() != nil {
		return
	}
	bp := uploadBufPool.Get().(*[]byte)
	defer uploadBufPool.Put(bp)
	until := time.Now().Add(lingerTime)
	for n > 0 {
		d := time.Now().Add(lingerIdle)
		if d.After(until) {
			d = until
		}
		_ = tc.SetReadDeadline(d)
		k, err := tc.Read((*bp)[:min(int64(len(*bp)), n)])
		n -= int64(k)
		if err != nil {
			return
		}
	}
}

// CloseWrite half-closes the connection when the connection underneath is
// a TCP connection (or wraps one), so that decoy's HTTP/2 loop can end a
// connection gracefully: it sends its last frames, closes its side and
// reads what the client still sends, instead of a close that unread input
// turns into a reset (and that can lose those last frames).
func (c *conn) CloseWrite() error {
	if tc := tcpConn(c.Conn); tc != nil {
		return tc.CloseWrite()
	}
	return errors.ErrUnsupported
}

// note records what a failed read or write says about who ended the
// connection: a timeout is decoy's (idle, read timeout, shutdown); the
// peer closing or resetting it is the client's. Errors after decoy closed
// the connection itself say nothing.
func (c *conn) note(err error) {
	if c.closing.Load() || errors.Is(err, net.ErrClosed) {
		return
	}
	end := int32(endClient)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout() && c.aborted.Swap(false):
		return
	case errors.As(err, &ne) && ne.Timeout():
		end = endServerRead
		if c.state.Load() != connActive {
			end = endServerIdle
		}
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		end = endClientReset
	}
	c.ended.CompareAndSwap(endUnknown, end)
}

// setCause records why decoy is closing the connection, unless an earlier
// cause was recorded.
func (c *conn) setCause(reason int) {
	c.cause.CompareAndSwap(0, int32(reason))
}

// tlsConn is a TLS connection served as HTTP/1.1: handleFast finds the
// connection's counters through it, and it sees the client's close_notify
// (an EOF from TLS) that the raw connection under it does not.
type tlsConn struct {
	*tls.Conn
	c *conn
	// buf and err are what first read: given before anything else.
	buf []byte
	err error
	// frames, once the connection is a WebSocket, follows what it reads.
	frames *wsfront.Frames
	stall  frameStall
	// gate judges each request (see gatedRead); the connection under it
	// reads TLS records, which no gate looks at.
	gate *h1loop.Gate
}

func (t *tlsConn) Read(p []byte) (int, error) {
	if refused(t.gate) {
		return 0, errRefused
	}
	n, err := t.read(p)
	return gatedRead(t.gate, p, n, err)
}

func (t *tlsConn) read(p []byte) (int, error) {
	if t.buf != nil || t.err != nil {
		n := copy(p, t.buf)
		t.buf = t.buf[n:]
		if len(t.buf) > 0 {
			return n, nil
		}
		t.buf = nil
		err := t.err
		t.err = nil
		return n, err
	}
	n, err := t.Conn.Read(p)
	if t.frames != nil {
		t.frames.Feed(p[:n])
		t.stall.after(t.Conn, t.frames)
	}
	if err != nil {
		t.c.note(err)
	}
	return n, err
}

// first reads the start of the connection's first request, as sniff does
// on plaintext connections, until h1loop.Check finds it malformed, its
// header block is complete, maxHeader bytes are in or the read fails;
// Read gives the bytes and the error again. It returns Check's verdict.
func (t *tlsConn) first(maxHeader int, timeout time.Duration) h1loop.Verdict {
	bp := sniffPool.Get().(*[]byte)
	defer sniffPool.Put(bp)
	tmp := *bp
	_ = t.SetReadDeadline(time.Now().Add(timeout))
	defer func() { _ = t.SetReadDeadline(time.Time{}) }()
	var got []byte
	for {
		n, err := t.Conn.Read(tmp)
		if n > 0 {
			t.c.state.Store(connActive)
		}
		got = append(got, tmp[:n]...)
		t.buf = got
		if err != nil {
			t.c.note(err)
			t.err = err
			return h1loop.Verdict{}
		}
		if v := h1loop.Check(got, maxHeader); v.Status != 0 {
			return v
		}
		if len(got) >= maxHeader || bytes.Contains(got, []byte("\r\n\r\n")) {
			return h1loop.Verdict{}
		}
	}
}

var sniffPool = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// What sniff found.
const (
	sniffHTTP1 = iota
	sniffH2
	sniffUpgrade
	sniffClosed
	sniffNotHTTP
)

// sniff reads the start of a plaintext connection and tells HTTP/2 with
// prior knowledge, and HTTP/1.1 requests asking to upgrade to h2c, from
// plain HTTP/1.1. The connection replays what was read. A first line that
// is neither the HTTP/2 preface nor an HTTP/1.x request line is neither
// protocol (sniffNotHTTP): as an HTTP/2 server must for an invalid
// preface, decoy closes such a connection without an answer.
//
// With sniffHTTP1 it returns what h1loop.Check found in the first request
// as read so far (nothing for a connection a loop served before).
func sniff(c *conn, maxHeader int, timeout time.Duration) (kind int, v h1loop.Verdict) {
	bp := sniffPool.Get().(*[]byte)
	defer sniffPool.Put(bp)
	tmp := *bp
	// Bytes a loop read before it handed the connection over come first.
	got := c.buf
	primed := len(got) > 0
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	defer func() { _ = c.SetReadDeadline(time.Time{}) }()
	for {
		var (
			n   int
			err error
		)
		if primed {
			primed = false
		} else {
			n, err = c.Conn.Read(tmp)
		}
		if n > 0 {
			// A request has begun: a timeout now is a read timeout.
			c.state.Store(connActive)
			if c.stamp {
				c.received()
			}
		}
		if err != nil {
			c.note(err)
		}
		got = append(got, tmp[:n]...)
		if err != nil && len(got) == 0 {
			_ = c.Close()
			return sniffClosed, v
		}
		c.buf = got
		// Prior knowledge: the preface, or a prefix of it not yet complete.
		k := min(len(got), len(h2Preface))
		if !c.resumed && bytes.Equal(got[:k], h2Preface[:k]) {
			if k == len(h2Preface) {
				return sniffH2, v
			}
			if err != nil {
				return sniffHTTP1, v
			}
			continue
		}
		if !c.resumed {
			// A first request Check refuses need not be read further:
			// serveConn refuses it as the loops do.
			switch v = h1loop.Check(got, maxHeader); v.Status {
			case 0:
			case h1loop.NotHTTP:
				return sniffNotHTTP, v
			default:
				return sniffHTTP1, v
			}
		}
		// HTTP/1.x: only an Upgrade to h2c needs the HTTP/2 server. Look at
		// the header block once it is complete (or as large as allowed).
		end := bytes.Index(got, []byte("\r\n\r\n"))
		if end < 0 && err == nil && len(got) < maxHeader {
			continue
		}
		if end < 0 {
			end = len(got)
		}
		if wantsH2C(got[:end]) {
			return sniffUpgrade, v
		}
		return sniffHTTP1, v
	}
}

// wantsH2C reports whether an HTTP/1.1 header block has "Upgrade: h2c".
func wantsH2C(h []byte) bool {
	if !bytes.Contains(h, []byte("h2c")) {
		return false
	}
	for _, line := range bytes.Split(h, []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !bytes.EqualFold(bytes.TrimSpace(name), []byte("Upgrade")) {
			continue
		}
		for _, tok := range bytes.Split(value, []byte(",")) {
			if bytes.EqualFold(bytes.TrimSpace(tok), []byte("h2c")) {
				return true
			}
		}
	}
	return false
}

// closeNotifyConn calls onClose once when the connection is closed.
type closeNotifyConn struct {
	*conn
	once    sync.Once
	onClose func()
}

// SetReadDeadline notes a deadline in the past: Go's server sets one to
// stop its background read when a handler takes the connection over (the
// h2c Upgrade does), and the read's timeout then says nothing about who
// ends the connection.
func (c *closeNotifyConn) SetReadDeadline(t time.Time) error {
	c.conn.aborted.Store(!t.IsZero() && t.Before(time.Now()))
	return c.conn.SetReadDeadline(t)
}

func (c *closeNotifyConn) Close() error {
	err := c.conn.Close()
	c.once.Do(c.onClose)
	return err
}

// chanListener is a net.Listener fed by push.
type chanListener struct {
	ch     chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
