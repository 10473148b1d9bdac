package loopback

import (
	"net"
	"time"
)

// Dialer returns a dialer that connects from src (any address when nil)
// and sends no TCP keep-alive probes. On Linux it leaves the choice of the
// source port to connect (IP_BIND_ADDRESS_NO_PORT), so that a port is
// unique per source and destination rather than per source address: a
// bind to port 0 takes from about half the ephemeral range and skips every
// port still held in TIME_WAIT, and tens of thousands of connections
// opened within a minute of the previous run's close took it 6-50 s
// instead of 1.
func Dialer(timeout time.Duration, src net.IP) *net.Dialer {
	d := &net.Dialer{Timeout: timeout, KeepAlive: -1, Control: noPortControl}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	return d
}
