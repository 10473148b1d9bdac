package match

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"

	"github.com/decoy-dev/decoy/internal/stub"
)

// String is a compiled stub.StringMatcher.
type String struct {
	original   string // equals as the stub wrote it, for messages
	equals     string
	hasEquals  bool
	contains   string
	re         *regexp.Regexp
	present    bool
	absent     bool
	ignoreCase bool
}

// CompileString compiles m. Errors name the offending field relative to m.
func CompileString(m stub.StringMatcher) (*String, []stub.FieldError) {
	var errs []stub.FieldError
	s := &String{present: m.Present, absent: m.Absent, ignoreCase: m.IgnoreCase, contains: m.Contains}
	if m.Equals != nil {
		s.equals, s.hasEquals, s.original = *m.Equals, true, *m.Equals
	}
	if m.Regex != "" {
		expr := m.Regex
		if m.IgnoreCase {
			expr = "(?i)" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			errs = append(errs, stub.FieldError{Field: "regex", Msg: "bad regular expression: " + reErr(err)})
		}
		s.re = re
	}
	if m.IgnoreCase {
		s.equals = strings.ToLower(s.equals)
		s.contains = strings.ToLower(s.contains)
	}
	if m.Absent && (m.Present || m.Equals != nil || m.Contains != "" || m.Regex != "") {
		errs = append(errs, stub.FieldError{Field: "absent", Msg: "absent cannot be combined with another condition"})
	}
	if !m.Absent && !m.Present && m.Equals == nil && m.Contains == "" && m.Regex == "" {
		errs = append(errs, stub.FieldError{Msg: "empty matcher: give a value, or one of equals, contains, regex, present, absent"})
	}
	return s, errs
}

func reErr(err error) string {
	var e *syntax.Error
	if errors.As(err, &e) {
		return fmt.Sprintf("%s: %q", e.Code, e.Expr)
	}
	return err.Error()
}

// Exact returns the one value s accepts and true, when s accepts no other
// (equals without ignoreCase, whatever else it asks of that value); a
// value other than that, or none, never matches.
func (s *String) Exact() (string, bool) {
	return s.equals, s.hasEquals && !s.ignoreCase && !s.absent
}

// Match reports whether the value v (present when ok) satisfies s.
func (s *String) Match(v string, ok bool) bool {
	if s.absent {
		return !ok
	}
	if !ok {
		return false
	}
	if s.hasEquals {
		if s.ignoreCase {
			if !strings.EqualFold(v, s.equals) {
				return false
			}
		} else if v != s.equals {
			return false
		}
	}
	if s.contains != "" {
		if s.ignoreCase {
			if !strings.Contains(strings.ToLower(v), s.contains) {
				return false
			}
		} else if !strings.Contains(v, s.contains) {
			return false
		}
	}
	if s.re != nil && !s.re.MatchString(v) {
		return false
	}
	return true
}

// Why explains, for a value that did not match, what was expected.
func (s *String) Why(v string, ok bool) string {
	switch {
	case s.absent:
		return "is present but must be absent"
	case !ok:
		return "is missing"
	case s.hasEquals && !(v == s.equals || s.ignoreCase && strings.EqualFold(v, s.equals)):
		return fmt.Sprintf("is %s, want %s", quote(v), quote(s.original))
	case s.contains != "":
		if !strings.Contains(v, s.contains) && !(s.ignoreCase && strings.Contains(strings.ToLower(v), s.contains)) {
			return fmt.Sprintf("is %s, want it to contain %s", quote(v), quote(s.contains))
		}
	}
	if s.re != nil && !s.re.MatchString(v) {
		return fmt.Sprintf("is %s, want it to match /%s/", quote(v), s.re.String())
	}
	return "does not match"
}

func quote(s string) string {
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return strconv.Quote(s)
}
