package fake

import (
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// fromPattern makes a string that matches the regular expression re (an
// ECMA-262 pattern, as JSON Schema says) with a length (in characters) in
// [minL, maxL] (maxL < 0: no bound). Lookarounds are left out to generate
// candidates, which are then checked against the whole pattern. ok is
// false when the pattern cannot be parsed (backreferences) or no attempt
// fits.
func (g *gen) fromPattern(re string, minL, maxL int) (string, bool) {
	check := g.regexp(re)
	p, err := syntax.Parse(GoPattern(withoutLookarounds(re)), syntax.Perl)
	if err != nil {
		return "", false
	}
	// Not simplified: x{0,1000} would become 1000 nested x?.
	// Unbounded repetitions are tried with more and more repeats until
	// the string is long enough; an unanchored end can be padded.
	tries := []int{0, 1, 2, 4, 8, 16, 32, 64, 128}
	if minL > 0 && minL <= 4096 {
		tries = append(tries, minL)
		slices.Sort(tries)
	}
	for _, reps := range tries {
		for attempt := 0; attempt < 4; attempt++ {
			var b strings.Builder
			if !emit(&b, p, g.rng, 0, reps) || b.Len() > 4096 {
				return "", false
			}
			s := b.String()
			n := utf8.RuneCountInString(s)
			if n < minL && !anchoredEnd(p) {
				s += strings.Repeat("x", minL-n)
				n = minL
			}
			if n < minL {
				break // more repeats
			}
			if maxL >= 0 && n > maxL {
				return "", false // more repeats only make it longer
			}
			if check == nil || check.MatchString(s) {
				return s, true
			}
		}
	}
	return "", false
}

// withoutLookarounds removes (?=...), (?!...), (?<=...) and (?<!...)
// groups, which Go's parser refuses.
func withoutLookarounds(re string) string {
	if !strings.Contains(re, "(?") {
		return re
	}
	var b strings.Builder
	for i := 0; i < len(re); i++ {
		c := re[i]
		if c == '\\' && i+1 < len(re) {
			b.WriteString(re[i : i+2])
			i++
			continue
		}
		if c == '(' && (strings.HasPrefix(re[i:], "(?=") || strings.HasPrefix(re[i:], "(?!") ||
			strings.HasPrefix(re[i:], "(?<=") || strings.HasPrefix(re[i:], "(?<!")) {
			depth, class := 0, false
			j := i
			for ; j < len(re); j++ {
				switch {
				case re[j] == '\\':
					j++
				case class:
					class = re[j] != ']'
				case re[j] == '[':
					class = true
				case re[j] == '(':
					depth++
				case re[j] == ')':
					depth--
				}
				if depth == 0 && !class {
					break
				}
			}
			i = j
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

var bigRepeat = regexp.MustCompile(`\{(\d+)(,(\d*))?\}`)

// uEscapes turns \uXXXX into \x{XXXX}, skipping escaped backslashes.
func uEscapes(re string) string {
	var b strings.Builder
	for i := 0; i < len(re); i++ {
		c := re[i]
		if c != '\\' || i+1 >= len(re) {
			b.WriteByte(c)
			continue
		}
		if re[i+1] == 'u' && i+6 <= len(re) && isHex(re[i+2:i+6]) {
			b.WriteString(`\x{` + re[i+2:i+6] + `}`)
			i += 5
			continue
		}
		b.WriteString(re[i : i+2])
		i++
	}
	return b.String()
}

func isHex(s string) bool {
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// GoPattern rewrites an ECMA-262 pattern for Go's regexp: \uXXXX escapes
// become \x{XXXX}, and upper bounds of repetitions above 1000
// (x{0,1023}), which Go refuses, are lowered to 1000. Only an upper bound
// is lowered, so every string the result matches, the pattern matches
// too; a lower bound above 1000 is left (and the pattern stays refused).
func GoPattern(re string) string {
	if strings.Contains(re, `\u`) {
		re = uEscapes(re)
	}
	if !strings.Contains(re, "{") {
		return re
	}
	return bigRepeat.ReplaceAllStringFunc(re, func(m string) string {
		sub := bigRepeat.FindStringSubmatch(m)
		if sub[2] == "" || sub[3] == "" {
			return m
		}
		if hi, err := strconv.Atoi(sub[3]); err == nil && hi > 1000 {
			if lo, err := strconv.Atoi(sub[1]); err == nil && lo <= 1000 {
				return "{" + sub[1] + ",1000}"
			}
		}
		return m
	})
}

// matcher is a compiled pattern.
type matcher interface{ MatchString(string) bool }

// ecma is a pattern compiled as ECMA-262.
type ecma struct{ re *regexp2.Regexp }

func (e ecma) MatchString(s string) bool {
	ok, err := e.re.MatchString(s)
	return ok && err == nil
}

// regexp compiles a pattern once per value, as ECMA-262 (Go's regexp when
// that fails); nil when neither can.
func (g *gen) regexp(re string) matcher {
	if g.res == nil {
		g.res = map[string]matcher{}
	}
	if r, ok := g.res[re]; ok {
		return r
	}
	var m matcher
	if r, err := regexp2.Compile(re, regexp2.ECMAScript); err == nil {
		r.MatchTimeout = 100 * time.Millisecond
		m = ecma{r}
	} else if r, err := regexp.Compile(GoPattern(re)); err == nil {
		m = r
	}
	g.res[re] = m
	return m
}

// anchoredEnd reports whether a parsed pattern ends with $ (or \z).
func anchoredEnd(re *syntax.Regexp) bool {
	for {
		switch re.Op {
		case syntax.OpEndText, syntax.OpEndLine:
			return true
		case syntax.OpConcat:
			if len(re.Sub) == 0 {
				return false
			}
			re = re.Sub[len(re.Sub)-1]
		case syntax.OpCapture:
			re = re.Sub[0]
		case syntax.OpAlternate:
			for _, s := range re.Sub {
				if !anchoredEnd(s) {
					return false
				}
			}
			return true
		default:
			return false
		}
	}
}

// emit writes a string that re matches; unbounded repetitions (x*, x+,
// x{n,}) repeat reps times when that is allowed.
func emit(b *strings.Builder, re *syntax.Regexp, r *rand.Rand, depth, reps int) bool {
	if depth > 100 {
		return false
	}
	switch re.Op {
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
	case syntax.OpCharClass:
		b.WriteRune(pickRune(re.Rune, r))
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('a')
	case syntax.OpCapture:
		return emit(b, re.Sub[0], r, depth+1, reps)
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !emit(b, s, r, depth+1, reps) {
				return false
			}
		}
	case syntax.OpAlternate:
		return emit(b, re.Sub[r.IntN(len(re.Sub))], r, depth+1, reps)
	case syntax.OpQuest:
		if reps > 0 {
			return emit(b, re.Sub[0], r, depth+1, reps)
		}
	case syntax.OpStar, syntax.OpPlus:
		n := reps
		if re.Op == syntax.OpPlus {
			n = max(n, 1)
		}
		for range n {
			if !emit(b, re.Sub[0], r, depth+1, reps) {
				return false
			}
		}
	case syntax.OpRepeat:
		n := re.Min
		if n == 0 && re.Max != 0 {
			n = 1
		}
		if re.Max < 0 {
			n = max(n, reps)
		} else if reps > n {
			n = min(re.Max, reps)
		}
		for range n {
			if !emit(b, re.Sub[0], r, depth+1, reps) {
				return false
			}
		}
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
	default:
		return false
	}
	return true
}

// pickRune picks a rune of a class, printable ASCII letters and digits when
// it has some.
func pickRune(ranges []rune, r *rand.Rand) rune {
	type span struct{ lo, hi rune }
	var nice []span
	for i := 0; i+1 < len(ranges); i += 2 {
		for _, w := range []span{{'0', '9'}, {'A', 'Z'}, {'a', 'z'}} {
			lo, hi := max(ranges[i], w.lo), min(ranges[i+1], w.hi)
			if lo <= hi {
				nice = append(nice, span{lo, hi})
			}
		}
	}
	if len(nice) == 0 {
		for i := 0; i+1 < len(ranges); i += 2 {
			lo, hi := max(ranges[i], 0x21), min(ranges[i+1], 0x7e)
			if lo <= hi {
				nice = append(nice, span{lo, hi})
			}
		}
	}
	if len(nice) == 0 {
		if len(ranges) == 0 {
			return 'a'
		}
		return ranges[0]
	}
	s := nice[r.IntN(len(nice))]
	return s.lo + rune(r.IntN(int(s.hi-s.lo)+1))
}
