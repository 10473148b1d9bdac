//go:build unix && !linux

package workers

import "syscall"

// sysProcAttr puts a worker in a process group of its own, so that a
// terminal's ^C reaches the supervisor alone. Without a parent-death
// signal, a worker notices the supervisor is gone when its pipe ends.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
