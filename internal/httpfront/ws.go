package httpfront

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/problem"
	"github.com/decoy-dev/decoy/internal/wsfront"
	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// wsUpgrader answers WebSocket handshakes: any origin (decoy is a mock),
// no compression (permessage-deflate is declined: see docs/websocket.md),
// handshake errors as problem+json. wsfront reads the client's frames
// itself, so the library's read buffer is never used: it gets the
// smallest the library takes, not 4 KiB per connection.
var wsUpgrader = websocket.FastHTTPUpgrader{
	ReadBufferSize: 1,
	CheckOrigin:    func(*fasthttp.RequestCtx) bool { return true },
	Error: func(ctx *fasthttp.RequestCtx, status int, reason error) {
		writeProblemFastStatic(ctx, problem.New(status, reason.Error()))
	},
}

// writeProblemFastStatic writes p as the response.
func writeProblemFastStatic(ctx *fasthttp.RequestCtx, p *problem.Problem) {
	ctx.Response.SetStatusCode(p.Status)
	ctx.Response.Header.SetContentType(problem.ContentType)
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.SetBody(p.JSON())
}

// wsFast answers a request that a WebSocket stub matched: a plain request
// (no Upgrade), or an upgrade over HTTP/1.0 (RFC 6455 section 4.1 needs
// HTTP/1.1), gets the compiled 426; a handshake that breaks RFC 6455 a
// problem naming what to send; an upgrade the stub's headers on a 101 and
// then the conversation on the hijacked connection. handleFast counts and
// journals it like any request, by status (-1: ctx.Response's, 0: the
// connection closed unanswered, as behaveFast says).
func (s *Server) wsFast(ctx *fasthttp.RequestCtx, st *engine.Stub, ws *engine.WebSocket) (index int, slept time.Duration, status int, fault behave.FaultKind) {
	status = -1
	index, resp, call := st.Pick()
	switch {
	case !websocket.FastHTTPIsWebSocketUpgrade(ctx) || !ctx.Request.Header.IsHTTP11():
		if p := incompleteUpgrade(ctx); p != nil {
			// An upgrade that misses a piece: say which.
			s.writeProblemFast(ctx, p)
		} else {
			// The compiled response is the 426.
			writeFast(ctx, resp)
		}
		ctx.Response.Header.Set("Cache-Control", "no-store")
		ctx.Response.Header.Set("Upgrade", "websocket")
		if ctx.Request.Header.IsHTTP11() {
			// HTTP/1.0 has no upgrade: its answer says Connection: close.
			ctx.Response.Header.Set("Connection", "Upgrade")
		}
	case s.draining.Load():
		ctx.SetConnectionClose()
		s.writeProblemFast(ctx, problem.New(fasthttp.StatusServiceUnavailable, "the server is shutting down"))
	case s.badHandshake(ctx):
	default:
		// The handshake carries the stub's headers, not the 426 body,
		// and the stub's subprotocol only when the client offered it.
		hs := *resp
		hs.Status, hs.Body, hs.ContentType, hs.ContentTypeB = fasthttp.StatusSwitchingProtocols, nil, "", nil
		var proto string
		hs.Headers, proto = pickSubprotocol(resp.Headers, ctx.Request.Header.PeekAll(secProtocol))
		if hs.Behave != nil {
			slept, _, _, status, fault, _ = s.behaveFast(ctx, st, &hs, call, requested{})
		} else {
			writeHeadFast(ctx, &hs)
		}
		if fault != 0 || status == 0 {
			break
		}
		if proto != "" {
			// The upgrader takes the subprotocol from this header.
			ctx.Response.Header.Set(secProtocol, proto)
		}
		ctx.Response.ResetBody()
		limit := s.o.MaxBodyBytes
		id := st.ID
		// The client's frames are followed as they are read from the
		// connection, below the library (see wsfront.Frames).
		frames := wsfront.NewFrames()
		raw := ctx.Conn()
		var tc *conn // the tracked connection, whose books the conversation closes
		switch nc := raw.(type) {
		case *conn:
			nc.frames, nc.stall.d, tc = frames, s.o.ReadTimeout, nc
		case *tlsConn:
			nc.frames, nc.stall.d, tc = frames, s.o.ReadTimeout, nc.c
		default:
			frames = nil
		}
		_ = wsUpgrader.Upgrade(ctx, func(c *websocket.Conn) {
			if tc != nil {
				// Before the conversation can end: fasthttp reports the
				// hijack (StateHijacked) only after it started this, and a
				// short conversation may be over by then.
				tc.mc.Upgraded.Store(true)
			}
			n := wsfront.Serve(s.doneCtx, c, ws, limit, frames)
			s.log.Debug("websocket closed", "stub", id, "messagesIn", n.In, "messagesOut", n.Out)
			if tc == nil {
				return
			}
			if n.End == wsfront.EndClient || n.End == wsfront.EndStub || n.End == wsfront.EndProtocol {
				// After the closing handshake: what the client still
				// sends (a message it was sending when it closed) is
				// read and dropped, so that the close is no reset.
				if t, ok := raw.(*tlsConn); ok {
					_ = t.Conn.CloseWrite() // close_notify before the FIN
				}
				tc.lingerClose(max(limit, 1<<20))
			}
			// fasthttp closes the connection after this returns; the
			// books close once it is closed, with why it ended.
			_ = raw.Close()
			s.retire(tc, s.wsCloseReason(tc, n.End), true)
		})
		if tc != nil && ctx.Hijacked() {
			tc.wsPending = true
		}
	}
	return index, slept, status, fault
}

// wsCloseReason is why the WebSocket conversation on c ended, as a
// metrics.Close* reason: the client's close frame counts as its closing
// the connection (eof); decoy's close as decoy's, bad-request when the
// client sent something it could not take (1002, 1007, 1009); without a
// close frame, what the connection's reads saw tells, as for any
// connection.
func (s *Server) wsCloseReason(c *conn, end wsfront.End) int {
	switch {
	case end == wsfront.EndShutdown || s.draining.Load() && end != wsfront.EndClient:
		return metrics.CloseShutdown
	case end == wsfront.EndClient:
		return metrics.CloseClientEOF
	case end == wsfront.EndProtocol:
		return metrics.CloseBadRequest
	case end == wsfront.EndStub:
		return metrics.CloseOther
	}
	switch c.ended.Load() {
	case endClient:
		return metrics.CloseClientEOF
	case endClientReset:
		return metrics.CloseClientReset
	}
	return metrics.CloseOther
}

const secProtocol = "Sec-WebSocket-Protocol"

// badHandshake answers a WebSocket handshake that RFC 6455 section 4.1
// does not allow with a problem that says what to send instead, and tells
// whether it did. The upgrader would refuse some of these too, with less
// help (and a 400 where section 4.4 asks for a 426 naming the version).
func (s *Server) badHandshake(ctx *fasthttp.RequestCtx) bool {
	h := &ctx.Request.Header
	var p *problem.Problem
	switch v := strings.TrimSpace(b2s(h.Peek("Sec-WebSocket-Version"))); {
	case !ctx.IsGet():
		p = problem.New(fasthttp.StatusMethodNotAllowed, fmt.Sprintf(
			"a WebSocket handshake is a GET request (RFC 6455 section 4.1), not %s: send GET with the same headers", ctx.Method()))
		ctx.Response.Header.Set("Allow", "GET")
	case v != "13":
		got := "is missing"
		if v != "" {
			got = fmt.Sprintf("%q is not supported", v)
		}
		p = problem.New(fasthttp.StatusUpgradeRequired, fmt.Sprintf(
			"Sec-WebSocket-Version %s: decoy speaks WebSocket version 13 (RFC 6455); send Sec-WebSocket-Version: 13", got))
		ctx.Response.Header.Set("Sec-WebSocket-Version", "13")
	case !validKey(h.Peek("Sec-WebSocket-Key")):
		got := "is missing"
		if k := h.Peek("Sec-WebSocket-Key"); len(k) > 0 {
			got = fmt.Sprintf("%q is not 16 bytes in base64", k)
		}
		p = problem.New(fasthttp.StatusBadRequest, fmt.Sprintf(
			"Sec-WebSocket-Key %s (RFC 6455 section 4.1): send 16 random bytes in base64, 24 characters such as dGhlIHNhbXBsZSBub25jZQ==", got))
	default:
		return false
	}
	s.writeProblemFast(ctx, p)
	return true
}

// incompleteUpgrade is the 426 for a request that tries a WebSocket
// upgrade (it has an Upgrade, a Connection: Upgrade or a
// Sec-WebSocket-Key header) but misses a piece of it, naming the piece;
// nil for a request that does not try (a browser opening the URL), which
// gets the stub's compiled 426.
func incompleteUpgrade(ctx *fasthttp.RequestCtx) *problem.Problem {
	h := &ctx.Request.Header
	upgrade, key := h.Peek("Upgrade"), h.Peek("Sec-WebSocket-Key")
	connUpgrade := h.ConnectionUpgrade()
	var detail string
	switch {
	case len(upgrade) == 0 && !connUpgrade && len(key) == 0:
		return nil
	case !h.IsHTTP11():
		detail = fmt.Sprintf("a WebSocket upgrade needs HTTP/1.1 (RFC 6455 section 4.1), and this request is %s: send it as HTTP/1.1", h.Protocol())
	case !hasToken(upgrade, "websocket"):
		got := "is missing"
		if len(upgrade) > 0 {
			got = fmt.Sprintf("is %q", upgrade)
		}
		detail = fmt.Sprintf("the header Upgrade %s: send Upgrade: websocket with Connection: Upgrade", got)
	default:
		got := "is missing"
		if c := h.Peek("Connection"); len(c) > 0 {
			got = fmt.Sprintf("is %q, without Upgrade", c)
		}
		detail = fmt.Sprintf("the header Connection %s: send Connection: Upgrade with Upgrade: websocket", got)
	}
	p := problem.New(fasthttp.StatusUpgradeRequired, detail)
	p.Title = "Upgrade Required"
	return p
}

// hasToken tells whether the comma-separated header value v holds token,
// in any case.
func hasToken(v []byte, token string) bool {
	for t := range bytes.SplitSeq(v, []byte(",")) {
		if bytes.EqualFold(bytes.TrimSpace(t), []byte(token)) {
			return true
		}
	}
	return false
}

// validKey tells whether k is a Sec-WebSocket-Key: 16 bytes in base64.
func validKey(k []byte) bool {
	k = bytes.TrimSpace(k)
	if len(k) != 24 { // 16 bytes take 24 characters with padding
		return false
	}
	var b [18]byte
	n, err := base64.StdEncoding.Decode(b[:], k)
	return err == nil && n == 16
}

// pickSubprotocol returns headers without the stub's
// Sec-WebSocket-Protocol, and the subprotocol to answer: the first of the
// stub's (a comma-separated list in that header) that the client offered
// in its own. A client that offered none, or none of the stub's, gets no
// subprotocol (RFC 6455 section 4.2.2: the server picks one of the
// client's, or none, and the client decides whether to go on); clients
// such as browsers and Node's ws fail a handshake that names one they did
// not offer.
func pickSubprotocol(headers []engine.Header, offered [][]byte) ([]engine.Header, string) {
	i := slices.IndexFunc(headers, func(h engine.Header) bool { return strings.EqualFold(h.Name, secProtocol) })
	if i < 0 {
		return headers, ""
	}
	var want []string
	kept := make([]engine.Header, 0, len(headers)-1)
	for _, h := range headers {
		if strings.EqualFold(h.Name, secProtocol) {
			want = append(want, strings.Split(h.Value, ",")...)
		} else {
			kept = append(kept, h)
		}
	}
	for _, w := range want {
		w = strings.TrimSpace(w)
		for _, o := range offered {
			for c := range strings.SplitSeq(string(o), ",") {
				if w != "" && strings.TrimSpace(c) == w {
					return kept, w
				}
			}
		}
	}
	return kept, ""
}
