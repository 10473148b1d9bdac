package httpfront

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"

	"github.com/decoy-dev/decoy/internal/h2serve"
	"golang.org/x/net/http2"
)

// gRPC-Web over HTTP/2 on decoy's own loop: the gRPC front door's
// ServeWeb reads the request and writes the answer through the stream
// itself, from a goroutine of the call's own, without the net/http form
// of the request that h2serve.ServeHTTP builds.

// serveWebH2 answers a gRPC-Web call (or its CORS preflight) on w's
// stream; the stream is detached.
func (s *Server) serveWebH2(ctx context.Context, g GRPCWeb, w *h2serve.ResponseWriter, r *h2serve.Request) {
	ctx, cancel := context.WithCancel(ctx)
	w.AfterDone(cancel)
	defer cancel()
	hw := &h2WebResponse{w: w}
	defer func() {
		p := recover()
		w.CloseBody()
		if p == nil {
			hw.finish()
			return
		}
		buf := make([]byte, 4096)
		buf = buf[:runtime.Stack(buf, false)]
		s.log.Error("gRPC-Web handler panic", "panic", fmt.Sprint(p), "stack", string(buf))
		if hw.headSent {
			w.ResetCode(http2.ErrCodeInternal)
			return
		}
		_ = w.WriteResponse(http.StatusInternalServerError, nil, nil)
	}()
	g.ServeWeb(ctx, hw, h2WebRequest{r: r, w: w})
}

// h2WebRequest is a gRPC-Web request on decoy's HTTP/2 loop. What the
// call may keep (metadata, the path, the host) is copied: the request's
// strings live only as long as its stream.
type h2WebRequest struct {
	r *h2serve.Request
	w *h2serve.ResponseWriter
}

func (h h2WebRequest) Method() string { return h.r.Method }
func (h h2WebRequest) Path() string   { return strings.Clone(h.r.Path) }
func (h h2WebRequest) Host() string   { return strings.Clone(h.r.Authority) }
func (h h2WebRequest) Header(name string) string {
	v, _ := h.r.Header(name)
	return v
}
func (h h2WebRequest) RemoteAddr() string { return h.r.Conn().RemoteAddr().String() }
func (h h2WebRequest) VisitHeaders(f func(name, value string)) {
	for _, fl := range h.r.Headers {
		if fl.Name != "host" {
			f(fl.Name, strings.Clone(fl.Value))
		}
	}
}
func (h h2WebRequest) Body(limit int64) ([]byte, error) {
	if !h.r.Streamed {
		return bytes.Clone(h.r.Body[:min(int64(len(h.r.Body)), limit)]), nil
	}
	return io.ReadAll(io.LimitReader(h2BodyReader{h.w}, limit))
}

// h2WebResponse writes a gRPC-Web answer on the stream: the header block
// with the first part of the body that is flushed (or with all of it,
// and its length, when the handler returns first), the rest as it is
// flushed.
type h2WebResponse struct {
	w        *h2serve.ResponseWriter
	headers  [][2]string
	status   int
	headSent bool
	buf      []byte
	err      error
}

func (h *h2WebResponse) AddHeader(name, value string) {
	h.headers = append(h.headers, [2]string{name, value})
}

func (h *h2WebResponse) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *h2WebResponse) WriteBody(b []byte) {
	h.WriteHeader(http.StatusOK)
	h.buf = append(h.buf, b...)
}

func (h *h2WebResponse) Flush() {
	h.WriteHeader(http.StatusOK)
	if h.err != nil {
		return
	}
	switch {
	case !h.headSent:
		h.headSent = true
		h.err = h.w.WriteHeadData(h2serve.EncodeHeaderBlock(h.status, h.headers, -1), h.buf)
	case len(h.buf) > 0:
		h.err = h.w.WriteData(h.buf, false)
	}
	h.buf = h.buf[:0]
}

// finish ends the answer once ServeWeb has returned.
func (h *h2WebResponse) finish() {
	h.WriteHeader(http.StatusOK)
	switch {
	case h.err != nil:
		h.w.Reset()
	case !h.headSent:
		h.err = h.w.WriteBlock(h2serve.EncodeHeaderBlock(h.status, h.headers, len(h.buf)), h.buf)
	default:
		h.err = h.w.WriteData(h.buf, true)
	}
}
