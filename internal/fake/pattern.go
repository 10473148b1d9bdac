package fake

import (
	"math/rand/v2"
	"regexp/syntax"
	"strings"
)

// fromPattern makes a string that matches the regular expression re (the
// RE2 subset of ECMA-262 that OpenAPI patterns use). ok is false when Go
// cannot parse it (lookarounds, backreferences).
func fromPattern(re string, r *rand.Rand) (string, bool) {
	p, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	if !emit(&b, p.Simplify(), r, 0) || b.Len() > 4096 {
		return "", false
	}
	return b.String(), true
}

func emit(b *strings.Builder, re *syntax.Regexp, r *rand.Rand, depth int) bool {
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
		return emit(b, re.Sub[0], r, depth+1)
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !emit(b, s, r, depth+1) {
				return false
			}
		}
	case syntax.OpAlternate:
		return emit(b, re.Sub[r.IntN(len(re.Sub))], r, depth+1)
	case syntax.OpStar, syntax.OpQuest:
		// zero repetitions always match
	case syntax.OpPlus:
		return emit(b, re.Sub[0], r, depth+1)
	case syntax.OpRepeat:
		n := re.Min
		if n == 0 && re.Max != 0 {
			n = 1
		}
		for range n {
			if !emit(b, re.Sub[0], r, depth+1) {
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
