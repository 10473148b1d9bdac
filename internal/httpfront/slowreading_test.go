//go:build linux

package httpfront_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/stub"
)

// TestSlowReadingGauge: a connection whose client stops reading a large
// response counts as slow-reading while decoy's write is blocked, and no
// longer once the client reads it.
func TestSlowReadingGauge(t *testing.T) {
	t.Parallel()
	f := start(t, httpfront.Options{SlowWrite: 100 * time.Millisecond})
	const size = 32 << 20
	if _, err := f.store.Create(stub.Stub{ID: "big", Request: stub.Request{Path: "/big"},
		Response: &stub.Response{Body: stub.Text(strings.Repeat("x", size))}}, "test"); err != nil {
		t.Fatal(err)
	}
	c := dialFront(t, f, false)
	if n := f.srv.Stats().SlowReading; n != 0 {
		t.Fatalf("%d slow-reading connections before any request", n)
	}
	fmt.Fprintf(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	waitStalled(t, c.(*net.TCPConn))
	waitFor(t, "a slow-reading connection", func() bool { return f.srv.Stats().SlowReading == 1 })
	readResponse(t, bufio.NewReader(c))
	waitFor(t, "no slow-reading connection", func() bool { return f.srv.Stats().SlowReading == 0 })
}
