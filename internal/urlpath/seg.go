package urlpath

import (
	"strings"
	"unicode/utf8"
)

// Seg is a template segment with text around its parameters
// ("{id}.json", "{name}:complete", "{a}-{b}", "v{major}"). A parameter
// stands for one or more characters of the segment; each parameter but the
// last ends at the first occurrence of the text after it ("{a}-{b}" reads
// "x-y-z" as a "x", b "y-z"), and the last one takes what is left before
// the segment's closing text.
type Seg struct {
	lits  []string // len(names)+1: the text before, between and after the parameters
	names []string
}

// ParseSeg reads a template segment. ok is false when it has no parameter
// or a brace that opens or closes none. Two parameters without text
// between them ("{a}{b}") are read as the rule above says: a takes one
// character.
func ParseSeg(s string) (p Seg, ok bool) {
	for {
		i := strings.IndexAny(s, "{}")
		if i < 0 {
			p.lits = append(p.lits, s)
			break
		}
		if s[i] == '}' {
			return Seg{}, false
		}
		j := strings.IndexAny(s[i+1:], "{}")
		if j < 0 || s[i+1+j] != '}' || j == 0 {
			return Seg{}, false
		}
		p.lits = append(p.lits, s[:i])
		p.names = append(p.names, s[i+1:i+1+j])
		s = s[i+2+j:]
	}
	if len(p.names) == 0 {
		return Seg{}, false
	}
	return p, true
}

// Names lists the segment's parameters, in order.
func (p *Seg) Names() []string { return p.names }

// Shape is the segment with its parameters' names left out ("{}.json"):
// two segments with one shape match the same text.
func (p *Seg) Shape() string {
	var b strings.Builder
	for i, l := range p.lits {
		if i > 0 {
			b.WriteString("{}")
		}
		b.WriteString(l)
	}
	return b.String()
}

// Suffix is the text after the last parameter ("" for "v{major}").
func (p *Seg) Suffix() string { return p.lits[len(p.lits)-1] }

// Literal is the number of bytes of text around the parameters.
func (p *Seg) Literal() int {
	n := 0
	for _, l := range p.lits {
		n += len(l)
	}
	return n
}

// Match reports whether seg (one segment of a path, without slashes)
// matches p.
func (p *Seg) Match(seg string) bool {
	_, ok := p.Value(seg, -1)
	return ok
}

// Value returns the value of p's parameter number i in seg (in the
// matching form: see Segment to decode it), and whether seg matches p.
// It allocates nothing.
func (p *Seg) Value(seg string, i int) (string, bool) {
	first, last := p.lits[0], p.lits[len(p.lits)-1]
	if len(seg) < len(first)+len(last)+len(p.names) || !strings.HasPrefix(seg, first) || !strings.HasSuffix(seg, last) {
		return "", false
	}
	mid := seg[len(first) : len(seg)-len(last)]
	var v string
	for k := 0; k < len(p.names)-1; k++ {
		lit := p.lits[k+1]
		// At least one character for parameter k, then the first lit.
		if len(mid) < 1 {
			return "", false
		}
		_, n := utf8.DecodeRuneInString(mid)
		j := strings.Index(mid[n:], lit)
		if j < 0 {
			return "", false
		}
		if k == i {
			v = mid[:n+j]
		}
		mid = mid[n+j+len(lit):]
	}
	if len(mid) < 1 {
		return "", false
	}
	if i == len(p.names)-1 {
		v = mid
	}
	return v, true
}
