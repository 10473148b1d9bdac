// Package rawio reads and writes TCP sockets with system calls made
// directly, waiting in Go's poller when a socket is not ready: package
// net's reads and writes without the runtime's system-call entry, for the
// connections decoy serves from goroutines.
package rawio

import "net"

// Conn is a TCP connection whose reads and writes go through IO.
type Conn struct {
	*net.TCPConn
	io *IO
}

// Wrap returns c with raw reads and writes when it is a TCP connection
// (and the platform makes them), c itself otherwise.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	io := New(tc)
	if io == nil {
		return c
	}
	return &Conn{TCPConn: tc, io: io}
}

func (c *Conn) Read(p []byte) (int, error)  { return c.io.Read(p) }
func (c *Conn) Write(p []byte) (int, error) { return c.io.Write(p) }

// Writev writes the buffers in order, as Write would write them joined, in
// as few system calls as the socket takes (see IO.Writev).
func (c *Conn) Writev(bufs [][]byte) (int64, error) { return c.io.Writev(bufs) }

// NetConn returns the TCP connection.
func (c *Conn) NetConn() net.Conn { return c.TCPConn }
