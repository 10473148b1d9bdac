package match

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"testing"
)

func compress(t testing.TB, coding string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	var w io.WriteCloser = gzip.NewWriter(&b)
	if coding == "deflate" {
		w = zlib.NewWriter(&b)
	}
	_, _ = w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestInflate(t *testing.T) {
	t.Parallel()
	text := []byte(`{"item":"book"}`)
	tests := []struct {
		name, coding string
		body         []byte
		want         []byte
		err          error // nil: none; errAny: some error
	}{
		{"identity", "identity", text, text, nil},
		{"none", "", text, text, nil},
		{"gzip", "gzip", compress(t, "gzip", text), text, nil},
		{"x-gzip in capitals", "X-Gzip", compress(t, "gzip", text), text, nil},
		{"deflate", "deflate", compress(t, "deflate", text), text, nil},
		{"br", "br", text, nil, ErrCoding},
		{"a list of codings", "gzip, br", compress(t, "gzip", text), nil, ErrCoding},
		{"not gzip", "gzip", text, nil, errAny},
		{"cut short", "gzip", compress(t, "gzip", text)[:10], nil, errAny},
		{"a bomb", "gzip", compress(t, "gzip", make([]byte, MaxInflated+1)), nil, ErrInflatedSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Inflate(tt.coding, tt.body)
			switch {
			case tt.err == nil && err != nil:
				t.Fatalf("error %v", err)
			case tt.err == errAny && err == nil, tt.err != nil && tt.err != errAny && !errors.Is(err, tt.err):
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

var errAny = errors.New("any error")

// FuzzInflate: any body, in any coding, inflates or fails; never more
// than MaxInflated.
func FuzzInflate(f *testing.F) {
	f.Add("gzip", compress(f, "gzip", []byte("hello")))
	f.Add("deflate", compress(f, "deflate", []byte("hello")))
	f.Add("gzip", []byte("\x1f\x8b\x08\x00"))
	f.Fuzz(func(t *testing.T, coding string, body []byte) {
		out, err := Inflate(coding, body)
		if err == nil && len(out) > MaxInflated {
			t.Fatalf("%d bytes, more than MaxInflated", len(out))
		}
	})
}
