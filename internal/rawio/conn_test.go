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

// TestWritev: the buffers arrive in order, joined, whatever their sizes
// (empty ones, more than one system call takes, more than the socket
// holds at once, so that the write waits for the reader), and the caller's
// slice is left as it was; a write to a connection the peer has closed
// fails.
func TestWritev(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("raw writes are made on Linux only")
	}
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	many := make([][]byte, 2500) // more than one sendmsg takes
	for i := range many {
		many[i] = big[i : i+1+i%3]
	}
	for _, tc := range []struct {
		name string
		bufs [][]byte
	}{
		{"one", [][]byte{[]byte("hello")}},
		{"empty ones between", [][]byte{nil, []byte("a"), {}, []byte("bc"), nil}},
		{"only empty", [][]byte{nil, {}}},
		{"large, the reader slow", [][]byte{[]byte("head"), big, []byte("mid"), big[:1<<20], []byte("tail")}},
		{"many", many},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := loopback.Pair(t)
			c := rawio.Wrap(server).(*rawio.Conn)
			defer c.Close()
			var want []byte
			saved := make([][]byte, len(tc.bufs))
			for i, b := range tc.bufs {
				want = append(want, b...)
				saved[i] = b
			}
			got := make(chan []byte, 1)
			go func() {
				b := make([]byte, len(want))
				n, _ := io.ReadFull(client, b)
				got <- b[:n]
			}()
			n, err := c.Writev(tc.bufs)
			if err != nil || n != int64(len(want)) {
				t.Fatalf("Writev: %d, %v; want %d, nil", n, err, len(want))
			}
			if b := <-got; string(b) != string(want) {
				t.Fatalf("the client read %d bytes that differ from the %d written", len(b), len(want))
			}
			for i := range saved {
				if len(tc.bufs[i]) != len(saved[i]) || len(saved[i]) > 0 && &tc.bufs[i][0] != &saved[i][0] {
					t.Fatalf("buffer %d changed", i)
				}
			}
		})
	}
	t.Run("peer gone", func(t *testing.T) {
		client, server := loopback.Pair(t)
		c := rawio.Wrap(server).(*rawio.Conn)
		defer c.Close()
		client.SetLinger(0)
		client.Close()
		var err error
		for range 100 { // the reset arrives with the first write's answer
			if _, err = c.Writev([][]byte{big[:1000], big[:1000]}); err != nil {
				break
			}
		}
		if err == nil {
			t.Fatal("writes to a reset connection did not fail")
		}
	})
}
