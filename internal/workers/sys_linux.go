package workers

import "syscall"

// sysProcAttr makes a worker get SIGTERM when the supervisor dies, and puts
// it in a process group of its own, so that a terminal's ^C reaches the
// supervisor alone, which stops the workers in order.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
}
