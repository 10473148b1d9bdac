package httpfront

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
	"unsafe"

	"github.com/decoy-dev/decoy/internal/h1loop"
	"github.com/decoy-dev/decoy/internal/loopback"
	"golang.org/x/sys/unix"
)

// TestArrivals: once enabled, a read knows when its bytes arrived, however
// long they waited unread. The test waits 50 ms between the write and the
// read, so the bytes are at least that old (a busy machine only makes them
// older), and checks that the connection says so; without timestamps it
// would say 0.
func TestArrivals(t *testing.T) {
	t.Parallel()
	client, c := loopbackPair(t)
	if c.arrivedAgo() != 0 {
		t.Fatal("arrivedAgo before any read")
	}
	c.enableArrivals()
	if c.arr == nil {
		t.Fatal("SO_TIMESTAMPNS could not be enabled")
	}
	const wait = 50 * time.Millisecond
	for round := range 4 {
		if _, err := client.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(wait)
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "GET / HTTP/1.1\r\n\r\n" {
			t.Fatalf("round %d: read %q, %v", round, buf[:n], err)
		}
		ago := c.arrivedAgo()
		if round == 0 && ago == 0 {
			// The kernel turns timestamping on in the background when the
			// first socket asks for it: the first bytes may have none.
			continue
		}
		if ago < wait || ago > time.Minute {
			t.Errorf("round %d: arrived %v ago, want at least %v", round, ago, wait)
		}
	}
	// The client's close reads as EOF, as from any net.Conn.
	client.Close()
	if n, err := c.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Errorf("after the client closed: %d, %v; want 0, EOF", n, err)
	}
	// A deadline still applies.
	_ = c.SetReadDeadline(time.Now().Add(-time.Second))
	var ne net.Error
	if _, err := c.Read(make([]byte, 8)); err == nil {
		t.Error("read past its deadline succeeded")
	} else if ok := asNetError(err, &ne); ok && !ne.Timeout() && err != io.EOF {
		t.Errorf("read past its deadline: %v", err)
	}
}

func asNetError(err error, ne *net.Error) bool {
	e, ok := err.(net.Error)
	if ok {
		*ne = e
	}
	return ok
}

func TestTimestampNS(t *testing.T) {
	t.Parallel()
	hdr := int(unsafe.Sizeof(unix.Cmsghdr{}))
	msg := func(level, typ int32, data []byte) []byte {
		b := make([]byte, hdr+len(data))
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
		h.Level, h.Type = level, typ
		h.SetLen(hdr + len(data))
		copy(b[hdr:], data)
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
		return b
	}
	ts := make([]byte, 16)
	binary.NativeEndian.PutUint64(ts, 1700000000)
	binary.NativeEndian.PutUint64(ts[8:], 123456789)
	other := msg(unix.SOL_SOCKET, unix.SCM_RIGHTS, []byte{1, 2, 3, 4})
	good := msg(unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, ts)
	broken := append([]byte(nil), good...)
	(*unix.Cmsghdr)(unsafe.Pointer(&broken[0])).SetLen(1000)
	cases := []struct {
		name string
		oob  []byte
		ok   bool
	}{
		{"empty", nil, false},
		{"short", good[:hdr-1], false},
		{"timestamp", good, true},
		{"after another", append(append([]byte(nil), other...), good...), true},
		{"other only", other, false},
		{"truncated data", good[:hdr+8], false},
		{"length past the end", broken, false},
		{"wrong level", msg(unix.SOL_IP, unix.SO_TIMESTAMPNS, ts), false},
	}
	for _, c := range cases {
		sec, nsec, ok := h1loop.TimestampNS(c.oob)
		if ok != c.ok || (ok && (sec != 1700000000 || nsec != 123456789)) {
			t.Errorf("%s: %d, %d, %v; want ok=%v", c.name, sec, nsec, ok, c.ok)
		}
	}
}

func TestArrivedAt(t *testing.T) {
	t.Parallel()
	now := time.Now()
	cases := []struct {
		name string
		ts   time.Time
		want time.Duration // age, -1 for unknown
	}{
		{"just now", now, 0},
		{"10 ms ago", now.Add(-10 * time.Millisecond), 10 * time.Millisecond},
		{"from the future", now.Add(time.Second), -1},
		{"an hour ago", now.Add(-time.Hour), -1},
	}
	for _, c := range cases {
		got := arrivedAt(now, c.ts.Unix(), int64(c.ts.Nanosecond()))
		if c.want < 0 {
			if got != 0 {
				t.Errorf("%s: %v, want 0 (unknown)", c.name, got)
			}
			continue
		}
		if age := now.Sub(epoch) - got; age != c.want {
			t.Errorf("%s: age %v, want %v", c.name, age, c.want)
		}
	}
}

// loopbackPair is a TCP connection over loopback: the client's end, and
// the server's as an accepted conn. Both close when the test ends.
func loopbackPair(t *testing.T) (net.Conn, *conn) {
	t.Helper()
	client, sc := loopback.Pair(t)
	c := &conn{Conn: sc}
	t.Cleanup(func() { _ = c.Close() })
	return client, c
}

// TestArrivalsReadAllocs: a timestamped read allocates nothing.
func TestArrivalsReadAllocs(t *testing.T) {
	client, c := loopbackPair(t)
	c.enableArrivals()
	msg, buf := []byte("ping"), make([]byte, 16)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := client.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf[:len(msg)]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("%.1f allocations per write and timestamped read, want 0", allocs)
	}
}
