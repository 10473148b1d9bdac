package httpfront

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"sync"
	"time"

	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/h2serve"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/problem"
	"github.com/valyala/fasthttp"
)

// DefaultMaxUploadBytes bounds a discarded upload (1 TiB).
const DefaultMaxUploadBytes = 1 << 40

// uploadChunk is the most one read of a discarded upload takes.
const uploadChunk = 64 << 10

var uploadBufPool = sync.Pool{New: func() any { b := make([]byte, uploadChunk); return &b }}

// uploaded is what reading a request body did: its size, how long it took,
// and the problem to answer instead of the stub's response (nil: none).
type uploaded struct {
	n int64
	d time.Duration
	p *problem.Problem
}

// discard reads r to its end and throws the bytes away, no faster than
// up.Rate, checking the size and digest up asks for. At most max bytes
// are read: a longer body is a 413.
func discard(ctx context.Context, r io.Reader, up *engine.Upload, limit int64) uploaded {
	bp := uploadBufPool.Get().(*[]byte)
	defer uploadBufPool.Put(bp)
	buf := *bp
	if up.Rate > 0 {
		// Read about a tenth of a second's worth at a time, so that the
		// pace is smooth at low rates.
		buf = buf[:min(int64(len(buf)), max(up.Rate/10, 512))]
	}
	var h hash.Hash
	if up.SHA256 != nil {
		h = sha256.New()
	}
	start := time.Now()
	var n int64
	for {
		k, err := r.Read(buf)
		if k > 0 {
			n += int64(k)
			if h != nil {
				h.Write(buf[:k])
			}
			if n > limit {
				return uploaded{n: n, d: time.Since(start), p: uploadTooLarge(limit)}
			}
			if up.Rate > 0 {
				due := time.Duration(float64(n) / float64(up.Rate) * float64(time.Second))
				if wait := due - time.Since(start); wait > 0 {
					if behave.Sleep(ctx, wait) != nil {
						return uploaded{n: n, d: time.Since(start), p: problem.New(503, "decoy is shutting down")}
					}
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return uploaded{n: n, d: time.Since(start), p: problem.New(400, "reading the upload: "+err.Error())}
		}
	}
	u := uploaded{n: n, d: time.Since(start)}
	switch {
	case up.ExpectSize >= 0 && n != up.ExpectSize:
		u.p = problem.New(422, fmt.Sprintf("the upload is %d bytes; the stub expects %d (upload.expectSize)", n, up.ExpectSize))
	case h != nil && !bytes.Equal(h.Sum(nil), up.SHA256):
		u.p = problem.New(422, fmt.Sprintf("the upload's SHA-256 is %x; the stub expects %x (upload.sha256)", h.Sum(nil), up.SHA256))
	}
	return u
}

// uploadTooLarge is the answer to an upload beyond limit (max-upload-bytes).
func uploadTooLarge(limit int64) *problem.Problem {
	return problem.New(413, fmt.Sprintf("the upload exceeds the %d-byte limit (max-upload-bytes)", limit))
}

// deadlineReader moves c's read deadline d past each read of r.
type deadlineReader struct {
	r io.Reader
	c net.Conn
	d time.Duration
}

func (x *deadlineReader) Read(p []byte) (int, error) {
	_ = x.c.SetReadDeadline(time.Now().Add(x.d))
	return x.r.Read(p)
}

// fastFor returns the fasthttp server for a new HTTP/1.x connection: the
// one that streams request bodies while some stub discards uploads, the
// one that reads them whole otherwise (the faster path for small bodies).
func (s *Server) fastFor() *fasthttp.Server {
	if s.o.Engine.Snapshot().Uploads() {
		return s.fastStream
	}
	return s.fast
}

// streamedFast matches a request whose body fasthttp left as a stream (a
// connection served while some stub discards uploads). A stub that
// discards uploads reads it to the end and throws it away; any other
// request gets its body read whole, up to MaxBodyBytes, and is matched
// again with it.
// A Content-Length beyond the limit is answered 413 at once, before a
// byte of the body is read (the connection then closes).
func (s *Server) streamedFast(ctx *fasthttp.RequestCtx, f *fastReq) (*engine.Stub, uploaded) {
	st := s.o.Engine.Match(&f.req)
	cl := int64(ctx.Request.Header.ContentLength()) // -1 chunked, -2 none
	if st != nil && st.Upload() != nil {
		if cl > s.o.MaxUploadBytes {
			ctx.SetConnectionClose()
			s.lingerFast(ctx)
			return st, uploaded{p: uploadTooLarge(s.o.MaxUploadBytes)}
		}
		// An upload may take longer than ReadTimeout: the timeout then
		// bounds each read rather than the whole body.
		r := &deadlineReader{r: ctx.RequestBodyStream(), c: ctx.Conn(), d: s.o.ReadTimeout}
		u := discard(s.doneCtx, r, st.Upload(), s.o.MaxUploadBytes)
		if u.p != nil {
			ctx.SetConnectionClose()
			if u.p.Status == 413 {
				s.lingerFast(ctx)
			}
		}
		st.Stats().RecordUpload(u.n, u.d)
		return st, u
	}
	var body []byte
	var err error
	if cl <= s.o.MaxBodyBytes {
		body, err = io.ReadAll(io.LimitReader(ctx.RequestBodyStream(), s.o.MaxBodyBytes+1))
	}
	u := uploaded{n: int64(len(body))}
	switch {
	case cl > s.o.MaxBodyBytes:
		u.p = problem.New(413, fmt.Sprintf("the request body exceeds %d bytes", s.o.MaxBodyBytes))
	case err != nil:
		u.p = problem.New(400, "reading the request body: "+err.Error())
	case u.n > s.o.MaxBodyBytes:
		u.p = problem.New(413, fmt.Sprintf("the request body exceeds %d bytes", s.o.MaxBodyBytes))
	}
	if u.p != nil {
		s.reject(u.p.Status)
		ctx.SetConnectionClose()
		if u.p.Status == 413 {
			s.lingerFast(ctx)
		}
		return nil, u
	}
	f.req.Body = body
	return s.o.Engine.Match(&f.req), u
}

// lingerFast makes the close that follows a 413 on ctx's connection a
// lingering one (conn.lingerAfter), for what remains of a declared body,
// or of a chunked one, within a bound: the client may still be sending it.
func (s *Server) lingerFast(ctx *fasthttp.RequestCtx) {
	c := fastConn(ctx)
	cl := int64(ctx.Request.Header.ContentLength()) // -1 chunked, -2 none
	if c == nil || cl == -2 || cl == 0 {
		return
	}
	bound := 16 * h2serve.DrainBytes(s.o.MaxBodyBytes)
	if cl < 0 {
		cl = bound
	}
	// The close reads the connection's bytes, not the body's: over TLS
	// each record adds up to 29 bytes to at most 16 KiB, and leaving
	// those unread would reset the connection after all.
	n := min(cl, bound)
	c.lingerAfter(n + n/256 + 64<<10)
}

// expectFast answers a request with Expect: 100-continue on fasthttp:
// 100 Continue, or, for a Content-Length beyond the limit that applies
// (max-upload-bytes for a stub that discards uploads, on a connection
// that streams bodies; max-body-bytes otherwise), the 413 problem in its
// place (RFC 9110 section 10.1.1), so that the client does not send the
// body. fasthttp then sends ctx.Response with the status returned and
// closes the connection, without calling the handler: the request is
// counted as rejected, as a body too large always was, and not journaled.
// fasthttp's documentation asks an ExpectHandler to leave the response
// alone; the problem+json it writes there goes out with the status
// (TestEarly413Expect checks it does).
func (s *Server) expectFast(ctx *fasthttp.RequestCtx, stream bool) int {
	cl := int64(ctx.Request.Header.ContentLength())
	if cl <= min(s.o.MaxBodyBytes, s.o.MaxUploadBytes) {
		return fasthttp.StatusContinue
	}
	upload := false
	if stream && s.o.Engine.Snapshot().Uploads() {
		f := fastReqPool.Get().(*fastReq)
		f.ctx = ctx
		proto := protoHTTP11
		if !ctx.Request.Header.IsHTTP11() {
			proto = protoHTTP10
		}
		f.req = engine.Request{Proto: proto, Method: b2s(ctx.Method()), Path: f.decodedPath(originPath(ctx)), Fields: f}
		if s.mtls {
			if t, ok := ctx.Conn().(*tlsConn); ok {
				f.req.ClientCert = t.c.cert
			}
		}
		st := s.o.Engine.Match(&f.req)
		upload = st != nil && st.Upload() != nil
		f.ctx, f.req = nil, engine.Request{}
		fastReqPool.Put(f)
	}
	var p *problem.Problem
	switch {
	case upload && cl <= s.o.MaxUploadBytes, !upload && cl <= s.o.MaxBodyBytes:
		return fasthttp.StatusContinue
	case upload:
		p = uploadTooLarge(s.o.MaxUploadBytes)
	default:
		p = problem.New(413, fmt.Sprintf("the request body exceeds %d bytes", s.o.MaxBodyBytes))
	}
	s.reject(413)
	if c := fastConn(ctx); c != nil {
		c.setCause(metrics.CloseBadRequest)
	}
	s.writeProblemFast(ctx, p)
	return 413
}
