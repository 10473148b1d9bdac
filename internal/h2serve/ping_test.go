package h2serve

import (
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestPingPolicy: with MinPingInterval, the third PING too soon after
// the one before ends the connection with GOAWAY ENHANCE_YOUR_CALM
// "too_many_pings", as grpc-go's keepalive enforcement does; a response
// sent between two PINGs forgives the strikes, and without the option
// every PING is answered.
func TestPingPolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		interval time.Duration
		answered int  // PINGs acknowledged before the GOAWAY (-1: all of them)
		respond  bool // a request answered between every two PINGs
	}{
		{"no policy", 0, -1, false},
		{"too soon", time.Hour, 4, false},
		{"forgiven by responses", time.Hour, -1, true},
		{"far enough apart", time.Nanosecond, -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, testHandler(), Options{MinPingInterval: tc.interval})
			rc := dialRaw(t, s.addr)
			const pings = 8
			acked := 0
			for i := range pings {
				if tc.respond {
					id := uint32(2*i + 1)
					rc.get(id, "/hello")
					if st, _, rst := rc.response(id, false); st != "200" || rst != nil {
						t.Fatalf("request %d: %q %v", id, st, rst)
					}
				}
				if tc.interval == time.Nanosecond {
					time.Sleep(time.Millisecond)
				}
				if err := rc.fr.WritePing(false, [8]byte{byte(i)}); err != nil {
					t.Fatal(err)
				}
				f := rc.next()
				for skip(f) {
					f = rc.next()
				}
				if p, ok := f.(*http2.PingFrame); !ok || !p.IsAck() || p.Data[0] != byte(i) {
					t.Fatalf("after PING %d: %v, want its ACK", i, f)
				}
				acked++
				if acked == tc.answered {
					// The last PING answered: GOAWAY follows, then
					// the close.
					g := rc.expectGoAway()
					if g.ErrCode != http2.ErrCodeEnhanceYourCalm || string(g.DebugData()) != "too_many_pings" {
						t.Errorf("GOAWAY %v %q, want ENHANCE_YOUR_CALM too_many_pings", g.ErrCode, g.DebugData())
					}
					rc.expectClosed()
					return
				}
			}
			if tc.answered >= 0 {
				t.Fatalf("%d PINGs answered and no GOAWAY, want one after %d", acked, tc.answered)
			}
			// No GOAWAY came: the connection still serves.
			rc.get(101, "/hello")
			if st, _, rst := rc.response(101, false); st != "200" || rst != nil {
				t.Errorf("a request after the PINGs: %q %v", st, rst)
			}
		})
	}
}

// skip tells the frames a PING's answer may come after: the connection's
// WINDOW_UPDATE and the ACK of the client's SETTINGS.
func skip(f http2.Frame) bool {
	switch f.(type) {
	case *http2.WindowUpdateFrame, *http2.SettingsFrame:
		return true
	}
	return false
}
