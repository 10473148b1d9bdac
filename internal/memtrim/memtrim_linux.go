package memtrim

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ReleaseCode drops the executable's read-only mappings (code and
// read-only data, never writable ones) from this process with
// madvise(MADV_DONTNEED): the pages stay in the page cache and come back
// on the next access. It returns the bytes of mappings advised.
func ReleaseCode() (int64, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, err
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total int64
	for _, m := range readOnlyMappings(f, exe) {
		_, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_DONTNEED)
		if errno != 0 {
			return total, errno
		}
		total += int64(m.end - m.start)
	}
	return total, nil
}

type mapping struct{ start, end uintptr }

// readOnlyMappings parses /proc/self/maps and returns the mappings of the
// file path that are not writable.
func readOnlyMappings(r io.Reader, path string) []mapping {
	var out []mapping
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		// address perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) != 6 || fields[5] != path || strings.ContainsRune(fields[1], 'w') {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		out = append(out, mapping{uintptr(start), uintptr(end)})
	}
	return out
}
