//go:build unix

package doctor

import (
	"os"
	"runtime"
	"syscall"
)

// Local is the host decoy runs on.
func Local() Host {
	return Host{
		FS:   os.DirFS("/"),
		GOOS: runtime.GOOS,
		NoFile: func() (uint64, uint64, error) {
			var l syscall.Rlimit
			if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
				return 0, 0, err
			}
			return uint64(l.Cur), uint64(l.Max), nil
		},
		PPID: os.Getppid(),
	}
}
