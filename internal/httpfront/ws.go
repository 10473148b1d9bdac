package httpfront

import (
	"time"

	"github.com/decoy-dev/decoy/internal/accesslog"
	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/journal"
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

// wsFast serves an HTTP/1.x request that a WebSocket stub matches and
// reports whether it did; for any other request it returns false having
// written nothing. A plain request (no Upgrade) gets 426.
func (s *Server) wsFast(ctx *fasthttp.RequestCtx) bool {
	f := fastReqPool.Get().(*fastReq)
	f.ctx = ctx
	proto, version := protoHTTP11, metrics.HTTP11
	if !ctx.Request.Header.IsHTTP11() {
		proto, version = protoHTTP10, metrics.HTTP10
	}
	var body []byte
	if !ctx.Request.IsBodyStream() {
		body = ctx.PostBody()
	}
	f.req = engine.Request{
		Proto:  proto,
		Method: b2s(ctx.Method()),
		Path:   f.decodedPath(ctx.URI().PathOriginal()),
		Body:   body,
		Fields: f,
	}
	st := s.o.Engine.Match(&f.req)
	var ws *engine.WebSocket
	if st != nil {
		ws = st.WebSocket()
	}
	if ws == nil {
		f.ctx = nil
		f.req = engine.Request{}
		fastReqPool.Put(f)
		return false
	}
	start := time.Now()
	index, resp, call := st.Pick()
	var (
		slept time.Duration
		fault behave.FaultKind
	)
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
		_ = wsUpgrader.Upgrade(ctx, func(c *websocket.Conn) {
			n := wsfront.Serve(s.doneCtx, c, ws, limit)
			s.log.Debug("websocket closed", "stub", id, "messagesIn", n.In, "messagesOut", n.Out)
		})
	}
	elapsed := time.Since(start)
	stats := st.Stats()
	out := len(ctx.Response.Body())
	if ctx.Response.StatusCode() == fasthttp.StatusSwitchingProtocols {
		out = 0
	}
	stats.Record(index, len(body), out, elapsed-slept)
	var tc *conn
	switch c := ctx.Conn().(type) {
	case *conn:
		tc = c
	case *tlsConn:
		tc = c.c
	}
	if tc != nil {
		if fault != 0 && fault != behave.FaultError {
			tc.setCause(metrics.CloseFault)
		}
		tc.mc.Requests[version].Add(1)
	}
	if s.o.Journal.Cap() > 0 {
		r := &f.rec
		*r = journal.Record{
			Start:    start,
			Duration: elapsed,
			Proto:    proto,
			Method:   ctx.Method(),
			URI:      ctx.RequestURI(),
			Headers:  ctx.Request.Header.RawHeaders(),
			Body:     body,
			BodySize: int64(len(body)),
			Remote:   addrPort(ctx.RemoteAddr()),
			Stub:     st.ID,
			Fault:    faultName(fault),
			Status:   ctx.Response.StatusCode(),
			BytesIn:  int64(len(body)),
			BytesOut: int64(out),
		}
		if tc != nil && tc.stamp {
			r.FirstIn, r.LastIn = tc.takeReceived()
			seq := s.o.Journal.Add(r)
			if ctx.Hijacked() {
				// The connection is no longer served as HTTP: its
				// responses carry no timestamps.
				tc.stamp = false
			} else {
				tc.sentSeq = seq
			}
		} else {
			s.o.Journal.Add(r)
		}
	}
	if lv, ok := s.o.AccessLog.Sampled(); ok {
		s.o.AccessLog.Log(lv, &accesslog.Request{
			Method: string(ctx.Method()), Path: string(ctx.Path()), Stub: st.ID,
			Status: ctx.Response.StatusCode(), Duration: elapsed, Proto: proto,
			Remote: ctx.RemoteAddr().String(),
		})
	}
	f.ctx = nil
	f.req = engine.Request{}
	f.rec = journal.Record{}
	fastReqPool.Put(f)
	return true
}
