package httpfront_test

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/journal"
)

// engines starts both HTTP/1.1 engines once, for FuzzEnginesAgree.
var engines = sync.OnceValues(func() (map[string]string, error) {
	addrs := map[string]string{}
	for _, eng := range []string{httpfront.HTTP1Loop, httpfront.HTTP1Fasthttp} {
		store, err := engine.NewStore(loopStubs())
		if err != nil {
			return nil, err
		}
		srv := httpfront.New(httpfront.Options{Engine: store.Engine(), Journal: journal.New(100, 1024), HTTP1Engine: eng, ReadTimeout: 2 * time.Second})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addrs[eng] = ln.Addr().String()
		go func() { _ = srv.Serve(ln) }()
	}
	return addrs, nil
})

// tryExchange is exchange for fuzzing: an error (a reset that may have
// taken the answer with it) is returned, not fatal.
func tryExchange(addr string, raw []byte) (string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(raw); err != nil {
		return "", err
	}
	_ = c.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(c)
	return string(b), err
}

// cutShort reports whether answer is fasthttp's refusal of a request the
// client's half-close cut short.
func cutShort(answer string) bool {
	return strings.HasPrefix(answer, "HTTP/1.1 400 ") && strings.Contains(answer, "EOF")
}

// afterCommon returns a and b from the first answer in which they differ.
func afterCommon(a, b string) (string, string) {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	i = strings.LastIndex(a[:i], "HTTP/1.1 ")
	if i < 0 {
		i = 0
	}
	return a[i:], b[i:]
}

// FuzzEnginesAgree sends the same bytes to both HTTP/1.1 engines and
// wants the same answer back (the Date aside): whatever a client sends,
// the loops are invisible. Not compared: exchanges a reset cut short; a
// request the client's half-close cut short, which fasthttp answers
// with a 400 and the loop closes without one (both serve nothing); and a
// later request with a bare LF, which the loop refuses as it does a first
// one, and fasthttp judges by rules of its own.
func FuzzEnginesAgree(f *testing.F) {
	for _, s := range []string{
		"GET /users/42 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /users/a%2Fb%25 HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\na book!!!",
		"POST /orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\npen\r\n0\r\n\r\n",
		"GET /search?q=a+b&x HTTP/1.1\r\nHost: x\r\nCookie: session=s1\r\n\r\nGET /seq HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
		"GET /users/1 HTTP/1.0\r\n\r\n",
		"hello\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > 4<<10 {
			return // past the header limit, the rest unread makes a reset
		}
		addrs, err := engines()
		if err != nil {
			t.Fatal(err)
		}
		loop, err1 := tryExchange(addrs[httpfront.HTTP1Loop], raw)
		fast, err2 := tryExchange(addrs[httpfront.HTTP1Fasthttp], raw)
		if err1 != nil || err2 != nil {
			return
		}
		loop, fast = dateLine.ReplaceAllString(loop, "Date: -\r"), dateLine.ReplaceAllString(fast, "Date: -\r")
		if rest, ok := strings.CutPrefix(fast, loop); ok && cutShort(rest) {
			return // the last request cut short by the half-close
		}
		if l, _ := afterCommon(loop, fast); strings.HasPrefix(l, "HTTP/1.1 400 ") && strings.Contains(l, "bare LF") {
			// A later request with a bare LF: the loop refuses it, as
			// it does a first one; fasthttp judges it by its own rules
			// (it takes a bare LF after the request line, and waits
			// for a CRLFCRLF to end the header block).
			return
		}
		if loop != fast {
			t.Errorf("%q:\nloop:\n%q\nfasthttp:\n%q", raw, loop, fast)
		}
	})
}
