package match

import (
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/stub"
)

func sp(s string) *string { return &s }

func TestStringMatch(t *testing.T) {
	t.Parallel()
	type in struct {
		v  string
		ok bool
	}
	tests := []struct {
		name string
		m    stub.StringMatcher
		yes  []in
		no   []in
	}{
		{"equals", stub.Eq("abc"), []in{{"abc", true}}, []in{{"ABC", true}, {"abcd", true}, {"", true}, {"abc", false}}},
		{"equals empty", stub.Eq(""), []in{{"", true}}, []in{{" ", true}, {"", false}}},
		{"contains", stub.StringMatcher{Contains: "b"}, []in{{"abc", true}, {"b", true}}, []in{{"ac", true}, {"B", true}, {"b", false}}},
		{"regex unanchored", stub.StringMatcher{Regex: `\d`}, []in{{"a1", true}}, []in{{"ab", true}, {"1", false}}},
		{"regex anchored", stub.StringMatcher{Regex: `^\d+$`}, []in{{"123", true}}, []in{{"12a", true}, {"", true}}},
		{"present", stub.StringMatcher{Present: true}, []in{{"", true}, {"x", true}}, []in{{"", false}}},
		{"absent", stub.StringMatcher{Absent: true}, []in{{"", false}, {"x", false}}, []in{{"", true}, {"x", true}}},
		{"ignoreCase equals", stub.StringMatcher{Equals: sp("AbC"), IgnoreCase: true}, []in{{"abc", true}, {"ABC", true}, {"aBc", true}}, []in{{"abd", true}, {"abc", false}}},
		{"ignoreCase equals unicode", stub.StringMatcher{Equals: sp("ÉTÉ"), IgnoreCase: true}, []in{{"été", true}}, []in{{"ete", true}}},
		{"ignoreCase contains", stub.StringMatcher{Contains: "JSON", IgnoreCase: true}, []in{{"application/json", true}, {"Json", true}}, []in{{"jso", true}}},
		{"ignoreCase regex", stub.StringMatcher{Regex: `^bearer `, IgnoreCase: true}, []in{{"Bearer x", true}, {"BEARER y", true}}, []in{{"Basic x", true}}},
		{"ignoreCase does not change present", stub.StringMatcher{Present: true, IgnoreCase: true}, []in{{"X", true}}, []in{{"", false}}},
		{"equals and contains", stub.StringMatcher{Equals: sp("abc"), Contains: "b"}, []in{{"abc", true}}, []in{{"b", true}}},
		{"contains and regex", stub.StringMatcher{Contains: "-", Regex: `^[a-z-]+$`}, []in{{"a-b", true}}, []in{{"ab", true}, {"A-B", true}}},
		{"present and regex", stub.StringMatcher{Present: true, Regex: `x`}, []in{{"x", true}}, []in{{"y", true}, {"", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, errs := CompileString(tt.m)
			if errs != nil {
				t.Fatalf("CompileString: %v", errs)
			}
			for _, v := range tt.yes {
				if !s.Match(v.v, v.ok) {
					t.Errorf("Match(%q, %v) = false, want true", v.v, v.ok)
				}
			}
			for _, v := range tt.no {
				if s.Match(v.v, v.ok) {
					t.Errorf("Match(%q, %v) = true, want false", v.v, v.ok)
				}
				if why := s.Why(v.v, v.ok); why == "" || why == "does not match" {
					t.Errorf("Why(%q, %v) = %q, want a reason", v.v, v.ok, why)
				}
			}
		})
	}
}

func TestStringWhy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    stub.StringMatcher
		v    string
		ok   bool
		want string
	}{
		{"missing", stub.Eq("a"), "", false, "is missing"},
		{"absent", stub.StringMatcher{Absent: true}, "x", true, "is present but must be absent"},
		{"equals", stub.Eq("a"), "b", true, `is "b", want "a"`},
		{"equals quotes", stub.Eq(`"q"`), "b", true, `is "b", want "\"q\""`},
		{"contains", stub.StringMatcher{Contains: "z"}, "abc", true, `is "abc", want it to contain "z"`},
		{"regex", stub.StringMatcher{Regex: `^\d$`}, "a", true, `is "a", want it to match /^\d$/`},
		{"contains holds, regex fails", stub.StringMatcher{Contains: "a", Regex: `^b`}, "a", true, `is "a", want it to match /^b/`},
		{"long value shortened", stub.Eq("a"), strings.Repeat("x", 100), true, `is "` + strings.Repeat("x", 57) + `...", want "a"`},
		// The reason shows the value the stub was written with, not a
		// lowercased copy.
		{"ignoreCase equals shows the stub's value", stub.StringMatcher{Equals: sp("Dev"), IgnoreCase: true}, "prod", true, `is "prod", want "Dev"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, errs := CompileString(tt.m)
			if errs != nil {
				t.Fatal(errs)
			}
			if s.Match(tt.v, tt.ok) {
				t.Fatalf("Match(%q) = true", tt.v)
			}
			if got := s.Why(tt.v, tt.ok); got != tt.want {
				t.Errorf("Why = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCompileStringErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		m      stub.StringMatcher
		fields []string
		msg    string // part of the first message
	}{
		{"empty", stub.StringMatcher{}, []string{""}, "empty matcher"},
		{"only ignoreCase", stub.StringMatcher{IgnoreCase: true}, []string{""}, "empty matcher"},
		{"bad regex", stub.StringMatcher{Regex: "("}, []string{"regex"}, "bad regular expression: missing closing ): \"(\""},
		{"bad regex with ignoreCase", stub.StringMatcher{Regex: "[a", IgnoreCase: true}, []string{"regex"}, "bad regular expression"},
		{"absent and present", stub.StringMatcher{Absent: true, Present: true}, []string{"absent"}, "cannot be combined"},
		{"absent and equals", stub.StringMatcher{Absent: true, Equals: sp("")}, []string{"absent"}, "cannot be combined"},
		{"absent and contains", stub.StringMatcher{Absent: true, Contains: "x"}, []string{"absent"}, "cannot be combined"},
		{"absent and bad regex", stub.StringMatcher{Absent: true, Regex: "("}, []string{"regex", "absent"}, "bad regular expression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, errs := CompileString(tt.m)
			if len(errs) != len(tt.fields) {
				t.Fatalf("errors = %v, want %d", errs, len(tt.fields))
			}
			for i, f := range tt.fields {
				if errs[i].Field != f {
					t.Errorf("errs[%d].Field = %q, want %q", i, errs[i].Field, f)
				}
			}
			if !strings.Contains(errs[0].Msg, tt.msg) {
				t.Errorf("Msg = %q, want it to contain %q", errs[0].Msg, tt.msg)
			}
		})
	}
}
