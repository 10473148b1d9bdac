package behave

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/stub"
)

// FuzzParseRequestedDelay: ParseRequestedDelay never panics; what it
// accepts is within 0..limit, clamped exactly when the value is above the
// limit; a value stub.ParseDuration reads gives the same delay, clamped;
// and a value only its too-long check accepts is a well-formed positive
// duration that really is longer than a time.Duration holds. The value
// PreferDelay finds in any Prefer header is parsed the same way.
func FuzzParseRequestedDelay(f *testing.F) {
	for _, s := range []string{"5s", "250ms", "250", " 1.5s ", "0", "0ms", "-1", "-5s", "", "banana", "1h30m",
		"99999h", "9999999999999h", "999999999999999999999", "1e30", "0x1p70", "NaN", "Inf", "+5s", "1..5s", "5 s",
		".5s", "5.s", "1e-3", "9223372036854775807ns", "9223372036854775808ns", "2562047h47m16.854775808s", "1µs1μs1us"} {
		f.Add(s, int64(0))
		f.Add(s, int64(time.Second))
	}
	f.Fuzz(func(t *testing.T, v string, limit int64) {
		lim := time.Duration(limit)
		if lim <= 0 {
			lim = DefaultDelayLimit
		}
		d, clamped, err := ParseRequestedDelay(v, time.Duration(limit))
		if err != nil {
			if d != 0 || clamped {
				t.Fatalf("ParseRequestedDelay(%q) = %v, %v with the error %v", v, d, clamped, err)
			}
		} else if d < 0 || d > lim || clamped != (d == lim && clamped) {
			t.Fatalf("ParseRequestedDelay(%q, %v) = %v, clamped %v", v, lim, d, clamped)
		}
		p, perr := stub.ParseDuration(v)
		switch {
		case perr == nil:
			if err != nil || d != min(p, lim) || clamped != (p > lim) {
				t.Fatalf("ParseRequestedDelay(%q, %v) = %v, %v, %v; ParseDuration gave %v", v, lim, d, clamped, err, p)
			}
		case err == nil:
			// Accepted as too long to hold: clamped, and truly too long.
			if !clamped || d != lim {
				t.Fatalf("ParseRequestedDelay(%q, %v) = %v, clamped %v, for a value ParseDuration refuses (%v)", v, lim, d, clamped, perr)
			}
			if ns, ok := nanos(v); !ok || ns.Cmp(big.NewFloat(math.MaxInt64/2)) <= 0 {
				t.Fatalf("ParseRequestedDelay(%q) clamped a value ParseDuration refuses (%v) that is not a long duration (%v, %v)", v, perr, ns, ok)
			}
		}
		if pv, ok := PreferDelay("respond-async, delay=" + v); ok {
			if _, _, err := ParseRequestedDelay(pv, time.Duration(limit)); err == nil && pv == "" {
				t.Fatalf("an empty Prefer delay was accepted")
			}
		}
	})
}

// nanos reads v, a number of milliseconds or a Go duration, exactly (no
// overflow), in nanoseconds; false when it is neither.
func nanos(v string) (*big.Float, bool) {
	v = strings.TrimSpace(v)
	if f, err := strconv.ParseFloat(v, 64); err == nil || isRange(err) {
		if math.IsNaN(f) || f <= 0 {
			return nil, false
		}
		return new(big.Float).Mul(big.NewFloat(f), big.NewFloat(1e6)), true
	}
	v = strings.TrimPrefix(v, "+")
	units := map[string]float64{"ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}
	sum := new(big.Float)
	if v == "" {
		return nil, false
	}
	for v != "" {
		i := 0
		for i < len(v) && (v[i] >= '0' && v[i] <= '9' || v[i] == '.') {
			i++
		}
		num, ok := new(big.Float).SetString(v[:i])
		if i == 0 || !ok {
			return nil, false
		}
		v = v[i:]
		j := 0
		for j < len(v) && (v[j] < '0' || v[j] > '9') && v[j] != '.' {
			j++
		}
		u, ok := units[v[:j]]
		if !ok {
			return nil, false
		}
		sum.Add(sum, num.Mul(num, big.NewFloat(u)))
		v = v[j:]
	}
	return sum, true
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
