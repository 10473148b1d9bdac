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
// candidates, which are then checked against the whole pattern;
// backreferences repeat what their group wrote (see backrefs). ok is false
// when the pattern cannot be parsed or no attempt fits.
func (g *gen) fromPattern(re string, minL, maxL int) (string, bool) {
	check := g.regexp(re)
	src, refs := backrefs(re)
	if refs && check == nil {
		return "", false // not ECMA-262: nothing to check the result with
	}
	p, err := syntax.Parse(GoPattern(withoutLookarounds(src)), syntax.Perl)
	if err != nil {
		return "", false
	}
	// Not simplified: x{0,1000} would become 1000 nested x?.
	// Unbounded repetitions are tried with more and more repeats until
	// the string is long enough; an unanchored end can be padded.
	tries := []int{0, 1, 2, 4, 8, 16, 32, 64, 128}
	if minL > 0 && minL <= maxPatternLen {
		tries = append(tries, minL)
		slices.Sort(tries)
	}
	e := emitter{r: g.rng}
	if refs {
		e.caps = map[int]string{}
	}
	for _, reps := range tries {
		for attempt := 0; attempt < 4; attempt++ {
			e.b.Reset()
			e.reps = reps
			clear(e.caps)
			if !e.emit(p, 0) || e.b.Len() > maxPatternLen {
				return "", false
			}
			s := e.b.String()
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

// maxPatternLen is the longest string (in bytes) made from a pattern.
const maxPatternLen = 4096

// Backreferences (\1 to \9, \10 and more when the pattern has that many
// groups, \k<name>) are beyond Go's regexp, whose parser refuses them. A
// pattern with some is rewritten before it is parsed: each capturing group
// becomes a group named after its number as ECMA-262 counts them
// ((?P<decoy_g3>...)), and each backreference an empty group named after
// the group it repeats and its place ((?P<decoy_r3_0>)). emit records
// what each group wrote and writes it again where it is referred to: the
// text of the group's last iteration, or nothing when the group has not
// taken part (a reference before its group, a group in an alternative
// not taken), as ECMA-262 matches.
const (
	groupPrefix = "decoy_g"
	refPrefix   = "decoy_r"
)

// backrefs rewrites an ECMA-262 pattern with backreferences as described
// above; ok is false (and the pattern returned as it is) when it has none
// (nor any of the escapes below, which Go's parser refuses too).
// A \N with more groups than the pattern has is what ECMA-262 (Annex B)
// reads it as: an octal escape (\12 is a newline), or the digit itself
// for \8 and \9. Escapes in character classes are left as they are.
func backrefs(re string) (string, bool) {
	if !strings.Contains(re, `\`) {
		return re, false
	}
	groups, names := 0, map[string]int{}
	var b strings.Builder
	for pass := range 2 {
		b.Reset()
		found, refs, g, class := false, 0, 0, false
		for i := 0; i < len(re); i++ {
			c := re[i]
			switch {
			case c == '\\' && i+1 < len(re):
				d := re[i+1]
				switch {
				case class || pass == 0:
				case d >= '1' && d <= '9':
					j := i + 1
					for j < len(re) && j < i+8 && re[j] >= '0' && re[j] <= '9' {
						j++
					}
					if n, _ := strconv.Atoi(re[i+1 : j]); n <= groups {
						found = true
						writeRef(&b, n, &refs)
						i = j - 1
						continue
					}
					found = true
					if d >= '8' {
						b.WriteByte(d) // an identity escape
						i++
						continue
					}
					// A legacy octal escape: up to three digits, at most 0377.
					v, k := 0, i+1
					for k < len(re) && k < i+4 && re[k] >= '0' && re[k] <= '7' && v*8+int(re[k]-'0') <= 0o377 {
						v = v*8 + int(re[k]-'0')
						k++
					}
					b.WriteString(`\x{` + strconv.FormatInt(int64(v), 16) + `}`)
					i = k - 1
					continue
				case d == 'k' && len(names) == 0:
					found = true
					b.WriteByte('k') // no named groups: an identity escape
					i++
					continue
				case d == 'k':
					end := strings.IndexByte(re[i:], '>')
					if i+2 >= len(re) || re[i+2] != '<' || end < 0 {
						return re, false
					}
					n, ok := names[re[i+3:i+end]]
					if !ok {
						return re, false // no such group: not ECMA-262
					}
					found = true
					writeRef(&b, n, &refs)
					i += end
					continue
				}
				b.WriteString(re[i : i+2])
				i++
				continue
			case class:
				class = c != ']'
			case c == '[':
				class = true
			case c == '(':
				name, end, ok := capturing(re, i)
				if !ok {
					break
				}
				g++
				if pass == 0 {
					groups = g
					if name != "" {
						names[name] = g
					}
				}
				b.WriteString("(?P<" + groupPrefix + strconv.Itoa(g) + ">")
				i = end - 1
				continue
			}
			b.WriteByte(c)
		}
		if pass == 1 && !found {
			return re, false
		}
	}
	return b.String(), true
}

// capturing reports whether the "(" at re[i] opens a capturing group, its
// name ("" for none) and where the group's content starts.
func capturing(re string, i int) (name string, start int, ok bool) {
	if i+1 >= len(re) || re[i+1] != '?' {
		return "", i + 1, true
	}
	if i+3 >= len(re) || re[i+2] != '<' || re[i+3] == '=' || re[i+3] == '!' {
		return "", 0, false // (?:...) or a lookaround
	}
	end := strings.IndexByte(re[i+3:], '>')
	if end < 0 {
		return "", 0, false
	}
	return re[i+3 : i+3+end], i + 3 + end + 1, true
}

// writeRef writes the group that stands for a backreference to group n
// (refs counts them: Go wants every name once).
func writeRef(b *strings.Builder, n int, refs *int) {
	b.WriteString("(?P<" + refPrefix + strconv.Itoa(n) + "_" + strconv.Itoa(*refs) + ">)")
	*refs++
}

// capName reads a name given by backrefs: the group's number and whether
// the group stands for a reference; ok is false for other names.
func capName(name string) (n int, ref, ok bool) {
	switch {
	case strings.HasPrefix(name, groupPrefix):
		name = name[len(groupPrefix):]
	case strings.HasPrefix(name, refPrefix):
		name, _, _ = strings.Cut(name[len(refPrefix):], "_")
		ref = true
	default:
		return 0, false, false
	}
	n, err := strconv.Atoi(name)
	return n, ref, err == nil
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

// emitter writes strings that a parsed pattern matches.
type emitter struct {
	b strings.Builder
	r *rand.Rand
	// reps is how many times unbounded repetitions (x*, x+, x{n,})
	// repeat when that is allowed.
	reps int
	// caps holds what each group (by number) wrote last, for the
	// backreferences; nil when the pattern has none.
	caps map[int]string
	// inner lists the groups inside a repeated expression, whose text
	// each repetition forgets.
	inner map[*syntax.Regexp][]int
}

// emit writes a string that re matches.
func (e *emitter) emit(re *syntax.Regexp, depth int) bool {
	if depth > 100 || e.b.Len() > maxPatternLen {
		return false
	}
	switch re.Op {
	case syntax.OpLiteral:
		e.b.WriteString(string(re.Rune))
	case syntax.OpCharClass:
		e.b.WriteRune(pickRune(re.Rune, e.r))
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		e.b.WriteByte('a')
	case syntax.OpCapture:
		if e.caps != nil {
			if n, ref, ok := capName(re.Name); ok {
				if ref {
					e.b.WriteString(e.caps[n])
					return true
				}
				start := e.b.Len()
				if !e.emit(re.Sub[0], depth+1) {
					return false
				}
				e.caps[n] = e.b.String()[start:]
				return true
			}
		}
		return e.emit(re.Sub[0], depth+1)
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !e.emit(s, depth+1) {
				return false
			}
		}
	case syntax.OpAlternate:
		return e.emit(re.Sub[e.r.IntN(len(re.Sub))], depth+1)
	case syntax.OpQuest:
		if e.reps > 0 {
			return e.repeat(re.Sub[0], 1, depth)
		}
	case syntax.OpStar, syntax.OpPlus:
		n := e.reps
		if re.Op == syntax.OpPlus {
			n = max(n, 1)
		}
		return e.repeat(re.Sub[0], n, depth)
	case syntax.OpRepeat:
		n := re.Min
		if n == 0 && re.Max != 0 {
			n = 1
		}
		if re.Max < 0 {
			n = max(n, e.reps)
		} else if e.reps > n {
			n = min(re.Max, e.reps)
		}
		return e.repeat(re.Sub[0], n, depth)
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
	default:
		return false
	}
	return true
}

// repeat writes n repetitions of re. Each forgets what the groups inside
// re wrote before it, as ECMA-262 repeats.
func (e *emitter) repeat(re *syntax.Regexp, n, depth int) bool {
	var inner []int
	if e.caps != nil && n > 0 {
		inner = e.groupsIn(re)
	}
	for range n {
		for _, g := range inner {
			delete(e.caps, g)
		}
		if !e.emit(re, depth+1) {
			return false
		}
	}
	return true
}

// groupsIn lists the numbers of the groups inside re.
func (e *emitter) groupsIn(re *syntax.Regexp) []int {
	if gs, ok := e.inner[re]; ok {
		return gs
	}
	var gs []int
	var walk func(*syntax.Regexp)
	walk = func(x *syntax.Regexp) {
		if x.Op == syntax.OpCapture {
			if n, ref, ok := capName(x.Name); ok && !ref {
				gs = append(gs, n)
			}
		}
		for _, s := range x.Sub {
			walk(s)
		}
	}
	walk(re)
	if e.inner == nil {
		e.inner = map[*syntax.Regexp][]int{}
	}
	e.inner[re] = gs
	return gs
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
