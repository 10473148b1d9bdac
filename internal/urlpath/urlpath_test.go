package urlpath

import (
	"net/url"
	"strings"
	"testing"
)

func TestAppend(t *testing.T) {
	for in, want := range map[string]string{
		"/users/42":            "/users/42",
		"/users/%34%32":        "/users/42",
		"/refs/heads%2Fmain":   "/refs/heads%2Fmain",
		"/refs/heads%2fmain":   "/refs/heads%2Fmain",
		"/100%25":              "/100%25",
		"/100%":                "/100%25",
		"/a%zz":                "/a%25zz",
		"/caf%C3%A9/with%20sp": "/café/with sp",
		"/%252F":               "/%252F",
		"/a+b":                 "/a+b",
		"":                     "",
		"%2":                   "%252",
	} {
		if got := string(Append(nil, in)); got != want {
			t.Errorf("Append(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPatternAndSegment(t *testing.T) {
	for _, tc := range []struct{ in, pattern, segment string }{
		{"/users/{id}", "/users/{id}", "/users/{id}"},
		{"/a%2Fb", "/a%2Fb", "/a/b"},
		{"/100%", "/100%25", "/100%"},
		{"/%41", "/A", "/A"},
	} {
		p := Pattern(tc.in)
		if p != tc.pattern {
			t.Errorf("Pattern(%q) = %q, want %q", tc.in, p, tc.pattern)
		}
		if s := Segment(p); s != tc.segment {
			t.Errorf("Segment(%q) = %q, want %q", p, s, tc.segment)
		}
	}
}

// FuzzAppend: the matching form holds no escape but %2F and %25, reads
// the same when made again, and decodes (Segment) to what the path says.
func FuzzAppend(f *testing.F) {
	for _, s := range []string{"/a%2Fb", "/100%", "/%zz%2", "/caf%C3%A9", "/%25%2f%41"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		form := string(Append(nil, p))
		for i := strings.IndexByte(form, '%'); i >= 0; i = strings.IndexByte(form[i+1:], '%') + i + 1 {
			if !strings.HasPrefix(form[i:], "%2F") && !strings.HasPrefix(form[i:], "%25") {
				t.Fatalf("Append(%q) = %q: an escape other than %%2F and %%25", p, form)
			}
			if strings.IndexByte(form[i+1:], '%') < 0 {
				break
			}
		}
		if again := string(Append(nil, form)); again != form {
			t.Fatalf("Append(%q) = %q, and again %q", p, form, again)
		}
		if dec, err := url.PathUnescape(p); err == nil {
			if got := Segment(form); got != dec {
				t.Fatalf("Segment(Append(%q)) = %q, want %q", p, got, dec)
			}
		}
	})
}
