// Package urlpath owns the form in which decoy matches request paths: the
// path percent-decoded, except for an encoded slash (%2F) and an encoded
// percent sign (%25), which stay escaped. An encoded slash is part of a
// segment, not a separator (RFC 3986 section 2.2): /refs/heads%2Fmain has
// two segments, and a template /refs/{ref} matches it with ref
// "heads/main". Keeping %25 escaped keeps the form unambiguous.
package urlpath

// Append appends the matching form of the path p, as sent, to dst. A '%'
// that starts no escape is taken for a percent sign (%25), so every path
// has a form.
func Append[S ~string | ~[]byte](dst []byte, p S) []byte {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '%' {
			dst = append(dst, c)
			continue
		}
		if i+2 >= len(p) || Unhex(p[i+1]) < 0 || Unhex(p[i+2]) < 0 {
			dst = append(dst, "%25"...)
			continue
		}
		b := byte(Unhex(p[i+1])<<4 | Unhex(p[i+2]))
		i += 2
		switch b {
		case '/':
			dst = append(dst, "%2F"...)
		case '%':
			dst = append(dst, "%25"...)
		default:
			dst = append(dst, b)
		}
	}
	return dst
}

// Has reports whether p needs Append: it holds a '%'.
func Has[S ~string | ~[]byte](p S) bool {
	for i := 0; i < len(p); i++ {
		if p[i] == '%' {
			return true
		}
	}
	return false
}

// Pattern is the matching form of a path a stub gives (an exact path, a
// template's text, a prefix): its text as written, with %2F for a slash
// inside a segment and %25 (or a '%' that starts no other escape) for a
// percent sign. Other escapes are decoded, as a request's are.
func Pattern(p string) string {
	if !Has(p) {
		return p
	}
	return string(Append(nil, p))
}

// Segment decodes a segment (or several) of the matching form: %2F
// becomes a slash and %25 a percent sign. Parameter values are given so.
func Segment(s string) string {
	if !Has(s) {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			switch {
			case s[i+1] == '2' && (s[i+2] == 'F' || s[i+2] == 'f'):
				out = append(out, '/')
				i += 2
				continue
			case s[i+1] == '2' && s[i+2] == '5':
				out = append(out, '%')
				i += 2
				continue
			}
		}
		out = append(out, s[i])
	}
	return string(out)
}

// Unhex is the value of the hex digit c, or -1.
func Unhex[B ~byte](c B) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
