package h1loop

import "bytes"

// Verdict is what Check found wrong with the start of a connection.
type Verdict struct {
	// Status is 0 when nothing was found wrong (the full server decides),
	// NotHTTP when the first line is no HTTP/1.x request line (the
	// connection is closed without an answer, as an HTTP/2 server does for
	// an invalid preface), or the status to refuse the request with: 400,
	// 431 when the request line and headers pass the limit, 501 for a
	// transfer coding other than chunked.
	Status int
	// Why says what is wrong, for a 400; Quote is the offending part of
	// the request (it points into the bytes checked).
	Why   string
	Quote []byte
}

// NotHTTP is Verdict.Status for bytes that are not an HTTP/1.x request.
const NotHTTP = -1

// h2Preface starts an HTTP/2 connection with prior knowledge; its first
// line is no HTTP/1.x request line, and is no one's business here.
var h2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// Check looks at the first request of a connection, b (from its first
// byte; it may hold more than the request), for what makes it no request
// at all: a first line that is no HTTP/1.x request line, a request line
// and headers longer than maxHeader, or a request line or header field
// that breaks RFC 9112's grammar in a way every HTTP/1.1 server must
// refuse with 400 (a header line without a colon, white space before
// the colon, a control character, two Content-Lengths or Hosts, a
// Content-Length that is no number, HTTP/1.1 without Host, both
// Content-Length and Transfer-Encoding, chunked framing broken in the
// part of the body that has arrived). It finds nothing wrong in what it
// does not look at (obs-fold after a field, versions other than 1.0 and
// 1.1, trailers): the full server judges those. A transfer coding other
// than chunked is refused with 501. A line that ends in a bare LF is
// refused with 400: RFC 9112 section 2.2 lets a server take it as a line
// end, but the full server does not, and would wait for a CRLF that
// never comes. Each line is judged as soon as it is in, as the full
// server does. Check decides the same from the same bytes wherever it
// runs, so that the loop and the full server refuse a connection's first
// request alike; it allocates nothing.
func Check(b []byte, maxHeader int) Verdict {
	k := min(len(b), len(h2Preface))
	if bytes.Equal(b[:k], h2Preface[:k]) {
		return Verdict{}
	}
	// The request line, after any empty lines (RFC 9112 section 2.2).
	// Each line is judged as soon as it is in, as the full server does.
	var line []byte
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return unfinished(b, maxHeader)
		}
		l, crlfEnd := bytes.CutSuffix(b[:i], crlf[:1])
		if len(l) == 0 {
			b = b[i+1:]
			continue
		}
		if !IsRequestLine(l) {
			return Verdict{Status: NotHTTP}
		}
		if !crlfEnd {
			return bareLFVerdict(l)
		}
		if v := checkRequestLine(l); v.Status != 0 {
			return v
		}
		line = l
		break
	}
	http11 := line[len(line)-1] == '1'
	hosts, lengths := 0, 0
	var te []byte
	end := len(line) + 2 // through the line judged last
	if len(b) > end && (b[end] == ' ' || b[end] == '\t') {
		// RFC 9112 section 2.2: reject, or consume each such line unread.
		return Verdict{Status: 400, Why: "white space between the request line and the first header field", Quote: line}
	}
	for {
		i := bytes.IndexByte(b[end:], '\n')
		if i < 0 {
			return unfinished(b, maxHeader)
		}
		if i == 0 || b[end+i-1] != '\r' {
			return bareLFVerdict(b[end : end+i])
		}
		hl := b[end : end+i-1]
		end += i + 1
		if end > maxHeader {
			return unfinished(b, maxHeader)
		}
		if len(hl) == 0 {
			break // the end of the header block
		}
		if hl[0] == ' ' || hl[0] == '\t' {
			return Verdict{} // obs-fold: the full server's rules
		}
		if v := checkField(hl); v.Status != 0 {
			return v
		}
		name, value, _ := bytes.Cut(hl, []byte(":"))
		value = trimOWS(value)
		switch {
		case equalFold(name, "host"):
			if hosts++; hosts > 1 {
				return Verdict{Status: 400, Why: "more than one Host header field", Quote: hl}
			}
		case equalFold(name, "content-length"):
			if lengths++; lengths > 1 {
				return Verdict{Status: 400, Why: "more than one Content-Length header field", Quote: hl}
			}
			if len(value) == 0 || !allDigits(value) {
				return Verdict{Status: 400, Why: "Content-Length is not a number", Quote: hl}
			}
		case equalFold(name, "transfer-encoding"):
			if te != nil {
				return Verdict{Status: 400, Why: "more than one Transfer-Encoding header field", Quote: hl}
			}
			if !http11 {
				// RFC 9112 section 6.1: faulty framing.
				return Verdict{Status: 400, Why: "Transfer-Encoding in an HTTP/1.0 request", Quote: hl}
			}
			if !equalFold(value, "chunked") {
				// RFC 9112 section 6.1: 501 for a coding not understood.
				return Verdict{Status: 501, Why: "a transfer coding other than chunked", Quote: hl}
			}
			te = hl
		}
	}
	if http11 && hosts == 0 {
		return Verdict{Status: 400, Why: "an HTTP/1.1 request without a Host header field", Quote: line}
	}
	if te == nil {
		return Verdict{}
	}
	if lengths > 0 {
		// RFC 9112 section 6.1 lets a server refuse this, the shape of
		// request smuggling, rather than read it by Transfer-Encoding.
		return Verdict{Status: 400, Why: "both Transfer-Encoding and Content-Length", Quote: te}
	}
	return checkChunks(b[end:])
}

// bareLFWhy is the Why of a refusal of a line that ends in a bare LF.
const bareLFWhy = "a line ends in a bare LF; HTTP/1.1 lines end in CRLF"

// bareLFVerdict refuses the line l, which ends in a bare LF.
func bareLFVerdict(l []byte) Verdict {
	return Verdict{Status: 400, Why: bareLFWhy, Quote: l}
}

// isBareLF reports whether v refuses a line that ends in a bare LF. The
// full server judges such a request by rules of its own: it takes a bare
// LF after the request line, and ends the header block at a CRLFCRLF
// only, waiting for one until its read timeout.
func (v Verdict) isBareLF() bool {
	return v.Status == 400 && v.Why == bareLFWhy
}

// unfinished is Check's verdict on a request line and headers not all in:
// 431 once they pass maxHeader, unless perhaps an upgrade to h2c (the
// HTTP/2 server's to refuse).
func unfinished(b []byte, maxHeader int) Verdict {
	if len(b) < maxHeader || bytes.Contains(b, []byte("h2c")) {
		return Verdict{}
	}
	return Verdict{Status: 431}
}

// checkField checks one header line (without its CRLF, not folded).
func checkField(hl []byte) Verdict {
	colon := bytes.IndexByte(hl, ':')
	switch {
	case colon < 0:
		return Verdict{Status: 400, Why: "a header line has no colon", Quote: hl}
	case colon == 0:
		return Verdict{Status: 400, Why: "a header field has no name", Quote: hl}
	case hl[colon-1] == ' ' || hl[colon-1] == '\t':
		return Verdict{Status: 400, Why: "white space between a header field's name and its colon", Quote: hl}
	}
	for _, c := range hl[:colon] {
		if !tchar[c] && c != ' ' {
			// (A space inside a name is let through by some servers;
			// it is left to the full server.)
			return Verdict{Status: 400, Why: "a header field name has a character a token may not have", Quote: hl}
		}
	}
	for _, c := range trimOWS(hl[colon+1:]) {
		if c < ' ' && c != '\t' || c == 0x7f {
			return Verdict{Status: 400, Why: "a header field value has a control character", Quote: hl}
		}
	}
	return Verdict{}
}

// checkChunks looks at as much of a chunked body as has arrived for a
// chunk-size line that is no hexadecimal number, or chunk data not
// followed by CRLF; it stops at the last chunk (the trailers are the full
// server's).
func checkChunks(b []byte) Verdict {
	for {
		i := bytes.Index(b, crlf)
		if i < 0 {
			return Verdict{}
		}
		line := b[:i]
		size, _, _ := bytes.Cut(line, []byte(";"))
		size = bytes.TrimRight(size, " \t")
		n, ok := parseHex(size)
		if !ok {
			return Verdict{Status: 400, Why: "a chunk size is not a hexadecimal number", Quote: line}
		}
		if n == 0 {
			return Verdict{}
		}
		b = b[i+2:]
		if uint64(len(b)) < n+2 {
			return Verdict{}
		}
		if b[n] != '\r' || b[n+1] != '\n' {
			return Verdict{Status: 400, Why: "a chunk's data is not followed by CRLF", Quote: b[n:min(uint64(len(b)), n+16)]}
		}
		b = b[n+2:]
	}
}

// parseHex reads a chunk size: 1 to 15 hexadecimal digits.
func parseHex(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			n = n<<4 | uint64(c-'0')
		case 'a' <= c && c <= 'f':
			n = n<<4 | uint64(c-'a'+10)
		case 'A' <= c && c <= 'F':
			n = n<<4 | uint64(c-'A'+10)
		default:
			return 0, false
		}
	}
	return n, true
}

// checkRequestLine checks a request line that ends in an HTTP/1.x version
// (IsRequestLine): method SP request-target SP HTTP-version.
func checkRequestLine(line []byte) Verdict {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || !isToken(line[:sp]) {
		return Verdict{Status: 400, Why: "the request line does not start with a method (a token) and one space", Quote: line}
	}
	target := line[sp+1:]
	sp = bytes.IndexByte(target, ' ')
	if sp <= 0 || len(target)-sp-1 != len("HTTP/1.1") {
		return Verdict{Status: 400, Why: "the request line is not method, request target and version, one space apart", Quote: line}
	}
	method, target := line[:len(line)-len(target)-1], target[:sp]
	for _, c := range target {
		if c < ' ' || c == 0x7f {
			return Verdict{Status: 400, Why: "the request target has a control character", Quote: line}
		}
	}
	if !targetForm(method, target) {
		return Verdict{Status: 400, Why: "the request target is none of RFC 9112's forms (a path, an absolute URI, * for OPTIONS, an authority for CONNECT)", Quote: line}
	}
	return Verdict{}
}

// targetForm reports whether target has one of RFC 9112's forms: origin
// ("/path"), absolute ("scheme://..."), asterisk ("*", OPTIONS only) or
// authority (CONNECT only, not looked into).
func targetForm(method, target []byte) bool {
	switch {
	case target[0] == '/':
		return true
	case string(target) == "*":
		return string(method) == "OPTIONS"
	case string(method) == "CONNECT":
		return true
	}
	scheme, _, ok := bytes.Cut(target, []byte("://"))
	if !ok || len(scheme) == 0 {
		return false
	}
	for i, c := range scheme {
		alpha := 'a' <= c|0x20 && c|0x20 <= 'z'
		if !alpha && (i == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// IsRequestLine reports whether line (without its line end) ends in an
// HTTP/1.x version, as every HTTP/1.0 and HTTP/1.1 request line does
// ("GET / HTTP/1.1").
func IsRequestLine(line []byte) bool {
	i := bytes.LastIndexByte(line, ' ')
	v := line[i+1:]
	return i > 0 && len(v) == len("HTTP/1.1") && bytes.HasPrefix(v, []byte("HTTP/1.")) && v[7] >= '0' && v[7] <= '9'
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
