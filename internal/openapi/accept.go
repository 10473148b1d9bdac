package openapi

import (
	"strconv"
	"strings"
)

// Negotiate chooses among offers, the media types an operation can answer
// in (in the document's order of preference), the one an Accept header
// prefers (RFC 9110 section 12.5.1): each offer takes the quality of the
// most specific range that matches it (type/subtype, then a structured
// syntax suffix, then type/*, then */*; parameters other than q are not
// compared), and the offer with the highest quality above zero wins, the
// earlier one on a tie. It returns the offer's index, 0 for an empty or
// blank header, and -1 when the header admits none (406). It does not
// allocate.
//
// A range with a structured syntax suffix (RFC 6839), such as
// application/vnd.github+json or application/problem+json, also admits
// application/json (+xml: application/xml) when no offer matches the
// range itself: clients of vendor types (GitHub's and Octokit's
// application/vnd.github.v3+json) read plain JSON, and documents often
// declare only application/json.
func Negotiate(accept string, offers []string) int {
	if strings.TrimSpace(accept) == "" {
		if len(offers) == 0 {
			return -1
		}
		return 0
	}
	if len(offers) > maxOffers {
		return negotiateEach(accept, offers)
	}
	// One pass over the header for all the offers.
	var (
		split [maxOffers]mediaType
		spec  [maxOffers]int8
		q     [maxOffers]int16
	)
	for i, o := range offers {
		split[i] = splitType(o)
		spec[i] = specNone
	}
	ranges(accept, offers, split[:len(offers)], spec[:len(offers)], q[:len(offers)])
	best, bestQ := -1, int16(0)
	for i := range offers {
		if q[i] > bestQ {
			best, bestQ = i, q[i]
		}
	}
	return best
}

// maxOffers is how many offers Negotiate weighs in one pass over the
// header (on the stack); more are weighed one at a time.
const maxOffers = 8

// mediaType is a media type split into type and subtype, parameters
// dropped.
type mediaType struct{ typ, sub string }

func splitType(t string) mediaType {
	t, _, _ = strings.Cut(t, ";")
	typ, sub, _ := strings.Cut(strings.TrimSpace(t), "/")
	return mediaType{typ, sub}
}

// negotiateEach is Negotiate for a non-blank header, reading the header
// once per offer.
func negotiateEach(accept string, offers []string) int {
	best, bestQ := -1, 0
	for i, o := range offers {
		if q := quality(accept, o, offers); q > bestQ {
			best, bestQ = i, q
		}
	}
	return best
}

// quality is the quality (in thousandths) the Accept header gives the
// media type offer, one of all (which decide whether a suffix range
// matches some offer exactly; see Negotiate).
func quality(accept, offer string, all []string) int {
	split := [1]mediaType{splitType(offer)}
	spec := [1]int8{specNone}
	var q [1]int16
	ranges(accept, all, split[:], spec[:], q[:])
	return int(q[0])
}

// Specificities of the range that gives an offer its quality.
const (
	specNone   = -1
	specAny    = 0 // */*
	specType   = 1 // type/*
	specSuffix = 2 // a +json range for application/json (see Negotiate)
	specExact  = 3 // type/subtype
)

// ranges reads the media ranges of an Accept header and gives each offer
// the quality (q, in thousandths) of the most specific range that matches
// it (spec: see above). offers are some of all, split; all, the whole
// list, decide whether a suffix range matches an offer exactly, so that
// the answer is the same whether offers are weighed together or one at a
// time.
func ranges(accept string, all []string, offers []mediaType, spec []int8, q []int16) {
	for accept != "" {
		var rng string
		rng, accept, _ = strings.Cut(accept, ",")
		mt, params, _ := strings.Cut(rng, ";")
		mt = strings.TrimSpace(mt)
		if mt == "" {
			continue
		}
		typ, sub, ok := strings.Cut(mt, "/")
		if !ok {
			continue // not a media range
		}
		rq := int16(-1) // read when a range first counts
		// The plain type a suffix range admits too ("json" for
		// application/json), unless an offer matches the range itself.
		base := suffixBase(sub)
		if base != "" {
			for _, o := range all {
				if exactMatch(typ, sub, splitType(o)) {
					base = ""
					break
				}
			}
		}
		for i, o := range offers {
			var s int8
			switch {
			case typ == "*" && sub == "*":
				s = specAny
			case sub == "*":
				if !strings.EqualFold(typ, o.typ) && o.typ != "*" {
					continue
				}
				s = specType
			case exactMatch(typ, sub, o):
				s = specExact
			case base != "" && strings.EqualFold(o.typ, "application") && strings.EqualFold(o.sub, base):
				s = specSuffix
			default:
				continue
			}
			if s <= spec[i] {
				continue
			}
			if rq < 0 {
				rq = qOf(params)
			}
			spec[i], q[i] = s, rq
		}
	}
}

// exactMatch reports whether the range typ/sub (no wildcard subtype)
// matches the offer o, which may itself be a wildcard.
func exactMatch(typ, sub string, o mediaType) bool {
	return (strings.EqualFold(typ, o.typ) || o.typ == "*") && (strings.EqualFold(sub, o.sub) || o.sub == "*")
}

// suffixBase is the subtype a structured syntax suffix stands for: "json"
// for "vnd.github+json", "xml" for "atom+xml"; "" for any other subtype.
func suffixBase(sub string) string {
	i := strings.LastIndexByte(sub, '+')
	if i <= 0 {
		return ""
	}
	switch s := sub[i+1:]; {
	case strings.EqualFold(s, "json"):
		return "json"
	case strings.EqualFold(s, "xml"):
		return "xml"
	}
	return ""
}

// qOf reads the q parameter of a media range's parameters, in thousandths;
// 1000 when absent or not a number from 0 to 1.
func qOf(params string) int16 {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		return qValue(strings.TrimSpace(v))
	}
	return 1000
}

// qValue reads a quality value ("0.5", "1", "0.125") in thousandths; 1000
// when it is not a number from 0 to 1.
func qValue(v string) int16 {
	// The RFC's form: 0 or 1, then at most three decimals.
	if len(v) >= 1 && len(v) <= 5 && (v[0] == '0' || v[0] == '1') && (len(v) == 1 || v[1] == '.') {
		n, scale, ok := int(v[0]-'0')*1000, 100, true
		for i := 2; i < len(v); i++ {
			c := v[i]
			if c < '0' || c > '9' {
				ok = false
				break
			}
			n += int(c-'0') * scale
			scale /= 10
		}
		if ok && n <= 1000 {
			return int16(n)
		}
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 {
		return 1000
	}
	return int16(f * 1000)
}
