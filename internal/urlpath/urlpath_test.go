package urlpath

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
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

func TestSeg(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pat, seg string
		want     []string // nil: no match
	}{
		{"{id}.json", "7.json", []string{"7"}},
		{"{id}.json", ".json", nil},
		{"{id}.json", "7.jso", nil},
		{"{name}:complete", "abc:complete", []string{"abc"}},
		{"{name}:complete", "a:b:complete", []string{"a:b"}},
		{"{a}-{b}", "x-y-z", []string{"x", "y-z"}},
		{"{a}-{b}", "x-", nil},
		{"{a}-{b}", "-y", nil},
		{"{a}-{b}", "--", nil},
		{"{a}-{b}", "---", []string{"-", "-"}},
		{"v{major}", "v2", []string{"2"}},
		{"v{major}", "v", nil},
		{"{a}{b}", "xyz", []string{"x", "yz"}},
		{"{a}{b}", "x", nil},
		{"{a}{b}", "é", nil},
		{"{a}{b}", "éé", []string{"é", "é"}},
		{"pre{a}mid{b}post", "preXmidYpost", []string{"X", "Y"}},
		{"pre{a}mid{b}post", "premidmidpost", nil},
		{"{a}.{b}.x", "1.2.x", []string{"1", "2"}},
		{"{a}.x", "a%2Fb.x", []string{"a%2Fb"}},
	} {
		p, ok := ParseSeg(tc.pat)
		if !ok {
			t.Fatalf("ParseSeg(%q) failed", tc.pat)
		}
		if got := p.Match(tc.seg); got != (tc.want != nil) {
			t.Errorf("%q.Match(%q) = %v, want %v", tc.pat, tc.seg, got, tc.want != nil)
			continue
		}
		for i, w := range tc.want {
			if v, _ := p.Value(tc.seg, i); v != w {
				t.Errorf("%q.Value(%q, %d) = %q, want %q", tc.pat, tc.seg, i, v, w)
			}
		}
	}
	for _, bad := range []string{"plain", "{a", "a}", "{}", "{a}}", "{{a}}"} {
		if _, ok := ParseSeg(bad); ok {
			t.Errorf("ParseSeg(%q) succeeded", bad)
		}
	}
}

// FuzzSeg checks a segment pattern against the regular expression the
// engine matched such templates with before: they accept the same
// segments, and the values put back together give the segment.
func FuzzSeg(f *testing.F) {
	f.Add("{id}.json", "7.json")
	f.Add("{a}-{b}", "x-y-z")
	f.Add("pre{a}mid{b}post", "premidmidpost")
	f.Add("{a}{b}", "xy")
	f.Fuzz(func(t *testing.T, pat, seg string) {
		if strings.Contains(seg, "/") || !utf8.ValidString(pat) {
			return // the engine refuses a template that is not UTF-8
		}
		p, ok := ParseSeg(pat)
		if !ok {
			return
		}
		var re strings.Builder
		re.WriteString("^")
		for i, l := range p.lits {
			if i > 0 {
				re.WriteString("[^/]+")
			}
			re.WriteString(regexp.QuoteMeta(l))
		}
		re.WriteString("$")
		want := regexp.MustCompile(re.String()).MatchString(seg)
		if got := p.Match(seg); got != want {
			t.Fatalf("%q.Match(%q) = %v, the regular expression %v", pat, seg, got, want)
		}
		if !want {
			return
		}
		var back strings.Builder
		for i, l := range p.lits {
			if i > 0 {
				v, ok := p.Value(seg, i-1)
				if !ok || v == "" {
					t.Fatalf("%q.Value(%q, %d) = %q, %v", pat, seg, i-1, v, ok)
				}
				back.WriteString(v)
			}
			back.WriteString(l)
		}
		if back.String() != seg {
			t.Fatalf("%q in %q: the values give %q", pat, seg, back.String())
		}
	})
}
