package httpfront_test

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/httpfront"
)

// The conformance tests speak raw RFC 6455 frames to the real server over
// TCP, case by case after the categories of the Autobahn|Testsuite that
// apply to a server: 1 (echo of every length), 2 (ping and pong), 3
// (reserved bits), 4 (reserved opcodes), 5 (fragmentation), 6 (UTF-8), 7
// (the closing handshake), 9 (large messages), 10 (1-byte fragments), and
// unmasked client frames. Each case checks what decoy sends, frame by
// frame, and that it then closes the connection cleanly (the end of the
// stream, not a reset).

// Opcodes and the FIN bit.
const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
	finBit   = 0x80
)

// maskKey masks every client frame; not zero, so that a server that
// forgot to unmask would echo garbage.
var maskKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// out is a frame the client sends: its first byte (FIN, RSV bits,
// opcode), its payload, and whether it is sent unmasked.
type out struct {
	b0       byte
	payload  []byte
	unmasked bool
}

func (o out) bytes() []byte {
	n := len(o.payload)
	b := []byte{o.b0, 0}
	switch {
	case n < 126:
		b[1] = byte(n)
	case n < 1<<16:
		b[1] = 126
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b[1] = 127
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if o.unmasked {
		return append(b, o.payload...)
	}
	b[1] |= 0x80
	b = append(b, maskKey[:]...)
	start := len(b)
	b = append(b, o.payload...)
	for i := range o.payload {
		b[start+i] ^= maskKey[i%4]
	}
	return b
}

// Client frames.
func text(s string) out          { return out{b0: finBit | opText, payload: []byte(s)} }
func binaryMsg(p []byte) out     { return out{b0: finBit | opBinary, payload: p} }
func ping(p string) out          { return out{b0: finBit | opPing, payload: []byte(p)} }
func pong(p string) out          { return out{b0: finBit | opPong, payload: []byte(p)} }
func frag(op byte, p string) out { return out{b0: op, payload: []byte(p)} }              // FIN clear
func last(p string) out          { return out{b0: finBit | opCont, payload: []byte(p)} } // the final continuation
func closeRaw(p []byte) out      { return out{b0: finBit | opClose, payload: p} }
func closeCode(code int) out     { return closeRaw(binary.BigEndian.AppendUint16(nil, uint16(code))) }
func closeWhy(code int, why string) out {
	return closeRaw(append(binary.BigEndian.AppendUint16(nil, uint16(code)), why...))
}

// in is a message or control frame decoy sends: data messages are
// compared whole (decoy may fragment them), close frames by their code
// alone (-1: an empty close frame).
type in struct {
	op      byte
	payload []byte
	code    int
}

func (i in) String() string {
	switch i.op {
	case opClose:
		return fmt.Sprintf("close %d", i.code)
	case opText, opBinary, opPing, opPong:
		p := i.payload
		if len(p) > 40 {
			return fmt.Sprintf("op %x, %d bytes %q...", i.op, len(p), p[:40])
		}
		return fmt.Sprintf("op %x %q", i.op, p)
	}
	return fmt.Sprintf("op %x", i.op)
}

func echoText(s string) in   { return in{op: opText, payload: []byte(s)} }
func echoBinary(p []byte) in { return in{op: opBinary, payload: p} }
func pongOf(p string) in     { return in{op: opPong, payload: []byte(p)} }
func closed(code int) in     { return in{op: opClose, code: code} }
func protocolError() []in    { return []in{closed(1002)} }
func equal(a, b in) bool {
	return a.op == b.op && a.code == b.code && bytes.Equal(a.payload, b.payload)
}
func repeat(s string, n int) string { return strings.Repeat(s, n) }

// wsConn is a raw connection that did the handshake.
type wsConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

// wsOpen does the opening handshake for path on addr and checks decoy's
// answer: 101, the Upgrade and Connection headers, the accept key
// (RFC 6455 section 4.2.2), no extension.
func wsOpen(t *testing.T, addr, path string, extra ...string) *wsConn {
	t.Helper()
	return wsOpenWith(t, func() (net.Conn, error) { return net.Dial("tcp", addr) }, path, extra...)
}

// wsOpenWith is wsOpen on a connection from dial.
func wsOpenWith(t *testing.T, dial func() (net.Conn, error), path string, extra ...string) *wsConn {
	t.Helper()
	nc, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	// A safety net, not part of any check: a case that hangs fails.
	_ = nc.SetDeadline(time.Now().Add(60 * time.Second))
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	req := "GET " + path + " HTTP/1.1\r\nHost: decoy\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n" + strings.Join(extra, "") + "\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != 101 || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") ||
		!strings.EqualFold(resp.Header.Get("Connection"), "Upgrade") ||
		resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) ||
		resp.Header.Get("Sec-WebSocket-Extensions") != "" {
		t.Fatalf("handshake: %d %v", resp.StatusCode, resp.Header)
	}
	return &wsConn{t: t, nc: nc, br: br}
}

// frame reads one frame from decoy and checks what RFC 6455 asks of a
// server's frame: not masked, no reserved bit, a known opcode, a control
// frame unfragmented and at most 125 bytes, a close code a server may
// send and a reason in UTF-8.
func (w *wsConn) frame() (fin bool, op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(w.br, h[:]); err != nil {
		return false, 0, nil, err
	}
	fin, op = h[0]&finBit != 0, h[0]&0x0f
	var n uint64
	switch l := h[1] & 0x7f; l {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(w.br, b[:]); err != nil {
			return false, 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(w.br, b[:]); err != nil {
			return false, 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	default:
		n = uint64(l)
	}
	switch {
	case h[1]&0x80 != 0:
		return false, 0, nil, fmt.Errorf("decoy masked a frame: % x", h)
	case h[0]&0x70 != 0:
		return false, 0, nil, fmt.Errorf("decoy set a reserved bit: % x", h)
	case op >= 0x8 && (n > 125 || !fin):
		return false, 0, nil, fmt.Errorf("control frame of %d bytes, FIN %v", n, fin)
	case op > opBinary && op != opClose && op != opPing && op != opPong:
		return false, 0, nil, fmt.Errorf("decoy sent opcode %x", op)
	case n > 64<<20:
		return false, 0, nil, fmt.Errorf("a frame of %d bytes", n)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(w.br, payload); err != nil {
		return false, 0, nil, err
	}
	if op == opClose {
		if len(payload) == 1 {
			return false, 0, nil, errors.New("decoy sent a 1-byte close payload")
		}
		if len(payload) >= 2 {
			switch code := binary.BigEndian.Uint16(payload); {
			case code < 1000 || code == 1004 || code == 1005 || code == 1006 || code == 1015 || code >= 5000:
				return false, 0, nil, fmt.Errorf("decoy sent close code %d", code)
			case !utf8.Valid(payload[2:]):
				return false, 0, nil, fmt.Errorf("decoy's close reason %q is not UTF-8", payload[2:])
			}
		}
	}
	return fin, op, payload, nil
}

// next reads decoy's next message or control frame; a data message is
// put together from its fragments, control frames between them are
// returned first as they come (before the message they interrupt).
func (w *wsConn) next() (in, error) {
	var msg *in
	for {
		fin, op, p, err := w.frame()
		if err != nil {
			return in{}, err
		}
		switch {
		case op == opClose:
			c := in{op: opClose, code: -1}
			if len(p) >= 2 {
				c.code = int(binary.BigEndian.Uint16(p))
			}
			if msg != nil {
				return in{}, fmt.Errorf("a close frame inside a fragmented message")
			}
			return c, nil
		case op >= 0x8:
			if msg != nil {
				return in{}, fmt.Errorf("a control frame inside a fragmented message from decoy: not expected here")
			}
			return in{op: op, payload: p}, nil
		case op == opCont && msg == nil, op != opCont && msg != nil:
			return in{}, fmt.Errorf("fragments out of order: opcode %x", op)
		case msg == nil:
			msg = &in{op: op}
		}
		msg.payload = append(msg.payload, p...)
		if fin {
			if msg.payload == nil {
				msg.payload = []byte{}
			}
			return *msg, nil
		}
	}
}

// wsCase is one conformance case: the frames the client sends (written at
// once, or each on its own when apart), and what decoy sends back, the
// last a close frame.
type wsCase struct {
	name  string
	send  []out
	want  []in
	apart bool
}

// run plays c on a new connection to path: the client sends its frames,
// reads decoy's answers up to decoy's close frame, answers that close
// when it did not close first (as RFC 6455 section 5.5.1 asks), and then
// must find the end of the stream: decoy closes the TCP connection
// (section 7.1.1) and sends nothing after its close frame.
func (c wsCase) run(t *testing.T, addr, path string) {
	c.runWith(t, func() (net.Conn, error) { return net.Dial("tcp", addr) }, path)
}

// runWith is run on a connection from dial.
func (c wsCase) runWith(t *testing.T, dial func() (net.Conn, error), path string) {
	conn := wsOpenWith(t, dial, path)
	clientClosed := false
	var all []byte
	for _, o := range c.send {
		clientClosed = clientClosed || o.b0&0x0f == opClose
		if c.apart {
			if _, err := conn.nc.Write(o.bytes()); err != nil {
				t.Fatal(err)
			}
			continue
		}
		all = append(all, o.bytes()...)
	}
	// The client writes while decoy answers: decoy may answer (or fail
	// the connection) before the client is done.
	wrote := make(chan error, 1)
	go func() {
		_, err := conn.nc.Write(all)
		wrote <- err
	}()
	var got []in
	for {
		m, err := conn.next()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, m)
		if m.op == opClose {
			break
		}
	}
	ok := len(got) == len(c.want)
	for i := 0; ok && i < len(got); i++ {
		ok = equal(got[i], c.want[i])
	}
	if !ok {
		t.Errorf("decoy sent %v, want %v", got, c.want)
	}
	if err := <-wrote; err != nil && got[len(got)-1].code < 1002 {
		// Only a connection decoy failed may refuse the rest.
		t.Errorf("writing the case: %v", err)
	}
	if !clientClosed {
		if _, err := conn.nc.Write(closeCode(1000).bytes()); err != nil {
			t.Errorf("answering decoy's close: %v", err)
		}
	}
	if fin, op, p, err := conn.frame(); err != io.EOF {
		t.Errorf("after the closing handshake: %v (frame %x of %d bytes, FIN %v), want the end of the stream", err, op, len(p), fin)
	}
}

// utf8Cases are valid and invalid text for category 6.
var (
	validUTF8 = []string{
		"κόσμε", "Hello-µ@ßöäüàá-UTF-8!!", "\u0080", "\u07ff", "\u0800", "\uffff", "\ufffd",
		"\U00010000", "\U0010ffff", "\U0001f600 grin", "\ufeff BOM",
	}
	invalidUTF8 = map[string]string{
		"a lone continuation byte":       "\x80",
		"overlong NUL":                   "\xc0\x80",
		"overlong slash":                 "\xe0\x80\xaf",
		"a surrogate":                    "\xed\xa0\x80",
		"a surrogate pair":               "\xed\xa0\x80\xed\xb0\x80",
		"beyond U+10FFFF":                "\xf4\x90\x80\x80",
		"5-byte form":                    "\xf8\x88\x80\x80\x80",
		"0xff":                           "\xff",
		"0xfe":                           "\xfe",
		"truncated at the end":           "κόσμε\xce",
		"a start byte before ASCII":      "\xceA",
		"valid then invalid":             "κόσμε\xed\xa0\x80edited",
		"4-byte sequence missing a byte": "\xf0\x9f\x98",
	}
)

// echoCases hold on a stub that echoes.
func echoCases() []wsCase {
	var cs []wsCase
	// 1: text and binary of every length that changes the length's form.
	for _, n := range []int{0, 1, 125, 126, 127, 128, 65535, 65536} {
		s := repeat("*", n)
		p := bytes.Repeat([]byte{0xfe}, n)
		cs = append(cs,
			wsCase{name: fmt.Sprintf("1 text %d bytes", n), send: []out{text(s), closeCode(1000)}, want: []in{echoText(s), closed(1000)}},
			wsCase{name: fmt.Sprintf("1 binary %d bytes", n), send: []out{binaryMsg(p), closeCode(1000)}, want: []in{echoBinary(p), closed(1000)}},
		)
	}
	cs = append(cs, wsCase{name: "1 binary of every byte value", send: []out{binaryMsg(allBytes()), closeCode(1000)},
		want: []in{echoBinary(allBytes()), closed(1000)}})

	// 2: ping and pong.
	p125 := repeat("\xfe", 125)
	cs = append(cs,
		wsCase{name: "2 ping without payload", send: []out{ping(""), closeCode(1000)}, want: []in{pongOf(""), closed(1000)}},
		wsCase{name: "2 ping with text", send: []out{ping("Hello, world!"), closeCode(1000)}, want: []in{pongOf("Hello, world!"), closed(1000)}},
		wsCase{name: "2 ping with binary", send: []out{ping("\x00\xff\xfe\xfd\xfc\xfb\x00\xff"), closeCode(1000)},
			want: []in{pongOf("\x00\xff\xfe\xfd\xfc\xfb\x00\xff"), closed(1000)}},
		wsCase{name: "2 ping of 125 bytes", send: []out{ping(p125), closeCode(1000)}, want: []in{pongOf(p125), closed(1000)}},
		wsCase{name: "2 ping of 126 bytes", send: []out{ping(p125 + "x"), closeCode(1000)}, want: protocolError()},
		wsCase{name: "2 unsolicited pong ignored", send: []out{pong("unsolicited"), text("after"), closeCode(1000)},
			want: []in{echoText("after"), closed(1000)}},
		wsCase{name: "2 unsolicited pong then ping", send: []out{pong("unsolicited"), ping("p"), closeCode(1000)},
			want: []in{pongOf("p"), closed(1000)}},
		wsCase{name: "2 ten pings", send: append(repeatOut(ping("x"), 10), closeCode(1000)),
			want: append(repeatIn(pongOf("x"), 10), closed(1000))},
		wsCase{name: "2 ten pings, one by one", apart: true, send: append(repeatOut(ping("x"), 10), closeCode(1000)),
			want: append(repeatIn(pongOf("x"), 10), closed(1000))},
	)

	// 3: reserved bits, on a frame after one that is answered and before
	// one that must not be.
	for _, rsv := range []byte{0x40, 0x20, 0x10, 0x60, 0x50, 0x30, 0x70} {
		for _, f := range []out{text("reserved"), binaryMsg([]byte{1, 2}), ping("reserved")} {
			f.b0 |= rsv
			cs = append(cs, wsCase{name: fmt.Sprintf("3 RSV %03b on opcode %x", rsv>>4, f.b0&0x0f),
				send: []out{text("before"), f, ping("after")}, want: []in{echoText("before"), closed(1002)}})
		}
	}

	// 4: reserved opcodes, data (3-7) and control (B-F), with and without
	// a payload.
	for op := byte(3); op <= 0xf; op++ {
		if op >= 8 && op <= 0xa {
			continue
		}
		for _, p := range []string{"", "payload"} {
			cs = append(cs, wsCase{name: fmt.Sprintf("4 opcode %x, %d bytes", op, len(p)),
				send: []out{text("before"), {b0: finBit | op, payload: []byte(p)}, ping("after")},
				want: []in{echoText("before"), closed(1002)}})
		}
	}

	// 5: fragmentation.
	cs = append(cs,
		wsCase{name: "5 fragmented ping", send: []out{frag(opPing, "frag"), last("ment")}, want: protocolError()},
		wsCase{name: "5 fragmented pong", send: []out{frag(opPong, "frag"), last("ment")}, want: protocolError()},
		wsCase{name: "5 text in 2 fragments", send: []out{frag(opText, "frag"), last("ment"), closeCode(1000)},
			want: []in{echoText("fragment"), closed(1000)}},
		wsCase{name: "5 text in 2 fragments, one by one", apart: true, send: []out{frag(opText, "frag"), last("ment"), closeCode(1000)},
			want: []in{echoText("fragment"), closed(1000)}},
		wsCase{name: "5 binary in 3 fragments", send: []out{frag(opBinary, "\x00"), frag(opCont, "\x01"), last("\xff"), closeCode(1000)},
			want: []in{echoBinary([]byte{0, 1, 0xff}), closed(1000)}},
		wsCase{name: "5 empty fragments", send: []out{frag(opText, ""), frag(opCont, ""), last(""), closeCode(1000)},
			want: []in{echoText(""), closed(1000)}},
		wsCase{name: "5 ping between fragments", send: []out{frag(opText, "frag"), ping("between"), last("ment"), closeCode(1000)},
			want: []in{pongOf("between"), echoText("fragment"), closed(1000)}},
		wsCase{name: "5 pong between fragments", send: []out{frag(opText, "frag"), pong("between"), last("ment"), closeCode(1000)},
			want: []in{echoText("fragment"), closed(1000)}},
		wsCase{name: "5 pings between 5 fragments, one by one", apart: true,
			send: []out{frag(opText, "a"), ping("1"), frag(opCont, "b"), ping("2"), frag(opCont, "c"), ping("3"), frag(opCont, "d"), ping("4"), last("e"), closeCode(1000)},
			want: []in{pongOf("1"), pongOf("2"), pongOf("3"), pongOf("4"), echoText("abcde"), closed(1000)}},
		wsCase{name: "5 continuation without a message", send: []out{last("orphan"), text("after")}, want: protocolError()},
		wsCase{name: "5 unfinished continuation without a message", send: []out{frag(opCont, "orphan"), last("x"), text("after")}, want: protocolError()},
		wsCase{name: "5 continuation after a whole message", send: []out{frag(opText, "frag"), last("ment"), frag(opCont, "again"), last("x")},
			want: []in{echoText("fragment"), closed(1002)}},
		wsCase{name: "5 text inside a fragmented message", send: []out{frag(opText, "frag"), text("new"), last("ment")}, want: protocolError()},
		wsCase{name: "5 binary inside a fragmented message", send: []out{frag(opBinary, "frag"), binaryMsg([]byte("new")), last("ment")}, want: protocolError()},
		wsCase{name: "5 fragmented text inside a fragmented message", send: []out{frag(opText, "a"), frag(opText, "b"), last("c")}, want: protocolError()},
		wsCase{name: "5 fragmented close", send: []out{frag(opClose, "\x03"), last("\xe8")}, want: protocolError()},
	)

	// 6: UTF-8, whole and across fragments, split anywhere.
	for _, s := range validUTF8 {
		cs = append(cs, wsCase{name: "6 valid " + s, send: []out{text(s), closeCode(1000)}, want: []in{echoText(s), closed(1000)}})
	}
	greek := "κόσμε"
	split := []out{frag(opText, greek[:1])}
	for i := 1; i < len(greek)-1; i++ {
		split = append(split, frag(opCont, greek[i:i+1]))
	}
	split = append(split, last(greek[len(greek)-1:]), closeCode(1000))
	cs = append(cs,
		wsCase{name: "6 valid, a byte a fragment", send: split, want: []in{echoText(greek), closed(1000)}},
		wsCase{name: "6 valid, split inside a character", send: []out{frag(opText, "κ\xcf"), last("\x8cσμε"), closeCode(1000)},
			want: []in{echoText(greek), closed(1000)}},
	)
	for name, s := range invalidUTF8 {
		cs = append(cs,
			wsCase{name: "6 invalid: " + name, send: []out{text(s), ping("after")}, want: []in{closed(1007)}},
			wsCase{name: "6 invalid across fragments: " + name, send: []out{frag(opText, "ok "), last(s), ping("after")}, want: []in{closed(1007)}},
		)
	}
	cs = append(cs,
		wsCase{name: "6 invalid, a byte a fragment", send: []out{frag(opText, "\xed"), frag(opCont, "\xa0"), last("\x80")}, want: []in{closed(1007)}},
		wsCase{name: "6 truncated at the end of the last fragment", send: []out{frag(opText, "κό"), last("σμ\xce")}, want: []in{closed(1007)}},
		wsCase{name: "6 invalid binary is not text", send: []out{binaryMsg([]byte("\xed\xa0\x80")), closeCode(1000)},
			want: []in{echoBinary([]byte("\xed\xa0\x80")), closed(1000)}},
	)

	// 7: the closing handshake.
	cs = append(cs,
		wsCase{name: "7 text then close", send: []out{text("bye"), closeCode(1000)}, want: []in{echoText("bye"), closed(1000)}},
		wsCase{name: "7 two closes", send: []out{closeCode(1000), closeCode(1001)}, want: []in{closed(1000)}},
		wsCase{name: "7 ping after close", send: []out{closeCode(1000), ping("after")}, want: []in{closed(1000)}},
		wsCase{name: "7 text after close", send: []out{closeCode(1000), text("after")}, want: []in{closed(1000)}},
		wsCase{name: "7 close inside a fragmented message", send: []out{frag(opText, "frag"), closeCode(1000), last("ment")}, want: []in{closed(1000)}},
		wsCase{name: "7 close without payload", send: []out{closeRaw(nil)}, want: []in{closed(-1)}},
		wsCase{name: "7 close with a 1-byte payload", send: []out{closeRaw([]byte{0x03})}, want: protocolError()},
		wsCase{name: "7 close with a reason", send: []out{closeWhy(1000, "Hello World!")}, want: []in{closed(1000)}},
		wsCase{name: "7 close with a 123-byte reason", send: []out{closeWhy(1000, repeat("*", 123))}, want: []in{closed(1000)}},
		wsCase{name: "7 close with a 124-byte reason", send: []out{closeWhy(1000, repeat("*", 124))}, want: protocolError()},
		wsCase{name: "7 close with a UTF-8 reason", send: []out{closeWhy(1000, greek)}, want: []in{closed(1000)}},
		wsCase{name: "7 close with a reason not UTF-8", send: []out{closeWhy(1000, "κόσμε\xed\xa0\x80edited")}, want: []in{closed(1007)}},
	)
	for _, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		cs = append(cs, wsCase{name: fmt.Sprintf("7 close code %d echoed", code), send: []out{closeCode(code)}, want: []in{closed(code)}})
	}
	for _, code := range []int{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		cs = append(cs, wsCase{name: fmt.Sprintf("7 close code %d refused", code), send: []out{closeCode(code)}, want: protocolError()})
	}

	// 9: large messages, whole and in 64 KiB fragments.
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	huge := bytes.Repeat(big, 16)                          // 16 MiB
	cs = append(cs,
		wsCase{name: "9 text of 1 MiB", send: []out{text(string(big)), closeCode(1000)}, want: []in{echoText(string(big)), closed(1000)}},
		wsCase{name: "9 binary of 16 MiB", send: []out{binaryMsg(huge), closeCode(1000)}, want: []in{echoBinary(huge), closed(1000)}},
		wsCase{name: "9 binary of 16 MiB in 64 KiB fragments", send: append(chop(opBinary, huge, 64<<10), closeCode(1000)),
			want: []in{echoBinary(huge), closed(1000)}},
	)

	// 10: a message the client fragments into 1-byte frames.
	s := repeat("é*", 1<<14) // 64 KiB, with 2-byte characters cut in two
	cs = append(cs, wsCase{name: "10 text of 64 KiB in 1-byte frames", send: append(chop(opText, []byte(s), 1), closeCode(1000)),
		want: []in{echoText(s), closed(1000)}})

	// Client frames must be masked (RFC 6455 section 5.1).
	unmasked := func(o out) out { o.unmasked = true; return o }
	cs = append(cs,
		wsCase{name: "unmasked text", send: []out{unmasked(text("plain"))}, want: protocolError()},
		wsCase{name: "unmasked ping", send: []out{unmasked(ping("plain"))}, want: protocolError()},
		wsCase{name: "unmasked close", send: []out{unmasked(closeCode(1000))}, want: protocolError()},
		wsCase{name: "unmasked fragment", send: []out{frag(opText, "a"), unmasked(last("b"))}, want: protocolError()},
	)
	return cs
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func repeatOut(o out, n int) []out {
	os := make([]out, n)
	for i := range os {
		os[i] = o
	}
	return os
}

func repeatIn(m in, n int) []in {
	ms := make([]in, n)
	for i := range ms {
		ms[i] = m
	}
	return ms
}

// chop sends p as one message of opcode op in frames of size bytes.
func chop(op byte, p []byte, size int) []out {
	var os []out
	for i := 0; i < len(p); i += size {
		f := out{b0: opCont, payload: p[i:min(i+size, len(p))]}
		if i == 0 {
			f.b0 = op
		}
		if i+size >= len(p) {
			f.b0 |= finBit
		}
		os = append(os, f)
	}
	return os
}

// hasData tells whether decoy's answers in ms include a data message:
// such a case needs a stub that echoes.
func hasData(ms []in) bool {
	for _, m := range ms {
		if m.op == opText || m.op == opBinary {
			return true
		}
	}
	return false
}

// TestWebSocketConformance plays every case on a stub that echoes, and
// every case whose answer has no data message on a stub with a script
// too: a script stub checks what the client sends as an echo stub does.
func TestWebSocketConformance(t *testing.T) {
	t.Parallel()
	addr, _, _ := startWS(t, httpfront.Options{})
	for _, c := range echoCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, addr, "/ws/echo")
		})
		if !hasData(c.want) && !hasData(ins(c.send)) {
			t.Run("script "+c.name, func(t *testing.T) {
				t.Parallel()
				c.run(t, addr, "/ws/chat")
			})
		}
	}
}

// ins reads the client's frames as what an echo would send back: a case
// that sends a data message only makes sense on the echo stub.
func ins(os []out) []in {
	var ms []in
	for _, o := range os {
		ms = append(ms, in{op: o.b0 & 0x0f})
	}
	return ms
}

// TestWebSocketConformanceScript: a script stub answers messages put
// together from fragments, checks their UTF-8 before matching, and
// answers pings.
func TestWebSocketConformanceScript(t *testing.T) {
	t.Parallel()
	addr, _, _ := startWS(t, httpfront.Options{})
	for _, c := range []wsCase{
		{name: "a message that matches", send: []out{text("ping"), closeCode(1000)}, want: []in{echoText("pong"), closed(1000)}},
		{name: "a fragmented message that matches", send: []out{frag(opText, "pi"), ping("between"), last("ng"), closeCode(1000)},
			want: []in{pongOf("between"), echoText("pong"), closed(1000)}},
		{name: "a message that matches in 1-byte frames", send: append(chop(opText, []byte("xxping"), 1), closeCode(1000)),
			want: []in{echoText("pong"), closed(1000)}},
		{name: "a message that matches but is not UTF-8", send: []out{text("ping\xff")}, want: []in{closed(1007)}},
		{name: "a message that matches after a bad one", send: []out{text("\xed\xa0\x80"), text("ping")}, want: []in{closed(1007)}},
		{name: "the script's close", send: []out{text(`{"type":"subscribe"}`), text("ping")}, want: []in{echoText(`{"ok":true}`), closed(4000)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, addr, "/ws/chat")
		})
	}
}

// TestWebSocketMessageLimit: a message over max-body-bytes, whole or in
// fragments, fails the connection with 1009; one at the limit is echoed.
func TestWebSocketMessageLimit(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	addr, _, _ := startWS(t, httpfront.Options{MaxBodyBytes: limit})
	at := bytes.Repeat([]byte{'x'}, limit)
	over := append(bytes.Clone(at), 'x')
	for _, c := range []wsCase{
		{name: "at the limit", send: []out{binaryMsg(at), closeCode(1000)}, want: []in{echoBinary(at), closed(1000)}},
		{name: "at the limit in fragments", send: append(chop(opBinary, at, 1000), closeCode(1000)), want: []in{echoBinary(at), closed(1000)}},
		{name: "over the limit", send: []out{binaryMsg(over)}, want: []in{closed(1009)}},
		{name: "over the limit in fragments", send: chop(opText, over, 4096), want: []in{closed(1009)}},
		{name: "over the limit after a message", send: []out{text("ok"), binaryMsg(over)}, want: []in{echoText("ok"), closed(1009)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, addr, "/ws/echo")
		})
	}
}

// TestWebSocketDeclinesCompression: a client that offers permessage-deflate
// (as browsers, Node's ws and Python's websockets do) gets a 101 without
// the extension (wsOpen checks), and its uncompressed messages are echoed;
// a frame then sent compressed (RSV1) is refused, as no extension was
// agreed.
func TestWebSocketDeclinesCompression(t *testing.T) {
	t.Parallel()
	addr, _, _ := startWS(t, httpfront.Options{})
	const offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
	for _, path := range []string{"/ws/echo", "/ws/chat"} {
		conn := wsOpen(t, addr, path, offer)
		compressed := text("ping")
		compressed.b0 |= 0x40
		if _, err := conn.nc.Write(append(text("ping").bytes(), compressed.bytes()...)); err != nil {
			t.Fatal(err)
		}
		want := []in{echoText("ping"), closed(1002)}
		if path == "/ws/chat" {
			want[0] = echoText("pong")
		}
		for i, w := range want {
			m, err := conn.next()
			if err != nil || !equal(m, w) {
				t.Fatalf("%s: message %d: %v %v, want %v", path, i, m, err, w)
			}
		}
	}
}

// TestWebSocketConformanceTLS plays the cases on the TLS port (HTTP/1.1 by
// ALPN): the same answers, and the end of the stream after the closing
// handshake. The largest cases are left to the plaintext test.
func TestWebSocketConformanceTLS(t *testing.T) {
	t.Parallel()
	_, store, err := config.BuildBytes("ws.yaml", []byte(wsStubs))
	if err != nil {
		t.Fatal(err)
	}
	f := startStore(t, store, httpfront.Options{})
	dial := func() (net.Conn, error) {
		return tls.Dial("tcp", f.https, &tls.Config{RootCAs: f.roots, NextProtos: []string{"http/1.1"}})
	}
	for _, c := range echoCases() {
		if strings.HasPrefix(c.name, "9 ") || strings.HasPrefix(c.name, "10 ") {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.runWith(t, dial, "/ws/echo")
		})
	}
}

// TestWebSocketCloseWithDataBehind: a client that sends more after its
// close frame (a large message still on its way, which RFC 6455 forbids
// but clients do when they close mid-send) gets decoy's close frame, then
// the end of the stream; the bytes left unread at decoy's close must not
// turn it into a reset, which can discard the close frame before the
// client reads it.
func TestWebSocketCloseWithDataBehind(t *testing.T) {
	t.Parallel()
	_, store, err := config.BuildBytes("ws.yaml", []byte(wsStubs))
	if err != nil {
		t.Fatal(err)
	}
	f := startStore(t, store, httpfront.Options{})
	dials := map[string]func() (net.Conn, error){
		"plaintext": func() (net.Conn, error) { return net.Dial("tcp", f.http) },
		"TLS": func() (net.Conn, error) {
			return tls.Dial("tcp", f.https, &tls.Config{RootCAs: f.roots, NextProtos: []string{"http/1.1"}})
		},
	}
	for name, dial := range dials {
		for _, path := range []string{"/ws/echo", "/ws/chat"} {
			t.Run(name+" "+path, func(t *testing.T) {
				t.Parallel()
				conn := wsOpenWith(t, dial, path)
				late := binaryMsg(bytes.Repeat([]byte{'x'}, 512<<10)).bytes()
				sent := make(chan error, 1)
				go func() {
					_, err := conn.nc.Write(append(closeCode(1000).bytes(), late...))
					sent <- err
				}()
				m, err := conn.next()
				if err != nil || !equal(m, closed(1000)) {
					t.Fatalf("after the close frame: %v %v, want %v", m, err, closed(1000))
				}
				if _, err := conn.br.ReadByte(); err != io.EOF {
					t.Fatalf("after decoy's close frame: %v, want the end of the stream", err)
				}
				_ = conn.nc.Close()
				if err := <-sent; err != nil {
					t.Logf("the client's write: %v", err)
				}
			})
		}
	}
}
