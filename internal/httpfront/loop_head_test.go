package httpfront

import (
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/engine"
)

// TestRenderHead: which answers the loops render themselves, and how. What
// is rendered here must also come out as fasthttp writes it
// (TestLoopAnswersAsFasthttp); this test says that the loops, not
// fasthttp, send it.
func TestRenderHead(t *testing.T) {
	h := func(kv ...string) []engine.Header {
		var hs []engine.Header
		for i := 0; i < len(kv); i += 2 {
			hs = append(hs, engine.Header{Name: kv[i], Value: kv[i+1]})
		}
		return hs
	}
	for _, c := range []struct {
		name string
		resp engine.Response
		// want is pre, mid, hdrs and cookies joined by "|"; "" for an
		// answer left to fasthttp.
		want string
	}{
		{"plain", engine.Response{Status: 200, Body: []byte("x"), ContentType: "text/plain"},
			"HTTP/1.1 200 OK\r\nServer: decoy\r\nDate: |\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n||"},
		{"a stub's Server", engine.Response{Status: 200, Headers: h("Server", "Apache/2.4", "X-A", "b")},
			"HTTP/1.1 200 OK\r\nServer: Apache/2.4\r\nDate: |\r\nContent-Length: 0\r\n|X-A: b\r\n|"},
		{"the last Server given", engine.Response{Status: 201, Headers: h("server", "a", "Server", "nginx/1.22.1")},
			"HTTP/1.1 201 Created\r\nServer: nginx/1.22.1\r\nDate: |\r\nContent-Length: 0\r\n||"},
		{"an empty Server", engine.Response{Status: 200, Headers: h("Server", "")},
			"HTTP/1.1 200 OK\r\nServer: decoy\r\nDate: |\r\nContent-Length: 0\r\n||"},
		{"a stub's Date, left out", engine.Response{Status: 200, Headers: h("Date", "Tue, 01 Jan 2030 00:00:00 GMT", "Set-Cookie", "a=1")},
			"HTTP/1.1 200 OK\r\nServer: decoy\r\nDate: |\r\nContent-Length: 0\r\n||Set-Cookie: a=1\r\n"},
		{"a 204", engine.Response{Status: 204},
			"HTTP/1.1 204 No Content\r\nServer: decoy\r\nDate: |\r\n||"},
		{"a 304 with a type", engine.Response{Status: 304, ContentType: "text/html", Headers: h("ETag", `"v1"`)},
			"HTTP/1.1 304 Not Modified\r\nServer: decoy\r\nDate: |\r\nContent-Type: text/html\r\n|ETag: \"v1\"\r\n|"},
		{"a Trailer", engine.Response{Status: 200, Headers: h("Trailer", "X-T")}, ""},
		{"a 204 with a body", engine.Response{Status: 204, Body: []byte("x")}, ""},
		{"a 1xx", engine.Response{Status: 103}, ""},
		{"a body too large", engine.Response{Status: 200, Body: []byte(strings.Repeat("a", loopBodyOut+1))}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			hd := renderHead(&c.resp)
			got := ""
			if hd.ok {
				got = strings.Join([]string{string(hd.pre), string(hd.mid), string(hd.hdrs), string(hd.cookies)}, "|")
			}
			if got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}
