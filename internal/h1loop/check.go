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
	// Why says what is wrong, for a 400, 414, 501 or 505; Quote is the
	// offending part of the request (it points into the bytes checked):
	// for a 414 the request line, or as much of it as is in.
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
// at all: a first line that is no HTTP/1.x request line (NotHTTP), a
// request line longer than maxHeader (414) or a request line and headers
// longer than it (431), an HTTP version decoy does not speak (505), a
// transfer coding other than chunked before a final chunked (501), or a
// request line, header field or chunked framing that breaks RFC 9112's
// grammar (400; see checkHead and chunkScanner for the rules). A prefix
// of the HTTP/2 preface is no one's business here. Each line is judged as
// soon as it is in, so what has not arrived yet is not refused. Check
// decides the same from the same bytes wherever it runs (the loops, before
// fasthttp, over TLS; Gate applies the same rules to every later request),
// so that every engine refuses alike; it allocates nothing.
func Check(b []byte, maxHeader int) Verdict {
	k := min(len(b), len(h2Preface))
	if bytes.Equal(b[:k], h2Preface[:k]) {
		return Verdict{}
	}
	h := checkHead(b, maxHeader)
	if h.v.Status != 0 || h.end < 0 || !h.chunked {
		return h.v
	}
	var cs chunkScanner
	_, v, _ := cs.scan(b[h.end:], maxHeader)
	return v
}

// Later is v for a request after the first on a connection: bytes that
// are no request line there come from a client that spoke HTTP/1.1
// before, and are refused with 400 rather than closed on without a word.
func (v Verdict) Later() Verdict {
	if v.Status == NotHTTP {
		return Verdict{Status: 400, Why: "the request line is no HTTP/1.x request line (method, target and HTTP/1.1 or HTTP/1.0)", Quote: v.Quote}
	}
	return v
}

// head is what checkHead found in a request's start.
type head struct {
	v Verdict
	// end is the offset of the body (past the empty line), -1 while the
	// header block is not all in.
	end int
	// length is the Content-Length (-1 without one), chunked tells a
	// chunked body; upgrade tells a request after which the connection
	// may speak another protocol (Upgrade, CONNECT).
	length           int64
	chunked, upgrade bool
}

// checkHead judges a request line and header block, b, from the
// request's first byte (empty lines before it are skipped, as RFC 9112
// section 2.2 allows). Refused with 400: a request line that is not
// method, target and version one space apart, a method that is no token,
// a target of none of RFC 9112's forms or with a control character or a
// '#'; a malformed HTTP version; a line that ends in a bare CR or a bare
// LF (RFC 9112 section 2.2 lets a server take a bare LF as a line end,
// but every engine then has to, and fasthttp does not); white space
// before the first header field or before a colon; a header line without
// a colon, with a name that is no token, with a control character in its
// value, or folded onto the line before (obs-fold, section 5.2); two
// Host, Content-Length or Transfer-Encoding fields; an empty Host (as
// nginx and fasthttp refuse it); HTTP/1.1 without Host; a Content-Length
// that is no number; Transfer-Encoding in HTTP/1.0, with chunked not last
// or given twice (section 6.3), or beside Content-Length (the shape of
// request smuggling, which section 6.1 lets a server refuse). HTTP/2.0
// and other versions but 1.0 and 1.1 get 505.
func checkHead(b []byte, maxHeader int) head {
	h := head{end: -1, length: -1}
	start := len(b)
	var line []byte
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			h.v = unfinished(b, maxHeader, false)
			return h
		}
		l, crlfEnd := bytes.CutSuffix(b[:i], crlf[:1])
		if len(l) == 0 {
			b = b[i+1:]
			continue
		}
		start -= len(b)
		if i+1 > maxHeader {
			h.v = uriTooLong(l)
			return h
		}
		version := checkVersion(l)
		switch {
		case version.Status == NotHTTP || version.Status == 400:
			h.v = version
			return h
		case !crlfEnd:
			h.v = bareLFVerdict(l)
			return h
		}
		if v := checkRequestLine(l); v.Status != 0 {
			h.v = v
			return h
		}
		if version.Status != 0 {
			h.v = version // 505
			return h
		}
		line = l
		break
	}
	method := line[:bytes.IndexByte(line, ' ')]
	h.upgrade = string(method) == "CONNECT"
	version := line[len(line)-len("HTTP/1.1"):]
	http11 := version[7] == '1'
	hosts, lengths := 0, 0
	var te []byte
	end := len(line) + 2 // through the line judged last
	if len(b) > end && (b[end] == ' ' || b[end] == '\t') {
		// RFC 9112 section 2.2: reject, or consume each such line unread.
		h.v = Verdict{Status: 400, Why: "white space between the request line and the first header field", Quote: line}
		return h
	}
	for {
		i := bytes.IndexByte(b[end:], '\n')
		if i < 0 {
			h.v = unfinished(b, maxHeader, true)
			return h
		}
		if end+i+1 > maxHeader {
			h.v = Verdict{Status: 431}
			return h
		}
		if i == 0 || b[end+i-1] != '\r' {
			h.v = bareLFVerdict(b[end : end+i])
			return h
		}
		hl := b[end : end+i-1]
		end += i + 1
		if len(hl) == 0 {
			break // the end of the header block
		}
		if hl[0] == ' ' || hl[0] == '\t' {
			h.v = Verdict{Status: 400, Why: "a header field is folded onto the line before (obs-fold); send it on one line", Quote: hl}
			return h
		}
		if v := checkField(hl); v.Status != 0 {
			h.v = v
			return h
		}
		name, value, _ := bytes.Cut(hl, []byte(":"))
		value = trimOWS(value)
		switch {
		case equalFold(name, "host"):
			if hosts++; hosts > 1 {
				h.v = Verdict{Status: 400, Why: "more than one Host header field", Quote: hl}
				return h
			}
			if len(value) == 0 {
				h.v = Verdict{Status: 400, Why: "the Host header field is empty", Quote: hl}
				return h
			}
		case equalFold(name, "content-length"):
			if lengths++; lengths > 1 {
				h.v = Verdict{Status: 400, Why: "more than one Content-Length header field", Quote: hl}
				return h
			}
			if len(value) == 0 || len(value) > 18 || !allDigits(value) {
				h.v = Verdict{Status: 400, Why: "Content-Length is not a number", Quote: hl}
				return h
			}
			h.length = int64(parseDigits(value))
		case equalFold(name, "transfer-encoding"):
			if te != nil {
				h.v = Verdict{Status: 400, Why: "more than one Transfer-Encoding header field", Quote: hl}
				return h
			}
			if !http11 {
				// RFC 9112 section 6.1: faulty framing.
				h.v = Verdict{Status: 400, Why: "Transfer-Encoding in an HTTP/1.0 request", Quote: hl}
				return h
			}
			if v := checkCodings(value); v.Status != 0 {
				v.Quote = hl
				h.v = v
				return h
			}
			te = hl
		case equalFold(name, "upgrade"):
			h.upgrade = true
		}
	}
	if http11 && hosts == 0 {
		h.v = Verdict{Status: 400, Why: "an HTTP/1.1 request without a Host header field", Quote: line}
		return h
	}
	if te != nil && lengths > 0 {
		// RFC 9112 section 6.1 lets a server refuse this, the shape of
		// request smuggling, rather than read it by Transfer-Encoding.
		h.v = Verdict{Status: 400, Why: "both Transfer-Encoding and Content-Length", Quote: te}
		return h
	}
	h.end, h.chunked = start+end, te != nil
	return h
}

// checkCodings judges a Transfer-Encoding value (a list of transfer
// codings, white space trimmed): chunked must come last and once (RFC
// 9112 section 6.3: 400 otherwise), and decoy decodes no other coding
// (section 6.1: 501).
func checkCodings(value []byte) Verdict {
	chunked, other := 0, false
	last := []byte(nil)
	for len(value) > 0 {
		var c []byte
		c, value, _ = bytes.Cut(value, []byte(","))
		c = trimOWS(c)
		if len(c) == 0 {
			continue // empty list elements are ignored (RFC 9110 section 5.6.1)
		}
		name, _, _ := bytes.Cut(c, []byte(";"))
		name = trimOWS(name)
		if !isToken(name) {
			return Verdict{Status: 400, Why: "a transfer coding is no token"}
		}
		if equalFold(name, "chunked") {
			chunked++
		} else {
			other = true
		}
		last = name
	}
	switch {
	case last == nil:
		return Verdict{Status: 400, Why: "Transfer-Encoding names no transfer coding"}
	case !equalFold(last, "chunked"):
		return Verdict{Status: 400, Why: "chunked is not the final transfer coding, so the body's end cannot be told"}
	case chunked > 1:
		return Verdict{Status: 400, Why: "chunked is applied more than once"}
	case other:
		return Verdict{Status: 501, Why: "a transfer coding other than chunked"}
	}
	return Verdict{}
}

// bareLFWhy is the Why of a refusal of a line that ends in a bare LF.
const bareLFWhy = "a line ends in a bare LF; HTTP/1.1 lines end in CRLF"

// bareLFVerdict refuses the line l, which ends in a bare LF.
func bareLFVerdict(l []byte) Verdict {
	return Verdict{Status: 400, Why: bareLFWhy, Quote: l}
}

// unfinished is the verdict on a request line and headers not all in:
// nothing while they fit in maxHeader; past it 414 while the request line
// is not all in (lineDone false), 431 otherwise.
func unfinished(b []byte, maxHeader int, lineDone bool) Verdict {
	switch {
	case len(b) < maxHeader:
		return Verdict{}
	case !lineDone:
		return uriTooLong(b)
	}
	return Verdict{Status: 431}
}

// uriTooLongWhy is the Why of a 414: a request line longer than the
// limit (a server words the limit itself, which Check is only given).
const uriTooLongWhy = "the request line exceeds the limit on the request line and headers"

// uriTooLong refuses a request line past the limit, quoting line: the
// request line, or the request's start when no line end is in yet.
func uriTooLong(line []byte) Verdict {
	return Verdict{Status: 414, Why: uriTooLongWhy, Quote: line}
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
		if !tchar[c] {
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

// checkRequestLine checks a request line that ends in an HTTP version
// (checkVersion): method SP request-target SP HTTP-version.
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
		if c == '#' {
			// A fragment is the client's own (RFC 9110 section 4.2.5).
			return Verdict{Status: 400, Why: "the request target has a '#' (a fragment is never sent)", Quote: line}
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

// checkVersion judges the HTTP version that ends a request line (without
// its line end): nothing for HTTP/1.0 and HTTP/1.1; 505 for any other
// HTTP/d.d (HTTP/2.0, and HTTP/1.2-1.9, which RFC 9110 section 6.2 would
// have served as HTTP/1.1: decoy's engines do not agree on what they
// would be); 400 for a last word that starts as a version and is none;
// NotHTTP for a line that ends in no version at all (HTTP/0.9, another
// protocol) or is the start of the HTTP/2 preface.
func checkVersion(line []byte) Verdict {
	i := bytes.LastIndexByte(line, ' ')
	v := line[i+1:]
	switch {
	case !bytes.HasPrefix(v, []byte("HTTP/")) || string(line) == "PRI * HTTP/2.0":
		return Verdict{Status: NotHTTP, Quote: line}
	case i <= 0 || len(v) != len("HTTP/1.1") || !isDigit(v[5]) || v[6] != '.' || !isDigit(v[7]):
		return Verdict{Status: 400, Why: "the HTTP version is malformed (HTTP/1.1 or HTTP/1.0)", Quote: line}
	case v[5] == '1' && (v[7] == '0' || v[7] == '1'):
		return Verdict{}
	}
	return Verdict{Status: 505, Why: "HTTP version " + versions[v[5]-'0'][v[7]-'0'] + " is not supported: decoy speaks HTTP/1.0, HTTP/1.1 and HTTP/2 (negotiated over TLS, or h2c)", Quote: line}
}

// versions are the names of HTTP/d.d, without allocating for them.
var versions = func() (t [10][10]string) {
	for i := range 10 {
		for j := range 10 {
			t[i][j] = "HTTP/" + string(rune('0'+i)) + "." + string(rune('0'+j))
		}
	}
	return t
}()

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseDigits reads up to 18 decimal digits (allDigits).
func parseDigits(b []byte) uint64 {
	var n uint64
	for _, c := range b {
		n = n*10 + uint64(c-'0')
	}
	return n
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
