package h2serve

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestCountSent: CountSent tells, once the stream ends, the body bytes
// that went out: all of them for a body sent whole, a window's worth for
// one the client reset when the window ran out, none for a response
// without a body.
func TestCountSent(t *testing.T) {
	sent := make(chan int64, 1)
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		n, _ := strconv.Atoi(queryOr(r, "n", "0"))
		w.CountSent(func(k int64) { sent <- k })
		_ = w.WriteBlock(EncodeHeaderBlock(200, nil, n), bigData[:n])
	})
	s := startServer(t, h, Options{})
	for _, tt := range []struct {
		name  string
		n     int
		reset bool
		want  int64
	}{
		{"whole body", 70000, false, 70000},
		{"no body", 0, false, 0},
		{"reset when the window ran out", 1000000, true, 65535},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rc := dialRaw(t, s.addr)
			rc.get(1, "/?n="+strconv.Itoa(tt.n))
			if tt.reset {
				got := 0
				for got < 65535 {
					if d, ok := rc.next().(*http2.DataFrame); ok {
						got += len(d.Data())
					}
				}
				if err := rc.fr.WriteRSTStream(1, http2.ErrCodeCancel); err != nil {
					t.Fatal(err)
				}
			} else {
				_ = rc.fr.WriteWindowUpdate(0, 1<<30)
				_ = rc.fr.WriteWindowUpdate(1, 1<<30)
				st, body, rst := rc.response(1, true)
				if st != "200" || rst != nil || !bytes.Equal(body, bigData[:tt.n]) {
					t.Fatalf("%s %v: %d bytes", st, rst, len(body))
				}
			}
			select {
			case k := <-sent:
				if k != tt.want {
					t.Errorf("CountSent told %d bytes; want %d", k, tt.want)
				}
			case <-time.After(10 * time.Second): // a bound, not a pace
				t.Fatal("CountSent was not told")
			}
		})
	}
}
