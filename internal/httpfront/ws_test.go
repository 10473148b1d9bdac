package httpfront_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/fasthttp/websocket"
)

const wsStubs = `
- id: echo
  request: {path: /ws/echo}
  response:
    status: 101 # allowed for a WebSocket stub, unlike any other 1xx
    headers: {X-Stub: echo}
    websocket: {echo: true}
- id: ticker
  request: {path: /ws/ticker}
  response:
    websocket:
      messages: ['{"price":1}', '{"price":2}']
      interval: 1ms
      repeat: 3
      close: {code: 4001, reason: done}
- id: chat
  request: {path: /ws/chat}
  response:
    websocket:
      script:
        - {match: {contains: ping}, reply: pong}
        - match: {jsonPath: [{path: "$.type", equals: subscribe}]}
          reply: '{"ok":true}'
          close: {code: 4000, reason: bye}
- id: binary
  request: {path: /ws/binary}
  response:
    websocket: {binary: true, messages: [AAEC]}
- id: slow
  request: {path: /ws/slow}
  response:
    delay: 200ms
    websocket: {messages: [late]}
- id: reset
  request: {path: /ws/reset}
  response:
    faults: [reset]
    websocket: {echo: true}
- id: proto
  request: {path: /ws/proto}
  response:
    headers: {Sec-WebSocket-Protocol: chat.v1}
    websocket: {echo: true}
- id: unavailable
  request: {path: /ws/unavailable}
  response:
    faults: [{kind: error, status: 503}]
    websocket: {echo: true}
- id: plain
  request: {path: /plain}
  response: {body: hello}
`

// startWS serves wsStubs on 127.0.0.1:0 and returns the address.
func startWS(t *testing.T, o httpfront.Options) (string, *journal.Journal, *httpfront.Server) {
	t.Helper()
	addr, j, srv, _ := startWSEngine(t, o)
	return addr, j, srv
}

// startWSEngine is startWS that also returns the engine serving the
// stubs.
func startWSEngine(t *testing.T, o httpfront.Options) (string, *journal.Journal, *httpfront.Server, *engine.Engine) {
	t.Helper()
	_, store, err := config.BuildBytes("ws.yaml", []byte(wsStubs))
	if err != nil {
		t.Fatal(err)
	}
	j := journal.New(100, 1024)
	o.Engine, o.Journal = store.Engine(), j
	srv := httpfront.New(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return ln.Addr().String(), j, srv, store.Engine()
}

func dial(t *testing.T, addr, path string) (*websocket.Conn, *http.Response) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	c, resp, err := d.Dial("ws://"+addr+path, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	return c, resp
}

// readAll reads messages until the server closes and returns them with the
// close code and reason.
func readAll(t *testing.T, c *websocket.Conn) (msgs []string, code int, reason string) {
	t.Helper()
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return msgs, ce.Code, ce.Text
			}
			t.Fatalf("after %q: %v", msgs, err)
		}
		msgs = append(msgs, string(b))
	}
}

func TestWebSocketEcho(t *testing.T) {
	t.Parallel()
	addr, j, _ := startWS(t, httpfront.Options{})
	c, resp := dial(t, addr, "/ws/echo")
	if resp.StatusCode != 101 || resp.Header.Get("X-Stub") != "echo" {
		t.Errorf("handshake %d %v", resp.StatusCode, resp.Header)
	}
	for _, m := range []struct {
		kind int
		data string
	}{{websocket.TextMessage, "hello"}, {websocket.BinaryMessage, "\x00\x01"}, {websocket.TextMessage, ""}} {
		if err := c.WriteMessage(m.kind, []byte(m.data)); err != nil {
			t.Fatal(err)
		}
		kind, b, err := c.ReadMessage()
		if err != nil || kind != m.kind || string(b) != m.data {
			t.Errorf("echo of %q: %d %q %v", m.data, kind, b, err)
		}
	}
	if err := c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, "")); err != nil {
		t.Fatal(err)
	}
	var ce *websocket.CloseError
	if _, _, err := c.ReadMessage(); !errors.As(err, &ce) || ce.Code != 1000 {
		t.Errorf("close answer: %v", err)
	}
	es := j.Find(journal.Filter{})
	if len(es) != 1 || es[0].Status != 101 || es[0].Stub != "echo" || es[0].Path != "/ws/echo" {
		t.Errorf("journal %+v", es)
	}
}

func TestWebSocketConversations(t *testing.T) {
	t.Parallel()
	addr, _, _ := startWS(t, httpfront.Options{})
	tests := []struct {
		path       string
		send       []string
		want       []string
		code       int
		reason     string
		binaryKind bool
	}{
		{path: "/ws/ticker", code: 4001, reason: "done",
			want: []string{`{"price":1}`, `{"price":2}`, `{"price":1}`, `{"price":2}`, `{"price":1}`, `{"price":2}`}},
		{path: "/ws/chat", send: []string{"ping", "nothing matches", "xpingx", `{"type":"subscribe"}`},
			want: []string{"pong", "pong", `{"ok":true}`}, code: 4000, reason: "bye"},
		{path: "/ws/binary", want: []string{"\x00\x01\x02"}, code: 1000, binaryKind: true},
		{path: "/ws/slow", want: []string{"late"}, code: 1000},
	}
	for _, tc := range tests {
		t.Run(strings.TrimPrefix(tc.path, "/ws/"), func(t *testing.T) {
			t.Parallel()
			c, _ := dial(t, addr, tc.path)
			for _, m := range tc.send {
				if err := c.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
					t.Fatal(err)
				}
			}
			got, code, reason := readAll(t, c)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || code != tc.code || reason != tc.reason {
				t.Errorf("got %q close %d %q, want %q close %d %q", got, code, reason, tc.want, tc.code, tc.reason)
			}
		})
	}
}

func TestWebSocketSubprotocol(t *testing.T) {
	t.Parallel()
	addr, _, _ := startWS(t, httpfront.Options{})
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, Subprotocols: []string{"chat.v1"}}
	c, _, err := d.Dial("ws://"+addr+"/ws/proto", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Subprotocol() != "chat.v1" {
		t.Errorf("subprotocol %q", c.Subprotocol())
	}
}

func TestWebSocketLatency(t *testing.T) {
	t.Parallel()
	addr, _, _ := startWS(t, httpfront.Options{})
	t0 := time.Now()
	c, _ := dial(t, addr, "/ws/slow")
	// The delay is a floor: the handshake cannot answer before it.
	if d := time.Since(t0); d < 200*time.Millisecond {
		t.Errorf("handshake after %v, before the 200ms delay", d)
	}
	if _, b, err := c.ReadMessage(); err != nil || string(b) != "late" {
		t.Errorf("%q %v", b, err)
	}
}

func TestWebSocketNotUpgrade(t *testing.T) {
	t.Parallel()
	addr, j, _ := startWS(t, httpfront.Options{})
	h1 := &http.Client{Timeout: 10 * time.Second}
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	h2 := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Protocols: p}}
	for _, tc := range []struct {
		c           *http.Client
		path, ctype string
		status      int
	}{
		{h1, "/ws/echo", "application/problem+json", 426},
		{h1, "/plain", "text/plain; charset=utf-8", 200},
		{h2, "/ws/echo", "application/problem+json", 426},
	} {
		resp, err := tc.c.Get("http://" + addr + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != tc.ctype {
			t.Errorf("%s: %d %s %s", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		if tc.status == 426 && tc.c == h1 && (resp.Header.Get("Upgrade") != "websocket" || !strings.Contains(string(b), "Upgrade")) {
			t.Errorf("426 without upgrade advice: %v %s", resp.Header, b)
		}
		if tc.status == 426 && tc.c == h2 && !strings.Contains(string(b), "WebSocket over HTTP/2 is not served: connect over HTTP/1.1") {
			t.Errorf("426 over HTTP/2 does not say to connect over HTTP/1.1: %s", b)
		}
	}
	if es := j.Find(journal.Filter{}); len(es) != 3 {
		t.Errorf("journal has %d entries", len(es))
	}
}

func TestWebSocketFaultBeforeUpgrade(t *testing.T) {
	t.Parallel()
	addr, _, _ := startWS(t, httpfront.Options{})
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	if c, _, err := d.Dial("ws://"+addr+"/ws/reset", nil); err == nil {
		c.Close()
		t.Fatal("handshake succeeded through a reset fault")
	}
	// The server keeps serving.
	c, _ := dial(t, addr, "/ws/echo")
	if err := c.WriteMessage(websocket.TextMessage, []byte("still")); err != nil {
		t.Fatal(err)
	}
	if _, b, err := c.ReadMessage(); err != nil || string(b) != "still" {
		t.Errorf("%q %v", b, err)
	}
}

func TestWebSocketBadClient(t *testing.T) {
	t.Parallel()
	addr, _, _ := startWS(t, httpfront.Options{MaxBodyBytes: 16})
	tests := []struct {
		name string
		send func(c *websocket.Conn) error
		code int
	}{
		{"oversize", func(c *websocket.Conn) error {
			return c.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", 17)))
		}, websocket.CloseMessageTooBig},
		{"malformed", func(c *websocket.Conn) error {
			// A frame with reserved bit RSV1 set and no extension
			// negotiated, masked as a client must.
			_, err := c.UnderlyingConn().Write([]byte{0xC1, 0x80, 1, 2, 3, 4})
			return err
		}, websocket.CloseProtocolError},
		// Close frames, masked with a zero key: a code and a reason are
		// echoed (code only), none gets none, a 1-byte payload (half a
		// code) fails the connection, also after other frames.
		{"close with a code", func(c *websocket.Conn) error {
			_, err := c.UnderlyingConn().Write([]byte{0x88, 0x84, 0, 0, 0, 0, 0x03, 0xe8, 'o', 'k'})
			return err
		}, websocket.CloseNormalClosure},
		{"close without a code", func(c *websocket.Conn) error {
			_, err := c.UnderlyingConn().Write([]byte{0x88, 0x80, 0, 0, 0, 0})
			return err
		}, websocket.CloseNoStatusReceived},
		{"close with a 1-byte payload", func(c *websocket.Conn) error {
			_, err := c.UnderlyingConn().Write([]byte{0x88, 0x81, 0, 0, 0, 0, 0x03})
			return err
		}, websocket.CloseProtocolError},
		// RFC 6455 section 5.2: the top bit of a 64-bit length MUST be 0.
		{"a 64-bit length with its top bit set", func(c *websocket.Conn) error {
			_, err := c.UnderlyingConn().Write([]byte{0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0})
			return err
		}, websocket.CloseProtocolError},
		{"close with a 1-byte payload after a ping and a message", func(c *websocket.Conn) error {
			b := []byte{0x89, 0x82, 0, 0, 0, 0, 'h', 'i'}
			b = append(b, 0x81, 0x85, 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o')
			b = append(b, 0x88, 0x81, 0, 0, 0, 0, 0x03)
			_, err := c.UnderlyingConn().Write(b)
			return err
		}, websocket.CloseProtocolError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := dial(t, addr, "/ws/echo")
			if err := tc.send(c); err != nil {
				t.Fatal(err)
			}
			if _, code, _ := readAll(t, c); code != tc.code {
				t.Errorf("closed with %d, want %d", code, tc.code)
			}
		})
	}
	// The server keeps serving.
	c, _ := dial(t, addr, "/ws/echo")
	if err := c.WriteMessage(websocket.TextMessage, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if _, b, err := c.ReadMessage(); err != nil || string(b) != "ok" {
		t.Errorf("%q %v", b, err)
	}
}

// TestWebSocketOversizeNoReset: a client still sending a message over the
// limit reads the 1009 close frame and then the end of the stream, not a
// reset (which many clients act on before reading what came before it).
func TestWebSocketOversizeNoReset(t *testing.T) {
	t.Parallel()
	addr, _, _ := startWS(t, httpfront.Options{MaxBodyBytes: 16})
	c, _ := dial(t, addr, "/ws/echo")
	nc := c.UnderlyingConn()
	// A masked text frame announcing 1 MiB, and 64 KiB of it.
	frame := []byte{0x81, 0x80 | 127, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 2, 3, 4}
	if _, err := nc.Write(append(frame, make([]byte, 64<<10)...)); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(nc)
	if err != nil {
		t.Fatalf("after %x: %v, want the end of the stream", got, err)
	}
	if len(got) < 4 || got[0] != 0x88 || got[2] != 0x03 || got[3] != 0xF1 {
		t.Fatalf("got %x, want a close frame with 1009", got)
	}
}

// TestWebSocketShutdown: an open conversation gets close 1001 on shutdown
// and its goroutines end.
func TestWebSocketShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	addr, _, srv := startWS(t, httpfront.Options{})
	c, _ := dial(t, addr, "/ws/echo")
	if err := c.WriteMessage(websocket.TextMessage, []byte("up")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, code, _ := readAll(t, c); code != websocket.CloseGoingAway {
		t.Errorf("closed with %d, want 1001", code)
	}
	c.Close()
	// Generous polling: goroutines end soon after, none is left behind.
	deadline := time.Now().Add(10 * time.Second)
	n := runtime.NumGoroutine()
	for n > before+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	if n > before+2 {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// statusCounts is what decoy_requests_total shows for a stub: its
// requests by the status answered.
func statusCounts(e *engine.Engine, id string) map[int]uint64 {
	st := e.Snapshot().Get(id)
	v := st.Stats().Read()
	got := map[int]uint64{}
	for i, n := range v.Responses {
		if n > 0 {
			got[st.Responses()[i].Status] += n
		}
	}
	for _, o := range v.Others {
		got[o.Status] += o.N
	}
	return got
}

// TestWebSocketStatusCounted: a WebSocket stub's requests are counted by
// the status the client got (101, the 426 of a plain request, an error
// fault's), as the journal records them, not all as the compiled 426.
func TestWebSocketStatusCounted(t *testing.T) {
	t.Parallel()
	addr, _, _, e := startWSEngine(t, httpfront.Options{})
	for range 2 {
		c, _ := dial(t, addr, "/ws/echo")
		c.Close()
	}
	resp, err := http.Get("http://" + addr + "/ws/echo")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	if c, resp, err := d.Dial("ws://"+addr+"/ws/unavailable", nil); err == nil {
		c.Close()
		t.Fatal("handshake succeeded through an error fault")
	} else if resp == nil || resp.StatusCode != 503 {
		t.Fatalf("error fault answered %v, %v", resp, err)
	}
	tests := []struct {
		stub string
		want map[int]uint64
	}{
		{"echo", map[int]uint64{101: 2, 426: 1}},
		{"unavailable", map[int]uint64{503: 1}},
	}
	for _, tt := range tests {
		if got := statusCounts(e, tt.stub); !maps.Equal(got, tt.want) {
			t.Errorf("%s: requests by status %v, want %v", tt.stub, got, tt.want)
		}
	}
}

// TestWebSocketConnectionMetrics: an upgraded connection stays open in the
// connection metrics while its conversation runs, is closed with why the
// conversation ended, and is not a single-use connection in /clients.
func TestWebSocketConnectionMetrics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		path string
		// end ends the conversation, from the client or the server.
		end  func(t *testing.T, c *websocket.Conn, srv *httpfront.Server)
		want int // a metrics.Close* reason
	}{
		{"the client's close frame", "/ws/echo", func(t *testing.T, c *websocket.Conn, _ *httpfront.Server) {
			if err := c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, "")); err != nil {
				t.Fatal(err)
			}
			readAll(t, c)
		}, metrics.CloseClientEOF},
		{"the client drops the connection", "/ws/echo", func(t *testing.T, c *websocket.Conn, _ *httpfront.Server) {
			c.Close()
		}, metrics.CloseClientEOF},
		{"the stub's close", "/ws/ticker", func(t *testing.T, c *websocket.Conn, _ *httpfront.Server) {
			readAll(t, c)
		}, metrics.CloseOther},
		{"a malformed frame", "/ws/echo", func(t *testing.T, c *websocket.Conn, _ *httpfront.Server) {
			if _, err := c.UnderlyingConn().Write([]byte{0xC1, 0x80, 1, 2, 3, 4}); err != nil {
				t.Fatal(err)
			}
			readAll(t, c)
		}, metrics.CloseBadRequest},
		{"shutdown", "/ws/echo", func(t *testing.T, c *websocket.Conn, srv *httpfront.Server) {
			go func() { _ = srv.Shutdown(context.Background()) }()
			readAll(t, c)
		}, metrics.CloseShutdown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clients := metrics.NewClients(0)
			addr, _, srv := startWS(t, httpfront.Options{Clients: clients})
			c, _ := dial(t, addr, tc.path)
			if tc.path == "/ws/echo" {
				// A round trip: the conversation runs.
				if err := c.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
					t.Fatal(err)
				}
				if _, _, err := c.ReadMessage(); err != nil {
					t.Fatal(err)
				}
				if st := srv.Stats(); st.Open != 1 || st.Closed != [metrics.NumCloseReasons]uint64{} {
					t.Errorf("while the conversation runs: %d open, closed %v; want 1 open, none closed", st.Open, st.Closed)
				}
			}
			tc.end(t, c, srv)
			// The server closes its side once the conversation is over.
			deadline := time.Now().Add(10 * time.Second)
			st := srv.Stats()
			for st.Open > 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
				st = srv.Stats()
			}
			want := [metrics.NumCloseReasons]uint64{}
			want[tc.want] = 1
			if st.Open != 0 || st.Closed != want {
				t.Errorf("%d open, closed %v; want 0 open, closed %v (%s)", st.Open, st.Closed, want, metrics.CloseReasonNames[tc.want])
			}
			for _, r := range clients.Report().Clients {
				if r.SingleUseConnections != 0 || r.OpenConnections != 0 {
					t.Errorf("client %s: %d single-use, %d open; want 0, 0", r.Address, r.SingleUseConnections, r.OpenConnections)
				}
			}
		})
	}
}

// handshake sends a raw request to addr and returns the response, its
// body read.
func handshake(t *testing.T, addr, req string) (*http.Response, string) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	if resp.StatusCode != 101 {
		b, _ = io.ReadAll(resp.Body)
	}
	resp.Body.Close()
	return resp, string(b)
}

// TestWebSocketHandshake: handshakes RFC 6455 does not allow get a
// problem that names what to send; headers decoy does not honour on an
// upgrade do not refuse it.
func TestWebSocketHandshake(t *testing.T) {
	t.Parallel()
	addr, _, _ := startWS(t, httpfront.Options{DelayHeader: true})
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	req := func(method, proto, path string, extra ...string) string {
		h := map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": key}
		for i := 0; i+1 < len(extra); i += 2 {
			h[extra[i]] = extra[i+1]
		}
		var b strings.Builder
		b.WriteString(method + " " + path + " " + proto + "\r\nHost: x\r\n")
		for k, v := range h {
			if v != "" {
				b.WriteString(k + ": " + v + "\r\n")
			}
		}
		return b.String() + "\r\n"
	}
	tests := []struct {
		name    string
		req     string
		status  int
		headers map[string]string // "" : absent
		detail  string            // in the body
	}{
		{"a valid handshake", req("GET", "HTTP/1.1", "/ws/echo"), 101,
			map[string]string{"Sec-WebSocket-Accept": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}, ""},
		{"HTTP/1.0", req("GET", "HTTP/1.0", "/ws/echo"), 426,
			map[string]string{"Upgrade": "websocket", "Content-Type": "application/problem+json", "Sec-WebSocket-Accept": ""},
			"a WebSocket upgrade needs HTTP/1.1 (RFC 6455 section 4.1), and this request is HTTP/1.0: send it as HTTP/1.1"},
		{"no Connection", req("GET", "HTTP/1.1", "/ws/echo", "Connection", ""), 426,
			map[string]string{"Upgrade": "websocket", "Connection": "Upgrade"}, "the header Connection is missing: send Connection: Upgrade with Upgrade: websocket"},
		{"Connection without Upgrade", req("GET", "HTTP/1.1", "/ws/echo", "Connection", "keep-alive"), 426,
			nil, `the header Connection is \"keep-alive\", without Upgrade: send Connection: Upgrade`},
		{"no Upgrade", req("GET", "HTTP/1.1", "/ws/echo", "Upgrade", ""), 426,
			nil, "the header Upgrade is missing: send Upgrade: websocket"},
		{"another Upgrade", req("GET", "HTTP/1.1", "/ws/echo", "Upgrade", "irc"), 426,
			nil, `the header Upgrade is \"irc\": send Upgrade: websocket`},
		{"not an upgrade at all", "GET /ws/echo HTTP/1.1\r\nHost: x\r\n\r\n", 426,
			map[string]string{"Upgrade": "websocket"}, "this stub answers WebSocket upgrades only"},
		{"an unsupported version", req("GET", "HTTP/1.1", "/ws/echo", "Sec-WebSocket-Version", "8"), 426,
			map[string]string{"Sec-WebSocket-Version": "13"}, `Sec-WebSocket-Version \"8\" is not supported: decoy speaks WebSocket version 13`},
		{"no version", req("GET", "HTTP/1.1", "/ws/echo", "Sec-WebSocket-Version", ""), 426,
			map[string]string{"Sec-WebSocket-Version": "13"}, "Sec-WebSocket-Version is missing"},
		{"a key not 16 bytes", req("GET", "HTTP/1.1", "/ws/echo", "Sec-WebSocket-Key", "short"), 400,
			map[string]string{"Content-Type": "application/problem+json"}, `Sec-WebSocket-Key \"short\" is not 16 bytes in base64`},
		{"a key of 17 bytes", req("GET", "HTTP/1.1", "/ws/echo", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZT8/"), 400, nil, "is not 16 bytes"},
		{"no key", req("GET", "HTTP/1.1", "/ws/echo", "Sec-WebSocket-Key", ""), 400, nil, "Sec-WebSocket-Key is missing"},
		{"POST", req("POST", "HTTP/1.1", "/ws/echo", "Content-Length", "0"), 405,
			map[string]string{"Allow": "GET"}, "a WebSocket handshake is a GET request (RFC 6455 section 4.1), not POST: send GET"},
		{"a malformed X-Decoy-Delay", req("GET", "HTTP/1.1", "/ws/echo", "X-Decoy-Delay", "garbage"), 101, nil, ""},
		{"a malformed Prefer: delay", req("GET", "HTTP/1.1", "/ws/echo", "Prefer", "delay=soon"), 101, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := handshake(t, addr, tt.req)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			for k, v := range tt.headers {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if !strings.Contains(body, tt.detail) || strings.Contains(body, "  ") {
				t.Errorf("body %s, want it to say %s", body, tt.detail)
			}
		})
	}
}

// TestWebSocketSubprotocolOffered: the stub's Sec-WebSocket-Protocol is
// answered only when the client offered it.
func TestWebSocketSubprotocolOffered(t *testing.T) {
	t.Parallel()
	addr, _, _ := startWS(t, httpfront.Options{})
	tests := []struct {
		name    string
		offered []string // Sec-WebSocket-Protocol header lines
		want    string
	}{
		{"none offered", nil, ""},
		{"another offered", []string{"other.v2"}, ""},
		{"offered", []string{"chat.v1"}, "chat.v1"},
		{"among others", []string{"other.v2, chat.v1"}, "chat.v1"},
		{"on a second line", []string{"other.v2", "chat.v1"}, "chat.v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := "GET /ws/proto HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
				"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			for _, o := range tt.offered {
				req += "Sec-WebSocket-Protocol: " + o + "\r\n"
			}
			resp, body := handshake(t, addr, req+"\r\n")
			if resp.StatusCode != 101 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if got := resp.Header.Values("Sec-WebSocket-Protocol"); strings.Join(got, ",") != tt.want {
				t.Errorf("Sec-WebSocket-Protocol %q, want %q", got, tt.want)
			}
		})
	}
}

// TestWebSocketStalledFrame: a client that stops in the middle of a frame
// has read-timeout to go on, and is then closed; a conversation that rests
// between frames stays open as long as it likes.
func TestWebSocketStalledFrame(t *testing.T) {
	t.Parallel()
	const readTimeout = 200 * time.Millisecond
	addr, _, _ := startWS(t, httpfront.Options{ReadTimeout: readTimeout})

	// At rest between frames for several read-timeouts: still served.
	c, _ := dial(t, addr, "/ws/echo")
	time.Sleep(5 * readTimeout)
	if err := c.WriteMessage(websocket.TextMessage, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if _, b, err := c.ReadMessage(); err != nil || string(b) != "still here" {
		t.Fatalf("after resting: %q, %v", b, err)
	}

	// Ten bytes of a 100-byte masked frame, then nothing.
	c2, _ := dial(t, addr, "/ws/echo")
	nc := c2.UnderlyingConn()
	if _, err := nc.Write([]byte{0x81, 0x80 | 100, 1, 2, 3, 4, 'a', 'b', 'c', 'd'}); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, nc)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("a client stalled inside a frame was still connected after 10 s (read-timeout %v)", readTimeout)
	}
}
