//go:build !linux

package httpfront

import "net"

// setNotSentLowat is Linux only.
func setNotSentLowat(*net.TCPConn, int) {}
