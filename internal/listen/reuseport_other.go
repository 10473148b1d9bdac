//go:build !unix

package listen

import (
	"errors"
	"syscall"
)

// reusePort fails: sharing a port between processes needs SO_REUSEPORT.
func reusePort(_, _ string, _ syscall.RawConn) error {
	return errors.New("sharing a port between processes (workers) needs SO_REUSEPORT, which this system lacks")
}
