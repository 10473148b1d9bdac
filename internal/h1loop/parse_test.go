package h1loop

import (
	"bytes"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	const maxHeader, maxBody = 256, 16
	for _, tt := range []struct {
		name, in string
		status   int
		n        int // bytes used, when parsed
		check    func(t *testing.T, r *Request)
	}{
		{"get", "GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-K:  v \r\n\r\n", parsed, 42, func(t *testing.T, r *Request) {
			if string(r.Method) != "GET" || string(r.Path) != "/a" || string(r.RawQuery) != "b=c" || string(r.URI) != "/a?b=c" || !r.HTTP11 || r.Close {
				t.Errorf("got %q %q %q %v %v", r.Method, r.Path, r.RawQuery, r.HTTP11, r.Close)
			}
			if v, ok := r.Header("x-k"); !ok || string(v) != "v" {
				t.Errorf("X-K = %q, %v", v, ok)
			}
			if v, ok := r.Header("HOST"); !ok || string(v) != "x" {
				t.Errorf("Host = %q, %v", v, ok)
			}
			if string(r.RawHeaders) != "Host: x\r\nX-K:  v \r\n\r\n" {
				t.Errorf("RawHeaders = %q", r.RawHeaders)
			}
		}},
		{"pipelined: the first only", "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n", parsed, 27, nil},
		{"post with body", "POST /o HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET", parsed, 51, func(t *testing.T, r *Request) {
			if string(r.Body) != "abc" {
				t.Errorf("Body = %q", r.Body)
			}
		}},
		{"body not all here", "POST /o HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab", needMore, 0, nil},
		{"header not all here", "GET / HTTP/1.1\r\nHost: x\r\n", needMore, 0, nil},
		{"http/1.0", "GET / HTTP/1.0\r\n\r\n", parsed, 18, func(t *testing.T, r *Request) {
			if r.HTTP11 || !r.Close || r.KeepAlive10 {
				t.Errorf("HTTP11 %v Close %v KeepAlive10 %v", r.HTTP11, r.Close, r.KeepAlive10)
			}
		}},
		{"http/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", parsed, 42, func(t *testing.T, r *Request) {
			if r.Close || !r.KeepAlive10 {
				t.Errorf("Close %v KeepAlive10 %v", r.Close, r.KeepAlive10)
			}
		}},
		{"close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", parsed, 46, func(t *testing.T, r *Request) {
			if !r.Close {
				t.Error("Close not set")
			}
		}},
		{"no host", "GET / HTTP/1.1\r\n\r\n", handOff, 0, nil},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", handOff, 0, nil},
		{"http/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", handOff, 0, nil},
		{"absolute form", "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", handOff, 0, nil},
		{"other version", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", handOff, 0, nil},
		{"lower-case version", "GET / http/1.1\r\nHost: x\r\n\r\n", handOff, 0, nil},
		{"chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", handOff, 0, nil},
		{"upgrade", "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n", handOff, 0, nil},
		{"expect", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n", handOff, 0, nil},
		{"two lengths", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na", handOff, 0, nil},
		{"bad length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", handOff, 0, nil},
		{"body too large", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n", handOff, 0, nil},
		{"get with a body", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na", handOff, 0, nil},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", handOff, 0, nil},
		{"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", handOff, 0, nil},
		{"bare LF", "GET / HTTP/1.1\nHost: x\r\n\r\n", handOff, 0, nil},
		{"bare LF line ends", "GET / HTTP/1.1\nHost: x\n\n", handOff, 0, nil},
		{"bare LF, not all here", "GET / HTTP/1.1\r\nHost: x\n", handOff, 0, nil},
		{"CR at the end of a read", "GET / HTTP/1.1\r\nHost: x\r", needMore, 0, nil},
		{"control byte in a value", "GET / HTTP/1.1\r\nHost: x\x01\r\n\r\n", handOff, 0, nil},
		{"space in the target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", handOff, 0, nil},
		{"leading empty line", "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", handOff, 0, nil},
		{"header too large", "GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 300) + "\r\n\r\n", tooLarge, 0, nil},
		{"header too large, not ended", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 300), tooLarge, 0, nil},
		{"unknown connection token", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close, X-Foo\r\n\r\n", handOff, 0, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			st, n := parse([]byte(tt.in), &r, maxHeader, maxBody)
			if st != tt.status || st == parsed && n != tt.n {
				t.Fatalf("parse = %d, %d; want %d, %d", st, n, tt.status, tt.n)
			}
			if st == parsed && tt.check != nil {
				tt.check(t, &r)
			}
		})
	}
}

// FuzzParse: whatever comes in, parse does not panic, uses no more than
// it was given, and what it accepts is a well-formed request.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /o?a=b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
		"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Request
		st, n := parse(b, &r, 1024, 256)
		if st != parsed {
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("used %d of %d bytes", n, len(b))
		}
		if !isToken(r.Method) || len(r.URI) == 0 || r.URI[0] != '/' {
			t.Fatalf("method %q, target %q", r.Method, r.URI)
		}
		if !bytes.HasSuffix(r.RawHeaders, []byte("\r\n")) {
			t.Fatalf("header block %q", r.RawHeaders)
		}
		for _, h := range r.Headers {
			if !isToken(h.Name) || bytes.ContainsAny(h.Value, "\r\n") {
				t.Fatalf("header %q: %q", h.Name, h.Value)
			}
		}
		if r.HTTP11 && bytes.Contains(b[:n], []byte("HTTP/1.0\r\n")) && !bytes.Contains(b[:n], []byte("HTTP/1.1\r\n")) {
			t.Fatalf("version misread")
		}
	})
}

func BenchmarkParse(b *testing.B) {
	in := []byte("GET /users/42 HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n")
	var r Request
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if st, _ := parse(in, &r, 8192, 65536); st != parsed {
			b.Fatal(st)
		}
	}
}
