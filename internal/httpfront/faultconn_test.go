package httpfront_test

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/stub"
)

// TestFaultHeldConnsOpen: an HTTP/1.1 connection a hang fault holds is
// counted open until the client closes it, plaintext and TLS, then counted
// closed by the fault.
func TestFaultHeldConnsOpen(t *testing.T) {
	t.Parallel()
	srcs := []engine.Source{{Stub: stub.Stub{ID: "hang", Request: stub.Request{Path: "/hang"}, Response: &stub.Response{
		Body: stub.Text("never"), Faults: stub.Faults{{Kind: "hang"}}}}}}
	for _, useTLS := range []bool{false, true} {
		name := "plaintext"
		if useTLS {
			name = "TLS"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := startSources(t, srcs, httpfront.Options{})
			var c net.Conn
			var err error
			if useTLS {
				c, err = tls.Dial("tcp", f.https, &tls.Config{RootCAs: f.roots, NextProtos: []string{"http/1.1"}})
			} else {
				c, err = net.Dial("tcp", f.http)
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(c, "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the request counted", func() bool { return f.srv.Stats().Requests[metrics.HTTP11] == 1 })
			// The fault holds the connection: it stays open however long
			// one looks (the books used to close as the fault took it).
			for range 50 {
				if st := f.srv.Stats(); st.Open != 1 || st.Closed[metrics.CloseFault] != 0 {
					t.Fatalf("while the hang holds it: %d open, %d closed by a fault; want 1, 0", st.Open, st.Closed[metrics.CloseFault])
				}
				time.Sleep(2 * time.Millisecond)
			}
			c.Close()
			waitFor(t, "the connection counted closed", func() bool {
				st := f.srv.Stats()
				return st.Open == 0 && st.Closed[metrics.CloseFault] == 1
			})
		})
	}
}
