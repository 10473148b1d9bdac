//go:build !unix

package doctor

import (
	"os"
	"runtime"
)

// Local is the host decoy runs on; the open-file limit cannot be read here.
func Local() Host {
	return Host{FS: os.DirFS("/"), GOOS: runtime.GOOS, PPID: os.Getppid()}
}
