package behave

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/decoy-dev/decoy/internal/stub"
)

// DefaultDelayLimit is the default cap on a delay a client asks for.
const DefaultDelayLimit = 60 * time.Second

// ParseRequestedDelay reads a delay a client asked for (the value of
// X-Decoy-Delay, or of delay= in Prefer): a Go duration ("5s", "250ms") or
// a number of milliseconds ("5000"). A delay above limit is cut to limit
// and clamped reports it, even one too long for a time.Duration; limit <=
// 0 means DefaultDelayLimit. A malformed or negative value is an error,
// for a 400.
func ParseRequestedDelay(v string, limit time.Duration) (d time.Duration, clamped bool, err error) {
	if limit <= 0 {
		limit = DefaultDelayLimit
	}
	d, err = stub.ParseDuration(v)
	if err != nil {
		if tooLong(v) {
			// Well formed, only too long to hold: clamped like any
			// delay above the limit.
			return limit, true, nil
		}
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

// tooLong reports whether v, which stub.ParseDuration refused, is a well
// formed positive duration too long to hold: a number of milliseconds
// (999999999999999999999) or a Go duration (9999999999999h) beyond
// time.Duration's 292 years.
func tooLong(v string) bool {
	v = strings.TrimSpace(v)
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return f > 0 && !math.IsInf(f, 0)
	}
	v = strings.TrimPrefix(v, "+")
	if v == "" {
		return false
	}
	for v != "" {
		i := 0
		for i < len(v) && (v[i] >= '0' && v[i] <= '9' || v[i] == '.') {
			i++
		}
		if i == 0 || v[:i] == "." || strings.Count(v[:i], ".") > 1 {
			return false
		}
		v = v[i:]
		j := 0
		for j < len(v) && (v[j] < '0' || v[j] > '9') && v[j] != '.' {
			j++
		}
		switch v[:j] {
		case "ns", "us", "µs", "μs", "ms", "s", "m", "h":
		default:
			return false
		}
		v = v[j:]
	}
	return true
}
