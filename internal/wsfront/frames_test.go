package wsfront_test

import (
	"bytes"
	"testing"

	"github.com/decoy-dev/decoy/internal/wsfront"
)

// frame is a masked client frame (key 0) with opcode op and n payload
// bytes, its length written in the shortest form.
func frame(op byte, n int) []byte {
	b := []byte{0x80 | op}
	switch {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(append(b, 0, 0, 0, 0), make([]byte, n)...)
}

func TestFramesLastClose(t *testing.T) {
	t.Parallel()
	cat := func(fs ...[]byte) []byte { return bytes.Join(fs, nil) }
	tests := []struct {
		name string
		in   []byte
		want int64
	}{
		{"nothing", nil, -1},
		{"a message", frame(1, 5), -1},
		{"empty close", frame(8, 0), 0},
		{"1-byte close", frame(8, 1), 1},
		{"close with a code", frame(8, 2), 2},
		{"after a 16-bit length", cat(frame(2, 300), frame(8, 1)), 1},
		{"after a 64-bit length", cat(frame(2, 70000), frame(8, 1)), 1},
		{"after a ping and a fragment", cat(frame(9, 3), []byte{0x01, 0x82, 0, 0, 0, 0, 'a', 'b'}, frame(0, 2), frame(8, 2)), 2},
		{"the last of two", cat(frame(8, 1), frame(8, 0)), 0},
		{"a header not all in", frame(8, 1)[:3], -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Whole, and a byte at a time: the same.
			f := wsfront.NewFrames()
			f.Feed(tt.in)
			g := wsfront.NewFrames()
			for i := range tt.in {
				g.Feed(tt.in[i : i+1])
			}
			if f.LastClose() != tt.want || g.LastClose() != tt.want {
				t.Errorf("LastClose %d (whole), %d (bytewise), want %d", f.LastClose(), g.LastClose(), tt.want)
			}
		})
	}
	var none *wsfront.Frames
	if none.LastClose() != -1 {
		t.Error("a nil Frames saw a close")
	}
}

func TestFramesBadLength(t *testing.T) {
	t.Parallel()
	long := func(top byte) []byte { return []byte{0x82, 0x80 | 127, top, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0} }
	tests := []struct {
		name string
		in   []byte
		want bool
	}{
		{"nothing", nil, false},
		{"a 64-bit length", frame(2, 70000), false},
		{"the largest length allowed", long(0x7f), false},
		{"the top bit set", long(0x80), true},
		{"the top bit set, after a message", append(frame(1, 5), long(0xff)...), true},
		{"a 16-bit length is not 64-bit", []byte{0x82, 0x80 | 126, 0xff, 0xff}, false},
		{"a payload byte is not a length", append([]byte{0x82, 0x81, 0, 0, 0, 0}, 0xff), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := wsfront.NewFrames()
			f.Feed(tt.in)
			g := wsfront.NewFrames()
			for i := range tt.in {
				g.Feed(tt.in[i : i+1])
			}
			if f.BadLength() != tt.want || g.BadLength() != tt.want {
				t.Errorf("BadLength %v (whole), %v (bytewise), want %v", f.BadLength(), g.BadLength(), tt.want)
			}
		})
	}
	var none *wsfront.Frames
	if none.BadLength() {
		t.Error("a nil Frames saw a bad length")
	}
}

// FuzzFrames: whatever the bytes and however they are split, Frames does
// not panic and reads them the same.
func FuzzFrames(f *testing.F) {
	f.Add(frame(1, 5), uint8(1))
	f.Add(append(frame(2, 300), frame(8, 1)...), uint8(7))
	f.Add([]byte{0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}, uint8(3))
	f.Fuzz(func(t *testing.T, b []byte, step uint8) {
		whole := wsfront.NewFrames()
		whole.Feed(b)
		parts := wsfront.NewFrames()
		for s := int(step) + 1; len(b) > 0; b = b[min(s, len(b)):] {
			parts.Feed(b[:min(s, len(b))])
		}
		if whole.LastClose() != parts.LastClose() {
			t.Errorf("whole %d, in parts %d", whole.LastClose(), parts.LastClose())
		}
	})
}
