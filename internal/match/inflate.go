package match

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxInflated bounds a compressed request body once decompressed, so that
// a small body cannot make decoy hold gigabytes (a "zip bomb").
const MaxInflated = 64 << 20

// Inflate errors, for callers that answer each differently.
var (
	// ErrCoding is a Content-Encoding decoy cannot undo.
	ErrCoding = errors.New("a content coding decoy cannot undo: send gzip, deflate or identity")
	// ErrInflatedSize is a body larger than MaxInflated once decompressed.
	ErrInflatedSize = fmt.Errorf("larger than %d MiB once decompressed", MaxInflated>>20)
)

// Inflate undoes a request body's Content-Encoding: gzip (x-gzip), deflate
// (zlib, as RFC 9110 names it) or identity. For "" and identity it returns
// body itself. A coding it does not know is ErrCoding, a body beyond
// MaxInflated ErrInflatedSize, a body that is not valid in its coding the
// decompressor's error.
func Inflate(coding string, body []byte) ([]byte, error) {
	var rd io.ReadCloser
	var err error
	switch strings.ToLower(strings.TrimSpace(coding)) {
	case "", "identity":
		return body, nil
	case "gzip", "x-gzip":
		rd, err = gzip.NewReader(bytes.NewReader(body))
	case "deflate":
		rd, err = zlib.NewReader(bytes.NewReader(body))
	default:
		return nil, ErrCoding
	}
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	out, err := io.ReadAll(io.LimitReader(rd, MaxInflated+1))
	if err != nil {
		return nil, err
	}
	if len(out) > MaxInflated {
		return nil, ErrInflatedSize
	}
	return out, nil
}
