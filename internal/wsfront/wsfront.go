// Package wsfront holds WebSocket conversations for stubs: once a front
// door has upgraded a request (RFC 6455), Serve pushes the stub's
// messages, answers client messages by echo or script, and closes with the
// stub's close code, or with 1001 when the server shuts down.
package wsfront

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/wake"
	"github.com/fasthttp/websocket"
)

// CloseWait bounds how long a conversation waits for the client to answer
// its close frame before it drops the connection.
const CloseWait = time.Second

// Counts are the messages a conversation read and sent, and how it
// ended.
type Counts struct {
	In, Out int64
	End     End
}

// End tells who ended a conversation, for the connection metrics.
type End int32

const (
	// EndConn: no close frame was sent before the connection failed or
	// the client dropped it; what the connection's reads and writes saw
	// tells who ended it.
	EndConn End = iota
	// EndClient: the client sent its close frame first.
	EndClient
	// EndStub: decoy closed first, as the stub says (its close, a script
	// entry's).
	EndStub
	// EndProtocol: decoy failed the connection for what the client sent:
	// a malformed frame (1002), text that is not UTF-8 (1007), a message
	// over the limit (1009).
	EndProtocol
	// EndShutdown: decoy closed with 1001 because it is shutting down.
	EndShutdown
)

// conv is one open conversation.
type conv struct {
	c    *websocket.Conn
	ws   *engine.WebSocket
	mu   sync.Mutex // serializes data frames
	once sync.Once  // the close frame goes once
	// closed: decoy has sent its close frame; client messages are read
	// until the client's own close, and no longer answered.
	closed atomic.Bool
	end    atomic.Int32 // an End, set with the close frame
	stop   chan struct{}
	in     atomic.Int64
	out    atomic.Int64
	frames *Frames
}

// Serve holds the conversation ws on c until it ends: the client closes,
// the script or the stub closes, the connection fails, or ctx ends (then
// the client gets close 1001). Messages over limit bytes end it with 1009,
// a malformed frame with 1002. frames, when not nil, follows the bytes
// the client sends (see Frames): a close frame whose payload is 1 byte,
// or a 64-bit length with its top bit set, then gets 1002 too. Serve
// returns when every goroutine it started has ended; it does not close c.
func Serve(ctx context.Context, c *websocket.Conn, ws *engine.WebSocket, limit int64, frames *Frames) Counts {
	cv := &conv{c: c, ws: ws, stop: make(chan struct{}), frames: frames}
	if limit > 0 {
		c.SetReadLimit(limit)
	}
	c.SetCloseHandler(func(code int, _ string) error {
		// As the library's own handler: the client's code echoed,
		// without its reason; but half a code is a protocol error.
		reason, end := "", EndClient
		if code == websocket.CloseNoStatusReceived && frames.LastClose() == 1 {
			code, reason, end = websocket.CloseProtocolError, "a close frame's payload is one byte", EndProtocol
		}
		cv.closeWith(code, reason, end)
		return nil
	})
	readDone := make(chan struct{})
	go func() { defer close(readDone); cv.read() }()
	pushDone := make(chan struct{})
	go func() { defer close(pushDone); cv.push() }()
	select {
	case <-readDone:
	case <-ctx.Done():
		cv.closeWith(websocket.CloseGoingAway, "server shutting down", EndShutdown)
		select {
		case <-readDone:
		case <-time.After(CloseWait):
		}
	}
	close(cv.stop)
	// Unblocks a write stuck on a client that does not read, and a read
	// still waiting; the caller closes the connection for good.
	frames.close()
	_ = c.UnderlyingConn().SetDeadline(time.Now())
	<-readDone
	<-pushDone
	return Counts{In: cv.in.Load(), Out: cv.out.Load(), End: End(cv.end.Load())}
}

// closeWith sends a close frame once, noting why (end), and gives the
// client CloseWait to answer it.
func (cv *conv) closeWith(code int, reason string, end End) {
	cv.once.Do(func() {
		cv.end.Store(int32(end))
		cv.closed.Store(true)
		cv.frames.close()
		msg := websocket.FormatCloseMessage(code, reason)
		_ = cv.c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(CloseWait))
		_ = cv.c.SetReadDeadline(time.Now().Add(CloseWait))
	})
}

// send writes one data frame.
func (cv *conv) send(kind int, b []byte) error {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if err := cv.c.WriteMessage(kind, b); err != nil {
		return err
	}
	cv.out.Add(1)
	return nil
}

func (cv *conv) kind() int {
	if cv.ws.Binary {
		return websocket.BinaryMessage
	}
	return websocket.TextMessage
}

// push sends the stub's messages, then its close.
func (cv *conv) push() {
	ws := cv.ws
	var t *time.Timer
	first := true
	for range ws.Repeat {
		for _, m := range ws.Messages {
			if !first && ws.Interval > 0 {
				if t == nil {
					t = time.NewTimer(ws.Interval)
					defer t.Stop()
				} else {
					t.Reset(ws.Interval)
				}
				wake.After(ws.Interval)
				select {
				case <-t.C:
				case <-cv.stop:
					return
				}
			}
			first = false
			if cv.send(cv.kind(), m) != nil {
				return
			}
		}
	}
	if ws.Close != nil {
		cv.closeWith(ws.Close.Code, ws.Close.Reason, EndStub)
	}
}

// read takes client messages until the connection ends, answering them
// when the stub echoes or has a script. The library answers a client's
// close frame, and sends 1002 on a malformed frame and 1009 on a message
// over the limit. A text message that is not UTF-8 fails the connection
// with 1007 (RFC 6455 section 8.1). Once decoy has sent its close frame,
// for whatever reason, what the client sends is read until its close and
// not answered.
func (cv *conv) read() {
	for {
		kind, b, err := cv.c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			switch {
			case errors.Is(err, websocket.ErrReadLimit) && cv.frames.BadLength():
				// The library reads a 64-bit length with its top bit set
				// as a message over the limit, and sends nothing.
				cv.closeWith(websocket.CloseProtocolError, "a 64-bit payload length has its most significant bit set", EndProtocol)
				cv.linger()
			case errors.Is(err, websocket.ErrReadLimit):
				// The library sent 1009 already.
				cv.once.Do(func() { cv.end.Store(int32(EndProtocol)) })
				cv.linger()
			case errors.As(err, &ce), isConnErr(err):
			default:
				// The library sent 1002 for a malformed frame: its
				// other errors are the connection's, or a close frame.
				cv.once.Do(func() { cv.end.Store(int32(EndProtocol)) })
			}
			return
		}
		cv.in.Add(1)
		if cv.closed.Load() {
			continue
		}
		if kind == websocket.TextMessage && !utf8.Valid(b) {
			cv.closeWith(websocket.CloseInvalidFramePayloadData, "text message is not UTF-8", EndProtocol)
			continue
		}
		switch {
		case cv.ws.Echo:
			if cv.send(kind, b) != nil {
				return
			}
		case len(cv.ws.Script) > 0:
			if !cv.answer(b) {
				return
			}
		}
	}
}

// linger reads and drops what the client still sends, until it closes or
// CloseWait has passed, after a close frame sent while the client was in
// the middle of a message. Closing at once, with its bytes unread, would
// reset the connection, and a reset can discard the close frame before
// the client reads it. Shutting down the sending side first tells the
// client nothing more comes.
func (cv *conv) linger() {
	nc := cv.c.UnderlyingConn()
	cv.frames.close()
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = nc.SetReadDeadline(time.Now().Add(CloseWait))
	_, _ = io.Copy(io.Discard, nc)
}

// answer runs the script on one client message; false when the
// connection is done for.
func (cv *conv) answer(b []byte) bool {
	for i := range cv.ws.Script {
		r := &cv.ws.Script[i]
		if r.Match != nil && !r.Match.Match(b) {
			continue
		}
		if r.HasReply && cv.send(cv.kind(), r.Reply) != nil {
			return false
		}
		if r.Close != nil {
			cv.closeWith(r.Close.Code, r.Close.Reason, EndStub)
		}
		return true
	}
	return true
}

// isConnErr tells whether err, from ReadMessage, is the connection's (a
// read that failed, timed out or found the end of the stream) rather than
// the library's verdict on a malformed frame.
func isConnErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
