// Package answer reads the HTTP/1.1 answers of the bench clients: one at a
// time, with a Content-Length body, checking the status and the body size,
// from a bufio.Reader or fed in pieces as nonblocking reads return them.
package answer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
)

// MaxHead bounds an answer's status line and headers: a longer head is an
// error rather than a buffer that grows without end.
const MaxHead = 16 << 10

// ErrClose is the error for an answer that closes its connection: the
// bench clients keep theirs open and measure keep-alive.
var ErrClose = errors.New("the answer closes the connection (Connection: close); the clients keep theirs open")

var (
	errChunked = errors.New("the answer has no Content-Length (chunked or read to close): only Content-Length answers are read")
	errHead    = fmt.Errorf("the answer's status line and headers are longer than %d bytes", MaxHead)
	clName     = []byte("content-length:")
	connName   = []byte("connection:")
)

// checkStatusLine checks an HTTP/1.x status line (with its line end) and
// that its status is status.
func checkStatusLine(line []byte, status int) error {
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return fmt.Errorf("malformed status line %q", line)
	}
	got := 0
	for _, ch := range line[9:12] {
		if ch < '0' || ch > '9' {
			return fmt.Errorf("malformed status line %q", line)
		}
		got = got*10 + int(ch-'0')
	}
	if got != status {
		return fmt.Errorf("status %d, want %d", got, status)
	}
	return nil
}

// contentLength reads a header line: ok reports whether it is a
// Content-Length header, n is its value.
func contentLength(line []byte) (n int, ok bool, err error) {
	if len(line) <= len(clName) || !bytes.EqualFold(line[:len(clName)], clName) {
		return 0, false, nil
	}
	v := bytes.TrimSpace(line[len(clName):])
	for _, ch := range v {
		if ch < '0' || ch > '9' || n > (math.MaxInt-9)/10 {
			return 0, true, fmt.Errorf("malformed Content-Length %q", v)
		}
		n = n*10 + int(ch-'0')
	}
	return n, true, nil
}

// closes reports whether a header line is a Connection header with the
// close option.
func closes(line []byte) bool {
	if len(line) <= len(connName) || !bytes.EqualFold(line[:len(connName)], connName) {
		return false
	}
	for opt := range bytes.SplitSeq(line[len(connName):], []byte(",")) {
		if bytes.EqualFold(bytes.TrimSpace(opt), []byte("close")) {
			return true
		}
	}
	return false
}

// blankLine reports whether a line (with its line end) is the empty line
// that ends the headers.
func blankLine(line []byte) bool {
	return len(bytes.TrimRight(line, "\r\n")) == 0
}

// checkBody checks a Content-Length value n against the expected body size
// (any when bodyBytes < 0).
func checkBody(n, bodyBytes int) error {
	if n < 0 {
		return errChunked
	}
	if bodyBytes >= 0 && n != bodyBytes {
		return fmt.Errorf("body of %d bytes, want %d", n, bodyBytes)
	}
	return nil
}

// Read reads one HTTP/1.1 answer with a Content-Length body from br,
// checking its status and (when bodyBytes >= 0) its body size.
func Read(br *bufio.Reader, status, bodyBytes int) error {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("reading the status line: %w", err)
	}
	if err := checkStatusLine(line, status); err != nil {
		return err
	}
	n, closing := -1, false
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("reading the headers: %w", err)
		}
		if blankLine(line) {
			break
		}
		if v, ok, err := contentLength(line); err != nil {
			return err
		} else if ok {
			n = v
		}
		closing = closing || closes(line)
	}
	if err := checkBody(n, bodyBytes); err != nil {
		return err
	}
	if closing {
		return ErrClose
	}
	if _, err := br.Discard(n); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("reading the body: %w", err)
	}
	return nil
}

// Parse parses the beginning of an HTTP/1.1 answer held in b: the
// status line and the headers up to the empty line. While they are not all
// in b it returns head 0 and no error (more bytes are needed); then head is
// their length in bytes and body the Content-Length. It checks the status
// and (when bodyBytes >= 0) the body size, and looks at nothing past
// len(b). Line ends are LF or CRLF, as Read reads them.
func Parse(b []byte, status, bodyBytes int) (head, body int, err error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return incomplete(b)
	}
	if err := checkStatusLine(b[:i+1], status); err != nil {
		return 0, 0, err
	}
	n, closing := -1, false
	pos := i + 1
	for {
		j := bytes.IndexByte(b[pos:], '\n')
		if j < 0 {
			return incomplete(b)
		}
		line := b[pos : pos+j+1]
		pos += j + 1
		if blankLine(line) {
			break
		}
		if v, ok, err := contentLength(line); err != nil {
			return 0, 0, err
		} else if ok {
			n = v
		}
		closing = closing || closes(line)
	}
	if err := checkBody(n, bodyBytes); err != nil {
		return 0, 0, err
	}
	if closing {
		return 0, 0, ErrClose
	}
	return pos, n, nil
}

func incomplete(b []byte) (int, int, error) {
	if len(b) > MaxHead {
		return 0, 0, errHead
	}
	return 0, 0, nil
}

// Reader follows one answer as it arrives in pieces, in as many
// reads as it takes: it keeps the bytes of an unfinished head (status line
// and headers), then only counts the body bytes. Its zero value waits for
// the start of an answer; after an answer it is ready for the next.
type Reader struct {
	head    []byte // the bytes of the answer while its head is unfinished
	gotHead bool   // the head has been parsed; left counts the body
	left    int    // the answer's bytes still to come, once gotHead
}

// Feed takes the next bytes read. It reports done when they end the
// answer; bytes past the end of the answer are an error, since only one
// request is ever in flight.
func (a *Reader) Feed(data []byte, status, bodyBytes int) (done bool, err error) {
	if !a.gotHead {
		b := data
		if len(a.head) > 0 {
			a.head = append(a.head, data...)
			b = a.head
		}
		head, body, err := Parse(b, status, bodyBytes)
		if err != nil {
			a.Reset()
			return false, err
		}
		if head == 0 {
			if len(a.head) == 0 {
				a.head = append(a.head, data...)
			}
			return false, nil
		}
		a.gotHead = true
		a.left = head + body - len(b)
		a.head = a.head[:0]
	} else {
		a.left -= len(data)
	}
	switch {
	case a.left > 0:
		return false, nil
	case a.left < 0:
		extra := -a.left
		a.Reset()
		return false, fmt.Errorf("%d bytes past the end of the answer (one request was in flight)", extra)
	}
	a.Reset()
	return true, nil
}

// Reset makes a ready for a new answer, dropping what it held.
func (a *Reader) Reset() {
	a.head = a.head[:0]
	a.gotHead = false
	a.left = 0
}
