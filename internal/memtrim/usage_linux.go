package memtrim

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// ReadUsage returns the process's CPU time, from getrusage(RUSAGE_SELF),
// and its resident memory, from /proc/self/statm.
func ReadUsage() (Usage, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return Usage{}, err
	}
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return Usage{}, err
	}
	pages, err := residentPages(b)
	if err != nil {
		return Usage{}, err
	}
	return Usage{
		CPU:      time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		Resident: pages * int64(os.Getpagesize()),
	}, nil
}

// residentPages reads the second field of /proc/self/statm: "size
// resident shared text lib data dt", in pages.
func residentPages(statm []byte) (int64, error) {
	f := bytes.Fields(statm)
	if len(f) < 2 {
		return 0, errors.New("memtrim: unexpected /proc/self/statm")
	}
	n, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("memtrim: unexpected /proc/self/statm")
	}
	return n, nil
}
