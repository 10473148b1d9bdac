package openapi

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Numbers in requests are read exactly, as JSON Schema reads them: a
// value's text is kept (json.Number) and compared by the validator as a
// big.Rat, so that 2^53 + 1 is not 2^53 and an integer of any length is
// an integer. The formats int32 and int64 (OpenAPI's Data Types) bound
// integers to the range of their type; a plain integer has no bound.

// intFormats are OpenAPI's integer formats, checked in requests.
var intFormats = []*jsonschema.Format{
	{Name: "int32", Validate: intFormat(32)},
	{Name: "int64", Validate: intFormat(64)},
}

// intRange words the range of a format intN.
func intRange(bits int) string {
	return fmt.Sprintf("%d to %d", int64(-1)<<(bits-1), int64(1)<<(bits-1)-1)
}

// intFormat checks that a number is an integer that fits in bits bits,
// signed; anything else (a string of format int64, as Google's APIs
// send them) is not its business.
func intFormat(bits int) func(any) error {
	lo := new(big.Rat).SetInt64(int64(-1) << (bits - 1))
	hi := new(big.Rat).SetInt64(int64(1)<<(bits-1) - 1)
	return func(v any) error {
		var text string
		switch n := v.(type) {
		case json.Number:
			text = n.String()
		case float64:
			text = strconv.FormatFloat(n, 'g', -1, 64)
		case int:
			text = strconv.Itoa(n)
		case int64:
			text = strconv.FormatInt(n, 10)
		default:
			return nil
		}
		if _, err := strconv.ParseInt(text, 10, bits); err == nil {
			return nil
		}
		if hugeExponent(text) {
			return fmt.Errorf("out of range")
		}
		r, ok := new(big.Rat).SetString(text)
		if ok && r.IsInt() && r.Cmp(lo) >= 0 && r.Cmp(hi) <= 0 {
			return nil // 1e3, 10.0
		}
		return fmt.Errorf("out of range")
	}
}

// maxExponent bounds the exponent of a number decoy checks: past it
// (1e10000000), reading the number exactly costs more than a request
// should, and the validator cannot read it at all; no API sends one.
const maxExponent = 1000

// hugeExponent reports whether the number text has an exponent beyond
// ±maxExponent.
func hugeExponent(text string) bool {
	i := strings.IndexAny(text, "eE")
	if i < 0 {
		return false
	}
	e := strings.TrimLeft(text[i+1:], "+-")
	e = strings.TrimLeft(e, "0")
	if len(e) > 4 {
		return true
	}
	n, err := strconv.Atoi(e)
	return err != nil || n > maxExponent
}

// hugeNumber finds a number in inst (at loc) whose exponent is beyond
// ±maxExponent: where it is and its text.
func hugeNumber(inst any, loc string) (string, string, bool) {
	switch x := inst.(type) {
	case json.Number:
		if hugeExponent(string(x)) {
			return loc, string(x), true
		}
	case map[string]any:
		for k, v := range x {
			if at, n, ok := hugeNumber(v, loc+"."+k); ok {
				return at, n, true
			}
		}
	case []any:
		for i, v := range x {
			if at, n, ok := hugeNumber(v, loc+"."+strconv.Itoa(i)); ok {
				return at, n, true
			}
		}
	}
	return "", "", false
}

// hugeMsg is the violation of a number hugeNumber finds.
func hugeMsg(num string) string {
	return fmt.Sprintf("the number %s has an exponent beyond ±%d, which decoy does not check: send it without the exponent, or with a smaller one", num, maxExponent)
}

// validate checks inst, a value read from a request, against s: the
// violations, at loc, or none.
func validate(s *jsonschema.Schema, inst any, loc string) []violation {
	if at, num, ok := hugeNumber(inst, loc); ok {
		return []violation{{at, hugeMsg(num)}}
	}
	if err := s.Validate(inst); err != nil {
		return appendErrs(nil, loc, err)
	}
	return nil
}

// sigDigits counts the significant digits of a number's text (before
// its exponent): past 15, float64 may not tell it from its neighbours.
func sigDigits(text string) int {
	n, lead := 0, true
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == 'e' || c == 'E':
			return n
		case c == '0' && lead:
		case c >= '0' && c <= '9':
			lead = false
			n++
		}
	}
	return n
}
