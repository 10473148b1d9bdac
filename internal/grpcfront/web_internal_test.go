package grpcfront

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"testing"
)

// FuzzParseWebBody: any gRPC-Web request body is split into messages or
// refused with an error, never a panic; what is accepted is exactly the
// body's blocks.
func FuzzParseWebBody(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 2, 8, 1}, false)
	f.Add([]byte("AAAAAAIIAQ=="), true)
	f.Add([]byte("AAAAAAA=AAAAAAIIAQ=="), true)
	f.Add([]byte{1, 0, 0, 0, 0}, false)
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff}, false)
	f.Fuzz(func(t *testing.T, b []byte, text bool) {
		msgs, err := parseWebBody(b, text, 1<<16)
		if err != nil {
			return
		}
		var again []byte
		for _, m := range msgs {
			if len(m) > 1<<16 {
				t.Fatalf("a message of %d bytes passed the limit", len(m))
			}
			again = append(again, 0)
			again = binary.BigEndian.AppendUint32(again, uint32(len(m)))
			again = append(again, m...)
		}
		want := b
		if text {
			want, _ = decodeWebText(b)
		}
		if !bytes.Equal(again, want) {
			t.Fatalf("blocks %q do not make the body %q", again, want)
		}
	})
}

func TestDecodeWebTextChunks(t *testing.T) {
	a, b := []byte{0, 0, 0, 0, 1, 7}, []byte{0, 0, 0, 0, 0}
	text := base64.StdEncoding.EncodeToString(a) + base64.StdEncoding.EncodeToString(b)
	got, err := decodeWebText([]byte(text))
	if err != nil || !bytes.Equal(got, append(a, b...)) {
		t.Errorf("decodeWebText(%q) = % x, %v", text, got, err)
	}
	if _, err := decodeWebText([]byte("AAA")); err == nil {
		t.Error("3 characters decoded")
	}
}
