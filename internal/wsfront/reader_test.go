package wsfront

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// masked is a client frame: first byte b0, payload p masked with a key
// that is not zero.
func masked(b0 byte, p []byte) []byte {
	key := [4]byte{0xa1, 0x02, 0xf3, 0x44}
	b := []byte{b0, 0x80}
	switch n := len(p); {
	case n < 126:
		b[1] |= byte(n)
	case n < 1<<16:
		b[1] |= 126
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b[1] |= 127
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, key[:]...)
	for i, c := range p {
		b = append(b, c^key[i%4])
	}
	return b
}

// event is what next returned: a message or control frame, or a failure
// (code) or the connection's end (code -1).
type event struct {
	op   byte
	p    string
	code int
}

// events reads b with a reader of the given limit until it fails or the
// bytes end.
func events(r io.Reader, limit int64) []event {
	rd := newReader(r, limit)
	var es []event
	for {
		op, p, err := rd.next()
		var f *failure
		switch {
		case errors.As(err, &f):
			return append(es, event{code: f.code})
		case err != nil:
			return append(es, event{code: -1})
		}
		es = append(es, event{op: op, p: string(p)})
	}
}

func TestReader(t *testing.T) {
	t.Parallel()
	cat := func(fs ...[]byte) []byte { return bytes.Join(fs, nil) }
	end := event{code: -1}
	closeP := func(code uint16, why string) []byte { return append(binary.BigEndian.AppendUint16(nil, code), why...) }
	big := bytes.Repeat([]byte("abcdefgh"), 20000) // 160,000 bytes, more than a chunk
	tests := []struct {
		name  string
		in    []byte
		limit int64
		want  []event
	}{
		{"nothing", nil, 0, []event{end}},
		{"a text message", masked(0x81, []byte("hello")), 0, []event{{op: opText, p: "hello"}, end}},
		{"an empty binary message", masked(0x82, nil), 0, []event{{op: opBinary, p: ""}, end}},
		{"a 16-bit length", masked(0x82, bytes.Repeat([]byte{7}, 300)), 0, []event{{op: opBinary, p: string(bytes.Repeat([]byte{7}, 300))}, end}},
		{"a 64-bit length, over a chunk", masked(0x82, big), 0, []event{{op: opBinary, p: string(big)}, end}},
		{"fragments with a ping between", cat(masked(0x01, []byte("he")), masked(0x89, []byte("p")), masked(0x80, []byte("llo"))), 0,
			[]event{{op: opPing, p: "p"}, {op: opText, p: "hello"}, end}},
		{"two messages", cat(masked(0x81, []byte("a")), masked(0x82, []byte("b"))), 0, []event{{op: opText, p: "a"}, {op: opBinary, p: "b"}, end}},
		{"a pong", masked(0x8a, []byte("x")), 0, []event{{op: opPong, p: "x"}, end}},
		{"an empty close", masked(0x88, nil), 0, []event{{op: opClose, p: ""}, end}},
		{"a close with a reason", masked(0x88, closeP(1000, "bye")), 0, []event{{op: opClose, p: "\x03\xe8bye"}, end}},
		{"a close code 1014", masked(0x88, closeP(1014, "")), 0, []event{{op: opClose, p: "\x03\xf6"}, end}},
		{"a 1-byte close", masked(0x88, []byte{3}), 0, []event{{code: closeProtocol}}},
		{"a close code 1005", masked(0x88, closeP(1005, "")), 0, []event{{code: closeProtocol}}},
		{"a close code 2999", masked(0x88, closeP(2999, "")), 0, []event{{code: closeProtocol}}},
		{"a close code 5000", masked(0x88, closeP(5000, "")), 0, []event{{code: closeProtocol}}},
		{"a close reason not UTF-8", masked(0x88, closeP(1000, "\xff")), 0, []event{{code: closeNotUTF8}}},
		{"text not UTF-8", masked(0x81, []byte("\xc0\x80")), 0, []event{{code: closeNotUTF8}}},
		{"text not UTF-8 across fragments", cat(masked(0x01, []byte("\xe2\x82")), masked(0x80, []byte("x"))), 0, []event{{code: closeNotUTF8}}},
		{"a character split between fragments", cat(masked(0x01, []byte("\xe2\x82")), masked(0x80, []byte("\xac"))), 0, []event{{op: opText, p: "€"}, end}},
		{"RSV1", masked(0xc1, []byte("x")), 0, []event{{code: closeProtocol}}},
		{"RSV3 on a ping", masked(0x99, nil), 0, []event{{code: closeProtocol}}},
		{"opcode 3", masked(0x83, nil), 0, []event{{code: closeProtocol}}},
		{"opcode 0xF", masked(0x8f, nil), 0, []event{{code: closeProtocol}}},
		{"unmasked", []byte{0x81, 0x01, 'x'}, 0, []event{{code: closeProtocol}}},
		{"a fragmented ping", masked(0x09, nil), 0, []event{{code: closeProtocol}}},
		{"a ping of 126 bytes", masked(0x89, make([]byte, 126)), 0, []event{{code: closeProtocol}}},
		{"a continuation first", masked(0x80, []byte("x")), 0, []event{{code: closeProtocol}}},
		{"a message inside a message", cat(masked(0x01, []byte("a")), masked(0x81, []byte("b"))), 0, []event{{code: closeProtocol}}},
		{"a 64-bit length with its top bit set", []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}, 0, []event{{code: closeProtocol}}},
		{"at the limit", masked(0x82, make([]byte, 10)), 10, []event{{op: opBinary, p: string(make([]byte, 10))}, end}},
		{"over the limit", masked(0x82, make([]byte, 11)), 10, []event{{code: closeTooBig}}},
		{"over the limit in fragments", cat(masked(0x02, make([]byte, 6)), masked(0x80, make([]byte, 5))), 10, []event{{code: closeTooBig}}},
		{"the limit counts each message afresh", cat(masked(0x82, make([]byte, 10)), masked(0x82, make([]byte, 10))), 10,
			[]event{{op: opBinary, p: string(make([]byte, 10))}, {op: opBinary, p: string(make([]byte, 10))}, end}},
		{"a frame cut short", masked(0x81, []byte("hello"))[:8], 0, []event{end}},
		{"a header cut short", masked(0x82, make([]byte, 300))[:3], 0, []event{end}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Whole, and a byte at a time: the same.
			for _, r := range []io.Reader{bytes.NewReader(tt.in), iotest.OneByteReader(bytes.NewReader(tt.in))} {
				got := events(r, tt.limit)
				if len(got) != len(tt.want) {
					t.Fatalf("got %d events %+v, want %+v", len(got), trim(got), trim(tt.want))
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Errorf("event %d: got %+v, want %+v", i, trim(got[i:i+1]), trim(tt.want[i:i+1]))
					}
				}
			}
		})
	}
}

// trim shortens long payloads for a failure's message.
func trim(es []event) []event {
	out := make([]event, len(es))
	for i, e := range es {
		if len(e.p) > 20 {
			e.p = e.p[:20] + "..."
		}
		out[i] = e
	}
	return out
}

// TestReaderUntilClose: once decoy has closed, the rest of the frame
// being read is dropped, then whole frames unchecked, up to the client's
// close frame.
func TestReaderUntilClose(t *testing.T) {
	t.Parallel()
	over := masked(0x82, make([]byte, 100))
	in := bytes.Join([][]byte{over, masked(0xc3, []byte("bad")), {0x81, 0x01, 'x'}, masked(0x88, nil), masked(0x81, []byte("after"))}, nil)
	rd := newReader(bytes.NewReader(in), 10)
	var f *failure
	if _, _, err := rd.next(); !errors.As(err, &f) || f.code != closeTooBig {
		t.Fatalf("got %v, want a failure with 1009", err)
	}
	if err := rd.untilClose(); err != nil {
		t.Fatalf("untilClose: %v", err)
	}
	// What follows the close frame is left unread.
	if rest, _ := io.ReadAll(rd.br); !bytes.Equal(rest, masked(0x81, []byte("after"))) {
		t.Errorf("left %x", rest)
	}
	if err := newReader(bytes.NewReader(over[:20]), 0).untilClose(); err != io.EOF {
		t.Errorf("untilClose at the end of the stream: %v", err)
	}
}

func TestUnmask(t *testing.T) {
	t.Parallel()
	key := [4]byte{1, 2, 3, 4}
	for n := range 40 {
		for pos := range 4 {
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(i * 7)
			}
			want := bytes.Clone(p)
			for i := range want {
				want[i] ^= key[(pos+i)%4]
			}
			unmask(key, pos, p)
			if !bytes.Equal(p, want) {
				t.Fatalf("n %d pos %d: %x, want %x", n, pos, p, want)
			}
		}
	}
}

// FuzzReader: whatever a client sends, the reader does not panic, hands
// out text that is UTF-8 and messages within the limit, fails with a code
// RFC 6455 has for it and a reason that fits a close frame, and reads the
// bytes the same however they arrive.
func FuzzReader(f *testing.F) {
	f.Add(masked(0x81, []byte("hello")))
	f.Add(append(masked(0x01, []byte("he")), masked(0x80, []byte("llo"))...))
	f.Add(masked(0x88, []byte{3, 0xe8, 'o', 'k'}))
	f.Add([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4})
	f.Add(masked(0x82, make([]byte, 300)))
	f.Fuzz(func(t *testing.T, b []byte) {
		const limit = 1000
		rd := newReader(bytes.NewReader(b), limit)
		for {
			op, p, err := rd.next()
			var fl *failure
			if errors.As(err, &fl) {
				if fl.code != closeProtocol && fl.code != closeNotUTF8 && fl.code != closeTooBig || len(fl.reason) > 123 {
					t.Fatalf("failure %d %q", fl.code, fl.reason)
				}
				break
			}
			if err != nil {
				break
			}
			switch {
			case op == opText && !utf8.Valid(p):
				t.Fatalf("text not UTF-8: %q", p)
			case len(p) > limit:
				t.Fatalf("a message of %d bytes, over %d", len(p), limit)
			case op >= opClose && len(p) > 125:
				t.Fatalf("a control frame of %d bytes", len(p))
			}
		}
		whole, bytewise := events(bytes.NewReader(b), limit), events(iotest.OneByteReader(bytes.NewReader(b)), limit)
		if len(whole) != len(bytewise) {
			t.Fatalf("whole %v, a byte at a time %v", whole, bytewise)
		}
		for i := range whole {
			if whole[i] != bytewise[i] {
				t.Fatalf("event %d: whole %v, a byte at a time %v", i, whole[i], bytewise[i])
			}
		}
	})
}

// BenchmarkReaderEcho reads 1 KiB text messages, as an echo stub does: no
// allocation per message.
func BenchmarkReaderEcho(b *testing.B) {
	msg := masked(0x81, bytes.Repeat([]byte("decoy ws "), 114)[:1024])
	in := bytes.Repeat(msg, 256)
	br := bytes.NewReader(in)
	rd := newReader(br, 64<<20)
	b.SetBytes(1024)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%256 == 0 {
			br.Reset(in)
			rd.br.Reset(br)
		}
		if _, _, err := rd.next(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestReaderAllocs(t *testing.T) {
	msg := masked(0x81, bytes.Repeat([]byte("decoy ws "), 114)[:1024])
	in := bytes.Repeat(msg, 110)
	br := bytes.NewReader(in)
	rd := newReader(br, 64<<20)
	if _, _, err := rd.next(); err != nil { // the first message sizes the buffer
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, _, err := rd.next(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per message, want 0", n)
	}
}
