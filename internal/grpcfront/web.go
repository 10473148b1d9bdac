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

// webCORS lets browser pages call decoy with gRPC-Web, as a mock serving
// local front-end development must: pages on any origin, or on those of
// WebOrigins. It echoes the Origin and exposes the gRPC status headers.
func (s *Server) webCORS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for _, kv := range corsHeaders(s.WebOrigin(r.Header.Get("Origin"))) {
		h.Add(kv[0], kv[1])
	}
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

// serveWeb answers one gRPC-Web call, or its CORS preflight.
func (s *Server) serveWeb(w http.ResponseWriter, r *http.Request) {
	s.webCORS(w, r)
	if IsGRPCWebPreflight(r.Method, r.Header.Get("Access-Control-Request-Headers")) {
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
			h.Set("Access-Control-Allow-Headers", rh)
		}
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	ct := webResponseType(r.Header.Get("Content-Type"))
	text := strings.HasPrefix(ct, webTextContentType)
	if sub, ok := strings.CutPrefix(strings.TrimPrefix(strings.TrimPrefix(ct, webTextContentType), webContentType), "+"); ok && sub != "proto" {
		http.Error(w, "decoy serves gRPC-Web with protobuf messages only (application/grpc-web+proto, application/grpc-web-text)", http.StatusUnsupportedMediaType)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "gRPC-Web calls are POST requests", http.StatusMethodNotAllowed)
		return
	}
	ws := &webStream{w: w, text: text, ct: ct}
	ctx := r.Context()
	if v := r.Header.Get("grpc-timeout"); v != "" {
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
	for k, vs := range r.Header {
		k = strings.ToLower(k)
		switch k {
		case "content-type", "content-length", "grpc-timeout", "te", "connection", "accept-encoding":
			continue
		}
		for _, v := range vs {
			if strings.HasSuffix(k, "-bin") {
				if b, err := decodeBinHeader(v); err == nil {
					v = string(b)
				}
			}
			md[k] = append(md[k], v)
		}
	}
	if r.Host != "" {
		md[":authority"] = []string{r.Host}
	}
	ctx = metadata.NewIncomingContext(ctx, md)
	if ap, err := netipAddr(r.RemoteAddr); err == nil {
		ctx = peer.NewContext(ctx, &peer.Peer{Addr: ap})
	}
	ws.ctx = grpc.NewContextWithServerTransportStream(ctx, webTransport{ws: ws, method: r.URL.Path})
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(s.o.MaxRecvMsgSize)*2+64))
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
	w    http.ResponseWriter
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
	if fl, ok := ws.w.(http.Flusher); ok {
		fl.Flush()
	}
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
	h := ws.w.Header()
	h.Set("Content-Type", ws.ct)
	eachMetadata(ws.header, base64.StdEncoding, h.Add)
	ws.w.WriteHeader(http.StatusOK)
}

// writeBlock writes one length-prefixed block of the response body.
func (ws *webStream) writeBlock(flag byte, b []byte) {
	_, _ = ws.w.Write(webBlock(ws.text, flag, b))
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
