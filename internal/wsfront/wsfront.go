// Package wsfront holds WebSocket conversations for stubs: once a front
// door has upgraded a request (RFC 6455), Serve pushes the stub's
// messages, answers client messages by echo or script, and closes with the
// stub's close code, or with 1001 when the server shuts down.
package wsfront

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

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
	limit  int64 // the largest message read, in bytes; 0: no limit
}

// Serve holds the conversation ws on c until it ends: the client closes,
// the script or the stub closes, the connection fails, or ctx ends (then
// the client gets close 1001). Serve reads what the client sends itself,
// from c's connection, and holds it to RFC 6455 (see reader): a frame it
// does not allow fails the conversation with 1002, text or a close reason
// that is not UTF-8 with 1007, a message over limit bytes (when limit is
// above 0) with 1009. frames, when not nil, follows the bytes the client
// sends (see Frames). Serve returns when every goroutine it started has
// ended; it does not close c.
func Serve(ctx context.Context, c *websocket.Conn, ws *engine.WebSocket, limit int64, frames *Frames) Counts {
	cv := &conv{c: c, ws: ws, stop: make(chan struct{}), frames: frames, limit: limit}
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

// read takes client messages until the conversation ends, answering
// them when the stub echoes or has a script, and pings with pongs. A
// client's close frame is answered with its code. A client that breaks
// RFC 6455 gets the close code for it (see reader). Once decoy has sent
// its close frame, for whatever reason, what the client sends is read and
// dropped until its close frame: decoy then closes the connection, first,
// as RFC 6455 section 7.1.1 asks of a server, and with nothing of the
// client's left unread (which would turn the close into a reset, and a
// reset can discard the close frame before the client reads it).
func (cv *conv) read() {
	r := newReader(cv.c.UnderlyingConn(), cv.limit)
	for {
		op, p, err := r.next()
		// next returns a breach as a bare *failure (a type assertion,
		// unlike errors.As, costs no allocation per message).
		if f, ok := err.(*failure); ok {
			cv.closeWith(f.code, f.reason, EndProtocol)
			if !f.closing {
				_ = r.untilClose()
			}
			return
		}
		switch {
		case err != nil:
			return // the connection's: its end, a reset, a deadline
		case op == opClose:
			// The client's code echoed, without its reason; none for
			// none (FormatCloseMessage sends 1005 as an empty payload).
			code := websocket.CloseNoStatusReceived
			if len(p) >= 2 {
				code = int(binary.BigEndian.Uint16(p))
			}
			cv.closeWith(code, "", EndClient)
			return
		case cv.closed.Load():
			_ = r.untilClose()
			return
		case op == opPing:
			_ = cv.c.WriteControl(websocket.PongMessage, p, time.Now().Add(CloseWait))
		case op == opPong:
		default:
			cv.in.Add(1)
			if !cv.reply(op, p) {
				return
			}
		}
	}
}

// reply answers one client message as the stub says: echo or script;
// false when the connection is done for.
func (cv *conv) reply(op byte, p []byte) bool {
	switch {
	case cv.ws.Echo:
		kind := websocket.TextMessage
		if op == opBinary {
			kind = websocket.BinaryMessage
		}
		return cv.send(kind, p) == nil
	case len(cv.ws.Script) > 0:
		return cv.answer(p)
	}
	return true
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
