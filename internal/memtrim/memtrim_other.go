//go:build !linux

package memtrim

// ReleaseCode does nothing on this platform.
func ReleaseCode() (int64, error) { return 0, nil }
