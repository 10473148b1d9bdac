package openapi

import (
	"strconv"
	"strings"
)

// Negotiate chooses among offers, the media types an operation can answer
// in (in the document's order of preference), the one an Accept header
// prefers (RFC 9110 section 12.5.1): each offer takes the quality of the
// most specific range that matches it (type/subtype, then type/*, then
// */*; parameters other than q are not compared), and the offer with the
// highest quality above zero wins, the earlier one on a tie. It returns
// the offer's index, 0 for an empty or blank header, and -1 when the
// header admits none (406). It does not allocate.
func Negotiate(accept string, offers []string) int {
	if strings.TrimSpace(accept) == "" {
		if len(offers) == 0 {
			return -1
		}
		return 0
	}
	best, bestQ := -1, 0.0
	for i, o := range offers {
		if q := quality(accept, o); q > bestQ {
			best, bestQ = i, q
		}
	}
	return best
}

// quality is the quality the Accept header gives the media type offer.
func quality(accept, offer string) float64 {
	offer, _, _ = strings.Cut(offer, ";")
	otyp, osub, _ := strings.Cut(strings.TrimSpace(offer), "/")
	bestSpec, q := -1, 0.0
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
		spec := 0
		switch {
		case typ == "*" && sub == "*":
		case sub == "*":
			if !strings.EqualFold(typ, otyp) && otyp != "*" {
				continue
			}
			spec = 1
		default:
			if !(strings.EqualFold(typ, otyp) || otyp == "*") || !(strings.EqualFold(sub, osub) || osub == "*") {
				continue
			}
			spec = 2
		}
		if spec <= bestSpec {
			continue
		}
		bestSpec, q = spec, qOf(params)
	}
	return q
}

// qOf reads the q parameter of a media range's parameters; 1 when absent
// or not a number from 0 to 1.
func qOf(params string) float64 {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < 0 || f > 1 {
			return 1
		}
		return f
	}
	return 1
}
