//go:build linux

// Package rawpoll waits on an epoll instance for the bench clients' event
// loops, without the Go runtime's system-call entry.
package rawpoll

import (
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Wait waits at most d (rounded up to a millisecond, at most a second) for
// events on the epoll instance ep, and returns them (none when
// interrupted). evs must not be empty.
//
// The wait is a raw system call (epoll_pwait with no signal mask, which
// every architecture has): the goroutine keeps its P while it blocks.
// Through the runtime's system-call entry, every wait that blocks for more
// than a few tens of µs has its P taken back by the runtime's monitor
// thread, which is woken on the way in and out: two or three context
// switches per wait on the client's CPU. Raw, the monitor only looks every
// 10 ms. The runtime can still preempt the caller: its signal interrupts
// the wait (EINTR), and the caller goes on once other goroutines have run.
func Wait(ep int, evs []unix.EpollEvent, d time.Duration) ([]unix.EpollEvent, error) {
	ms := 0
	if d > 0 {
		ms = int(min((d+time.Millisecond-1)/time.Millisecond, 1000))
	}
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(ep), uintptr(unsafe.Pointer(&evs[0])), uintptr(len(evs)), uintptr(ms), 0, 0)
	switch e {
	case 0:
		return evs[:n], nil
	case unix.EINTR:
		return nil, nil
	}
	return nil, fmt.Errorf("epoll_pwait: %w", e)
}
