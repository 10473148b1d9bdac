//go:build linux

package httpfront_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/stub"
	"golang.org/x/sys/unix"
)

// TestSlowReaderWrites: a client that stops reading a large response
// makes decoy's writes block, and they are counted; clients that read
// their small answers are not.
func TestSlowReaderWrites(t *testing.T) {
	t.Parallel()
	f := start(t, httpfront.Options{SlowWrite: 100 * time.Millisecond})
	const size = 32 << 20
	if _, err := f.store.Create(stub.Stub{ID: "big", Request: stub.Request{Path: "/big"},
		Response: &stub.Response{Body: stub.Text(strings.Repeat("x", size))}}, "test"); err != nil {
		t.Fatal(err)
	}
	c := f.h1()
	for range 5 {
		get(t, c, "http://"+f.http+"/users/1")
	}
	if n := f.srv.Stats().SlowWrites; n != 0 {
		t.Errorf("%d slow writes after small answers read at once, want 0", n)
	}

	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", f.http)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	// Not reading: decoy's write of 32 MiB cannot finish while the socket
	// buffers are full. Wait until the bytes queued for the client stop
	// growing (decoy's write is blocked), then as long again.
	waitStalled(t, conn.(*net.TCPConn))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != size {
		t.Fatalf("read %d bytes, %v; want %d", n, err, size)
	}
	// decoy counts the write when it returns, which may be just after the
	// client has read the last byte.
	for deadline := time.Now().Add(10 * time.Second); f.srv.Stats().SlowWrites == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no slow write counted after a client stopped reading a 32 MiB answer")
		}
	}
}

// waitStalled waits until the bytes waiting in c's receive queue have not
// grown for 300ms: the sender is blocked.
func waitStalled(t *testing.T, c *net.TCPConn) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	queued := func() int {
		var n int
		_ = rc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
		return n
	}
	last, same := -1, 0
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		q := queued()
		if q > 0 && q == last {
			if same++; same == 6 {
				return
			}
			continue
		}
		last, same = q, 0
	}
	t.Fatalf("the receive queue never stopped growing (%d bytes)", last)
}
