package h1loop

import (
	"bytes"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	const max = 256
	const host = "Host: x\r\n"
	for _, tt := range []struct {
		name, in string
		status   int
		why      string // the start of Verdict.Why
		quote    string
	}{
		// Nothing wrong, or nothing Check judges: the full server decides.
		{"plain", "GET / HTTP/1.1\r\n" + host + "\r\n", 0, "", ""},
		{"pipelined, then garbage", "GET / HTTP/1.1\r\n" + host + "\r\nBROKEN\r\n\r\n", 0, "", ""},
		{"http/1.0 without host", "GET / HTTP/1.0\r\n\r\n", 0, "", ""},
		{"leading empty lines", "\r\n\nGET / HTTP/1.1\r\n" + host + "\r\n", 0, "", ""},
		{"h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0, "", ""},
		{"h2 preface, its start", "PRI * HTTP/2", 0, "", ""},
		{"first line not all here", "hello wor", 0, "", ""},
		{"header not all here", "GET / HTTP/1.1\r\nNo colon yet", 0, "", ""},
		{"absolute form", "GET http://x/ HTTP/1.1\r\n" + host + "\r\n", 0, "", ""},
		{"asterisk form", "OPTIONS * HTTP/1.1\r\n" + host + "\r\n", 0, "", ""},
		{"authority form", "CONNECT x:443 HTTP/1.1\r\n" + host + "\r\n", 0, "", ""},
		{"bad request line, rest not here", "GET  / HTTP/1.1\r\nHos", 400, "the request line is not", "GET  / HTTP/1.1"},
		{"obs-text in target and value", "GET /\xff HTTP/1.1\r\n" + host + "X: \xfe\r\n\r\n", 0, "", ""},
		{"empty value", "GET / HTTP/1.1\r\n" + host + "X:\r\n\r\n", 0, "", ""},
		{"tab in value", "GET / HTTP/1.1\r\n" + host + "X: a\tb\r\n\r\n", 0, "", ""},
		{"odd host", "GET / HTTP/1.1\r\nHost: x y\r\n\r\n", 0, "", ""},
		{"content-length past any limit", "POST / HTTP/1.1\r\n" + host + "Content-Length: 999999999999999999\r\n\r\n", 0, "", ""},
		{"chunked, well formed", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\nA\r\n0123456789\r\n0\r\nT: 1\r\n\r\n", 0, "", ""},
		{"chunked, not all here", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n10\r\nabc", 0, "", ""},
		{"chunked, size line not all here", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n1f;a=", 0, "", ""},
		{"chunked, trailer not all here", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1", 0, "", ""},
		{"chunked codings in one list, spaced", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: ,\tCHUNKED \r\n\r\n0\r\n\r\n", 0, "", ""},

		// No HTTP/1.x request line: closed without an answer.
		{"garbage", "hello world, no request here\r\n\r\n", NotHTTP, "", "hello world, no request here"},
		{"control bytes", "\x00\x01\x02garbage\r\n\r\n", NotHTTP, "", "\x00\x01\x02garbage"},
		{"no version", "GET /\r\n\r\n", NotHTTP, "", "GET /"},
		{"version then more", "GET / HTTP/1.1 x\r\n\r\n", NotHTTP, "", "GET / HTTP/1.1 x"},
		{"the h2 preface, then no h2", "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", NotHTTP, "", "PRI * HTTP/2.0"},
		{"http/2.0 line", "GET / HTTP/2.0\r\n\r\n", 505, "HTTP version HTTP/2.0 is not supported", "GET / HTTP/2.0"},
		{"other 1.x version", "GET / HTTP/1.2\r\n" + host + "\r\n", 505, "HTTP version HTTP/1.2 is not supported", "GET / HTTP/1.2"},
		{"malformed version", "GET / HTTP/1.10\r\n" + host + "\r\n", 400, "the HTTP version is malformed", "GET / HTTP/1.10"},
		{"first line only, bad", "hello\r\n", NotHTTP, "", "hello"},

		// Too large.
		{"headers past the limit", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", max) + "\r\n\r\n", 431, "", ""},
		{"no end within the limit", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", max), 431, "", ""},
		{"first line past the limit", "GET /" + strings.Repeat("a", max), 414, "the request line exceeds", "GET /" + strings.Repeat("a", max)},
		{"whole first line past the limit", "GET /" + strings.Repeat("a", max) + " HTTP/1.1\r\n", 414, "the request line exceeds", "GET /" + strings.Repeat("a", max) + " HTTP/1.1"},
		{"first line past the limit, after empty lines", "\r\nGET /" + strings.Repeat("a", max), 414, "the request line exceeds", "GET /" + strings.Repeat("a", max)},
		{"past the limit, an h2c upgrade", "GET / HTTP/1.1\r\nUpgrade: h2c\r\nX: " + strings.Repeat("a", max) + "\r\n\r\n", 431, "", ""},

		// Refused with 400.
		{"bare LF line ends", "GET / HTTP/1.1\nHost: x\nno colon\n\n", 400, "a line ends in a bare LF", "GET / HTTP/1.1"},
		{"bare LF inside", "GET / HTTP/1.1\r\nHost: x\nno colon\r\n\r\n", 400, "a line ends in a bare LF", "Host: x"},
		{"bare LF, empty line", "GET / HTTP/1.1\r\nHost: x\r\n\n", 400, "a line ends in a bare LF", ""},
		{"method not a token", "G@T / HTTP/1.1\r\n" + host + "\r\n", 400, "the request line does not start", "G@T / HTTP/1.1"},
		{"leading space", " GET / HTTP/1.1\r\n" + host + "\r\n", 400, "the request line does not start", " GET / HTTP/1.1"},
		{"tab for space", "GET\t/ HTTP/1.1\r\n" + host + "\r\n", 400, "the request line does not start", "GET\t/ HTTP/1.1"},
		{"two spaces", "GET  / HTTP/1.1\r\n" + host + "\r\n", 400, "the request line is not", "GET  / HTTP/1.1"},
		{"space in target", "GET /a b HTTP/1.1\r\n" + host + "\r\n", 400, "the request line is not", "GET /a b HTTP/1.1"},
		{"control byte in target", "GET /a\x01 HTTP/1.1\r\n" + host + "\r\n", 400, "the request target", "GET /a\x01 HTTP/1.1"},
		{"target of no form", "GET users HTTP/1.1\r\n" + host + "\r\n", 400, "the request target is none", "GET users HTTP/1.1"},
		{"asterisk for GET", "GET * HTTP/1.1\r\n" + host + "\r\n", 400, "the request target is none", "GET * HTTP/1.1"},
		{"scheme of no form", "GET 1x://y/ HTTP/1.1\r\n" + host + "\r\n", 400, "the request target is none", "GET 1x://y/ HTTP/1.1"},
		{"DEL in target", "GET /a\x7f HTTP/1.1\r\n" + host + "\r\n", 400, "the request target", "GET /a\x7f HTTP/1.1"},
		{"white space before the first field", "GET / HTTP/1.1\r\n X: y\r\n" + host + "\r\n", 400, "white space between the request line", "GET / HTTP/1.1"},
		{"no colon", "GET / HTTP/1.1\r\n" + host + "no colon here\r\n\r\n", 400, "a header line has no colon", "no colon here"},
		{"NUL line", "GET / HTTP/1.1\r\n" + host + "\x00\r\n\r\n", 400, "a header line has no colon", "\x00"},
		{"no name", "GET / HTTP/1.1\r\n" + host + ": v\r\n\r\n", 400, "a header field has no name", ": v"},
		{"space before colon", "GET / HTTP/1.1\r\n" + host + "X-A : v\r\n\r\n", 400, "white space between", "X-A : v"},
		{"control byte in name", "GET / HTTP/1.1\r\n" + host + "X\x01Y: v\r\n\r\n", 400, "a header field name", "X\x01Y: v"},
		{"separator in name", "GET / HTTP/1.1\r\n" + host + "X@Y: v\r\n\r\n", 400, "a header field name", "X@Y: v"},
		{"CR in value", "GET / HTTP/1.1\r\n" + host + "X: a\rb\r\n\r\n", 400, "a header field value", "X: a\rb"},
		{"DEL in value", "GET / HTTP/1.1\r\n" + host + "X: a\x7f\r\n\r\n", 400, "a header field value", "X: a\x7f"},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400, "more than one Host", "host: b"},
		{"no host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 400, "an HTTP/1.1 request without a Host", "GET / HTTP/1.1"},
		{"two lengths", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1\r\nContent-Length: 1\r\n\r\na", 400, "more than one Content-Length", "Content-Length: 1"},
		{"length not a number", "POST / HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n", 400, "Content-Length is not a number", "Content-Length: -1"},
		{"length empty", "POST / HTTP/1.1\r\n" + host + "Content-Length:\r\n\r\n", 400, "Content-Length is not a number", "Content-Length:"},
		{"length and chunked", "POST / HTTP/1.1\r\n" + host + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "both Transfer-Encoding", "Transfer-Encoding: chunked"},
		{"other coding", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n", 400, "chunked is not the final transfer coding", "Transfer-Encoding: gzip"},
		{"chunked not last", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, identity\r\n\r\n", 400, "chunked is not the final transfer coding", "Transfer-Encoding: chunked, identity"},
		{"chunked twice", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400, "chunked is applied more than once", "Transfer-Encoding: chunked, chunked"},
		{"no coding", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: ,\r\n\r\n", 400, "Transfer-Encoding names no transfer coding", "Transfer-Encoding: ,"},
		{"coding not a token", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chun\"ked\r\n\r\n", 400, "a transfer coding is no token", "Transfer-Encoding: chun\"ked"},
		{"obs-fold", "GET / HTTP/1.1\r\n" + host + "X: a\r\n b\r\n\r\n", 400, "a header field is folded", " b"},
		{"space inside a name", "GET / HTTP/1.1\r\n" + host + "X Y: v\r\n\r\n", 400, "a header field name", "X Y: v"},
		{"empty host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 400, "the Host header field is empty", "Host:"},
		{"fragment", "GET /a#b HTTP/1.1\r\n" + host + "\r\n", 400, "the request target has a '#'", "GET /a#b HTTP/1.1"},
		{"length past 18 digits", "POST / HTTP/1.1\r\n" + host + "Content-Length: 99999999999999999999999\r\n\r\n", 400, "Content-Length is not a number", "Content-Length: 99999999999999999999999"},
		{"coding list", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501, "a transfer coding other than chunked", "Transfer-Encoding: gzip, chunked"},
		{"chunked in http/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "Transfer-Encoding in an HTTP/1.0", "Transfer-Encoding: chunked"},
		{"two codings fields", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "more than one Transfer-Encoding", "Transfer-Encoding: chunked"},
		{"chunk size not hex", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400, "a chunk size", "zz\r\nabc\r\n0\r\n\r\n"},
		{"chunk size too long", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", 400, "a chunk size", "1000000000000000\r\n"},
		{"chunk without its CRLF", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n", 400, "a chunk's data", "3\r\nabcXX0\r\n\r\n"},
		{"chunk size and space", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n", 400, "a chunk size is followed by", "3 \r\nabc\r\n0\r\n\r\n"},
		{"chunk extension with a control byte", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n3;a\x01\r\nabc\r\n0\r\n\r\n", 400, "a chunk extension has a control", "3;a\x01\r\nabc\r\n0\r\n\r\n"},
		{"chunk extension past 4 KiB", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n3;" + strings.Repeat("e", 4100), 400, "a chunk-size line is longer", strings.Repeat("e", 22)},
		{"trailer without colon", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\nbogus\r\n\r\n", 400, "a trailer line has no colon", "0\r\nbogus\r\n\r\n"},
		{"trailer folded", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n 2\r\n\r\n", 400, "a trailer field is folded", "0\r\nX: 1\r\n 2\r\n\r\n"},
		{"trailer space before colon", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\nX : 1\r\n\r\n", 400, "white space between a trailer", "0\r\nX : 1\r\n\r\n"},
		{"trailer bare LF", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: 1\n\r\n", 400, "a line ends in a bare LF", "0\r\nX: 1\n\r\n"},
		{"no final CRLF, the next request", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\nGET / HTTP/1.1\r\n", 400, "a trailer field name", "0\r\nGET / HTTP/1.1\r\n"},
		{"second chunk broken", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n1\r\na\r\nq\r\n", 400, "a chunk size", "1\r\na\r\nq\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := Check([]byte(tt.in), max)
			if v.Status != tt.status || !strings.HasPrefix(v.Why, tt.why) || string(v.Quote) != tt.quote {
				t.Errorf("Check(%q) = %d %q %q, want %d %q... %q", tt.in, v.Status, v.Why, v.Quote, tt.status, tt.why, tt.quote)
			}
		})
	}
}

// FuzzCheck: whatever comes in, Check does not panic, quotes only bytes
// it was given, explains every 400, and never refuses a request the loop
// would serve.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /o HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
		"POST /o HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n",
		"hello\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v := Check(b, 1024)
		switch v.Status {
		case 0, NotHTTP, 414, 431:
		case 400, 501, 505:
			if v.Why == "" {
				t.Fatal("a 400 without a reason")
			}
		default:
			t.Fatalf("status %d", v.Status)
		}
		if len(v.Quote) > 0 && !bytes.Contains(b, v.Quote) {
			t.Fatalf("quote %q is not from the input", v.Quote)
		}
		var r Request
		if st, _ := parse(b, &r, 1024, 256); st == parsed && v.Status != 0 {
			t.Fatalf("parse serves it, Check refuses it: %d %s", v.Status, v.Why)
		}
	})
}
