//go:build !linux

package metrics

import (
	"errors"
	"syscall"
)

// acceptQueueMeasured tells whether ReadAcceptQueue can read accept
// queues here.
const acceptQueueMeasured = false

// ReadAcceptQueue reads the accept queue of a listening TCP socket; it is
// only measured on Linux.
func ReadAcceptQueue(sc syscall.Conn) (length, limit int, err error) {
	return 0, 0, errors.ErrUnsupported
}
