package h2serve

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"

	"golang.org/x/net/http2"
)

// ServeHTTP answers a request with a net/http Handler, for the few that
// need one (gRPC through grpc-go's ServeHTTP, say) on a connection this
// package serves. Call it from ServeH2: it detaches the stream and runs h
// on a goroutine of its own, with an *http.Request whose Body reads the
// request body as it arrives when r.Streamed (see BodyStreamer), and whose
// context is ctx, ended when the client resets the stream or the
// connection closes. The ResponseWriter h gets is an http.Flusher: the
// headers go out at the first Flush or once the handler returns, the body
// as it is flushed (or in parts of 32 KiB), and trailers, declared with a
// Trailer header or named with http.TrailerPrefix as net/http has them,
// end the stream after the body. A handler that panics has its stream
// reset (or a 500 sent when nothing went out yet), and
// http.ErrAbortHandler resets it without a log.
func ServeHTTP(ctx context.Context, h http.Handler, w *ResponseWriter, r *Request) {
	w.Detach()
	go serveHTTP(ctx, h, w, r)
}

func serveHTTP(ctx context.Context, h http.Handler, w *ResponseWriter, r *Request) {
	ctx, cancel := context.WithCancel(context.WithValue(ctx, writerKey{}, w))
	w.AfterDone(cancel)
	defer cancel()
	req := newHTTPRequest(ctx, w, r)
	hw := &httpWriter{w: w, h: make(http.Header), method: req.Method}
	defer func() {
		p := recover()
		w.CloseBody()
		if p == nil {
			hw.finish()
			return
		}
		if p != http.ErrAbortHandler {
			buf := make([]byte, 4096)
			buf = buf[:runtime.Stack(buf, false)]
			r.c.log.Error("h2serve: handler panic", "panic", fmt.Sprint(p), "stack", string(buf))
		}
		if hw.headSent {
			w.ResetCode(http2.ErrCodeInternal)
			return
		}
		_ = w.WriteResponse(http.StatusInternalServerError, nil, nil)
	}()
	h.ServeHTTP(hw, req)
}

// writerKey is the context key of the ResponseWriter under a request
// ServeHTTP serves.
type writerKey struct{}

// WriterOf returns the ResponseWriter of the stream a request served by
// ServeHTTP arrived on, from the request's context (or one derived from
// it), nil for any other context: a handler deep down can then break the
// stream off on purpose (ResetCode, GoAway) to test clients.
func WriterOf(ctx context.Context) *ResponseWriter {
	w, _ := ctx.Value(writerKey{}).(*ResponseWriter)
	return w
}

// newHTTPRequest makes the net/http form of r, its strings copied: the
// handler may keep them after the stream ends.
func newHTTPRequest(ctx context.Context, w *ResponseWriter, r *Request) *http.Request {
	nc := r.Conn()
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, nc.LocalAddr())
	hdr := make(http.Header, len(r.Headers))
	for _, f := range r.Headers {
		k := http.CanonicalHeaderKey(f.Name)
		hdr[k] = append(hdr[k], strings.Clone(f.Value))
	}
	u, err := url.ParseRequestURI(r.RawPath)
	if err != nil || r.Method == http.MethodConnect {
		u = &url.URL{Path: strings.Clone(r.Path), RawQuery: strings.Clone(r.RawQuery)}
	}
	req := &http.Request{
		Method:        strings.Clone(r.Method),
		URL:           u,
		Proto:         Proto,
		ProtoMajor:    2,
		Header:        hdr,
		Host:          strings.Clone(r.Authority),
		RemoteAddr:    nc.RemoteAddr().String(),
		RequestURI:    strings.Clone(r.RawPath),
		ContentLength: r.ContentLength,
	}
	if tc, ok := nc.(*tls.Conn); ok {
		cs := tc.ConnectionState()
		req.TLS = &cs
	}
	switch {
	case r.Streamed:
		req.Body = streamBody{w}
	case len(r.Body) > 0:
		req.Body = io.NopCloser(bytes.NewReader(bytes.Clone(r.Body)))
		req.ContentLength = int64(len(r.Body))
	default:
		req.Body = http.NoBody
		req.ContentLength = 0
	}
	return req.WithContext(ctx)
}

// streamBody reads a streamed request body.
type streamBody struct{ w *ResponseWriter }

// errClientGone is a body's read error once the client reset the stream
// or the connection ended.
var errClientGone = errors.New("h2serve: the client reset the stream or closed the connection")

func (b streamBody) Read(p []byte) (int, error) {
	n, err := b.w.ReadBody(p)
	if errors.Is(err, ErrStreamClosed) {
		err = errClientGone
	}
	return n, err
}

func (b streamBody) Close() error {
	b.w.CloseBody()
	return nil
}

// flushAtBytes is how much body an httpWriter holds before it sends it
// without a Flush.
const flushAtBytes = 32 << 10

// httpWriter is the http.ResponseWriter of ServeHTTP. Its header block is
// encoded when WriteHeader runs (or the first Write), from the header map
// as it is then; later changes count only as trailers.
type httpWriter struct {
	w        *ResponseWriter
	h        http.Header
	method   string
	status   int
	hs       [][2]string // the response's header fields, from WriteHeader
	declared []string    // trailer names declared with the Trailer header
	headSent bool
	buf      []byte
	err      error
}

func (hw *httpWriter) Header() http.Header { return hw.h }

func (hw *httpWriter) WriteHeader(code int) {
	if hw.status != 0 || code < 200 {
		return // informational answers are not sent
	}
	hw.status = code
	hw.hs = hw.hs[:0]
	hw.declared = hw.declared[:0]
	for k, vs := range hw.h {
		switch {
		case k == "Trailer":
			for _, v := range vs {
				for t := range strings.SplitSeq(v, ",") {
					if t = strings.TrimSpace(t); t != "" {
						hw.declared = append(hw.declared, http.CanonicalHeaderKey(t))
					}
				}
			}
			continue
		case strings.HasPrefix(k, http.TrailerPrefix):
			continue
		}
		for _, v := range vs {
			hw.hs = append(hw.hs, [2]string{k, v})
		}
	}
}

func (hw *httpWriter) Write(p []byte) (int, error) {
	if hw.status == 0 {
		if _, ok := hw.h["Content-Type"]; !ok && len(p) > 0 {
			hw.h.Set("Content-Type", http.DetectContentType(p))
		}
		hw.WriteHeader(http.StatusOK)
	}
	if hw.err != nil {
		return 0, hw.err
	}
	if !bodyAllowed(hw.status) || hw.method == http.MethodHead {
		return 0, http.ErrBodyNotAllowed
	}
	hw.buf = append(hw.buf, p...)
	if len(hw.buf) >= flushAtBytes {
		hw.Flush()
	}
	return len(p), hw.err
}

// Flush sends the headers, if they have not gone out, and the body
// written so far.
func (hw *httpWriter) Flush() {
	if hw.status == 0 {
		hw.WriteHeader(http.StatusOK)
	}
	if hw.err != nil {
		return
	}
	switch {
	case !hw.headSent:
		hw.headSent = true
		hw.err = hw.w.WriteHeadData(EncodeHeaderBlock(hw.status, hw.hs, -1), hw.buf)
	case len(hw.buf) > 0:
		hw.err = hw.w.WriteData(hw.buf, false)
	}
	hw.buf = hw.buf[:0]
}

// FlushError is Flush, with its error (for http.ResponseController).
func (hw *httpWriter) FlushError() error {
	hw.Flush()
	return hw.err
}

// EnableFullDuplex lets the handler read the body while it writes, which
// HTTP/2 always allows (for http.ResponseController).
func (hw *httpWriter) EnableFullDuplex() error { return nil }

// finish ends the response once the handler has returned.
func (hw *httpWriter) finish() {
	if hw.status == 0 {
		hw.WriteHeader(http.StatusOK)
	}
	if hw.err != nil {
		hw.w.Reset()
		return
	}
	trailers := hw.trailers()
	switch {
	case !hw.headSent && len(trailers) == 0:
		// The whole answer at once, with its length.
		hw.err = hw.w.WriteBlock(EncodeHeaderBlock(hw.status, hw.hs, len(hw.buf)), hw.buf)
		hw.buf = nil
		return
	case !hw.headSent:
		hw.headSent = true
		if hw.err = hw.w.WriteHeadData(EncodeHeaderBlock(hw.status, hw.hs, -1), hw.buf); hw.err != nil {
			return
		}
		hw.buf = hw.buf[:0]
	}
	if len(hw.buf) > 0 || len(trailers) == 0 {
		if hw.err = hw.w.WriteData(hw.buf, len(trailers) == 0); hw.err != nil {
			return
		}
	}
	if len(trailers) > 0 {
		hw.err = hw.w.WriteTrailers(EncodeTrailerBlock(trailers))
	}
}

// trailers are the trailer fields the handler set: those it declared and
// those named with http.TrailerPrefix.
func (hw *httpWriter) trailers() [][2]string {
	var t [][2]string
	for _, k := range hw.declared {
		for _, v := range hw.h[k] {
			t = append(t, [2]string{k, v})
		}
	}
	for k, vs := range hw.h {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			for _, v := range vs {
				t = append(t, [2]string{name, v})
			}
		}
	}
	return t
}
