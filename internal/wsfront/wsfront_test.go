package wsfront_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/wsfront"
	"github.com/fasthttp/websocket"
)

// serve runs Serve for ws behind a net/http server on 127.0.0.1 and
// returns a connected client and the conversation's counts when it ends.
func serve(t testing.TB, ctx context.Context, ws *engine.WebSocket, limit int64) (*websocket.Conn, <-chan wsfront.Counts) {
	t.Helper()
	counts := make(chan wsfront.Counts, 1)
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		counts <- wsfront.Serve(ctx, c, ws, limit, nil)
	}))
	t.Cleanup(srv.Close)
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	c, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	return c, counts
}

func closeCode(err error) int {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

func TestServeCounts(t *testing.T) {
	t.Parallel()
	ws := &engine.WebSocket{Echo: true, Repeat: 1, Messages: [][]byte{[]byte("hi")}}
	c, counts := serve(t, context.Background(), ws, 0)
	if _, b, err := c.ReadMessage(); err != nil || string(b) != "hi" {
		t.Fatalf("%q %v", b, err)
	}
	for _, m := range []string{"a", "b"} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
		if _, b, err := c.ReadMessage(); err != nil || string(b) != m {
			t.Fatalf("echo %q: %q %v", m, b, err)
		}
	}
	if err := c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, "")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ReadMessage(); closeCode(err) != 1000 {
		t.Errorf("close answer %v", err)
	}
	if n := <-counts; n != (wsfront.Counts{In: 2, Out: 3, End: wsfront.EndClient}) {
		t.Errorf("counts %+v, want 2 in, 3 out, ended by the client", n)
	}
}

func TestServeEndsWithContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ws   *engine.WebSocket
	}{
		{"echo", &engine.WebSocket{Echo: true, Repeat: 1}},
		// A push that would take hours is cut short.
		{"push", &engine.WebSocket{Repeat: 1000, Interval: time.Hour, Messages: [][]byte{[]byte("x")}, Close: &engine.WSClose{Code: 1000}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c, counts := serve(t, ctx, tc.ws, 0)
			if len(tc.ws.Messages) > 0 {
				if _, _, err := c.ReadMessage(); err != nil {
					t.Fatal(err)
				}
			}
			cancel()
			var err error
			for err == nil {
				_, _, err = c.ReadMessage()
			}
			if closeCode(err) != websocket.CloseGoingAway {
				t.Errorf("got %v, want close 1001", err)
			}
			<-counts // Serve returned
		})
	}
}

// A text message must be UTF-8 (RFC 6455 section 8.1): one that is not
// fails the conversation with 1007 instead of being echoed or answered.
func TestServeRefusesTextNotUTF8(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ws   *engine.WebSocket
	}{
		{"echo", &engine.WebSocket{Echo: true, Repeat: 1}},
		{"script", &engine.WebSocket{Repeat: 1, Script: []engine.WSRule{{Reply: []byte("ok"), HasReply: true}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, counts := serve(t, context.Background(), tc.ws, 0)
			// Valid first: answered.
			if err := c.WriteMessage(websocket.TextMessage, []byte("h\u00e9")); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.ReadMessage(); err != nil {
				t.Fatal(err)
			}
			// Binary messages are not text: no check.
			if err := c.WriteMessage(websocket.BinaryMessage, []byte{0xc3, 0x28}); err != nil {
				t.Fatal(err)
			}
			if tc.ws.Echo {
				if _, b, err := c.ReadMessage(); err != nil || string(b) != "\xc3\x28" {
					t.Fatalf("binary echo %q %v", b, err)
				}
			} else if _, _, err := c.ReadMessage(); err != nil {
				t.Fatal(err)
			}
			if err := c.WriteMessage(websocket.TextMessage, []byte{'o', 'k', 0xc3, 0x28}); err != nil {
				t.Fatal(err)
			}
			_, b, err := c.ReadMessage()
			if closeCode(err) != websocket.CloseInvalidFramePayloadData {
				t.Fatalf("got %q %v, want close 1007", b, err)
			}
			<-counts // Serve returned
		})
	}
}

// TestServeEnd: Serve tells who ended the conversation, for the
// connection metrics.
func TestServeEnd(t *testing.T) {
	t.Parallel()
	echo := &engine.WebSocket{Echo: true, Repeat: 1}
	tests := []struct {
		name   string
		ws     *engine.WebSocket
		cancel bool // the server shuts down
		client func(c *websocket.Conn) error
		want   wsfront.End
	}{
		{"the client's close frame", echo, false, func(c *websocket.Conn) error {
			return c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""))
		}, wsfront.EndClient},
		{"the client drops the connection", echo, false, func(c *websocket.Conn) error {
			return c.UnderlyingConn().Close()
		}, wsfront.EndConn},
		{"the stub's close", &engine.WebSocket{Repeat: 1, Messages: [][]byte{[]byte("x")}, Close: &engine.WSClose{Code: 4000}}, false,
			nil, wsfront.EndStub},
		{"a text message not UTF-8", echo, false, func(c *websocket.Conn) error {
			return c.WriteMessage(websocket.TextMessage, []byte{0xc3, 0x28})
		}, wsfront.EndProtocol},
		{"a malformed frame", echo, false, func(c *websocket.Conn) error {
			_, err := c.UnderlyingConn().Write([]byte{0xC1, 0x80, 1, 2, 3, 4}) // RSV1 set
			return err
		}, wsfront.EndProtocol},
		{"shutdown", echo, true, nil, wsfront.EndShutdown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c, counts := serve(t, ctx, tc.ws, 0)
			if tc.client != nil {
				if err := tc.client(c); err != nil {
					t.Fatal(err)
				}
			}
			if tc.cancel {
				cancel()
			}
			// Read until the end, answering a close as clients do.
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					break
				}
			}
			if n := <-counts; n.End != tc.want {
				t.Errorf("ended %d, want %d", n.End, tc.want)
			}
		})
	}
}
