package openapi

import (
	"regexp"
	"testing"
)

// The Prefer matchers read RFC 7240 preferences: names in any case,
// values plain or quoted, with spaces around "=", parameters after ";"
// and other preferences around them.
func TestPreferMatchers(t *testing.T) {
	code := regexp.MustCompile(preferRe("code", "404"))
	both := regexp.MustCompile(preferBothRe("code", "404", "example", "not found"))
	for _, tt := range []struct {
		re     *regexp.Regexp
		header string
		want   bool
	}{
		{code, "code=404", true},
		{code, "Code=404", true},
		{code, `code="404"`, true},
		{code, `respond-async, CODE = "404"; x=1`, true},
		{code, "code=4040", false},
		{code, "xcode=404", false},
		{code, `code="404`, false},
		{both, `code=404,example="not found"`, true},
		{both, `Example="not found"; q=1, code=404`, true},
		{both, `code=404`, false},
		{both, `example="not found"`, false},
		{both, `code=4040, example="not found"`, false},
	} {
		if got := tt.re.MatchString(tt.header); got != tt.want {
			t.Errorf("%s on %q: %v, want %v", tt.re, tt.header, got, tt.want)
		}
	}
	for _, tt := range []struct{ header, name, want string }{
		{`code=500`, "code", "500"},
		{`respond-async, Code = "500"; x=1`, "code", "500"},
		{`example="a b", code=1`, "example", "a b"},
		{`dynamic=true`, "code", ""},
	} {
		if got, _ := preferValue(tt.header, tt.name); got != tt.want {
			t.Errorf("preferValue(%q, %q) = %q, want %q", tt.header, tt.name, got, tt.want)
		}
	}
}
