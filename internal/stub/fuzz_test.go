package stub

import (
	"encoding/json"
	"testing"
)

// FuzzParseSize: ParseSize never panics, and what it accepts is a byte
// count between 0 and 1 PiB that Size decodes to as well.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "512", "64KiB", "4 MiB", "1.5GiB", "10kB", "5MB", "1e3", "-1", "", "KiB", "1TiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			return
		}
		if n < 0 || n > 1<<50 {
			t.Fatalf("ParseSize(%q) = %d, outside 0..1PiB without an error", s, n)
		}
		b, _ := json.Marshal(s)
		var sz Size
		if err := json.Unmarshal(b, &sz); err != nil || int64(sz) != n {
			t.Fatalf("Size from %s = %d, %v; ParseSize gave %d", b, sz, err, n)
		}
	})
}

// FuzzParseDuration: ParseDuration never panics, and never returns a
// negative duration without an error.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"250ms", "250", "1.5s", "1m30s", "0", "-1", "", "10us", "2h", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("ParseDuration(%q) = %v: negative without an error", s, d)
		}
		var j Duration
		if err := json.Unmarshal(mustJSON(s), &j); err != nil || j.D() != d {
			t.Fatalf("Duration from JSON %q = %v, %v; ParseDuration gave %v", s, j.D(), err, d)
		}
	})
}

func mustJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}
