//go:build !linux

package httpfront

import "time"

// arrivals is Linux only: elsewhere a delay counts from when the request
// was read.
type arrivals struct{ last time.Duration }

func (c *conn) enableArrivals()                   {}
func (c *conn) readArrival(p []byte) (int, error) { return c.Conn.Read(p) }
