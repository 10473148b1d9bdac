package grpcfront

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math"
	"math/big"
	"testing"
	"time"
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

func TestParseTimeout(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1S", time.Second, true},
		{"250m", 250 * time.Millisecond, true},
		{"0n", 0, true},
		{"2H", 2 * time.Hour, true},
		{"5u", 5 * time.Microsecond, true},
		{"3M", 3 * time.Minute, true},
		{"2562047H", 2562047 * time.Hour, true},
		// Past time.Duration's range: the longest timeout, not a
		// product wrapped around to a deadline already past.
		{"2562048H", math.MaxInt64, true},
		{"99999999H", math.MaxInt64, true},
		{"00000001S", time.Second, true},
		// Refused, as grpc-go refuses them.
		{"999999999H", 0, false},
		{"9300000000000m", 0, false},
		{"S", 0, false},
		{"", 0, false},
		{"10", 0, false},
		{"10s", 0, false},
		{"-1S", 0, false},
		{"+1S", 0, false},
		{"1.5S", 0, false},
		{"99999999999999999999n", 0, false},
	} {
		d, err := parseTimeout(tt.in)
		if d != tt.want || (err == nil) != tt.ok {
			t.Errorf("parseTimeout(%q) = %v, %v; want %v, ok %v", tt.in, d, err, tt.want, tt.ok)
		}
	}
}

// FuzzParseTimeout: any grpc-timeout header a gRPC-Web client sends is
// refused or read as its number (at most 8 digits) times its unit, at most
// the longest duration: never a negative one or one wrapped around.
func FuzzParseTimeout(f *testing.F) {
	for _, s := range []string{"1S", "250m", "99999999H", "2562048H", "0n", "+5M", "-1S", "10x", "H"} {
		f.Add(s)
	}
	units := map[byte]int64{'H': int64(time.Hour), 'M': int64(time.Minute), 'S': int64(time.Second),
		'm': int64(time.Millisecond), 'u': int64(time.Microsecond), 'n': 1}
	f.Fuzz(func(t *testing.T, v string) {
		d, err := parseTimeout(v)
		if err != nil {
			return
		}
		if len(v) > 9 {
			t.Fatalf("parseTimeout(%q) = %v, accepted past 8 digits", v, d)
		}
		if d < 0 {
			t.Fatalf("parseTimeout(%q) = %v", v, d)
		}
		unit, known := units[v[len(v)-1]]
		n, isNum := new(big.Int).SetString(v[:len(v)-1], 10)
		if !known || !isNum || n.Sign() < 0 {
			t.Fatalf("parseTimeout(%q) = %v, accepted", v, d)
		}
		want := n.Mul(n, big.NewInt(unit))
		if !want.IsInt64() {
			want.SetInt64(math.MaxInt64)
		}
		if int64(d) != want.Int64() {
			t.Fatalf("parseTimeout(%q) = %d, want %v", v, d, want)
		}
	})
}
