package grpcfront

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// gRPC-Web (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md)
// is gRPC for clients that cannot read HTTP/2 trailers, browsers first: a
// POST whose body holds the length-prefixed messages, answered with the
// messages and then the trailers as one more length-prefixed block (its
// flag byte 0x80) in the body. application/grpc-web-text is the same,
// base64-encoded. decoy serves it with the handler of native gRPC calls,
// through a grpc.ServerStream that reads the request body and writes the
// response body.

const (
	webContentType     = "application/grpc-web"
	webTextContentType = "application/grpc-web-text"
	webTrailerFlag     = 0x80
)

// IsGRPCWeb reports whether a request's Content-Type is gRPC-Web's. Media
// types are case-insensitive (RFC 9110 8.3.1); this does not allocate.
func IsGRPCWeb(contentType string) bool {
	return hasPrefixFold(contentType, webContentType)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// webResponseType is the Content-Type of the answer to a gRPC-Web request
// of type ct (one IsGRPCWeb accepts): the same, in lower case, since some
// clients compare it case-sensitively.
func webResponseType(ct string) string {
	if strings.HasPrefix(ct, webContentType) {
		return ct // the usual case, lower case already
	}
	return strings.ToLower(ct)
}

// WebStatus is the answer, with no message, that ends a gRPC-Web call of
// Content-Type contentType (from origin, "" for none) with code and msg:
// its headers and its body (the trailers block). The HTTP server uses it
// for requests it refuses before the gRPC front door sees them, such as a
// body over max-body-bytes, so that the client gets a gRPC status rather
// than an HTTP error it maps to UNKNOWN.
func WebStatus(contentType, origin string, code codes.Code, msg string) (headers [][2]string, body []byte) {
	ct := webResponseType(contentType)
	headers = append(headers, [2]string{"Content-Type", ct})
	headers = append(headers, corsHeaders(origin)...)
	var b []byte
	eachStatusField(status.New(code, msg), func(k, v string) { b = appendWebField(b, k, v) })
	return headers, webBlock(hasPrefixFold(ct, webTextContentType), webTrailerFlag, b)
}

// ServeHTTP serves gRPC requests that arrive through a Go net/http HTTP/2
// server (gRPC over TLS on the HTTP port), and gRPC-Web requests over any
// HTTP version. Slower than Serve: grpc-go's ServeHTTP path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if IsGRPCWeb(r.Header.Get("Content-Type")) || IsGRPCWebPreflight(r.Method, r.Header.Get("Access-Control-Request-Headers")) {
		s.serveWeb(w, r)
		return
	}
	s.srv.ServeHTTP(w, r)
}

// IsGRPCWebPreflight reports whether a request is a browser's CORS
// preflight for a gRPC-Web call: OPTIONS asking to send X-Grpc-Web or
// X-User-Agent, the headers gRPC-Web clients add.
func IsGRPCWebPreflight(method, requestHeaders string) bool {
	if method != http.MethodOptions {
		return false
	}
	h := strings.ToLower(requestHeaders)
	return strings.Contains(h, "x-grpc-web") || strings.Contains(h, "x-user-agent")
}

// WebOrigin is origin when gRPC-Web calls from it get CORS headers, ""
// when they do not (it is not among Options.WebOrigins).
func (s *Server) WebOrigin(origin string) string {
	if len(s.o.WebOrigins) == 0 || slices.Contains(s.o.WebOrigins, origin) {
		return origin
	}
	return ""
}

func corsHeaders(origin string) [][2]string {
	if origin == "" {
		return nil
	}
	return [][2]string{
		{"Access-Control-Allow-Origin", origin},
		{"Access-Control-Allow-Credentials", "true"},
		{"Access-Control-Expose-Headers", "grpc-status, grpc-message, grpc-status-details-bin"},
		{"Vary", "Origin"},
	}
}

// A WebRequest is a gRPC-Web call, or its CORS preflight, as the server
// that received it holds it; ServeWeb reads what it needs through it. Its
// strings may be the server's own memory: ServeWeb is done with them when
// it returns.
type WebRequest interface {
	Method() string
	// Path is the request's path, percent-decoded: /package.Service/Method.
	Path() string
	// Header is the first value of the header field name (in lower case),
	// "" when there is none.
	Header(name string) string
	// VisitHeaders calls f with each header field, its name in lower case
	// (pseudo-header fields and Host left out).
	VisitHeaders(f func(name, value string))
	// Host is the Host header, or HTTP/2's :authority.
	Host() string
	// RemoteAddr is the client's address, host:port.
	RemoteAddr() string
	// Body is the request body, at most limit bytes of it.
	Body(limit int64) ([]byte, error)
}

// A WebResponse is where ServeWeb writes its answer: header fields, then
// the status (WriteHeader sends them), then the body in parts.
type WebResponse interface {
	AddHeader(name, value string)
	WriteHeader(code int)
	WriteBody(b []byte)
	// Flush sends what the body holds so far, where the server streams.
	Flush()
}

// serveWeb answers one gRPC-Web call, or its CORS preflight, that came
// through net/http.
func (s *Server) serveWeb(w http.ResponseWriter, r *http.Request) {
	s.ServeWeb(r.Context(), httpWebResponse{w}, httpWebRequest{r})
}

// ServeWeb answers one gRPC-Web call, or its CORS preflight, with ctx
// (which carries the client's certificate, engine.ClientCertKey, when the
// port asks for one) ended when the call must end. It returns when the
// answer is written.
func (s *Server) ServeWeb(ctx context.Context, w WebResponse, r WebRequest) {
	for _, kv := range corsHeaders(s.WebOrigin(r.Header("origin"))) {
		w.AddHeader(kv[0], kv[1])
	}
	if IsGRPCWebPreflight(r.Method(), r.Header("access-control-request-headers")) {
		w.AddHeader("Access-Control-Allow-Methods", "POST, OPTIONS")
		if rh := r.Header("access-control-request-headers"); rh != "" {
			w.AddHeader("Access-Control-Allow-Headers", rh)
		}
		w.AddHeader("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	ct := webResponseType(r.Header("content-type"))
	text := strings.HasPrefix(ct, webTextContentType)
	if sub, ok := strings.CutPrefix(strings.TrimPrefix(strings.TrimPrefix(ct, webTextContentType), webContentType), "+"); ok && sub != "proto" {
		webError(w, "decoy serves gRPC-Web with protobuf messages only (application/grpc-web+proto, application/grpc-web-text)", http.StatusUnsupportedMediaType)
		return
	}
	if r.Method() != http.MethodPost {
		w.AddHeader("Allow", http.MethodPost)
		webError(w, "gRPC-Web calls are POST requests", http.StatusMethodNotAllowed)
		return
	}
	ws := &webStream{w: w, text: text, ct: ct}
	if v := r.Header("grpc-timeout"); v != "" {
		d, err := parseTimeout(v)
		if err != nil {
			// As grpc-go answers a native call.
			ws.end(status.Errorf(codes.Internal, "malformed grpc-timeout: %v", err))
			return
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	md := metadata.MD{}
	r.VisitHeaders(func(k, v string) {
		switch k {
		case "content-type", "content-length", "grpc-timeout", "te", "connection", "accept-encoding", "host", "transfer-encoding":
			return
		}
		if strings.HasSuffix(k, "-bin") {
			if b, err := decodeBinHeader(v); err == nil {
				v = string(b)
			}
		}
		md[k] = append(md[k], v)
	})
	if h := r.Host(); h != "" {
		md[":authority"] = []string{h}
	}
	ctx = metadata.NewIncomingContext(ctx, md)
	if ap, err := netipAddr(r.RemoteAddr()); err == nil {
		ctx = peer.NewContext(ctx, &peer.Peer{Addr: ap})
	}
	ws.ctx = grpc.NewContextWithServerTransportStream(ctx, webTransport{ws: ws, method: r.Path()})
	body, err := r.Body(int64(s.o.MaxRecvMsgSize)*2 + 64)
	if err == nil {
		ws.msgs, err = parseWebBody(body, text, s.o.MaxRecvMsgSize)
	}
	if err != nil {
		if _, ok := status.FromError(err); !ok {
			err = status.Error(codes.Internal, err.Error())
		}
		// A status (RESOURCE_EXHAUSTED for a message over the limit) is
		// sent as it is, not wrapped in an INTERNAL.
		ws.end(err)
		return
	}
	ws.end(s.handle(nil, ws))
}

// webError answers with an HTTP error, as net/http's http.Error does.
func webError(w WebResponse, msg string, code int) {
	w.AddHeader("Content-Type", "text/plain; charset=utf-8")
	w.AddHeader("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.WriteBody([]byte(msg + "\n"))
}

// httpWebRequest is a gRPC-Web request from net/http.
type httpWebRequest struct{ r *http.Request }

func (h httpWebRequest) Method() string            { return h.r.Method }
func (h httpWebRequest) Path() string              { return h.r.URL.Path }
func (h httpWebRequest) Header(name string) string { return h.r.Header.Get(name) }
func (h httpWebRequest) Host() string              { return h.r.Host }
func (h httpWebRequest) RemoteAddr() string        { return h.r.RemoteAddr }
func (h httpWebRequest) VisitHeaders(f func(name, value string)) {
	for k, vs := range h.r.Header {
		k = strings.ToLower(k)
		for _, v := range vs {
			f(k, v)
		}
	}
}
func (h httpWebRequest) Body(limit int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(h.r.Body, limit))
}

// httpWebResponse answers a gRPC-Web request through net/http.
type httpWebResponse struct{ w http.ResponseWriter }

func (h httpWebResponse) AddHeader(name, value string) { h.w.Header().Add(name, value) }
func (h httpWebResponse) WriteHeader(code int)         { h.w.WriteHeader(code) }
func (h httpWebResponse) WriteBody(b []byte)           { _, _ = h.w.Write(b) }
func (h httpWebResponse) Flush() {
	if fl, ok := h.w.(http.Flusher); ok {
		fl.Flush()
	}
}

// netipAddr reads a "host:port" remote address.
func netipAddr(s string) (net.Addr, error) {
	return net.ResolveTCPAddr("tcp", s)
}

// parseWebBody splits a gRPC-Web request body (base64 for -text) into its
// messages; no message may be larger than limit, and compressed ones are
// refused (decoy asks for no encoding).
func parseWebBody(b []byte, text bool, limit int) ([][]byte, error) {
	if text {
		var err error
		if b, err = decodeWebText(b); err != nil {
			return nil, err
		}
	}
	var msgs [][]byte
	for len(b) > 0 {
		if len(b) < 5 {
			return nil, fmt.Errorf("grpc-web: a message prefix of %d bytes, want 5", len(b))
		}
		flag, n := b[0], binary.BigEndian.Uint32(b[1:5])
		if flag&1 != 0 {
			return nil, errors.New("grpc-web: a compressed message, but decoy accepts no grpc-encoding")
		}
		if flag != 0 {
			return nil, fmt.Errorf("grpc-web: a request frame with flags %#x", flag)
		}
		if int64(n) > int64(limit) {
			return nil, status.Errorf(codes.ResourceExhausted, "grpc: received message larger than max (%d vs. %d)", n, limit)
		}
		if int64(n) > int64(len(b)-5) {
			return nil, fmt.Errorf("grpc-web: a message of %d bytes, but %d remain", n, len(b)-5)
		}
		msgs = append(msgs, b[5:5+n])
		b = b[5+n:]
	}
	return msgs, nil
}

// decodeWebText decodes a -text body: base64, possibly several padded
// chunks one after the other (a client may encode each message apart).
func decodeWebText(b []byte) ([]byte, error) {
	clean := make([]byte, 0, len(b))
	for _, c := range b {
		if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
			clean = append(clean, c)
		}
	}
	if len(clean)%4 != 0 {
		return nil, errors.New("grpc-web-text: the body is not base64 (its length is not a multiple of 4)")
	}
	out := make([]byte, 0, len(clean)/4*3)
	var group [3]byte
	for i := 0; i < len(clean); i += 4 {
		n, err := base64.StdEncoding.Decode(group[:], clean[i:i+4])
		if err != nil {
			return nil, fmt.Errorf("grpc-web-text: the body is not base64: %v", err)
		}
		out = append(out, group[:n]...)
	}
	return out, nil
}

func decodeBinHeader(v string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(v); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(v)
}

// parseTimeout reads a grpc-timeout value: at most 8 digits and a unit (H,
// M, S, m, u, n), refused as grpc-go refuses it on native calls. A timeout
// past time.Duration's range (99999999H, which the protocol allows) is the
// longest one, as grpc-go reads it, not a product that wraps around to a
// deadline already past.
func parseTimeout(v string) (time.Duration, error) {
	switch {
	case len(v) < 2:
		return 0, fmt.Errorf("timeout string is too short: %q", v)
	case len(v) > 9:
		return 0, fmt.Errorf("timeout string is too long (at most 8 digits and a unit): %q", v)
	}
	var unit time.Duration
	switch v[len(v)-1] {
	case 'H':
		unit = time.Hour
	case 'M':
		unit = time.Minute
	case 'S':
		unit = time.Second
	case 'm':
		unit = time.Millisecond
	case 'u':
		unit = time.Microsecond
	case 'n':
		unit = time.Nanosecond
	default:
		return 0, fmt.Errorf("timeout unit is not recognized (want H, M, S, m, u or n): %q", v)
	}
	n, err := strconv.ParseUint(v[:len(v)-1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("timeout is not a number: %q", v)
	}
	if n > uint64(math.MaxInt64/unit) {
		return math.MaxInt64, nil
	}
	return time.Duration(n) * unit, nil
}

// webStream is one gRPC-Web call as a grpc.ServerStream.
type webStream struct {
	ctx  context.Context
	w    WebResponse
	text bool
	ct   string
	msgs [][]byte // the request's messages not yet read
	answerMD
}

var _ grpc.ServerStream = (*webStream)(nil)

func (ws *webStream) Context() context.Context { return ws.ctx }

func (ws *webStream) SendHeader(md metadata.MD) error {
	if err := ws.SetHeader(md); err != nil {
		return err
	}
	ws.writeHead()
	return nil
}

func (ws *webStream) SendMsg(m any) error {
	f, ok := m.(*frame)
	if !ok {
		return status.Errorf(codes.Internal, "grpc-web: cannot send a %T", m)
	}
	if err := ws.ctx.Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	ws.writeHead()
	ws.writeBlock(0, f.b)
	ws.w.Flush()
	return nil
}

func (ws *webStream) RecvMsg(m any) error {
	f, ok := m.(*frame)
	if !ok {
		return status.Errorf(codes.Internal, "grpc-web: cannot read into a %T", m)
	}
	if len(ws.msgs) == 0 {
		return io.EOF
	}
	f.b = append(f.b[:0], ws.msgs[0]...)
	ws.msgs = ws.msgs[1:]
	return nil
}

// writeHead sends the status line and the response metadata, once.
func (ws *webStream) writeHead() {
	if ws.headSent {
		return
	}
	ws.headSent = true
	ws.w.AddHeader("Content-Type", ws.ct)
	eachMetadata(ws.header, base64.StdEncoding, ws.w.AddHeader)
	ws.w.WriteHeader(http.StatusOK)
}

// writeBlock writes one length-prefixed block of the response body.
func (ws *webStream) writeBlock(flag byte, b []byte) {
	ws.w.WriteBody(webBlock(ws.text, flag, b))
}

// webBlock is one length-prefixed block of a response body, in base64
// for -text.
func webBlock(text bool, flag byte, b []byte) []byte {
	buf := make([]byte, 5, 5+len(b))
	buf[0] = flag
	binary.BigEndian.PutUint32(buf[1:], uint32(len(b)))
	buf = append(buf, b...)
	if text {
		buf = []byte(base64.StdEncoding.EncodeToString(buf))
	}
	return buf
}

// end sends the trailers block with the call's status.
func (ws *webStream) end(err error) {
	ws.writeHead()
	var b []byte
	add := func(k, v string) { b = appendWebField(b, k, v) }
	eachStatusField(status.Convert(err), add)
	eachMetadata(ws.trailer, base64.StdEncoding, add)
	ws.writeBlock(webTrailerFlag, b)
}

// appendWebField appends a field of gRPC-Web's trailer block.
func appendWebField(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ':')
	b = append(b, value...)
	return append(b, "\r\n"...)
}

// encodeGRPCMessage percent-encodes a status message as gRPC does: the
// bytes outside printable ASCII, and %.
func encodeGRPCMessage(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// webTransport gives the handler the call's method, as grpc-go's
// transport stream does.
type webTransport struct {
	ws     *webStream
	method string
}

func (t webTransport) Method() string                  { return t.method }
func (t webTransport) SetHeader(md metadata.MD) error  { return t.ws.SetHeader(md) }
func (t webTransport) SendHeader(md metadata.MD) error { return t.ws.SendHeader(md) }
func (t webTransport) SetTrailer(md metadata.MD) error { t.ws.SetTrailer(md); return nil }
