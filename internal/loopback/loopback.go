// Package loopback gives tests a TCP connection over 127.0.0.1, both of
// its ends, for code that works on real sockets (raw reads and writes,
// socket options, half-closes).
package loopback

import (
	"net"
	"testing"
)

// Pair connects a client to a listener on 127.0.0.1 and returns both
// ends; they close when the test ends.
func Pair(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}
