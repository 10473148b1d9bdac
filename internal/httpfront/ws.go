package httpfront

import (
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
// no compression, handshake errors as problem+json.
var wsUpgrader = websocket.FastHTTPUpgrader{
	CheckOrigin: func(*fasthttp.RequestCtx) bool { return true },
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
// (no Upgrade) gets the compiled 426, an upgrade the stub's headers on a
// 101 and then the conversation on the hijacked connection. handleFast
// counts and journals it like any request.
func (s *Server) wsFast(ctx *fasthttp.RequestCtx, st *engine.Stub, ws *engine.WebSocket) (index int, slept time.Duration, fault behave.FaultKind) {
	index, resp, call := st.Pick()
	switch {
	case !websocket.FastHTTPIsWebSocketUpgrade(ctx):
		// The compiled response is the 426.
		writeFast(ctx, resp)
		ctx.Response.Header.Set("Cache-Control", "no-store")
		ctx.Response.Header.Set("Upgrade", "websocket")
		ctx.Response.Header.Set("Connection", "Upgrade")
	case s.draining.Load():
		ctx.SetConnectionClose()
		s.writeProblemFast(ctx, problem.New(fasthttp.StatusServiceUnavailable, "the server is shutting down"))
	default:
		// The handshake carries the stub's headers, not the 426 body.
		hs := *resp
		hs.Status, hs.Body, hs.ContentType, hs.ContentTypeB = fasthttp.StatusSwitchingProtocols, nil, "", nil
		if hs.Behave != nil {
			slept, _, _, fault = s.behaveFast(ctx, st, &hs, call, requested{})
		} else {
			writeHeadFast(ctx, &hs)
		}
		if fault != 0 {
			break
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
			nc.frames, tc = frames, nc
		case *tlsConn:
			nc.frames, tc = frames, nc.c
		default:
			frames = nil
		}
		_ = wsUpgrader.Upgrade(ctx, func(c *websocket.Conn) {
			n := wsfront.Serve(s.doneCtx, c, ws, limit, frames)
			s.log.Debug("websocket closed", "stub", id, "messagesIn", n.In, "messagesOut", n.Out)
			if tc == nil {
				return
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
	return index, slept, fault
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
