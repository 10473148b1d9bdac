//go:build !linux

package rawio

import "net"

// IO is package net's own reads and writes where raw system calls are not
// made (see rawio_linux.go).
type IO struct{ *net.TCPConn }

// New returns nil: reads and writes go through package net.
func New(*net.TCPConn) *IO { return nil }

// Writev writes the buffers in order through package net.
func (r *IO) Writev(bufs [][]byte) (int64, error) {
	b := append(net.Buffers(nil), bufs...) // WriteTo consumes its Buffers
	return b.WriteTo(r.TCPConn)
}
