package rawio_test

import (
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/loopback"
	"github.com/decoy-dev/decoy/internal/rawio"
)

// TestWrap: a TCP connection comes back with raw reads and writes (on
// Linux) that carry bytes both ways, reach EOF and honour deadlines; any
// other connection comes back as it is.
func TestWrap(t *testing.T) {
	t.Parallel()
	client, server := loopback.Pair(t)
	c := rawio.Wrap(server)
	defer c.Close()
	rc, ok := c.(*rawio.Conn)
	if ok != (runtime.GOOS == "linux") {
		t.Fatalf("Wrap gave a %T on %s", c, runtime.GOOS)
	}
	if ok && rc.NetConn() != server {
		t.Errorf("NetConn is not the wrapped connection")
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(client, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("the client read %q, %v", buf, err)
	}
	if _, err := client.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "pong" {
		t.Fatalf("the server read %q, %v", buf, err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := c.Read(buf); err == nil {
		t.Error("a read past its deadline returned no error")
	}
	_ = c.SetReadDeadline(time.Time{})
	client.Close()
	if n, err := c.Read(buf); n != 0 || err != io.EOF {
		t.Errorf("after the client closed: %d, %v; want 0, EOF", n, err)
	}

	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if rawio.Wrap(p1) != p1 {
		t.Error("a pipe was wrapped")
	}
}
