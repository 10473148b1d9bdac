//go:build !unix

package workers

import "syscall"

// sysProcAttr is nil: workers need SO_REUSEPORT, which such systems lack,
// so they never start.
func sysProcAttr() *syscall.SysProcAttr { return nil }
