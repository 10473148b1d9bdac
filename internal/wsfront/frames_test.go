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

func TestFramesPartial(t *testing.T) {
	t.Parallel()
	cat := func(fs ...[]byte) []byte { return bytes.Join(fs, nil) }
	tests := []struct {
		name string
		in   []byte
		want bool
	}{
		{"nothing", nil, false},
		{"a whole message", frame(1, 5), false},
		{"a whole close", frame(8, 2), false},
		{"one header byte", frame(1, 5)[:1], true},
		{"a header without its mask", frame(1, 5)[:2], true},
		{"a header without its 16-bit length", frame(2, 300)[:3], true},
		{"a header without its 64-bit length", frame(2, 70000)[:9], true},
		{"a payload not all in", frame(1, 5)[:8], true},
		{"a 16-bit length, whole", frame(2, 300), false},
		{"a 64-bit length, whole", frame(2, 70000), false},
		{"after a ping and a fragment", cat(frame(9, 3), []byte{0x01, 0x82, 0, 0, 0, 0, 'a', 'b'}, frame(0, 2)), false},
		{"a 64-bit length with its top bit set", []byte{0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, true},
		{"an unmasked frame, whole", []byte{0x81, 0x02, 'h', 'i'}, false},
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
			if f.Partial() != tt.want || g.Partial() != tt.want {
				t.Errorf("Partial %v (whole), %v (bytewise), want %v", f.Partial(), g.Partial(), tt.want)
			}
		})
	}
	var none *wsfront.Frames
	if none.Closing() {
		t.Error("a nil Frames is closing")
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
		if whole.Partial() != parts.Partial() {
			t.Errorf("Partial: whole %v, in parts %v", whole.Partial(), parts.Partial())
		}
	})
}
