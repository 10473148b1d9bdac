package h1loop

// maxChunkLine bounds a chunk-size line with its extensions, as Go's
// net/http does: past it the line is refused, so a client cannot make
// decoy read extensions without end.
const maxChunkLine = 4096

// chunkScanner follows a chunked body (RFC 9112 section 7.1) byte by
// byte, as it arrives in any number of pieces, and refuses with 400:
// a chunk size that is no hexadecimal number of 1 to 15 digits, or has
// white space around it (BWS before an extension included: fasthttp and
// net/http refuse it, and every engine must agree); a control character
// in a chunk extension; a chunk-size line longer than maxChunkLine; chunk
// data not followed by CRLF; a trailer field that breaks the rules of a
// header field (checkField, obs-fold included); a line that ends in a bare
// CR or a bare LF. It keeps no bytes: a line split across reads is judged
// as its bytes come. The zero value is at the start of a body.
type chunkScanner struct {
	st   uint8
	line int    // bytes of the current chunk-size or trailer line
	size uint64 // the chunk size being read; then the data left
	// digits of the chunk size; in a trailer line, whether a colon was
	// seen (1) and white space just before it may not be (2).
	n       int
	trailer int // bytes of the trailer section
}

// chunkScanner states.
const (
	csSize      = iota // in the chunk size
	csExt              // in a chunk extension
	csSizeLF           // after the CR of a chunk-size line
	csData             // in chunk data
	csDataCR           // after chunk data
	csDataLF           // after its CR
	csTrailer          // at the start of a trailer line (or the final CRLF)
	csTrailerIn        // in a trailer line
	csTrailerLF        // after the CR of a trailer line
	csEndLF            // after the CR of the final CRLF
	csDone             // past the final CRLF
)

// scan reads b, the next bytes of the body. It returns how many it used
// (up to the end of the body, when done, or to the byte refused) and a
// verdict when the body is malformed; maxTrailer bounds the trailer
// section (431 past it).
func (s *chunkScanner) scan(b []byte, maxTrailer int) (n int, v Verdict, done bool) {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch s.st {
		case csSize:
			s.line++
			switch {
			case hexVal[c] >= 0 && s.n < 15:
				s.size = s.size<<4 | uint64(hexVal[c])
				s.n++
				continue
			case s.n == 0 || hexVal[c] >= 0:
				return i, chunkVerdict(b, i, "a chunk size is not a hexadecimal number of 1 to 15 digits"), false
			case c == ';':
				s.st = csExt
				continue
			case c == '\r':
				s.st = csSizeLF
				continue
			case c == '\n':
				return i, chunkVerdict(b, i, bareLFWhy), false
			}
			return i, chunkVerdict(b, i, "a chunk size is followed by something other than ';' or CRLF (white space included)"), false
		case csExt:
			s.line++
			switch {
			case c == '\r':
				s.st = csSizeLF
			case c == '\n':
				return i, chunkVerdict(b, i, bareLFWhy), false
			case c < ' ' && c != '\t' || c == 0x7f:
				return i, chunkVerdict(b, i, "a chunk extension has a control character"), false
			case s.line > maxChunkLine:
				return i, chunkVerdict(b, i, "a chunk-size line is longer than 4096 bytes"), false
			}
		case csSizeLF:
			if c != '\n' {
				return i, chunkVerdict(b, i, "a chunk-size line ends in a bare CR"), false
			}
			s.line, s.n = 0, 0
			if s.size == 0 {
				s.st = csTrailer
			} else {
				s.st = csData
			}
		case csData:
			k := uint64(len(b) - i)
			if k > s.size {
				k = s.size
			}
			s.size -= k
			i += int(k) - 1
			if s.size == 0 {
				s.st = csDataCR
			}
		case csDataCR:
			if c != '\r' {
				return i, chunkVerdict(b, i, "a chunk's data is not followed by CRLF (its size is wrong)"), false
			}
			s.st = csDataLF
		case csDataLF:
			if c != '\n' {
				return i, chunkVerdict(b, i, "a chunk's data is not followed by CRLF (its size is wrong)"), false
			}
			s.st = csSize
		case csTrailer, csTrailerIn:
			if s.trailer++; s.trailer > maxTrailer {
				return i, Verdict{Status: 431}, false
			}
			if v := s.trailerByte(b, i); v.Status != 0 {
				return i, v, false
			}
		case csTrailerLF:
			if c != '\n' {
				return i, chunkVerdict(b, i, "a trailer line ends in a bare CR"), false
			}
			s.st, s.n = csTrailer, 0
		case csEndLF:
			if c != '\n' {
				return i, chunkVerdict(b, i, "the chunked body ends in a bare CR"), false
			}
			s.st = csDone
			return i + 1, Verdict{}, true
		}
	}
	return len(b), Verdict{}, s.st == csDone
}

// trailerByte judges b[i] in the trailer section: each line a header
// field as checkField wants it, then an empty line.
func (s *chunkScanner) trailerByte(b []byte, i int) Verdict {
	c := b[i]
	if s.st == csTrailer {
		switch {
		case c == '\r':
			s.st = csEndLF
			return Verdict{}
		case c == ' ' || c == '\t':
			return chunkVerdict(b, i, "a trailer field is folded onto the line before (obs-fold)")
		case c == ':':
			return chunkVerdict(b, i, "a trailer field has no name")
		}
		s.st = csTrailerIn
	}
	switch {
	case c == '\n':
		return chunkVerdict(b, i, bareLFWhy)
	case c == '\r':
		if s.n&1 == 0 {
			return chunkVerdict(b, i, "a trailer line has no colon")
		}
		s.st = csTrailerLF
	case s.n&1 == 1:
		// The value.
		if c < ' ' && c != '\t' || c == 0x7f {
			return chunkVerdict(b, i, "a trailer field value has a control character")
		}
	case c == ':':
		if s.n&2 != 0 {
			return chunkVerdict(b, i, "white space between a trailer field's name and its colon")
		}
		s.n |= 1
	case c == ' ' || c == '\t':
		s.n |= 2 // only a colon may not follow
	case !tchar[c] || s.n&2 != 0:
		return chunkVerdict(b, i, "a trailer field name has a character a token may not have")
	}
	return Verdict{}
}

// chunkVerdict refuses a chunked body at b[i], quoting around it.
func chunkVerdict(b []byte, i int, why string) Verdict {
	return Verdict{Status: 400, Why: why, Quote: b[max(i-16, 0):min(i+16, len(b))]}
}

// hexVal is the value of a hexadecimal digit, -1 for other bytes.
var hexVal = func() (t [256]int8) {
	for c := range 256 {
		t[c] = -1
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = int8(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = int8(c - 'a' + 10)
		t[c-'a'+'A'] = int8(c - 'a' + 10)
	}
	return t
}()
