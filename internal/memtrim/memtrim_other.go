//go:build !linux

package memtrim

import "errors"

// ReleaseCode does nothing on this platform.
func ReleaseCode() (int64, error) { return 0, nil }

// ReadUsage is not supported on this platform: it returns an error, and
// TrimWhenIdle does nothing.
func ReadUsage() (Usage, error) { return Usage{}, errors.ErrUnsupported }
