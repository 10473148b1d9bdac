package behave

import (
	"fmt"
	"strings"
	"time"

	"github.com/decoy-dev/decoy/internal/stub"
)

// DefaultDelayLimit is the default cap on a delay a client asks for.
const DefaultDelayLimit = 60 * time.Second

// ParseRequestedDelay reads a delay a client asked for (the value of
// X-Decoy-Delay, or of delay= in Prefer): a Go duration ("5s", "250ms") or
// a number of milliseconds ("5000"). A delay above limit is cut to limit
// and clamped reports it; limit <= 0 means DefaultDelayLimit. A malformed
// or negative value is an error, for a 400.
func ParseRequestedDelay(v string, limit time.Duration) (d time.Duration, clamped bool, err error) {
	if limit <= 0 {
		limit = DefaultDelayLimit
	}
	d, err = stub.ParseDuration(v)
	if err != nil {
		return 0, false, fmt.Errorf("requested delay: %w", err)
	}
	if d > limit {
		return limit, true, nil
	}
	return d, false, nil
}

// PreferDelay finds the delay preference in a Prefer header value
// (RFC 7240: "respond-async, delay=5000; x=y") and returns its value,
// unquoted. The name is matched without regard to case.
func PreferDelay(prefer string) (string, bool) {
	for len(prefer) > 0 {
		var pref string
		pref, prefer, _ = strings.Cut(prefer, ",")
		pref, _, _ = strings.Cut(pref, ";") // parameters of the preference
		name, value, ok := strings.Cut(pref, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "delay") {
			continue
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		return value, true
	}
	return "", false
}
