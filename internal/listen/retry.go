package listen

import (
	"errors"
	"net"
	"time"
)

// Retryable reports whether an Accept error passes, so that the accept
// loop should wait a little and go on: a timeout, or what net.Error's
// deprecated Temporary still names (EMFILE, ENFILE, EINTR).
func Retryable(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// NextBackoff is the wait after a retryable Accept error that follows a
// wait of d (0 for the first): 1 ms, doubled each time up to 64 ms, never
// long enough to matter to clients once descriptors free up.
func NextBackoff(d time.Duration) time.Duration {
	if d == 0 {
		return time.Millisecond
	}
	if d < 50*time.Millisecond {
		return 2 * d
	}
	return d
}
