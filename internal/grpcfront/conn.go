package grpcfront

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"reflect"
	"sync"
	"time"

	"github.com/decoy-dev/decoy/internal/h2serve"
	"github.com/decoy-dev/decoy/internal/rawio"
	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"
)

// Faults that break a connection or a stream need what grpc-go does not
// give a handler: its connection, and a say in the HTTP/2 frames it
// writes. The cleartext listener therefore hands grpc-go connections
// wrapped in a faultConn, registered by their addresses so that a handler
// finds its own through peer.FromContext. A faultConn follows the frame
// boundaries of what grpc-go writes (from its first byte on, the server's
// side of an HTTP/2 connection is a sequence of frames: a 9-byte header
// whose first 3 bytes are the payload's length, then the payload) and
// can slip a whole frame of its own — RST_STREAM, GOAWAY — between two of
// grpc-go's, never inside one: every HEADERS frame grpc-go writes reaches
// the client, so the client's HPACK state stays in step with the server's.
// Following the boundaries costs a few comparisons per write.

// connKey names a connection by its two ends.
type connKey struct{ local, remote string }

// conns is the registry of the connections being served.
type conns struct {
	mu       sync.Mutex
	m        map[connKey]*faultConn
	accepted int // connections accepted, ever
}

func (cs *conns) add(c *faultConn) {
	cs.mu.Lock()
	cs.accepted++
	if cs.m == nil {
		cs.m = map[connKey]*faultConn{}
	}
	cs.m[c.key] = c
	cs.mu.Unlock()
}

func (cs *conns) remove(c *faultConn) {
	cs.mu.Lock()
	if cs.m[c.key] == c {
		delete(cs.m, c.key)
	}
	cs.mu.Unlock()
}

// of returns the connection a call arrived on, or nil (a call over TLS on
// the HTTP port, served by net/http).
func (cs *conns) of(ctx context.Context) *faultConn {
	pr, ok := peer.FromContext(ctx)
	if !ok || pr.Addr == nil || pr.LocalAddr == nil {
		return nil
	}
	k := connKey{pr.LocalAddr.String(), pr.Addr.String()}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.m[k]
}

// faultListener registers the connections it accepts.
type faultListener struct {
	net.Listener
	conns *conns
	gate  *gate
}

func (l *faultListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	// Reads and writes without the runtime's system-call entry.
	c = rawio.Wrap(c)
	fc := &faultConn{Conn: c, conns: l.conns, gate: l.gate, sniffing: true, key: connKey{c.LocalAddr().String(), c.RemoteAddr().String()}}
	l.conns.add(fc)
	return fc, nil
}

// faultConn is a served connection that faults can act on.
type faultConn struct {
	net.Conn
	conns *conns
	key   connKey
	gate  *gate

	// sniffing until the first bytes were read (see sniff.go); it is
	// cleared by the reading goroutine, under mu. pre holds the bytes
	// sniff read.
	sniffing bool
	pre      []byte
	preBuf   [4]byte
	peeked   bool      // the first bytes were read: kind is what they begin
	kind     sniffKind // (over TLS: what came through it)
	held     []byte    // what grpc-go wrote before the sniff, under mu

	mu      sync.Mutex // serializes writes; guards what follows
	rem     int        // bytes of the current frame's payload not yet written
	hdr     [3]byte    // the length bytes of a frame header being written
	hn      int        // bytes of the current frame header written (0-9)
	pending []byte     // frames to write at the next frame boundary
	then    func()     // called once pending is written
	closed  bool
}

// Write writes p, and any pending frame as soon as a frame of p ends.
func (c *faultConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sniffing {
		c.held = append(c.held, p...)
		return len(p), nil
	}
	if c.pending == nil && c.then == nil {
		c.skip(p)
		return c.Conn.Write(p)
	}
	k := c.advance(p, true)
	n, err := c.Conn.Write(p[:k])
	if err != nil || k == len(p) && !c.atBoundary() {
		return n, err
	}
	c.flushPending()
	if k == len(p) {
		return n, nil
	}
	c.advance(p[k:], false)
	m, err := c.Conn.Write(p[k:])
	return n + m, err
}

// Writev writes the buffers as Write would write them joined (h2serve
// sends large bodies so): with one vectored write of the connection's when
// it makes them and no frame waits to be injected.
func (c *faultConn) Writev(bufs [][]byte) (int64, error) {
	vw, ok := c.Conn.(h2serve.VectorWriter)
	c.mu.Lock()
	if !ok || c.sniffing || c.pending != nil || c.then != nil {
		c.mu.Unlock()
		n, err := c.Write(bytes.Join(bufs, nil))
		return int64(n), err
	}
	defer c.mu.Unlock()
	for _, b := range bufs {
		c.skip(b)
	}
	return vw.Writev(bufs)
}

// CanWritev reports whether Writev makes vectored writes: not over TLS.
func (c *faultConn) CanWritev() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.Conn.(h2serve.VectorWriter)
	return ok
}

// atBoundary reports whether the bytes written so far end a frame.
func (c *faultConn) atBoundary() bool { return c.rem == 0 && c.hn == 0 }

// skip follows the frames in p, the next bytes to be written: the common
// case of advance, kept small.
func (c *faultConn) skip(p []byte) {
	n := len(p)
	if c.hn == 0 {
		for c.rem+9 <= n {
			// The current frame ends in p, and the next one's header
			// is whole in p.
			i := c.rem
			c.rem = int(p[i])<<16 | int(p[i+1])<<8 | int(p[i+2])
			p = p[i+9:]
			n = len(p)
		}
		if c.rem >= n {
			c.rem -= n
			return
		}
	}
	c.advance(p, false)
}

// advance follows the frames in p, the next bytes to be written. With
// stop, it stops at the first frame boundary past p's start (or at p's
// start when it is one) and returns how many bytes it went through.
func (c *faultConn) advance(p []byte, stop bool) int {
	i := 0
	for i < len(p) {
		if stop && c.atBoundary() {
			return i
		}
		if c.rem > 0 {
			n := min(c.rem, len(p)-i)
			c.rem -= n
			i += n
			continue
		}
		if c.hn == 0 && len(p)-i >= 9 {
			// A whole frame header: bytes 0-2 are the payload length.
			c.rem = int(p[i])<<16 | int(p[i+1])<<8 | int(p[i+2])
			i += 9
			continue
		}
		// A frame header split across writes.
		if c.hn < 3 {
			c.hdr[c.hn] = p[i]
		}
		c.hn++
		i++
		if c.hn == 9 {
			c.hn = 0
			c.rem = int(c.hdr[0])<<16 | int(c.hdr[1])<<8 | int(c.hdr[2])
		}
	}
	return i
}

// flushPending writes the pending frames; c.mu is held and the stream is
// at a frame boundary.
func (c *faultConn) flushPending() {
	_, _ = c.Conn.Write(c.pending)
	c.pending = nil
	if f := c.then; f != nil {
		c.then = nil
		f()
	}
}

// inject writes frame at the next frame boundary (now, when grpc-go is
// not in the middle of one), then calls then (which may be nil) with c.mu
// held.
func (c *faultConn) inject(frame []byte, then func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.pending = append(c.pending, frame...)
	if then != nil {
		c.then = then
	}
	if c.atBoundary() {
		c.flushPending()
	}
}

// Close closes the connection and forgets it.
func (c *faultConn) Close() error {
	c.conns.remove(c)
	c.mu.Lock()
	c.closed = true
	conn := c.Conn
	c.mu.Unlock()
	return conn.Close()
}

// CloseWrite ends what the server sends, when the connection under c can
// (TCP, TLS): decoy's HTTP/2 loop then reads what the client still sends
// for a moment before it closes, so that closing does not reset the
// connection under an answer the client has not read.
func (c *faultConn) CloseWrite() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("grpcfront: the connection cannot be half-closed")
}

// NetConn returns the wrapped connection.
func (c *faultConn) NetConn() net.Conn { return c.Conn }

// reset aborts the connection with a TCP RST: SO_LINGER 0, then close.
func (c *faultConn) reset() {
	if tc := tcpConn(c.Conn); tc != nil {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// closeWrite ends what the server sends (a FIN after what was written);
// grpc-go closes the connection when its next write fails or the client
// closes its side. c.mu is held.
func (c *faultConn) closeWrite() {
	if tc := tcpConn(c.Conn); tc != nil {
		_ = tc.CloseWrite()
		// A client that neither closes nor writes would hold the
		// connection: close it after a grace period in any case.
		c.closeLater()
		return
	}
	go func() { _ = c.Close() }()
}

// closeLater closes the connection after goawayGrace: after a GOAWAY, the
// calls the client opened before the faulted one finish, and a client
// closes the connection itself once they have; this closes it in any
// case. c.mu is held.
func (c *faultConn) closeLater() {
	time.AfterFunc(goawayGrace, func() { _ = c.Close() })
}

// goawayGrace is how long a connection that sent GOAWAY may stay open.
const goawayGrace = 5 * time.Second

// tcpConn finds the TCP connection under c's wrappers.
func tcpConn(c net.Conn) *net.TCPConn {
	for {
		switch x := c.(type) {
		case *net.TCPConn:
			return x
		case interface{ NetConn() net.Conn }:
			c = x.NetConn()
		default:
			return nil
		}
	}
}

// HTTP/2 frame types and flags decoy writes (RFC 9113 section 6).
const (
	frameData      = 0x0
	frameRSTStream = 0x3
	frameGoAway    = 0x7
)

// appendFrame appends an HTTP/2 frame.
func appendFrame(b []byte, typ byte, stream uint32, payload []byte) []byte {
	n := len(payload)
	b = append(b, byte(n>>16), byte(n>>8), byte(n), typ, 0)
	b = binary.BigEndian.AppendUint32(b, stream&0x7fffffff)
	return append(b, payload...)
}

// rstStreamFrame resets stream with code.
func rstStreamFrame(stream, code uint32) []byte {
	return appendFrame(nil, frameRSTStream, stream, binary.BigEndian.AppendUint32(nil, code))
}

// goAwayFrame says the server processed no stream after last.
func goAwayFrame(last, code uint32) []byte {
	p := binary.BigEndian.AppendUint32(nil, last)
	return appendFrame(nil, frameGoAway, 0, binary.BigEndian.AppendUint32(p, code))
}

// streamID returns the HTTP/2 stream id of the call in ctx, or 0 when it
// cannot be known.
//
// grpc-go does not export it: the call's grpc.ServerTransportStream is
// grpc-go's transport stream, whose (unexported) id field this reads
// through reflection — reading, not writing, and only when a fault
// fires. Other ways were weighed: the read side's HEADERS frames name the
// stream ids but cannot tell two concurrent calls of the same method on
// one connection apart, and a marker in the response metadata would need
// HPACK decoding of what grpc-go writes. A test checks the field is
// found, so a grpc-go upgrade that renames it fails loudly; until it is
// fixed, stream faults fall back to ending the call with UNAVAILABLE.
func streamID(ctx context.Context) uint32 {
	sts := grpc.ServerTransportStreamFromContext(ctx)
	if sts == nil {
		return 0
	}
	v := reflect.ValueOf(sts)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return 0
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return 0
	}
	f := v.FieldByName("id")
	if !f.IsValid() || f.Kind() != reflect.Uint32 {
		return 0
	}
	return uint32(f.Uint())
}
