package httpfront

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/h1loop"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/valyala/fasthttp"
)

// behaveFast answers a call of a stub with behaviour (or a requested
// delay) over HTTP/1.x: it waits, faults, or writes the response with its
// body paced or streamed. It returns the time slept before the first byte,
// the delay chosen, the body bytes sent (-1: count the response body), the
// status sent (-1: ctx.Response's; 0: none, the connection closed
// unanswered) and the kind of fault applied (0: none), which it counts in
// the stub's statistics. For a body paced or generated as it goes, out is
// its length and t counts what of it is sent, once it ends: the caller
// counts none of it and gives t the journal record.
func (s *Server) behaveFast(ctx *fasthttp.RequestCtx, st *engine.Stub, resp *engine.Response, call uint64, rq requested) (slept, delay time.Duration, out, status int, fault behave.FaultKind, t *lateCount) {
	a := decide(st, resp, call, rq)
	delay = a.delay
	fault = a.faultKind()
	st.Stats().RecordInjected(delay, fault)
	if rq.clamped != "" {
		ctx.Response.Header.Set(clampedHeader, rq.clamped)
	}
	wait := a.ttfb
	if a.fault != nil && a.fault.Kind != behave.FaultHang {
		wait += a.fault.After
	}
	if c := fastConn(ctx); c != nil {
		wait = c.delayLeft(wait)
	}
	if wait > 0 {
		t := time.Now()
		if s.sleepDelay(wait) != nil {
			// Shutdown: the response would be late. The connection
			// closes unanswered.
			if c := fastConn(ctx); c != nil {
				c.setCause(metrics.CloseShutdown)
			}
			ctx.HijackSetNoResponse(true)
			ctx.Hijack(func(net.Conn) {})
			return time.Since(t), delay, 0, 0, fault, nil
		}
		slept = time.Since(t)
	}
	if a.fault != nil {
		out, status = s.faultFast(ctx, st, resp, call, a.fault)
		return slept, delay, out, status, fault, nil
	}
	if !a.streamed(resp) {
		if t = s.writeLargeFast(ctx, st, resp); t != nil {
			return slept, delay, len(resp.Body), -1, 0, t
		}
		writeFast(ctx, resp)
		return slept, delay, -1, -1, 0, nil
	}
	writeHeadFast(ctx, resp)
	n := resp.BodyLen()
	// A stream has no Content-Length: it goes chunked, and ends when its
	// last chunk has gone.
	stream := a.pacer.Streams()
	if ctx.IsHead() || !bodyAllowed(resp.Status) {
		if !stream {
			ctx.Response.Header.SetContentLength(int(n))
		}
		ctx.Response.SkipBody = true
		return slept, delay, 0, -1, 0, nil
	}
	tally := newLateCount(st.Stats(), s.o.Journal, n, true)
	p := a.pacer
	if p != nil && !stream {
		// A paced body of known length: fasthttp would copy it through
		// its connection buffer and flush only when 4 KiB fill up, so the
		// head and the first chunks would wait there. pacedBody sends the
		// head at once and each chunk as its time comes.
		ctx.Response.ImmediateHeaderFlush = true
		ctx.Response.SetBodyStream(&pacedBody{ctx: s.doneCtx, nc: ctx.Conn(), resp: resp, p: p, t: tally}, int(n))
		return slept, delay, int(n), -1, 0, tally
	}
	ctx.Response.SetBodyStreamWriter(func(w *bufio.Writer) {
		// fasthttp copies what w passes on to the connection (through a
		// pipe, for a stream): bytes still in the pipe when the client
		// goes count as sent, at most the chunk in flight.
		sent, err := sendBody(s.doneCtx, w, w.Flush, resp, p, -1)
		if err == nil {
			_ = w.Flush()
		}
		tally.done(bufferedSent(w, sent))
	})
	if !stream {
		ctx.Response.Header.SetContentLength(int(n))
	}
	return slept, delay, int(n), -1, 0, tally
}

// pacedBody is the body stream of a response paced by throttle, dribble
// or latencyMode spread, with its Content-Length, on fasthttp. fasthttp
// gives a stream of known length no way to flush, so WriteTo, which it
// calls on the goroutine serving the connection once ImmediateHeaderFlush
// has sent the head and emptied its buffer, writes each chunk to the
// connection itself: nothing of fasthttp's is buffered ahead of it, and
// nothing is written behind it until WriteTo returns.
type pacedBody struct {
	ctx  context.Context
	nc   net.Conn
	resp *engine.Response
	p    *behave.Pacer
	t    *lateCount
}

// errPacedRead: fasthttp read a paced body instead of calling WriteTo,
// which would lose its pace.
var errPacedRead = errors.New("httpfront: a paced body is written by WriteTo, not read")

func (b *pacedBody) Read([]byte) (int, error) { return 0, errPacedRead }

// SupportsBodyWriteTo tells fasthttp to use WriteTo (fasthttp.BodyWriterTo).
func (b *pacedBody) SupportsBodyWriteTo() bool { return true }

// WriteTo sends the body to the connection on the pacer's schedule; w,
// fasthttp's buffered writer, is left alone. It returns the bytes sent,
// which fasthttp checks against the Content-Length.
func (b *pacedBody) WriteTo(io.Writer) (int64, error) {
	n, err := sendBody(b.ctx, b.nc, nil, b.resp, b.p, -1)
	b.t.done(n)
	return n, err
}

// writeHeadFast sets the status and headers of resp, without its body.
func writeHeadFast(ctx *fasthttp.RequestCtx, resp *engine.Response) {
	ctx.Response.SetStatusCode(resp.Status)
	h := &ctx.Response.Header
	h.DisableNormalizing()
	if len(resp.ContentTypeB) > 0 {
		h.SetContentTypeBytes(resp.ContentTypeB)
	}
	for i := range resp.Headers {
		h.AddBytesKV(resp.Headers[i].NameB, resp.Headers[i].ValueB)
	}
}

// malformedReply is what a malformed fault sends: a head no client can
// parse (a header line without a colon after the status line): curl exits
// 8 "Weird server reply", Go reports a malformed MIME header.
const malformedReply = "HTTP/1.1 200 OK\r\nthis line is not a header\r\n\r\n"

// faultFast applies a fault on an HTTP/1.x connection and returns the
// body bytes sent and the status, as behaveFast does: close-mid-body's
// head has the response's status; reset, empty, malformed, garbage and
// hang send none (a malformed head's is not one a client can read), 0.
// Every kind but error takes the connection over and closes it.
func (s *Server) faultFast(ctx *fasthttp.RequestCtx, st *engine.Stub, resp *engine.Response, call uint64, f *behave.FaultAction) (out, status int) {
	if f.Kind == behave.FaultError {
		s.writeProblemFast(ctx, injectedProblem(st, f))
		return -1, -1
	}
	raw := ctx.Conn()
	var cut int64
	var head []byte
	// A stream is cut mid-way too, in one chunk of its chunked encoding
	// that the last chunk never follows.
	stream := resp.Behave != nil && resp.Behave.Pacer.Streams()
	if f.Kind == behave.FaultCloseMidBody {
		cut = f.CutAt(resp.BodyLen())
		n := resp.BodyLen()
		if stream {
			n = -1
		}
		head = appendHead(nil, resp, n)
		if stream && cut > 0 {
			head = strconv.AppendInt(head, cut, 16)
			head = append(head, "\r\n"...)
		}
	}
	key := st.Key()
	tc := fastConn(ctx)
	if tc != nil {
		tc.faultPending = true
	}
	s.wg.Add(1) // Shutdown waits for the hijacked connection too
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		defer s.wg.Done()
		if tc != nil {
			// The connection stays counted open while the fault holds
			// it, and closes its books once closed (see faultEnded).
			defer func() {
				_ = c.Close()
				s.faultEnded(tc)
			}()
		}
		switch f.Kind {
		case behave.FaultReset:
			if tc := tcpConn(raw); tc != nil {
				_ = tc.SetLinger(0)
			}
		case behave.FaultMalformed:
			_, _ = c.Write([]byte(malformedReply))
		case behave.FaultGarbage:
			b := make([]byte, f.Bytes)
			behave.Garbage(key, call, b)
			_, _ = c.Write(b)
		case behave.FaultCloseMidBody:
			bw := bufio.NewWriter(c)
			_, _ = bw.Write(head)
			// Paced as the whole body would be (throttle, dribble, a
			// stream's interval), up to the cut.
			_, _ = sendBody(s.doneCtx, bw, bw.Flush, resp, resp.Behave.Pacer, cut)
			_ = bw.Flush()
		case behave.FaultHang:
			s.hang(c, f.After)
		}
		// fasthttp closes c when this returns.
	})
	if f.Kind == behave.FaultCloseMidBody {
		status = resp.Status
	}
	return int(cut), status
}

// hang reads and discards what the client sends, answering nothing, until
// the client closes, limit passes (0: no limit) or the server shuts down.
func (s *Server) hang(c net.Conn, limit time.Duration) {
	var end time.Time
	if limit > 0 {
		end = time.Now().Add(limit)
	}
	buf := make([]byte, 512)
	for {
		next := time.Now().Add(250 * time.Millisecond)
		if !end.IsZero() && end.Before(next) {
			next = end
		}
		_ = c.SetReadDeadline(next)
		_, err := c.Read(buf)
		select {
		case <-s.done:
			return
		default:
		}
		if err != nil {
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				return // the client gave up
			}
			if !end.IsZero() && !time.Now().Before(end) {
				return
			}
		}
	}
}

// appendHead renders an HTTP/1.1 response head for resp with a body of n
// bytes, or chunked when n < 0.
func appendHead(b []byte, resp *engine.Response, n int64) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(resp.Status), 10)
	b = append(b, ' ')
	b = append(b, engine.StatusText(resp.Status)...)
	b = append(b, "\r\nServer: decoy\r\n"...)
	if resp.ContentType != "" {
		b = append(b, "Content-Type: "...)
		b = append(b, resp.ContentType...)
		b = append(b, "\r\n"...)
	}
	for _, h := range resp.Headers {
		b = append(b, h.Name...)
		b = append(b, ": "...)
		b = append(b, h.Value...)
		b = append(b, "\r\n"...)
	}
	if n < 0 {
		return append(b, "Transfer-Encoding: chunked\r\n\r\n"...)
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, n, 10)
	return append(b, "\r\n\r\n"...)
}

// tcpConn finds the TCP connection under c, for SO_LINGER and half-closes.
func tcpConn(c net.Conn) *net.TCPConn {
	for {
		switch x := c.(type) {
		case *net.TCPConn:
			return x
		case *conn:
			c = x.Conn
		case *tlsConn:
			c = x.c.Conn
		case interface{ NetConn() net.Conn }:
			c = x.NetConn() // a connection held by a listener (package listen)
		default:
			return nil
		}
	}
}

// fastConn is the accepted connection under a request, nil when there is
// none (a test's in-memory connection).
// fastGate is the gate of the connection ctx came on, nil for none.
func fastGate(ctx *fasthttp.RequestCtx) *h1loop.Gate {
	switch c := ctx.Conn().(type) {
	case *conn:
		return c.gate
	case *tlsConn:
		return c.gate
	}
	return nil
}

func fastConn(ctx *fasthttp.RequestCtx) *conn {
	switch c := ctx.Conn().(type) {
	case *conn:
		return c
	case *tlsConn:
		return c.c
	}
	return nil
}
