package h2serve

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/decoy-dev/decoy/internal/wake"
	"golang.org/x/net/http2"
)

// stream is one request/response exchange. Its fields are guarded by c.mu,
// except req, which the reader fills before the handler runs and nobody
// changes after.
type stream struct {
	id  uint32
	c   *conn
	req Request
	w   ResponseWriter

	recvWin   int64 // bytes the client may still send
	recvUnack int64 // received bytes not yet given back
	got       int64 // body bytes received
	sendWin   int64 // bytes we may still send
	pending   []byte
	queued    bool // in c.sendq
	recvDone  bool // END_STREAM received (half-closed remote)
	sendDone  bool // END_STREAM sent
	answered  bool // response headers written
	rejected  bool // answered by the server (413, 431) before the request ended
	draining  bool // rejected and answered: the rest of the body is read and dropped
	drainLeft int64
	resetByUs bool // we sent RST_STREAM
	closed    bool
	inHandler bool
	detached  bool
	open      bool          // WriteHead sent the headers: WriteData sends the body
	more      bool          // the pending DATA is not the end of the body
	waiting   bool          // a WriteData call waits for pending to go out
	readWait  bool          // a ReadBody call waits for data
	bodyShut  bool          // CloseBody: the handler reads no more of the body
	in        []byte        // streamed request body received, not yet read
	inOff     int           // what ReadBody has taken of in
	rstAfter  bool          // the body ends with RST_STREAM rstCode, not END_STREAM
	rstCode   http2.ErrCode // see rstAfter
	extra     []byte        // header fields added with AddHeader
	done      chan struct{}
	onSent    func(n int64) // see CountSent
	afterDone func()        // see AfterDone
	lazy      bool          // see Coalesce
	held      bool          // a held write is sending (see writeDataLocked)
	sent      int64         // body bytes sent, for onSent
	timer     *time.Timer
	delayed   struct{ block, body []byte }
}

// ResponseWriter answers one request. Its methods are safe to call from
// any goroutine once the stream is detached.
type ResponseWriter struct {
	st *stream
}

func (c *conn) newStream(id uint32) *stream {
	var st *stream
	if n := len(c.free); n > 0 {
		st = c.free[n-1]
		c.free = c.free[:n-1]
	} else {
		st = &stream{c: c}
		st.w.st = st
		st.req.c = c
	}
	st.id = id
	st.req.StreamID = id
	st.req.ContentLength = -1
	st.recvWin = int64(c.o.StreamWindow)
	st.sendWin = c.peerInit
	return st
}

// recycle resets a stream the reader owns and keeps it for reuse.
func (c *conn) recycle(st *stream) {
	if st.detached || st.inHandler {
		return
	}
	r := &st.req
	clear(r.Headers)
	clear(r.Trailers)
	body := r.Body[:0]
	if cap(body) > maxKeptBodyCap {
		body = nil
	}
	*r = Request{
		c: c, Headers: r.Headers[:0], Trailers: r.Trailers[:0], Body: body,
		pathBuf: r.pathBuf[:0], qBuf: r.qBuf[:0],
	}
	if len(c.free) >= maxFree {
		return
	}
	*st = stream{c: c, req: st.req, extra: st.extra[:0]}
	st.w.st = st
	c.free = append(c.free, st)
}

// addRecent remembers a closed stream; byUs marks one we reset, whose
// frames still in flight are dropped without another RST_STREAM.
func (c *conn) addRecent(id uint32, byUs bool) {
	if byUs {
		id |= 1 << 31
	}
	c.recent[c.nrecent%recentClosed] = id
	c.nrecent++
}

// closeStreamLocked closes a stream: it leaves the table and the send
// queue, and a detached handler learns of it.
func (c *conn) closeStreamLocked(st *stream) {
	if st.closed {
		return
	}
	st.closed = true
	for i, x := range c.ids {
		if x == st.id {
			last := len(c.ids) - 1
			c.ids[i], c.sts[i] = c.ids[last], c.sts[last]
			c.sts[last] = nil
			c.ids, c.sts = c.ids[:last], c.sts[:last]
			break
		}
	}
	c.addRecent(st.id, st.resetByUs)
	c.unqueue(st)
	st.pending = nil
	// What the stream's end tells (Done, AfterDone, CountSent) may free
	// the body: a payload still referenced goes out first.
	c.flushTaken()
	c.notifyClosed(st)
	if len(c.ids) == 0 {
		c.lastActive = nanotime()
	}
	c.checkDrainedLocked()
	if !st.inHandler && !st.detached {
		c.recycle(st)
	}
}

func (c *conn) notifyClosed(st *stream) {
	if f := st.onSent; f != nil {
		st.onSent = nil
		f(st.sent)
	}
	if f := st.afterDone; f != nil {
		st.afterDone = nil
		f()
	}
	if st.done != nil {
		select {
		case <-st.done:
		default:
			close(st.done)
		}
	}
	if st.timer != nil {
		st.timer.Stop()
	}
	if st.waiting || st.readWait {
		c.cond.Broadcast()
	}
}

// bodyArrived wakes a ReadBody call up.
func (c *conn) bodyArrived(st *stream) {
	if st.readWait {
		c.cond.Broadcast()
	}
}

func (c *conn) unqueue(st *stream) {
	if !st.queued {
		return
	}
	st.queued = false
	for i, x := range c.sendq {
		if x == st {
			copy(c.sendq[i:], c.sendq[i+1:])
			c.sendq[len(c.sendq)-1] = nil
			c.sendq = c.sendq[:len(c.sendq)-1]
			return
		}
	}
}

// dispatch runs the handler for a request that has arrived whole. c.mu is
// held, and released during the call.
func (c *conn) dispatch(st *stream) {
	st.inHandler = true
	c.mu.Unlock()
	c.callHandler(st)
	c.mu.Lock()
	st.inHandler = false
	if !st.answered && !st.detached && !st.closed {
		c.writeLocked(st, emptyOK, nil)
	}
	if st.closed && !st.detached {
		c.recycle(st)
	}
}

var emptyOK = EncodeHeaderBlock(200, nil, 0)

func (c *conn) callHandler(st *stream) {
	defer func() {
		if p := recover(); p != nil {
			buf := make([]byte, 4096)
			buf = buf[:runtime.Stack(buf, false)]
			c.log.Error("h2serve: handler panic", "panic", fmt.Sprint(p), "stack", string(buf))
			c.mu.Lock()
			if !st.closed {
				if st.answered {
					c.streamError(st.id, http2.ErrCodeInternal)
				} else {
					c.writeLocked(st, statusBlock(500), nil)
				}
			}
			c.mu.Unlock()
		}
	}()
	c.h.ServeH2(&st.w, &st.req)
}

// reject answers a request the server refuses (413, 431). It reports
// whether the stream closed (then it has been recycled).
func (c *conn) reject(st *stream, status int) bool {
	st.rejected = true
	st.inHandler = true
	if c.o.Reject != nil {
		c.mu.Unlock()
		c.o.Reject(&st.w, &st.req, status)
		c.mu.Lock()
	}
	if !st.answered && !st.closed {
		c.writeLocked(st, statusBlock(status), nil)
	}
	st.inHandler = false
	if st.closed {
		c.recycle(st)
		return true
	}
	return false
}

var statusBlocks = map[int][]byte{
	400: EncodeHeaderBlock(400, nil, 0),
	413: EncodeHeaderBlock(413, nil, 0),
	431: EncodeHeaderBlock(431, nil, 0),
	500: EncodeHeaderBlock(500, nil, 0),
}

func statusBlock(status int) []byte {
	if b, ok := statusBlocks[status]; ok {
		return b
	}
	return EncodeHeaderBlock(status, nil, 0)
}

// ---------------------------------------------------------------- ResponseWriter

// StreamID returns the stream's ID.
func (w *ResponseWriter) StreamID() uint32 { return w.st.id }

// AddHeader adds a header field (name lowercased) to the response the next
// Write call sends, after the fields of its block: for per-request fields
// such as Server-Timing next to a block encoded once.
func (w *ResponseWriter) AddHeader(name, value string) {
	c := w.st.c
	c.mu.Lock()
	w.st.extra = AppendHeaderField(w.st.extra, name, value)
	c.mu.Unlock()
}

// AddHeaderBytes is AddHeader with the value as bytes; name must be lower
// case.
func (w *ResponseWriter) AddHeaderBytes(name string, value []byte) {
	c := w.st.c
	c.mu.Lock()
	w.st.extra = appendFieldBytes(w.st.extra, name, value)
	c.mu.Unlock()
}

// WriteBlock sends the response: block is an HPACK header block that uses
// no dynamic table (from EncodeHeaderBlock, optionally followed by
// AppendHeaderField output), body the content (not sent for HEAD, 1xx, 204
// and 304). body is not copied until it goes out, which may be later
// (flow control): the caller must not change it.
func (w *ResponseWriter) WriteBlock(block, body []byte) error {
	st := w.st
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || st.closed {
		return ErrStreamClosed
	}
	if st.answered {
		return ErrAnswered
	}
	c.writeLocked(st, block, body)
	if !c.batching {
		c.flushLocked()
	}
	return nil
}

// CountSent has f told, once the stream ends (its body all sent, the
// stream reset, or the connection gone), how many bytes of the response
// body went out to the connection. f runs with the connection's lock held:
// it must not block nor call the ResponseWriter. Call it before the
// response is written.
func (w *ResponseWriter) CountSent(f func(n int64)) {
	st := w.st
	c := st.c
	c.mu.Lock()
	if st.closed || c.closed {
		c.mu.Unlock()
		f(0)
		return
	}
	st.onSent = f
	c.mu.Unlock()
}

// WriteResponse encodes and sends a response built per request (an
// unmatched request's problem report, say): status, headers, then
// content-length. See WriteBlock for body.
func (w *ResponseWriter) WriteResponse(status int, headers [][2]string, body []byte) error {
	st := w.st
	c := st.c
	c.mu.Lock()
	b := appendStatus(c.rscratch[:0], status)
	for _, h := range headers {
		name := lower(h[0])
		if connectionSpecific(name) || name == "content-length" || name == "" || name[0] == ':' {
			continue
		}
		b = appendField(b, name, h[1], false)
	}
	if status >= 200 && status != 204 {
		var num [20]byte
		b = appendFieldBytes(b, "content-length", appendInt(num[:0], len(body)))
	}
	c.rscratch = b
	block := b
	if c.closed || st.closed {
		c.mu.Unlock()
		return ErrStreamClosed
	}
	if st.answered {
		c.mu.Unlock()
		return ErrAnswered
	}
	c.writeLocked(st, block, body)
	if !c.batching {
		c.flushLocked()
	}
	c.mu.Unlock()
	return nil
}

func appendInt(b []byte, n int) []byte {
	if n == 0 {
		return append(b, '0')
	}
	var tmp [20]byte
	i := len(tmp)
	for ; n > 0; n /= 10 {
		i--
		tmp[i] = byte('0' + n%10)
	}
	return append(b, tmp[i:]...)
}

// Detach lets the handler return without answering: the response is
// written later, from any goroutine, with WriteBlock or WriteResponse (or
// Reset). Until then the request stays valid and the stream counts against
// the client's concurrent streams. Done tells when the client gives up.
func (w *ResponseWriter) Detach() {
	c := w.st.c
	c.mu.Lock()
	w.st.detached = true
	c.mu.Unlock()
}

// Sent is how many bytes of the response body went out to the connection
// so far, in DATA frames: for a body written in parts, what a part cut
// short by a reset still took.
func (w *ResponseWriter) Sent() int64 {
	c := w.st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return w.st.sent
}

// AfterDone has f called once the stream or the connection ends (the
// client reset it, the connection closed, or the response went out), at
// once when it already has: what Done tells, without a goroutine to wait
// on the channel. f runs with the connection's lock held: it must not
// block nor call the ResponseWriter. A later call replaces f.
func (w *ResponseWriter) AfterDone(f func()) {
	st := w.st
	c := st.c
	c.mu.Lock()
	if st.closed || c.closed {
		c.mu.Unlock()
		f()
		return
	}
	st.afterDone = f
	c.mu.Unlock()
}

// Done returns a channel closed when the stream or the connection ends
// (the client reset it, the connection closed, or the response went out).
func (w *ResponseWriter) Done() <-chan struct{} {
	st := w.st
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.done == nil {
		st.done = make(chan struct{})
		if st.closed || c.closed {
			close(st.done)
		}
	}
	return st.done
}

// WriteBlockAfter detaches the stream and sends the response with
// WriteBlock after d, from a timer: no goroutine waits meanwhile. It is
// dropped if the client resets the stream or the connection ends first.
func (w *ResponseWriter) WriteBlockAfter(d time.Duration, block, body []byte) {
	st := w.st
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.answered || st.closed || c.closed {
		return
	}
	st.detached = true
	st.answered = true // nothing else may answer meanwhile
	st.delayed.block, st.delayed.body = block, body
	start := time.Now()
	st.timer = time.AfterFunc(d, func() {
		wake.Observe(start, d)
		c.mu.Lock()
		defer c.mu.Unlock()
		if st.closed || c.closed {
			return
		}
		st.answered = false
		c.writeLocked(st, st.delayed.block, st.delayed.body)
		st.delayed.block, st.delayed.body = nil, nil
		if !c.batching {
			c.flushLocked()
		}
	})
	wake.After(d)
}

// Reset abandons the response: RST_STREAM with INTERNAL_ERROR (or CANCEL
// when nothing was sent).
func (w *ResponseWriter) Reset() {
	w.reset(0, false)
}

// ResetCode abandons the response with RST_STREAM carrying code, whatever
// was sent before.
func (w *ResponseWriter) ResetCode(code http2.ErrCode) {
	w.reset(code, true)
}

func (w *ResponseWriter) reset(code http2.ErrCode, chosen bool) {
	st := w.st
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.closed || c.closed {
		return
	}
	if !chosen {
		code = http2.ErrCodeInternal
		if !st.answered {
			code = http2.ErrCodeCancel
		}
	}
	st.answered = true
	st.pending = nil
	c.streamError(st.id, code)
	if !c.batching {
		c.flushLocked()
	}
}

// keep adds data that arrived for a streamed body to what its handler
// has yet to read. The part already read is dropped when the buffer would
// grow, so the buffer stays near the stream's window however the reads
// fall against the frames.
func (st *stream) keep(data []byte) {
	if st.inOff > 0 && len(st.in)+len(data) > cap(st.in) {
		st.in = st.in[:copy(st.in, st.in[st.inOff:])]
		st.inOff = 0
	}
	st.in = append(st.in, data...)
}

// take moves what it can of the unread body into p.
func (st *stream) take(p []byte) int {
	n := copy(p, st.in[st.inOff:])
	st.inOff += n
	if st.inOff == len(st.in) {
		st.in, st.inOff = st.in[:0], 0
	}
	return n
}

// ReadBody reads the body of a streamed request (see BodyStreamer): up
// to len(p) bytes, waiting for some to arrive, and io.EOF after the last.
// What it reads is given back to the client as flow-control credit, so
// the client sends no faster than the handler reads. It blocks, so only a
// detached stream's own goroutine may call it; ErrStreamClosed tells that
// the client reset the stream or the connection ended.
func (w *ResponseWriter) ReadBody(p []byte) (int, error) {
	st := w.st
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !st.req.Streamed {
		return 0, io.EOF
	}
	for {
		if st.bodyShut {
			return 0, ErrBodyClosed
		}
		if len(st.in) > st.inOff {
			n := st.take(p)
			c.giveBackLocked(st, n)
			return n, nil
		}
		switch {
		case st.recvDone:
			return 0, io.EOF
		case st.closed || c.closed:
			return 0, ErrStreamClosed
		case len(p) == 0:
			return 0, nil
		}
		if c.cond == nil {
			c.cond = sync.NewCond(&c.mu)
		}
		st.readWait = true
		c.cond.Wait()
		st.readWait = false
	}
}

// giveBackLocked returns n bytes of a streamed body, read or dropped, to
// the client as flow-control credit: a WINDOW_UPDATE once half the
// stream's window is owed.
func (c *conn) giveBackLocked(st *stream, n int) {
	if n <= 0 || st.recvDone || st.closed || c.closed {
		return
	}
	st.recvUnack += int64(n)
	if st.recvUnack >= int64(c.o.StreamWindow/2) {
		_ = c.fr.WriteWindowUpdate(st.id, uint32(st.recvUnack))
		st.recvWin += st.recvUnack
		st.recvUnack = 0
		if !c.batching {
			c.flushLocked()
		}
	}
}

// ErrBodyClosed is ReadBody's error once the handler has called
// CloseBody.
var ErrBodyClosed = errors.New("h2serve: request body closed by handler")

// CloseBody tells that the handler reads no more of a streamed body: a
// ReadBody call waiting returns ErrBodyClosed, as does every later one,
// and what arrives after is dropped, its flow-control credit given back at
// once. A response that ends before the body does tells the client to
// stop sending (RST_STREAM NO_ERROR), as always.
func (w *ResponseWriter) CloseBody() {
	st := w.st
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !st.req.Streamed || st.bodyShut {
		return
	}
	st.bodyShut = true
	c.giveBackLocked(st, len(st.in)-st.inOff)
	st.in, st.inOff = nil, 0
	if st.readWait {
		c.cond.Broadcast()
	}
}

// ErrNotOpen is WriteData's error on a stream whose headers did not go
// out with WriteHead.
var ErrNotOpen = errors.New("h2serve: WriteData without WriteHead")

// WriteHead sends the response's header block (see WriteBlock) and leaves
// the stream open: WriteData sends the body, as it comes. For HEAD, 1xx,
// 204 and 304 the stream ends with the headers, and WriteData then
// reports ErrStreamClosed.
func (w *ResponseWriter) WriteHead(block []byte) error {
	return w.WriteHeadData(block, nil)
}

// WriteHeadData is WriteHead, then WriteData(p, false) when p is not
// empty: one write to the connection carries both where the windows
// allow.
func (w *ResponseWriter) WriteHeadData(block, p []byte) error {
	return w.writeHeadData(block, p, false)
}

// WriteHeadDataHeld is WriteHeadData for a stream with more to send at
// once: what the windows let go stays in the connection's buffer, as
// with Coalesce, until a write that is not held (or a full buffer, or
// another stream's write) sends it. A burst of messages then leaves in
// as few writes as the buffer allows.
func (w *ResponseWriter) WriteHeadDataHeld(block, p []byte) error {
	return w.writeHeadData(block, p, true)
}

func (w *ResponseWriter) writeHeadData(block, p []byte, hold bool) error {
	st := w.st
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || st.closed {
		return ErrStreamClosed
	}
	if st.answered {
		return ErrAnswered
	}
	st.answered = true
	noBody := st.req.Method == "HEAD" || !bodyAllowed(blockStatus(block))
	c.writeHeaders(st.id, block, st.extra, noBody)
	st.extra = st.extra[:0]
	if noBody {
		c.endStreamLocked(st)
	} else {
		st.open = true
	}
	if len(p) > 0 && !noBody {
		return c.writeDataLocked(st, p, false, hold)
	}
	if !c.batching && (!(st.lazy || hold) || noBody) {
		c.flushLocked()
	}
	return nil
}

// Coalesce lets the writes of a stream that ends soon after them wait for
// the write that ends it: WriteHead, WriteHeadData and WriteData then put
// their frames in the connection's buffer without writing it out, unless
// they have to wait for flow control; the stream's end (WriteTrailers, or
// WriteData with end set), another stream's write or the connection's next
// flush sends them. A unary gRPC answer, headers, message and trailers,
// then goes out in one write instead of two. Call it on a detached stream
// before its first write.
func (w *ResponseWriter) Coalesce() {
	c := w.st.c
	c.mu.Lock()
	w.st.lazy = true
	c.mu.Unlock()
}

// WriteData sends p as DATA frames on a stream opened with WriteHead, and
// ends the stream after it when end is set (p may then be empty). It
// returns once p has gone out to the connection, which flow control may
// delay, or when the stream or the connection ends (ErrStreamClosed): p
// may be reused after. It blocks, so only a detached stream's own
// goroutine may call it, never ServeH2 itself.
func (w *ResponseWriter) WriteData(p []byte, end bool) error {
	st := w.st
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeDataLocked(st, p, end, false)
}

// WriteDataHeld is WriteData(p, false) for a stream with more to send at
// once: see WriteHeadDataHeld.
func (w *ResponseWriter) WriteDataHeld(p []byte) error {
	st := w.st
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeDataLocked(st, p, false, true)
}

// writeDataLocked is WriteData with c.mu held; hold leaves what goes out
// at once in the buffer.
func (c *conn) writeDataLocked(st *stream, p []byte, end, hold bool) error {
	if c.closed || st.closed {
		return ErrStreamClosed
	}
	if !st.open {
		return ErrNotOpen
	}
	if len(p) == 0 {
		if end {
			st.open = false
			c.reserve(9)
			c.wbuf = appendFrameHeader(c.wbuf, 0, http2.FrameData, http2.FlagDataEndStream, st.id)
			c.endStreamLocked(st)
			if !c.batching {
				c.flushLocked()
			}
		}
		return nil
	}
	st.pending, st.more = p, !end
	if end {
		st.open = false
	}
	// A write that stays in the buffer (held, coalesced) takes a copy of
	// all but the largest payloads: a vectored one would have to go out
	// before the call returns (see flushTaken).
	st.held = hold || st.lazy
	c.sendDataLocked(st, inlineQuantum)
	if !st.closed && len(st.pending) > 0 {
		c.enqueue(st)
		c.kickLocked()
	}
	if !c.batching && (!(st.lazy || hold) || end || len(st.pending) > 0) {
		c.flushLocked()
	}
	if c.cond == nil {
		c.cond = sync.NewCond(&c.mu)
	}
	for !st.closed && !c.closed && len(st.pending) > 0 {
		st.waiting = true
		c.cond.Wait()
	}
	st.waiting, st.held = false, false
	c.flushTaken()
	switch {
	case end && !st.sendDone, !end && (st.closed || c.closed):
		return ErrStreamClosed
	}
	return nil
}

// WriteTrailers ends a stream opened with WriteHead with a trailing
// header block (header fields only, no pseudo-header: see
// EncodeTrailerBlock) after the body WriteData sent, which has gone out by
// then.
func (w *ResponseWriter) WriteTrailers(block []byte) error {
	st := w.st
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || st.closed {
		return ErrStreamClosed
	}
	if !st.open {
		return ErrNotOpen
	}
	if len(st.pending) > 0 {
		return ErrAnswered // a WriteData call is still sending
	}
	st.open = false
	c.writeHeaders(st.id, block, nil, true)
	c.endStreamLocked(st)
	if !c.batching {
		c.flushLocked()
	}
	return nil
}

// WriteBlockReset sends a response that breaks off: the header block and
// body as WriteBlock does, then RST_STREAM with code instead of the end of
// the stream. With a block that announces a longer content-length than
// body, the client sees a response cut short.
func (w *ResponseWriter) WriteBlockReset(block, body []byte, code http2.ErrCode) error {
	st := w.st
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || st.closed {
		return ErrStreamClosed
	}
	if st.answered {
		return ErrAnswered
	}
	st.rstAfter, st.rstCode = true, code
	c.writeLocked(st, block, body)
	if !c.batching {
		c.flushLocked()
	}
	return nil
}

// GoAway sends GOAWAY with code, naming the client stream opened before
// this one as the last the server processed: the client must retry this
// request, and any it opened after it, on a new connection. Those streams
// are reset with REFUSED_STREAM; streams below it run to their end, then
// the connection closes. When the connection is already going away, only
// this stream is refused.
func (w *ResponseWriter) GoAway(code http2.ErrCode) {
	st := w.st
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.closed || c.closed {
		return
	}
	st.answered = true
	if c.goingAway {
		c.streamError(st.id, http2.ErrCodeRefusedStream)
	} else {
		var last uint32
		if st.id > 2 {
			last = st.id - 2
		}
		c.goingAway = true
		_ = c.fr.WriteGoAway(last, code, nil)
		// Backwards: closing a stream moves the table's last entry into
		// its place.
		for i := len(c.ids) - 1; i >= 0; i-- {
			if c.ids[i] > last {
				c.streamError(c.ids[i], http2.ErrCodeRefusedStream)
			}
		}
	}
	c.checkDrainedLocked()
	if !c.batching {
		c.flushLocked()
	}
}

// ---------------------------------------------------------------- writing

// writeLocked sends the response headers and as much of the body as the
// windows and the inline quantum allow; the rest is queued for the pump.
func (c *conn) writeLocked(st *stream, block, body []byte) {
	st.answered = true
	if len(body) > 0 && (st.req.Method == "HEAD" || !bodyAllowed(blockStatus(block))) {
		body = nil
	}
	c.writeHeaders(st.id, block, st.extra, len(body) == 0 && !st.rstAfter)
	st.extra = st.extra[:0]
	if len(body) == 0 {
		c.endBodyLocked(st)
		return
	}
	st.pending = body
	c.sendDataLocked(st, inlineQuantum)
	if !st.closed && len(st.pending) > 0 {
		c.enqueue(st)
		c.kickLocked()
	}
}

// endBodyLocked: the body has been sent; the stream ends, or is reset
// when the response was to break off.
func (c *conn) endBodyLocked(st *stream) {
	if st.rstAfter {
		st.answered = true
		c.streamError(st.id, st.rstCode)
		return
	}
	c.endStreamLocked(st)
}

// endStreamLocked: our side of the stream is done.
func (c *conn) endStreamLocked(st *stream) {
	st.sendDone = true
	if !st.recvDone {
		if st.rejected && c.drain(st) {
			return
		}
		// Answered before the request ended: tell the client to stop
		// sending (RFC 9113, section 8.1).
		_ = c.fr.WriteRSTStream(st.id, http2.ErrCodeNo)
		st.resetByUs = true
	}
	c.closeStreamLocked(st)
}

// DrainBytes is how much more of a request body an HTTP/2 server reads
// and drops after it has answered 413 (or 431) early, given its
// MaxBodyBytes: as much again, at least 1 MiB.
func DrainBytes(maxBody int64) int64 { return max(maxBody, 1<<20) }

// drain keeps a stream answered early (413, 431) open to read the rest of
// its body and drop it, and reports whether it does. RFC 9113 (section
// 8.1) lets a server reset such a stream with NO_ERROR at once, but a
// client still sending may then lose the answer that came with the reset:
// curl (7.88 at least) exits 92 without the 413. Read on, the client
// sees the answer and stops sending (or ends its body); past DrainBytes,
// or on a connection going away, the stream is reset after all.
func (c *conn) drain(st *stream) bool {
	if c.goingAway {
		return false
	}
	st.draining, st.drainLeft = true, DrainBytes(c.o.MaxBodyBytes)
	return true
}

func (c *conn) enqueue(st *stream) {
	if !st.queued {
		st.queued = true
		c.sendq = append(c.sendq, st)
	}
}

// vecMin is the smallest DATA payload sent from where it lies, when the
// connection is a VectorWriter, rather than copied into the write buffer;
// vecMinHeld that of a held or coalesced write, which would otherwise stay
// in the buffer for the stream's next write (a unary gRPC answer's
// trailers): a full frame, which fills the buffer soon anyway.
const (
	vecMin     = 4 << 10
	vecMinHeld = maxOutFrame
)

// reserve makes room for n more bytes in the next write, flushing what it
// holds when it is full enough.
func (c *conn) reserve(n int) {
	if len(c.wbuf) > 0 && len(c.wbuf)+c.vecLen+n > flushAt {
		c.flushLocked()
	}
	if c.wbufp == nil {
		c.wbufp = wbufPool.Get().(*[]byte)
		c.wbuf = (*c.wbufp)[:0]
	}
}

// flushLocked writes the buffer out. Writes happen under c.mu, so frames
// from different goroutines never interleave.
func (c *conn) flushLocked() {
	if len(c.wbuf) == 0 {
		return
	}
	if c.werr == nil {
		c.flushStart.Store(nanotime())
		var err error
		if len(c.vec) > 0 {
			if c.vecCut < len(c.wbuf) {
				c.vec = append(c.vec, c.wbuf[c.vecCut:])
			}
			_, err = c.vw.Writev(c.vec)
		} else {
			_, err = c.nc.Write(c.wbuf)
		}
		c.flushStart.Store(0)
		if err != nil {
			c.werr = err
			_ = c.nc.Close()
		}
	}
	c.dropVec()
	c.wbuf = c.wbuf[:0]
	if cap(c.wbuf) <= 1<<20 {
		*c.wbufp = c.wbuf
		wbufPool.Put(c.wbufp)
	}
	c.wbufp, c.wbuf = nil, nil
}

// dropVec forgets the write's parts, which went out or never will.
func (c *conn) dropVec() {
	if len(c.vec) > 0 {
		clear(c.vec)
		c.vec = c.vec[:0]
	}
	c.vecCut, c.vecLen = 0, 0
}

// flushTaken writes out the buffer when it holds payloads from where they
// lie: a caller that may reuse its bytes once a write call returns (see
// WriteData) cannot leave them there.
func (c *conn) flushTaken() {
	if len(c.vec) > 0 {
		c.flushLocked()
	}
}

func appendFrameHeader(b []byte, length int, typ http2.FrameType, flags http2.Flags, id uint32) []byte {
	return append(b, byte(length>>16), byte(length>>8), byte(length), byte(typ), byte(flags),
		byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
}

// writeHeaders writes a HEADERS frame (and CONTINUATIONs when the block
// is larger than the peer's frame size) holding a pending table size
// update, block and extra.
func (c *conn) writeHeaders(id uint32, block, extra []byte, endStream bool) {
	c.sentSincePing = true
	var tsu [8]byte
	t := tsu[:0]
	if c.tsu {
		t = appendVarInt(t, 5, 0x20, uint64(c.tsuSize))
		c.tsu = false
	}
	n := len(t) + len(block) + len(extra)
	flags := http2.FlagHeadersEndHeaders
	if endStream {
		flags |= http2.FlagHeadersEndStream
	}
	if n <= c.peerFrame {
		c.reserve(9 + n)
		b := appendFrameHeader(c.wbuf, n, http2.FrameHeaders, flags, id)
		b = append(b, t...)
		b = append(b, block...)
		c.wbuf = append(b, extra...)
		return
	}
	all := append(append(append(c.scratch[:0], t...), block...), extra...)
	c.scratch = all
	first := true
	for len(all) > 0 {
		k := min(len(all), c.peerFrame)
		typ, fl := http2.FrameContinuation, http2.Flags(0)
		if first {
			typ, fl = http2.FrameHeaders, flags&^http2.FlagHeadersEndHeaders
		}
		if k == len(all) {
			fl |= http2.FlagHeadersEndHeaders
		}
		c.reserve(9 + k)
		c.wbuf = append(appendFrameHeader(c.wbuf, k, typ, fl, id), all[:k]...)
		all = all[k:]
		first = false
	}
}

// sendDataLocked writes up to budget bytes of st's pending body as DATA
// frames, within the windows and the peer's frame size. It reports how many
// bytes it sent.
func (c *conn) sendDataLocked(st *stream, budget int) int {
	c.sentSincePing = true
	sent := 0
	for len(st.pending) > 0 && budget > 0 {
		n := min(int64(len(st.pending)), c.connSend, st.sendWin, int64(c.peerFrame), int64(budget))
		if n <= 0 {
			break
		}
		k := int(n)
		end := k == len(st.pending)
		var flags http2.Flags
		if end && !st.rstAfter && !st.more {
			flags = http2.FlagDataEndStream
		}
		c.reserve(9 + k)
		c.wbuf = appendFrameHeader(c.wbuf, k, http2.FrameData, flags, st.id)
		if c.vw != nil && (k >= vecMinHeld || k >= vecMin && !st.held) {
			c.vec = append(c.vec, c.wbuf[c.vecCut:], st.pending[:k:k])
			c.vecCut = len(c.wbuf)
			c.vecLen += k
		} else {
			c.wbuf = append(c.wbuf, st.pending[:k]...)
		}
		st.pending = st.pending[k:]
		st.sent += n
		c.connSend -= n
		st.sendWin -= n
		budget -= k
		sent += k
		if end {
			st.pending = nil
			c.unqueue(st)
			if st.more {
				// WriteData's part is out; the body goes on.
				if st.waiting {
					c.cond.Broadcast()
				}
				break
			}
			c.endBodyLocked(st)
			break
		}
	}
	return sent
}

// kickLocked starts the pump when a queued stream can send.
func (c *conn) kickLocked() {
	if c.pumping || c.closed || len(c.sendq) == 0 || c.connSend <= 0 {
		return
	}
	for _, st := range c.sendq {
		if st.sendWin > 0 {
			c.pumping = true
			c.pumpWG.Add(1)
			go c.pump()
			return
		}
	}
}

// pump sends queued response bodies, round-robin, a quantum per stream per
// turn, until every queued stream is done or waits for a window.
func (c *conn) pump() {
	defer c.pumpWG.Done()
	c.mu.Lock()
	defer c.mu.Unlock()
	for !c.closed && c.werr == nil {
		progress := false
		for n := len(c.sendq); n > 0 && len(c.sendq) > 0; n-- {
			st := c.sendq[0]
			copy(c.sendq, c.sendq[1:])
			c.sendq[len(c.sendq)-1] = nil
			c.sendq = c.sendq[:len(c.sendq)-1]
			st.queued = false
			if c.sendDataLocked(st, inlineQuantum) > 0 {
				progress = true
			}
			if !st.closed && len(st.pending) > 0 {
				c.enqueue(st)
			}
		}
		if !progress {
			break
		}
		// Let the reader and other writers in between turns.
		if !c.batching {
			c.flushLocked()
		}
		c.mu.Unlock()
		runtime.Gosched()
		c.mu.Lock()
	}
	c.pumping = false
	if !c.batching && !c.closed {
		c.flushLocked()
	}
}

// malformedBlock is a response header block that breaks HTTP/2's rules: a
// field name in upper case (RFC 9113, section 8.2.1).
var malformedBlock = appendField(appendStatus(nil, 200), "X-Decoy-Malformed", "1", false)

// WriteMalformed answers with a response header block that breaks
// HTTP/2's rules (a field name in upper case), ending the stream: the
// client must treat the response as malformed, which Go's client reports
// as a stream error PROTOCOL_ERROR. The connection stays usable.
func (w *ResponseWriter) WriteMalformed() error {
	return w.WriteBlock(malformedBlock, nil)
}
