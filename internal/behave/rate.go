package behave

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/decoy-dev/decoy/internal/stub"
)

// Rate is a bandwidth in bytes per second. In files it is a number of
// bytes per second or a string with a unit: "256KiB/s", "10MB/s", "8Mbps".
// Zero means not set.
type Rate int64

// MaxRate is the fastest rate accepted: 1 TiB/s.
const MaxRate Rate = 1 << 40

// rateUnits maps a unit to bytes per second per unit. Byte units end in
// "B/s"; bit units in "bps" or "b/s" (8 bits a byte).
var rateUnits = []struct {
	unit string
	mult float64
}{
	{"KiB/s", 1 << 10}, {"MiB/s", 1 << 20}, {"GiB/s", 1 << 30}, {"TiB/s", 1 << 40},
	{"kB/s", 1e3}, {"KB/s", 1e3}, {"MB/s", 1e6}, {"GB/s", 1e9}, {"TB/s", 1e12},
	{"B/s", 1},
	{"Kbps", 1e3 / 8}, {"kbps", 1e3 / 8}, {"Mbps", 1e6 / 8}, {"Gbps", 1e9 / 8},
	{"Kb/s", 1e3 / 8}, {"kb/s", 1e3 / 8}, {"Mb/s", 1e6 / 8}, {"Gb/s", 1e9 / 8},
	{"bps", 1.0 / 8}, {"b/s", 1.0 / 8},
}

const rateExamples = "examples: 256KiB/s, 1MiB/s, 10MB/s, 512kB/s, 8Mbps, 4096"

// ParseRate reads a rate: a number with one of the units B/s, KiB/s,
// MiB/s, GiB/s, TiB/s, kB/s (or KB/s), MB/s, GB/s, TB/s, or bits: bps,
// Kbps (kbps, Kb/s), Mbps (Mb/s), Gbps (Gb/s); a bare number is bytes per
// second. Units are case-sensitive where case tells bytes (B) from bits (b).
// The result is rounded to whole bytes per second and must be between 1 B/s
// and MaxRate.
func ParseRate(s string) (Rate, error) {
	t := strings.TrimSpace(s)
	mult := 1.0
	for _, u := range rateUnits {
		if strings.HasSuffix(t, u.unit) {
			t = strings.TrimSpace(strings.TrimSuffix(t, u.unit))
			mult = u.mult
			break
		}
	}
	if t == "" || !isDecimal(t) {
		return 0, fmt.Errorf("%q is not a rate (%s)", s, rateExamples)
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a rate (%s)", s, rateExamples)
	}
	bps := math.Round(f * mult)
	switch {
	case bps < 1:
		return 0, fmt.Errorf("%q is below 1 B/s", s)
	case bps > float64(MaxRate):
		return 0, fmt.Errorf("%q is above the 1TiB/s limit", s)
	}
	return Rate(bps), nil
}

// isDecimal reports whether s is digits with at most one '.', such as
// "256" or "1.5": no sign, exponent, hex, Inf or NaN.
func isDecimal(s string) bool {
	dots, digits := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			dots++
		case c >= '0' && c <= '9':
			digits++
		default:
			return false
		}
	}
	return dots <= 1 && digits > 0
}

// String writes the rate with the largest binary unit that divides it
// ("256KiB/s"), else in B/s. ParseRate reads it back.
func (r Rate) String() string {
	for _, u := range []struct {
		unit string
		mult int64
	}{{"TiB/s", 1 << 40}, {"GiB/s", 1 << 30}, {"MiB/s", 1 << 20}, {"KiB/s", 1 << 10}} {
		if r != 0 && int64(r)%u.mult == 0 {
			return strconv.FormatInt(int64(r)/u.mult, 10) + u.unit
		}
	}
	return strconv.FormatInt(int64(r), 10) + "B/s"
}

// MarshalJSON writes the rate as a string such as "256KiB/s".
func (r Rate) MarshalJSON() ([]byte, error) { return json.Marshal(r.String()) }

// UnmarshalJSON reads "256KiB/s" or a number of bytes per second.
func (r *Rate) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := ParseRate(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// UnmarshalYAML reads 256KiB/s or a number of bytes per second.
func (r *Rate) UnmarshalYAML(node ast.Node) error {
	node = unwrap(node)
	if _, ok := node.(*ast.NullNode); ok {
		return nil
	}
	text, ok := scalar(node)
	if !ok {
		return stub.At(node, fmt.Errorf("a rate is a string such as 256KiB/s or a number of bytes per second"))
	}
	v, err := ParseRate(text)
	if err != nil {
		return stub.At(node, err)
	}
	*r = v
	return nil
}

// Dribble sends a body Chunk bytes at a time, one chunk every Every: the
// first at once, the last after (chunks-1) × Every.
type Dribble struct {
	Chunk stub.Size     `json:"chunk"`
	Every stub.Duration `json:"every"`
}

// CompilePacer validates a stub's delivery settings, throttle and dribble
// (either may be unset: 0 and nil), and builds the pacer; nil when neither
// is set. Errors name "throttle" or "dribble.chunk" and the like.
func CompilePacer(throttle Rate, dribble *Dribble) (*Pacer, []stub.FieldError) {
	var errs []stub.FieldError
	fail := func(field, msg string) { errs = append(errs, stub.FieldError{Field: field, Msg: msg}) }
	if throttle != 0 && dribble != nil {
		fail("dribble", "give throttle or dribble, not both")
		return nil, errs
	}
	switch {
	case throttle < 0 || throttle > MaxRate:
		fail("throttle", fmt.Sprintf("%d B/s is outside 1 B/s to 1TiB/s", int64(throttle)))
	case throttle > 0:
		return NewThrottlePacer(throttle), nil
	case dribble != nil:
		if dribble.Chunk <= 0 {
			fail("dribble.chunk", "must be 1 byte or more")
		}
		if dribble.Every <= 0 {
			fail("dribble.every", "must be above 0 (e.g. 100ms)")
		} else if dribble.Every.D() > MaxDelay {
			fail("dribble.every", fmt.Sprintf("%v is above the %v limit", dribble.Every.D(), MaxDelay))
		}
		if len(errs) == 0 {
			return NewDribblePacer(int64(dribble.Chunk), dribble.Every.D()), nil
		}
	}
	return nil, errs
}

// quantumFor is the chunk size a throttle writes at rate r: 10 ms worth of
// bytes, at least 1 byte and at most 64 KiB.
func quantumFor(r Rate) int64 {
	return min(max(int64(r)/100, 1), 64<<10)
}

// byteTime is how long n bytes take at rate bytes per second, rounded down,
// saturating at the longest time.Duration.
func byteTime(n int64, rate int64) time.Duration {
	if n <= 0 || rate <= 0 {
		return 0
	}
	return mulDiv(uint64(n), uint64(time.Second), uint64(rate))
}
