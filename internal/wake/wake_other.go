//go:build !linux

package wake

import "time"

// After does nothing on this system: runtime timers keep the poller's
// granularity.
func After(d time.Duration) {}

func pending() int  { return 0 }
func wakes() uint64 { return 0 }

func supported() bool { return false }
