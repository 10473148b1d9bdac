package httpfront

import (
	"bytes"
	"net"
	"sync"
	"time"
)

// h2Preface is how an HTTP/2 client with prior knowledge opens.
var h2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// peekConn replays bytes read while sniffing before reading on.
type peekConn struct {
	net.Conn
	buf []byte
}

func (c *peekConn) Read(p []byte) (int, error) {
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

var sniffPool = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// What sniff found.
const (
	sniffHTTP1 = iota
	sniffH2
	sniffUpgrade
	sniffClosed
)

// sniff reads the start of a plaintext connection and tells HTTP/2 with
// prior knowledge, and HTTP/1.1 requests asking to upgrade to h2c, from
// plain HTTP/1.1. The returned connection replays what was read.
func sniff(c net.Conn, maxHeader int, timeout time.Duration) (net.Conn, int) {
	bp := sniffPool.Get().(*[]byte)
	defer sniffPool.Put(bp)
	tmp := *bp
	var got []byte
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	defer func() { _ = c.SetReadDeadline(time.Time{}) }()
	for {
		n, err := c.Read(tmp)
		got = append(got, tmp[:n]...)
		if err != nil && len(got) == 0 {
			_ = c.Close()
			return nil, sniffClosed
		}
		// Prior knowledge: the preface, or a prefix of it not yet complete.
		k := min(len(got), len(h2Preface))
		if bytes.Equal(got[:k], h2Preface[:k]) {
			if k == len(h2Preface) {
				return &peekConn{Conn: c, buf: got}, sniffH2
			}
			if err != nil {
				return &peekConn{Conn: c, buf: got}, sniffHTTP1
			}
			continue
		}
		// HTTP/1.x: only an Upgrade to h2c needs the HTTP/2 server. Look at
		// the header block once it is complete (or as large as allowed).
		end := bytes.Index(got, []byte("\r\n\r\n"))
		if end < 0 && err == nil && len(got) < maxHeader {
			continue
		}
		if end < 0 {
			end = len(got)
		}
		if wantsH2C(got[:end]) {
			return &peekConn{Conn: c, buf: got}, sniffUpgrade
		}
		return &peekConn{Conn: c, buf: got}, sniffHTTP1
	}
}

// wantsH2C reports whether an HTTP/1.1 header block has "Upgrade: h2c".
func wantsH2C(h []byte) bool {
	if !bytes.Contains(h, []byte("h2c")) {
		return false
	}
	for _, line := range bytes.Split(h, []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !bytes.EqualFold(bytes.TrimSpace(name), []byte("Upgrade")) {
			continue
		}
		for _, tok := range bytes.Split(value, []byte(",")) {
			if bytes.EqualFold(bytes.TrimSpace(tok), []byte("h2c")) {
				return true
			}
		}
	}
	return false
}

// closeNotifyConn calls onClose once when the connection is closed.
type closeNotifyConn struct {
	net.Conn
	once    sync.Once
	onClose func()
}

func (c *closeNotifyConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.onClose)
	return err
}

// chanListener is a net.Listener fed by push.
type chanListener struct {
	ch     chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
