//go:build linux

package metrics

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// acceptQueueMeasured tells whether ReadAcceptQueue can read accept
// queues here.
const acceptQueueMeasured = true

var errNotListening = errors.New("not a listening socket")

// ReadAcceptQueue reads the accept queue of a listening TCP socket: the
// connections the kernel has completed that wait for accept(2), and the
// most it holds (the listen backlog). For a socket in the LISTEN state
// Linux reports them in TCP_INFO's tcpi_unacked and tcpi_sacked.
func ReadAcceptQueue(sc syscall.Conn) (length, limit int, err error) {
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var info *unix.TCPInfo
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil {
		return 0, 0, err
	}
	if gerr != nil {
		return 0, 0, gerr
	}
	if info.State != unix.BPF_TCP_LISTEN {
		return 0, 0, errNotListening
	}
	return int(info.Unacked), int(info.Sacked), nil
}
