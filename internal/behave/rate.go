package behave

import (
	"fmt"
	"time"

	"github.com/decoy-dev/decoy/internal/stub"
)

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
