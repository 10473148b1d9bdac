package listen_test

import (
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/listen"
)

func TestParseCongestion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want, err string
	}{
		{"auto", "auto", ""},
		{" AUTO ", "auto", ""},
		{"System", "system", ""},
		{"cubic", "cubic", ""},
		{" reno\t", "reno", ""},
		{"bbr", "bbr", ""},
		{"fifteen_bytes_x", "fifteen_bytes_x", ""},
		{"", "", "want auto, system"},
		{"  ", "", "want auto, system"},
		{"sixteen_bytes_xy", "", "at most 15 bytes"},
		{"cu bic", "", "no spaces"},
		{"cubic\x00", "", "control characters"},
		{"cubïc", "", "non-ASCII"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := listen.ParseCongestion(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseCongestion(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseCongestion(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// FuzzParseCongestion: any text gives a value a socket can be asked for
// (a keyword, or a name of 1-15 printable bytes without spaces) or an
// error, never a panic; a value parses again to itself.
func FuzzParseCongestion(f *testing.F) {
	for _, s := range []string{"auto", "system", "cubic", "", " ", "bbr2", "a b", "\xff", "0123456789abcdef"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := listen.ParseCongestion(s)
		if err != nil {
			return
		}
		if got == "" || len(got) > 15 || strings.ContainsAny(got, " \t\r\n\x00") {
			t.Fatalf("%q gave %q", s, got)
		}
		if again, err := listen.ParseCongestion(got); err != nil || again != got {
			t.Fatalf("%q gave %q, which parses to %q, %v", s, got, again, err)
		}
	})
}
