//go:build !linux

package rawio

import "net"

// IO is package net's own reads and writes where raw system calls are not
// made (see rawio_linux.go).
type IO struct{ *net.TCPConn }

// New returns nil: reads and writes go through package net.
func New(*net.TCPConn) *IO { return nil }
