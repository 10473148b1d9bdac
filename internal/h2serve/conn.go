// Package h2serve is a purpose-built HTTP/2 server connection loop for
// pre-rendered responses, built from the field's own pieces: x/net's hpack
// decoder for request headers (with the dynamic table the protocol
// requires), x/net's Framer for control frames, and a frame reader and
// HEADERS/DATA writer of its own that allocate nothing per request.
//
// ServeConn serves one connection: one reader goroutine reads and handles
// frames and runs the Handler inline; writes go to a per-connection buffer
// that is flushed when the reader has no more input buffered, so a batch of
// requests read in one system call is answered in one. A response whose
// header block was encoded once (EncodeHeaderBlock: static table and
// literals only, valid on every connection) goes out as one HEADERS frame
// and DATA frames within the peer's flow-control windows and frame size;
// bodies larger than the windows or than an inline quantum are sent by a
// short-lived pump goroutine, round-robin between streams. Handlers that
// wait (injected delays, slow work) detach the stream and answer later from
// another goroutine or a timer, so they never stall the connection; such a
// goroutine can also send a body as it comes (WriteHead, then WriteData,
// which waits for flow control), and break a response off on purpose
// (ResetCode, WriteBlockReset, WriteMalformed, GoAway) to test clients.
//
// It keeps HTTP/2's rules: SETTINGS exchange and ACK, PING, connection and
// stream flow control in both directions, concurrent stream limit
// (REFUSED_STREAM beyond), RST_STREAM, CONTINUATION, padding, PRIORITY
// (ignored), header list size limit (431), protocol errors as GOAWAY with
// the right code, idle timeout, and graceful GOAWAY on shutdown.
package h2serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Handler answers requests. ServeH2 runs on the connection's reader
// goroutine, so it must not block: a handler that has to wait calls
// w.Detach (or w.WriteBlockAfter) and answers later. Unless detached, w and
// r are valid only during the call; a handler that returns without
// answering gets an empty 200 sent for it.
type Handler interface {
	ServeH2(w *ResponseWriter, r *Request)
}

// BodyStreamer is a Handler that reads some request bodies as they
// arrive rather than whole: once a request's headers are in and a body
// follows, StreamBody decides. When it says yes, ServeH2 runs at once with
// r.Streamed set and no Body; the handler detaches the stream and reads
// the body from its goroutine with ResponseWriter.ReadBody, which gives
// the client flow-control credit as it reads (a slow reader slows the
// client down), and Options.MaxBodyBytes does not apply. StreamBody runs
// on the connection's reader goroutine and must not block.
type BodyStreamer interface {
	Handler
	StreamBody(r *Request) bool
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(w *ResponseWriter, r *Request)

// ServeH2 calls f(w, r).
func (f HandlerFunc) ServeH2(w *ResponseWriter, r *Request) { f(w, r) }

// Options configures ServeConn. Zero values take the defaults.
type Options struct {
	// MaxConcurrentStreams is advertised to the peer; streams beyond it are
	// refused with RST_STREAM REFUSED_STREAM. Default 250.
	MaxConcurrentStreams uint32
	// MaxHeaderListSize bounds a request's header list (names, values and
	// 32 bytes per field, as HTTP/2 counts it): beyond it the request is
	// rejected with 431. Default 16 KiB.
	MaxHeaderListSize uint32
	// MaxBodyBytes bounds a request body: beyond it the request is rejected
	// with 413. Default 64 MiB.
	MaxBodyBytes int64
	// MaxReadFrameSize is the largest frame payload accepted (advertised as
	// SETTINGS_MAX_FRAME_SIZE). Default 16384, the protocol's minimum.
	MaxReadFrameSize uint32
	// StreamWindow and ConnWindow are the receive windows for request
	// bodies, per stream and per connection. Defaults 1 MiB and 4 MiB.
	StreamWindow uint32
	ConnWindow   uint32
	// IdleTimeout closes (GOAWAY, then close) a connection with no open
	// stream that has read nothing for this long. Default 120 s.
	IdleTimeout time.Duration
	// ReadTimeout bounds the wait for the client preface and first
	// SETTINGS. Default 10 s.
	ReadTimeout time.Duration
	// WriteTimeout closes a connection whose write has been blocked this
	// long (a peer that stopped reading). Default 30 s.
	WriteTimeout time.Duration
	// MinPingInterval, when set, polices the client's PINGs as grpc-go's
	// keepalive enforcement does: a PING that comes sooner than this after
	// the previous one, with no HEADERS or DATA sent since, is a strike,
	// and the third strike ends the connection (after its ACK) with GOAWAY
	// ENHANCE_YOUR_CALM "too_many_pings" (which gRPC clients read as the
	// sign to ping less). Zero answers every PING.
	MinPingInterval time.Duration
	// Reject answers a request the server refuses before the handler sees
	// it: 431 (header list too large) or 413 (body too large). r holds what
	// was read of the request. Nil sends the status with an empty body.
	Reject func(w *ResponseWriter, r *Request, status int)
	// Logger receives handler panics and connection errors, at debug level
	// except panics. Nil discards.
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultMaxConcurrentStreams = 250
	DefaultMaxHeaderListSize    = 16 << 10
	DefaultMaxBodyBytes         = 64 << 20
	DefaultStreamWindow         = 1 << 20
	DefaultConnWindow           = 4 << 20
	DefaultIdleTimeout          = 120 * time.Second
	DefaultReadTimeout          = 10 * time.Second
	DefaultWriteTimeout         = 30 * time.Second
)

const (
	preface        = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	initialWindow  = 65535
	maxWindow      = 1<<31 - 1
	maxOutFrame    = 16384                 // largest DATA payload sent
	inlineQuantum  = 64 << 10              // DATA bytes written inline per response, and per stream per pump turn
	flushAt        = 8 * (maxOutFrame + 9) // flush the write buffer before it holds more: eight full DATA frames, about 128 KiB
	recentClosed   = 32                    // closed stream IDs remembered to tell STREAM_CLOSED from PROTOCOL_ERROR
	maxFree        = 64                    // recycled streams kept per connection
	lingerTimeout  = time.Second
	maxKeptBodyCap = 64 << 10 // a recycled stream keeps a body buffer up to this size
)

// ConnectionError is the protocol error that ended a connection (after a
// GOAWAY with Code was sent).
type ConnectionError struct {
	Code http2.ErrCode
	Msg  string
}

func (e *ConnectionError) Error() string {
	return fmt.Sprintf("h2serve: connection error %v: %s", e.Code, e.Msg)
}

func connErr(code http2.ErrCode, msg string) error { return &ConnectionError{Code: code, Msg: msg} }

// Errors from the ResponseWriter.
var (
	ErrStreamClosed = errors.New("h2serve: stream closed")
	ErrAnswered     = errors.New("h2serve: response already written")
)

var (
	errDone     = errors.New("done")      // a graceful end
	errTimedOut = errors.New("timed out") // the preface did not come in time
)

// headerBlock is the state of the header block being received.
type headerBlock struct {
	active     bool
	id         uint32
	st         *stream // receives the fields; nil discards them
	endStream  bool
	trailers   bool
	newStream  bool
	rst        http2.ErrCode // stream error to send at the end (0: none)
	rstSet     bool
	size       int // header list size so far
	bytes      int // header block bytes so far
	tooLarge   bool
	malformed  bool
	sawRegular bool
}

type conn struct {
	nc       net.Conn
	h        Handler
	streamer BodyStreamer // h, when it streams some request bodies
	o        Options
	ctx      context.Context
	log      *slog.Logger

	// Reader goroutine only.
	rbuf        []byte
	rpos, rend  int
	dec         *hpack.Decoder
	hb          headerBlock
	sawSettings bool
	lastRead    atomic.Int64 // monotonic ns of the last read that returned data

	flushStart atomic.Int64 // monotonic ns when the write in progress began; 0: none
	pumpWG     sync.WaitGroup
	tick       *time.Timer

	mu    sync.Mutex
	wbuf  []byte
	wbufp *[]byte
	// The next write's parts when it carries payloads from where they lie
	// (see sendDataLocked): pieces of wbuf and those payloads in order;
	// wbuf up to vecCut is in vec, and vecLen counts the payloads' bytes.
	vw         VectorWriter // nc's vectored write; nil: payloads are copied
	vec        [][]byte
	vecCut     int
	vecLen     int
	fr         *http2.Framer // writes control frames into wbuf
	batching   bool          // the reader is handling input: it will flush
	ids        []uint32      // open streams (open or half-closed), parallel to sts
	sts        []*stream
	maxClient  uint32 // highest client stream ID seen
	recent     [recentClosed]uint32
	nrecent    int
	free       []*stream
	cond       *sync.Cond // WriteData waits on it for its data to go out; made on first use
	sendq      []*stream  // streams with response data waiting
	pumping    bool
	connSend   int64  // connection send window
	peerInit   int64  // peer's SETTINGS_INITIAL_WINDOW_SIZE
	peerFrame  int    // largest DATA/HEADERS payload we may send
	encTable   uint32 // our HPACK encoder's table size as the peer knows it
	tsu        bool   // a dynamic table size update must open the next header block
	tsuSize    uint32
	recvWin    int64 // connection receive window left
	recvUnack  int64 // received connection bytes not yet given back
	goingAway  bool  // GOAWAY sent
	drained    bool  // going away and no stream left: the reader should end
	closed     bool
	werr       error
	scratch    []byte // header blocks larger than a frame
	rscratch   []byte // header blocks built by WriteResponse
	lastActive int64  // monotonic ns when the last stream closed
	// PING policing (Options.MinPingInterval): when the last PING came,
	// how many came too soon, and whether HEADERS or DATA went out since.
	lastPing      int64
	pingStrikes   int
	sentSincePing bool
}

// maxPingStrikes is how many PINGs may come too soon before the
// connection ends (grpc-go's figure).
const maxPingStrikes = 2

// tooManyPings counts a PING against Options.MinPingInterval and
// reports whether the connection must end for it; c.mu is held.
func (c *conn) tooManyPings() bool {
	now := nanotime()
	if c.sentSincePing {
		c.sentSincePing = false
		c.pingStrikes = 0
		c.lastPing = now
		return false
	}
	if c.lastPing != 0 && time.Duration(now-c.lastPing) < c.o.MinPingInterval {
		c.pingStrikes++
	}
	c.lastPing = now
	return c.pingStrikes > maxPingStrikes
}

// VectorWriter is a connection that writes several buffers in order with
// one system call where it can (rawio.Conn does). Writev reports what
// Write would for the buffers joined; it must leave bufs as they are. A
// wrapper that can write buffers so only sometimes (over what lies under
// it) says whether it can with a method CanWritev() bool, asked once.
type VectorWriter interface {
	Writev(bufs [][]byte) (int64, error)
}

// writerTo lets the Framer append to the connection's write buffer.
type writerTo struct{ c *conn }

func (w writerTo) Write(p []byte) (int, error) {
	w.c.reserve(len(p))
	w.c.wbuf = append(w.c.wbuf, p...)
	return len(p), nil
}

var wbufPool = sync.Pool{New: func() any { b := make([]byte, 0, flushAt+maxOutFrame+512); return &b }}

var epoch = time.Now()

func nanotime() int64 { return int64(time.Since(epoch)) }

// ServeConn serves HTTP/2 on c, whose client preface has not been read yet
// (c may replay bytes its owner peeked). TLS connections must have
// negotiated "h2"; plaintext ones come with prior knowledge. It returns when
// the connection ends, having closed c: nil when it ended normally (the
// client left, an idle timeout, a graceful shutdown), a *ConnectionError
// after a protocol error, or the I/O error.
//
// Cancelling ctx starts a graceful shutdown: GOAWAY, no new streams, open
// streams finish, then the connection closes. A read deadline that expires
// is taken the same way (so an owner can ask by setting one); closing c is
// the hard stop.
//
// When c is a VectorWriter, large DATA payloads go out from where they
// lie, beside the frames in the write buffer, instead of being copied into
// it first.
func ServeConn(ctx context.Context, c net.Conn, h Handler, o Options) error {
	if o.MaxConcurrentStreams == 0 {
		o.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	if o.MaxHeaderListSize == 0 {
		o.MaxHeaderListSize = DefaultMaxHeaderListSize
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxReadFrameSize < 16384 {
		o.MaxReadFrameSize = 16384
	}
	if o.MaxReadFrameSize > 1<<24-1 {
		o.MaxReadFrameSize = 1<<24 - 1
	}
	if o.StreamWindow == 0 {
		o.StreamWindow = DefaultStreamWindow
	}
	if o.StreamWindow > maxWindow {
		o.StreamWindow = maxWindow
	}
	if o.ConnWindow < initialWindow {
		o.ConnWindow = DefaultConnWindow
	}
	if o.ConnWindow > maxWindow {
		o.ConnWindow = maxWindow
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	cn := &conn{
		nc: c, h: h, o: o, ctx: ctx, log: log,
		rbuf:      make([]byte, 4096),
		connSend:  initialWindow,
		peerInit:  initialWindow,
		peerFrame: 16384,
		encTable:  4096,
		recvWin:   int64(o.ConnWindow),
	}
	cn.streamer, _ = h.(BodyStreamer)
	if vw, ok := c.(VectorWriter); ok {
		if cw, ok := c.(interface{ CanWritev() bool }); !ok || cw.CanWritev() {
			cn.vw = vw
		}
	}
	cn.fr = http2.NewFramer(writerTo{cn}, nil)
	cn.dec = hpack.NewDecoder(4096, cn.onField)
	cn.lastRead.Store(nanotime())
	cn.lastActive = nanotime()
	return cn.serve()
}

func (c *conn) serve() (err error) {
	// The preface deadline is set before a shutdown can set its own.
	_ = c.nc.SetReadDeadline(time.Now().Add(c.o.ReadTimeout))
	stop := context.AfterFunc(c.ctx, c.shutdown)
	defer stop()
	period := min(c.o.IdleTimeout, c.o.WriteTimeout) / 2
	c.tick = time.AfterFunc(period, func() { c.onTick(period) })
	defer c.tick.Stop()

	// Our SETTINGS and connection window go out first, without waiting for
	// the client's preface.
	c.mu.Lock()
	_ = c.fr.WriteSettings(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: c.o.MaxConcurrentStreams},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: c.o.StreamWindow},
		http2.Setting{ID: http2.SettingMaxFrameSize, Val: c.o.MaxReadFrameSize},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: c.o.MaxHeaderListSize},
	)
	if c.o.ConnWindow > initialWindow {
		_ = c.fr.WriteWindowUpdate(0, c.o.ConnWindow-initialWindow)
	}
	c.flushLocked()
	c.mu.Unlock()

	err = c.readPreface()
	if err == nil {
		err = c.readLoop()
	}
	graceful := false
	var ce *ConnectionError
	switch {
	case errors.As(err, &ce):
		c.mu.Lock()
		if !c.closed {
			_ = c.fr.WriteGoAway(c.maxClient, ce.Code, []byte(ce.Msg))
			c.goingAway = true
		}
		c.mu.Unlock()
		graceful = true
		c.log.Debug("h2serve: connection error", "remote", remote(c.nc), "code", ce.Code.String(), "msg", ce.Msg)
	case errors.Is(err, errDone):
		graceful, err = true, nil
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, errTimedOut):
		err = nil
	}
	c.finish(graceful)
	return err
}

// finish ends the connection: with graceful, what is buffered goes out,
// the write side is closed and the client gets a moment to close first (so
// that unread input does not turn the close into a reset that could lose
// the last frames).
func (c *conn) finish(graceful bool) {
	c.mu.Lock()
	if graceful {
		c.flushLocked()
		graceful = c.werr == nil
	}
	c.closed = true
	for _, st := range c.sts {
		st.closed = true
		c.notifyClosed(st)
	}
	if c.cond != nil {
		c.cond.Broadcast()
	}
	c.ids, c.sts, c.sendq = nil, nil, nil
	c.dropVec()
	if c.wbufp != nil {
		c.wbuf = c.wbuf[:0]
		*c.wbufp = c.wbuf
		wbufPool.Put(c.wbufp)
		c.wbufp, c.wbuf = nil, nil
	}
	c.mu.Unlock()
	if graceful {
		if cw, ok := c.nc.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
			_ = c.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
			var buf [512]byte
			for {
				if _, err := c.nc.Read(buf[:]); err != nil {
					break
				}
			}
		}
	}
	_ = c.nc.Close()
	c.pumpWG.Wait()
}

// shutdown starts a graceful shutdown (ctx was cancelled).
func (c *conn) shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.goAwayLocked()
	if !c.batching {
		c.flushLocked()
	}
}

// goAwayLocked sends GOAWAY (no error) once: streams the client opens
// after the ones it announces are ignored; when none is left open the
// reader ends.
func (c *conn) goAwayLocked() {
	if !c.goingAway {
		c.goingAway = true
		_ = c.fr.WriteGoAway(c.maxClient, http2.ErrCodeNo, nil)
		// A stream read only to drop the rest of its body holds the
		// shutdown up for nothing.
		var ids []uint32
		for _, st := range c.sts {
			if st.draining {
				ids = append(ids, st.id)
			}
		}
		for _, id := range ids {
			c.streamError(id, http2.ErrCodeNo)
		}
	}
	c.checkDrainedLocked()
}

func (c *conn) checkDrainedLocked() {
	if c.goingAway && len(c.ids) == 0 && !c.drained {
		c.drained = true
		// Wake the reader up.
		_ = c.nc.SetReadDeadline(time.Now())
	}
}

// onTick checks the idle timeout and blocked writes.
func (c *conn) onTick(period time.Duration) {
	now := nanotime()
	if t := c.flushStart.Load(); t != 0 && time.Duration(now-t) >= c.o.WriteTimeout {
		c.log.Debug("h2serve: write blocked; closing", "remote", remote(c.nc))
		_ = c.nc.Close()
		return
	}
	// A write in progress holds c.mu: look again next tick (blocking here
	// would stop the check above from ever closing a stuck connection).
	if !c.mu.TryLock() {
		c.tick.Reset(period)
		return
	}
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	idleSince := max(c.lastRead.Load(), c.lastActive)
	if len(c.ids) == 0 && time.Duration(now-idleSince) >= c.o.IdleTimeout {
		c.goAwayLocked()
		if !c.batching {
			c.flushLocked()
		}
	}
	c.tick.Reset(period)
}

func remote(c net.Conn) string {
	if a := c.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

// ---------------------------------------------------------------- reading

func (c *conn) readPreface() error {
	for c.rend < len(preface) {
		n, err := c.nc.Read(c.rbuf[c.rend:])
		c.rend += n
		if n > 0 && string(c.rbuf[:min(c.rend, len(preface))]) != preface[:min(c.rend, len(preface))] {
			return connErr(http2.ErrCodeProtocol, "bad client preface")
		}
		if err != nil {
			if isTimeout(err) {
				return errTimedOut
			}
			return err
		}
	}
	c.rpos = len(preface)
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// readLoop reads and handles frames until the connection ends.
func (c *conn) readLoop() error {
	for {
		c.mu.Lock()
		c.batching = true
		err := c.handleBuffered()
		c.batching = false
		if err == nil && c.werr != nil {
			err = c.werr
		}
		if err != nil {
			c.mu.Unlock()
			return err
		}
		c.flushLocked()
		c.mu.Unlock()

		// Make room and read more.
		if c.rpos == c.rend {
			c.rpos, c.rend = 0, 0
		} else if c.rpos > 0 {
			c.rend = copy(c.rbuf, c.rbuf[c.rpos:c.rend])
			c.rpos = 0
		}
		if c.rend >= 9 {
			if need := 9 + frameLen(c.rbuf); need > len(c.rbuf) {
				nb := make([]byte, need)
				copy(nb, c.rbuf[:c.rend])
				c.rbuf = nb
			}
		}
		n, err := c.nc.Read(c.rbuf[c.rend:])
		if n > 0 {
			c.rend += n
			c.lastRead.Store(nanotime())
		}
		if err != nil {
			if n > 0 {
				// Handle what came with the error first.
				continue
			}
			if !isTimeout(err) {
				return err
			}
			if !c.sawSettings {
				return errTimedOut
			}
			// A read deadline expired: our own wake-up once drained, or the
			// owner asking us to shut down.
			c.mu.Lock()
			if !c.drained {
				c.goAwayLocked()
			}
			if c.drained {
				c.mu.Unlock()
				return errDone
			}
			_ = c.nc.SetReadDeadline(time.Time{})
			c.flushLocked()
			c.mu.Unlock()
		}
	}
}

func frameLen(b []byte) int { return int(b[0])<<16 | int(b[1])<<8 | int(b[2]) }

// handleBuffered handles every complete frame in the read buffer. c.mu is
// held (and released around handler calls).
func (c *conn) handleBuffered() error {
	for c.rend-c.rpos >= 9 {
		h := c.rbuf[c.rpos:]
		length := frameLen(h)
		if uint32(length) > c.o.MaxReadFrameSize {
			return connErr(http2.ErrCodeFrameSize, "frame larger than SETTINGS_MAX_FRAME_SIZE")
		}
		if c.rend-c.rpos < 9+length {
			return nil
		}
		typ := http2.FrameType(h[3])
		flags := http2.Flags(h[4])
		id := (uint32(h[5])<<24 | uint32(h[6])<<16 | uint32(h[7])<<8 | uint32(h[8])) & (1<<31 - 1)
		p := h[9 : 9+length]
		c.rpos += 9 + length
		if err := c.handleFrame(typ, flags, id, p); err != nil {
			return err
		}
		if c.drained {
			return errDone
		}
	}
	return nil
}

func (c *conn) handleFrame(typ http2.FrameType, flags http2.Flags, id uint32, p []byte) error {
	if !c.sawSettings {
		if typ != http2.FrameSettings || flags.Has(http2.FlagSettingsAck) {
			return connErr(http2.ErrCodeProtocol, "first frame is not SETTINGS")
		}
	}
	if c.hb.active && (typ != http2.FrameContinuation || id != c.hb.id) {
		return connErr(http2.ErrCodeProtocol, "header block interrupted")
	}
	switch typ {
	case http2.FrameData:
		return c.handleData(flags, id, p)
	case http2.FrameHeaders:
		return c.handleHeaders(flags, id, p)
	case http2.FrameContinuation:
		if !c.hb.active {
			return connErr(http2.ErrCodeProtocol, "CONTINUATION without HEADERS")
		}
		return c.headerFragment(p, flags.Has(http2.FlagContinuationEndHeaders))
	case http2.FrameWindowUpdate:
		return c.handleWindowUpdate(id, p)
	case http2.FrameSettings:
		return c.handleSettings(flags, id, p)
	case http2.FramePing:
		if id != 0 {
			return connErr(http2.ErrCodeProtocol, "PING on a stream")
		}
		if len(p) != 8 {
			return connErr(http2.ErrCodeFrameSize, "PING length")
		}
		if flags.Has(http2.FlagPingAck) {
			return nil
		}
		_ = c.fr.WritePing(true, [8]byte(p))
		if c.o.MinPingInterval > 0 && c.tooManyPings() {
			// Acknowledged first, as grpc-go does.
			return connErr(http2.ErrCodeEnhanceYourCalm, "too_many_pings")
		}
		return nil
	case http2.FrameRSTStream:
		if id == 0 {
			return connErr(http2.ErrCodeProtocol, "RST_STREAM on stream 0")
		}
		if len(p) != 4 {
			return connErr(http2.ErrCodeFrameSize, "RST_STREAM length")
		}
		if c.idle(id) {
			return connErr(http2.ErrCodeProtocol, "RST_STREAM on an idle stream")
		}
		if st := c.stream(id); st != nil {
			c.closeStreamLocked(st)
		}
		return nil
	case http2.FramePriority:
		if id == 0 {
			return connErr(http2.ErrCodeProtocol, "PRIORITY on stream 0")
		}
		if len(p) != 5 {
			c.streamError(id, http2.ErrCodeFrameSize)
			return nil
		}
		if dep := (uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])) & (1<<31 - 1); dep == id {
			c.streamError(id, http2.ErrCodeProtocol)
		}
		return nil
	case http2.FrameGoAway:
		if id != 0 {
			return connErr(http2.ErrCodeProtocol, "GOAWAY on a stream")
		}
		if len(p) < 8 {
			return connErr(http2.ErrCodeFrameSize, "GOAWAY length")
		}
		c.goAwayLocked()
		return nil
	case http2.FramePushPromise:
		return connErr(http2.ErrCodeProtocol, "PUSH_PROMISE from a client")
	}
	return nil // unknown frame types are ignored
}

// idle tells whether a stream ID was never used by the client.
func (c *conn) idle(id uint32) bool { return id%2 == 0 || id > c.maxClient }

// stream returns the open stream with this ID, or nil.
func (c *conn) stream(id uint32) *stream {
	for i, x := range c.ids {
		if x == id {
			return c.sts[i]
		}
	}
	return nil
}

// wasClosed tells whether a stream closed recently, and whether we reset
// it.
func (c *conn) wasClosed(id uint32) (closed, byUs bool) {
	for _, x := range c.recent {
		if x&^(1<<31) == id {
			return true, x&(1<<31) != 0
		}
	}
	return false, false
}

// streamError resets a stream: RST_STREAM with code, and the stream closes.
func (c *conn) streamError(id uint32, code http2.ErrCode) {
	_ = c.fr.WriteRSTStream(id, code)
	if st := c.stream(id); st != nil {
		st.resetByUs = true
		c.closeStreamLocked(st)
	} else if closed, _ := c.wasClosed(id); !closed {
		c.addRecent(id, true)
	}
}

func (c *conn) handleSettings(flags http2.Flags, id uint32, p []byte) error {
	if id != 0 {
		return connErr(http2.ErrCodeProtocol, "SETTINGS on a stream")
	}
	if flags.Has(http2.FlagSettingsAck) {
		if len(p) != 0 {
			return connErr(http2.ErrCodeFrameSize, "SETTINGS ACK with a payload")
		}
		return nil
	}
	if len(p)%6 != 0 {
		return connErr(http2.ErrCodeFrameSize, "SETTINGS length")
	}
	for ; len(p) > 0; p = p[6:] {
		s := http2.Setting{
			ID:  http2.SettingID(uint16(p[0])<<8 | uint16(p[1])),
			Val: uint32(p[2])<<24 | uint32(p[3])<<16 | uint32(p[4])<<8 | uint32(p[5]),
		}
		if err := s.Valid(); err != nil {
			var ce http2.ConnectionError
			if errors.As(err, &ce) {
				return connErr(http2.ErrCode(ce), "invalid "+s.ID.String())
			}
			return connErr(http2.ErrCodeProtocol, "invalid "+s.ID.String())
		}
		switch s.ID {
		case http2.SettingHeaderTableSize:
			if s.Val < c.encTable {
				// Our encoder never uses the dynamic table, but a decoder
				// may insist on hearing that it shrank.
				if !c.tsu || s.Val < c.tsuSize {
					c.tsuSize = s.Val
				}
				c.tsu = true
				c.encTable = s.Val
			}
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - c.peerInit
			c.peerInit = int64(s.Val)
			for _, st := range c.sts {
				st.sendWin += delta
				if st.sendWin > maxWindow {
					return connErr(http2.ErrCodeFlowControl, "SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window")
				}
			}
			if delta > 0 {
				c.kickLocked()
			}
		case http2.SettingMaxFrameSize:
			c.peerFrame = int(min(s.Val, maxOutFrame))
		}
	}
	_ = c.fr.WriteSettingsAck()
	if !c.sawSettings {
		c.sawSettings = true
		if !c.drained { // else the deadline is the wake-up to end
			_ = c.nc.SetReadDeadline(time.Time{})
		}
	}
	return nil
}

func (c *conn) handleWindowUpdate(id uint32, p []byte) error {
	if len(p) != 4 {
		return connErr(http2.ErrCodeFrameSize, "WINDOW_UPDATE length")
	}
	inc := int64((uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])) & (1<<31 - 1))
	if id == 0 {
		if inc == 0 {
			return connErr(http2.ErrCodeProtocol, "WINDOW_UPDATE of 0")
		}
		c.connSend += inc
		if c.connSend > maxWindow {
			return connErr(http2.ErrCodeFlowControl, "connection window overflow")
		}
		c.kickLocked()
		return nil
	}
	if c.idle(id) {
		return connErr(http2.ErrCodeProtocol, "WINDOW_UPDATE on an idle stream")
	}
	st := c.stream(id)
	if st == nil {
		return nil // closed: ignored
	}
	if inc == 0 {
		c.streamError(id, http2.ErrCodeProtocol)
		return nil
	}
	st.sendWin += inc
	if st.sendWin > maxWindow {
		c.streamError(id, http2.ErrCodeFlowControl)
		return nil
	}
	if st.queued {
		c.kickLocked()
	}
	return nil
}

func (c *conn) handleData(flags http2.Flags, id uint32, p []byte) error {
	if id == 0 {
		return connErr(http2.ErrCodeProtocol, "DATA on stream 0")
	}
	if c.idle(id) {
		return connErr(http2.ErrCodeProtocol, "DATA on an idle stream")
	}
	flen := int64(len(p))
	data := p
	if flags.Has(http2.FlagDataPadded) {
		if len(p) == 0 || int(p[0]) >= len(p) {
			return connErr(http2.ErrCodeProtocol, "padding longer than the frame")
		}
		data = p[1 : len(p)-int(p[0])]
	}
	if flen > c.recvWin {
		return connErr(http2.ErrCodeFlowControl, "connection window exceeded")
	}
	c.recvWin -= flen
	// The connection window is given back for everything: bodies are
	// bounded by MaxBodyBytes, not by the window.
	c.recvUnack += flen
	if c.recvUnack >= int64(c.o.ConnWindow/2) {
		_ = c.fr.WriteWindowUpdate(0, uint32(c.recvUnack))
		c.recvWin += c.recvUnack
		c.recvUnack = 0
	}
	st := c.stream(id)
	if st == nil {
		if _, byUs := c.wasClosed(id); !byUs {
			c.streamError(id, http2.ErrCodeStreamClosed)
		}
		return nil
	}
	if st.recvDone {
		c.streamError(id, http2.ErrCodeStreamClosed)
		return nil
	}
	if flen > st.recvWin {
		c.streamError(id, http2.ErrCodeFlowControl)
		return nil
	}
	st.recvWin -= flen
	st.got += int64(len(data))
	if st.req.ContentLength >= 0 && st.got > st.req.ContentLength {
		c.streamError(id, http2.ErrCodeProtocol)
		return nil
	}
	end := flags.Has(http2.FlagDataEndStream)
	if end && st.req.ContentLength >= 0 && st.got != st.req.ContentLength {
		c.streamError(id, http2.ErrCodeProtocol)
		return nil
	}
	switch {
	case st.rejected:
		// Already answered (413): the data is dropped, up to the drain
		// budget once the answer is out.
		if st.draining {
			st.drainLeft -= int64(len(data))
			if st.drainLeft < 0 && !end {
				c.streamError(id, http2.ErrCodeNo)
				return nil
			}
		}
	case st.req.Streamed && st.bodyShut:
		// The handler reads no more: dropped, its credit given back below.
	case st.req.Streamed:
		st.keep(data)
		c.bodyArrived(st)
	case int64(len(st.req.Body))+int64(len(data)) > c.o.MaxBodyBytes:
		st.req.Body = st.req.Body[:0]
		st.recvDone = end
		if c.reject(st, 413) {
			return nil
		}
	default:
		st.req.Body = append(st.req.Body, data...)
	}
	if end {
		st.recvDone = true
		if st.req.Streamed {
			c.bodyArrived(st)
		} else if !st.rejected {
			c.dispatch(st)
		} else if st.draining {
			c.closeStreamLocked(st) // answered, and now read to its end
		}
		return nil
	}
	if st.req.Streamed && !st.bodyShut {
		// The data's credit goes back as the handler reads it (ReadBody);
		// the padding's at once.
		st.recvUnack += flen - int64(len(data))
	} else {
		st.recvUnack += flen
	}
	if st.recvUnack >= int64(c.o.StreamWindow/2) {
		_ = c.fr.WriteWindowUpdate(id, uint32(st.recvUnack))
		st.recvWin += st.recvUnack
		st.recvUnack = 0
	}
	return nil
}

func (c *conn) handleHeaders(flags http2.Flags, id uint32, p []byte) error {
	if id == 0 {
		return connErr(http2.ErrCodeProtocol, "HEADERS on stream 0")
	}
	if id%2 == 0 {
		return connErr(http2.ErrCodeProtocol, "HEADERS on an even stream")
	}
	if flags.Has(http2.FlagHeadersPadded) {
		if len(p) == 0 || int(p[0]) >= len(p) {
			return connErr(http2.ErrCodeProtocol, "padding longer than the frame")
		}
		p = p[1 : len(p)-int(p[0])]
	}
	selfDep := false
	if flags.Has(http2.FlagHeadersPriority) {
		if len(p) < 5 {
			return connErr(http2.ErrCodeFrameSize, "HEADERS too short for its priority")
		}
		dep := (uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])) & (1<<31 - 1)
		selfDep = dep == id
		p = p[5:]
	}
	hb := &c.hb
	*hb = headerBlock{active: true, id: id, endStream: flags.Has(http2.FlagHeadersEndStream)}
	if st := c.stream(id); st != nil {
		// Trailers, or a stream error.
		switch {
		case st.recvDone:
			hb.rst, hb.rstSet = http2.ErrCodeStreamClosed, true
		case !hb.endStream:
			hb.rst, hb.rstSet = http2.ErrCodeProtocol, true
		default:
			hb.st, hb.trailers = st, true
		}
	} else if id <= c.maxClient {
		if closed, _ := c.wasClosed(id); closed {
			return connErr(http2.ErrCodeStreamClosed, "HEADERS on a closed stream")
		}
		return connErr(http2.ErrCodeProtocol, "stream ID went down")
	} else {
		c.maxClient = id
		switch {
		case c.goingAway:
			// After GOAWAY: ignored (decoded, for the HPACK state).
		case selfDep:
			hb.rst, hb.rstSet = http2.ErrCodeProtocol, true
		case uint32(len(c.ids)) >= c.o.MaxConcurrentStreams:
			hb.rst, hb.rstSet = http2.ErrCodeRefusedStream, true
		default:
			hb.st, hb.newStream = c.newStream(id), true
		}
	}
	if selfDep && hb.st != nil && !hb.newStream {
		hb.rst, hb.rstSet, hb.st = http2.ErrCodeProtocol, true, nil
	}
	c.dec.SetEmitEnabled(hb.st != nil)
	return c.headerFragment(p, flags.Has(http2.FlagHeadersEndHeaders))
}

// headerFragment decodes a piece of the header block; at its end it acts
// on the request.
func (c *conn) headerFragment(p []byte, end bool) error {
	hb := &c.hb
	hb.bytes += len(p)
	if hb.bytes > max(4*int(c.o.MaxHeaderListSize), 64<<10) {
		return connErr(http2.ErrCodeEnhanceYourCalm, "header block too large")
	}
	if _, err := c.dec.Write(p); err != nil {
		return connErr(http2.ErrCodeCompression, "HPACK: "+err.Error())
	}
	if !end {
		return nil
	}
	if err := c.dec.Close(); err != nil {
		return connErr(http2.ErrCodeCompression, "HPACK: "+err.Error())
	}
	c.dec.SetEmitEnabled(true)
	hb.active = false
	st := hb.st
	hb.st = nil
	if hb.rstSet {
		if st != nil && hb.newStream {
			c.recycle(st)
		}
		c.streamError(hb.id, hb.rst)
		return nil
	}
	if st == nil {
		return nil // ignored
	}
	r := &st.req
	if hb.trailers {
		if hb.malformed {
			c.streamError(st.id, http2.ErrCodeProtocol)
			return nil
		}
		if st.req.ContentLength >= 0 && st.got != st.req.ContentLength {
			c.streamError(st.id, http2.ErrCodeProtocol)
			return nil
		}
		st.recvDone = true
		if st.req.Streamed {
			c.bodyArrived(st)
		} else if !st.rejected {
			c.dispatch(st)
		} else if st.draining {
			c.closeStreamLocked(st) // answered, and now read to its end
		}
		return nil
	}
	if !hb.malformed && !hb.tooLarge {
		if r.has&hasMethod == 0 {
			hb.malformed = true
		} else if r.Method == "CONNECT" {
			hb.malformed = r.has&(hasScheme|hasPath) != 0 || r.Authority == ""
		} else {
			hb.malformed = r.has&(hasScheme|hasPath) != hasScheme|hasPath || r.RawPath == ""
		}
	}
	if hb.malformed {
		id := st.id
		c.recycle(st)
		c.streamError(id, http2.ErrCodeProtocol)
		return nil
	}
	// The stream is open from here on.
	c.ids = append(c.ids, st.id)
	c.sts = append(c.sts, st)
	if r.Authority == "" {
		r.Authority, _ = r.Header("host")
	}
	if hb.tooLarge {
		st.recvDone = hb.endStream
		c.reject(st, 431)
		return nil
	}
	if !hb.endStream && c.streamer != nil {
		st.inHandler = true // not recycled meanwhile
		c.mu.Unlock()
		stream := c.streamer.StreamBody(r)
		c.mu.Lock()
		st.inHandler = false
		if st.closed {
			c.recycle(st)
			return nil
		}
		if stream {
			r.Streamed = true
			c.dispatch(st)
			return nil
		}
	}
	if r.ContentLength > c.o.MaxBodyBytes {
		st.recvDone = hb.endStream
		c.reject(st, 413)
		return nil
	}
	if hb.endStream {
		if r.ContentLength > 0 {
			c.streamError(st.id, http2.ErrCodeProtocol)
			return nil
		}
		st.recvDone = true
		c.dispatch(st)
	}
	return nil
}

// onField receives each decoded header field of the block in progress.
func (c *conn) onField(f hpack.HeaderField) {
	hb := &c.hb
	st := hb.st
	if st == nil || hb.malformed || hb.tooLarge {
		return
	}
	hb.size += len(f.Name) + len(f.Value) + 32
	if hb.size > int(c.o.MaxHeaderListSize) {
		hb.tooLarge = true
		c.dec.SetEmitEnabled(false)
		return
	}
	r := &st.req
	if hb.trailers && r.Streamed {
		return // the handler owns the request: trailers are not kept
	}
	if len(f.Name) > 0 && f.Name[0] == ':' {
		if hb.trailers || hb.sawRegular {
			c.malformed()
			return
		}
		var bit uint8
		switch f.Name {
		case ":method":
			bit = hasMethod
			r.Method = f.Value
		case ":scheme":
			bit = hasScheme
			r.Scheme = f.Value
		case ":path":
			bit = hasPath
			r.setPath(f.Value)
		case ":authority":
			bit = hasAuthority
			r.Authority = f.Value
		default:
			c.malformed()
			return
		}
		if r.has&bit != 0 {
			c.malformed()
			return
		}
		r.has |= bit
		return
	}
	hb.sawRegular = true
	if !validName(f.Name) || !validValue(f.Value) {
		c.malformed()
		return
	}
	switch f.Name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		c.malformed()
		return
	case "te":
		if f.Value != "trailers" {
			c.malformed()
			return
		}
	case "content-length":
		if hb.trailers {
			break
		}
		n, ok := parseLength(f.Value)
		if !ok || r.ContentLength >= 0 && r.ContentLength != n {
			c.malformed()
			return
		}
		r.ContentLength = n
	}
	if hb.trailers {
		r.Trailers = append(r.Trailers, Field{f.Name, f.Value})
	} else {
		r.Headers = append(r.Headers, Field{f.Name, f.Value})
	}
}

func (c *conn) malformed() {
	c.hb.malformed = true
	c.dec.SetEmitEnabled(false)
}

func parseLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// validName: a token in lower case.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenLower[s[i]] {
			return false
		}
	}
	return true
}

// validValue: no NUL, CR or LF (RFC 9113, section 8.2.1).
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c == '\r' || c == '\n' {
			return false
		}
	}
	return true
}

var tokenLower = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()
