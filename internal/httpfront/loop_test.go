package httpfront_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/accesslog"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/stub"
)

// loopStubs cover what the loop renders itself: headers in the order the
// stub gives them, cookies (which fasthttp writes last), Content-Encoding
// (which it writes after Content-Type), a stub's Server and Date, statuses,
// sequences, and matching
// on the query, cookies, headers and a body.
func loopStubs() []engine.Source {
	json, _ := stub.JSONValue([]byte(`{"id":42}`))
	return []engine.Source{
		{Stub: stub.Stub{ID: "user", Request: stub.Request{Method: "GET", Path: "/users/{id}"},
			Response: &stub.Response{Body: json, Headers: map[string]stub.HeaderValues{"X-Stub": {"user"}, "ETag": {`"v1"`}}}}},
		{Stub: stub.Stub{ID: "cookies", Request: stub.Request{Path: "/cookies"},
			Response: &stub.Response{Status: 201, Body: stub.Text("made"), Headers: map[string]stub.HeaderValues{
				"Set-Cookie": {"a=1", "b=2"}, "Content-Encoding": {"identity"}, "Z-Last": {"z"}}}}},
		{Stub: stub.Stub{ID: "query", Request: stub.Request{Path: "/search", Query: map[string]stub.StringMatcher{"q": stub.Eq("a b"), "x": {Present: true}}},
			Response: &stub.Response{Body: stub.Text("found")}}},
		{Stub: stub.Stub{ID: "cookie", Request: stub.Request{Path: "/me", Cookies: map[string]stub.StringMatcher{"session": stub.Eq("s1")}},
			Response: &stub.Response{Status: 418, Body: stub.Text("teapot")}}},
		{Stub: stub.Stub{ID: "header", Request: stub.Request{Path: "/h", Headers: map[string]stub.StringMatcher{"X-Key": {Contains: "k"}}},
			Response: &stub.Response{Status: 503, Body: stub.Text("")}}},
		{Stub: stub.Stub{ID: "post", Request: stub.Request{Method: "POST", Path: "/orders", Body: &stub.BodyMatcher{Contains: "book"}},
			Response: &stub.Response{Status: 202, Body: stub.Text("queued")}}},
		{Stub: stub.Stub{ID: "seq", Request: stub.Request{Path: "/seq"},
			Responses: []stub.Response{{Body: stub.Text("one")}, {Status: 500, Body: stub.Text("two")}}}},
		{Stub: stub.Stub{ID: "empty", Request: stub.Request{Path: "/empty"},
			Response: &stub.Response{Status: 204}}},
		{Stub: stub.Stub{ID: "server", Request: stub.Request{Path: "/server"},
			Response: &stub.Response{Body: stub.Text("s"), Headers: map[string]stub.HeaderValues{
				"Server": {"Apache/2.4", "nginx/1.22.1"}, "Date": {"Tue, 01 Jan 2030 00:00:00 GMT"}, "X-A": {"b"}}}}},
		{Stub: stub.Stub{ID: "not-modified", Request: stub.Request{Path: "/etag"},
			Response: &stub.Response{Status: 304, Headers: map[string]stub.HeaderValues{"ETag": {`"v1"`}, "Content-Type": {"text/html"}}}}},
		{Stub: stub.Stub{ID: "server-empty", Request: stub.Request{Path: "/server-empty"},
			Response: &stub.Response{Body: stub.Text("s"), Headers: map[string]stub.HeaderValues{"Server": {""}}}}},
		{Stub: stub.Stub{ID: "slow", Request: stub.Request{Path: "/slow"},
			Response: &stub.Response{Body: stub.Text("late"), Delay: new(stub.Duration(20 * time.Millisecond))}}},
		{Stub: stub.Stub{ID: "slow-seq", Request: stub.Request{Path: "/slow-seq"},
			Responses: []stub.Response{{Body: stub.Text("at once")}, {Status: 202, Body: stub.Text("later"),
				Latency: &stub.Latency{Uniform: &stub.Uniform{Min: stub.Duration(time.Millisecond), Max: stub.Duration(5 * time.Millisecond)}}}}}},
		// Paced bodies are fasthttp's: the loops hand their connections
		// over.
		{Stub: stub.Stub{ID: "paced", Request: stub.Request{Path: "/paced"},
			Response: &stub.Response{Body: stub.Text("paced"), Throttle: 1 << 20}}},
	}
}

// exchange sends raw on a new connection, half-closes it, and returns all
// the server wrote before closing.
func exchange(t *testing.T, addr, raw string) string {
	t.Helper()
	b, err := tryExchange(addr, []byte(raw))
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	return b
}

var dateLine = regexp.MustCompile(`(?m)^Date: [^\r]*\r$`)

// TestLoopAnswersAsFasthttp sends the same requests to both HTTP/1.1
// engines and wants the same bytes back (the Date aside): the loop must be
// invisible to clients.
func TestLoopAnswersAsFasthttp(t *testing.T) {
	t.Parallel()
	addrs := map[string]string{}
	for _, eng := range []string{httpfront.HTTP1Loop, httpfront.HTTP1Fasthttp} {
		addrs[eng] = startEngine(t, eng)
	}
	const end = "GET /users/0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	for _, raw := range []string{
		"GET /users/42 HTTP/1.1\r\nHost: x\r\n\r\n",
		"HEAD /users/42 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /users/%34%32 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /users/a%2Fb HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /users/a%zz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /cookies HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /search?q=a+b&x HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /search?q=a%20b&x= HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /search?q=a+c&x HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /me HTTP/1.1\r\nHost: x\r\nCookie: other=1; session=s1\r\n\r\n",
		"GET /me HTTP/1.1\r\nHost: x\r\nCookie: session=\"s1\"\r\n\r\n",
		"GET /h HTTP/1.1\r\nHost: x\r\nx-key: kk\r\n\r\n",
		"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\na book!!!",
		"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\npen",
		"GET /seq HTTP/1.1\r\nHost: x\r\n\r\nGET /seq HTTP/1.1\r\nHost: x\r\n\r\nGET /seq HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /empty HTTP/1.1\r\nHost: x\r\n\r\n",
		"HEAD /empty HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /empty HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"GET /etag HTTP/1.1\r\nHost: x\r\n\r\nGET /empty HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /server HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /server-empty HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /users/2 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"HEAD /slow HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"GET /slow-seq HTTP/1.1\r\nHost: x\r\n\r\nGET /slow-seq HTTP/1.1\r\nHost: x\r\n\r\nGET /slow-seq HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /paced HTTP/1.1\r\nHost: x\r\n\r\n",
		// Delays a client asks for (held on the loop), one clamped, one
		// malformed (refused by fasthttp), one replacing the stub's.
		"GET /users/42 HTTP/1.1\r\nHost: x\r\nX-Decoy-Delay: 10ms\r\n\r\n",
		"GET /users/42 HTTP/1.1\r\nHost: x\r\nPrefer: delay=5\r\n\r\nGET /users/43 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /users/42 HTTP/1.1\r\nHost: x\r\nX-Decoy-Delay: 2s\r\n\r\n",
		"GET /users/42 HTTP/1.1\r\nHost: x\r\nX-Decoy-Delay: soon\r\n\r\n",
		"GET /slow HTTP/1.1\r\nHost: x\r\nX-Decoy-Delay: 1ms\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /paced HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /nothing/here HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /users/1 HTTP/1.0\r\n\r\n",
		"GET /users/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /users/2 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /users/1 HTTP/9.9\r\nHost: x\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\nBROKEN\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\n\r\n",
		"\r\nGET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: x\r\nX-Bad\x01Name: v\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		// Malformed first requests, refused in decoy's words by both
		// engines (h1loop.Check), or left to fasthttp by both.
		"G@T /users/1 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET  /users/1 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /us\x01ers/1 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: x\r\nX-Bad : v\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: x\r\nX@Y: v\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: x\r\nX-Bad Name: v\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: x\r\nX-V: a\x7fb\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: x y\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: x%41\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: x:8080\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
		"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n",
		"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST /orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
		"POST /orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n",
		"POST /orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\npen\r\n0\r\n\r\n",
		"POST /orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
		"GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /users/1 HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n",
		// Bare LF line ends: refused by both.
		"GET /users/1 HTTP/1.1\nHost: x\n\n",
		"GET /users/1 HTTP/1.1\r\nHost: x\nX: y\r\n\r\n",
		// No HTTP/1.x request at all: closed without an answer by both.
		"hello world, no request here\r\n\r\n",
		// Request lines and headers up to the limit (8 KiB). (Past it,
		// the server closes with the rest unread: the reset that sends may
		// take the answer with it, with either engine.)
		bigHeader(8<<10 - 100), bigHeader(8<<10 - 1), bigHeader(8 << 10),
		// Handed off with over 1 KiB unanswered (a pooled copy).
		"GET /paced HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("p", 3000) + "\r\n\r\n",
	} {
		loop := exchange(t, addrs[httpfront.HTTP1Loop], raw+end)
		fast := exchange(t, addrs[httpfront.HTTP1Fasthttp], raw+end)
		if loop == "" && !strings.HasPrefix(raw, "hello") {
			t.Errorf("%q: no answer", raw)
		}
		loop, fast = dateLine.ReplaceAllString(loop, "Date: -\r"), dateLine.ReplaceAllString(fast, "Date: -\r")
		if loop != fast {
			t.Errorf("%q:\nloop:\n%s\nfasthttp:\n%s", raw, strings.ReplaceAll(loop, "\r\n", "⏎\n"), strings.ReplaceAll(fast, "\r\n", "⏎\n"))
		}
	}
}

// bigHeader is a request whose request line and headers take n bytes.
func bigHeader(n int) string {
	const start, end = "GET /users/1 HTTP/1.1\r\nHost: x\r\nX-Big: ", "\r\n\r\n"
	return start + strings.Repeat("a", max(n-len(start)-len(end), 0)) + end
}

// TestLoopConnectionBooks: connections the loops answer and connections
// they hand to fasthttp are each counted once, opened and closed.
func TestLoopConnectionBooks(t *testing.T) {
	t.Parallel()
	store, err := engine.NewStore(loopStubs())
	if err != nil {
		t.Fatal(err)
	}
	jr := journal.New(100, 1024)
	srv := httpfront.New(httpfront.Options{Engine: store.Engine(), Journal: jr})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	const end = "GET /users/0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	raws := []string{
		"GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n",                                       // the loop's
		"GET /paced HTTP/1.1\r\nHost: x\r\n\r\n",                                         // handed off
		"GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /paced HTTP/1.1\r\nHost: x\r\n\r\n", // both
		"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n",                                          // held on the loop
		"BROKEN\r\n\r\n",                                                                 // no HTTP/1.x request: closed on the loop
	}
	for _, raw := range raws {
		exchange(t, ln.Addr().String(), raw+end)
	}
	var st metrics.ConnStats
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if st = srv.Stats(); st.Open == 0 {
			break
		}
	}
	var closed uint64
	for _, n := range st.Closed {
		closed += n
	}
	if st.Accepted != uint64(len(raws)) || st.Open != 0 || closed != st.Accepted {
		t.Errorf("accepted %d, open %d, closed %d; want %d, 0, %d", st.Accepted, st.Open, closed, len(raws), len(raws))
	}
	if st.LoopHandOffs != 2 {
		t.Errorf("%d connections handed off, want 2 (the two that ask for /paced)", st.LoopHandOffs)
	}
	// Every answer has its sent times, the loop's that were still to be
	// written when it handed the connection over included.
	es := jr.Find(journal.Filter{Path: "/users/1"})
	if len(es) != 2 {
		t.Fatalf("%d journal entries for /users/1, want 2", len(es))
	}
	for _, e := range es {
		if e.ResponseFirstByteUS == 0 || e.ResponseLastByteUS < e.ResponseFirstByteUS {
			t.Errorf("entry %d: sent %d..%d", e.Seq, e.ResponseFirstByteUS, e.ResponseLastByteUS)
		}
	}
	// The answer held 20 ms on the loop was sent no sooner after the
	// request was read, and the record's duration includes the delay
	// (which counts from the read, a little before the record starts).
	es = jr.Find(journal.Filter{Path: "/slow"})
	if len(es) != 1 {
		t.Fatalf("%d journal entries for /slow, want 1", len(es))
	}
	if e := es[0]; e.Status != 200 || e.DurationUS < 19000 || e.ResponseFirstByteUS-e.RequestLastByteUS < 20000 {
		t.Errorf("/slow: status %d, duration %d µs, sent %d µs after read; want 200, about 20 ms, at least 20 ms", e.Status, e.DurationUS, e.ResponseFirstByteUS-e.RequestLastByteUS)
	}
	// Two, two, three, two, and none on the last: a request that cannot
	// be read is rejected (and the connection closed), not counted.
	if got := st.Requests[metrics.HTTP11]; got != 9 {
		t.Errorf("HTTP/1.1 requests %d, want 9", got)
	}
}

// TestBareLFAnswered: a request whose lines end in bare LFs is answered
// with a 400 at once, by both engines, while the client waits with its
// connection open; the full server would wait for a CRLF that never comes.
func TestBareLFAnswered(t *testing.T) {
	t.Parallel()
	for _, eng := range []string{httpfront.HTTP1Loop, httpfront.HTTP1Fasthttp} {
		t.Run(eng, func(t *testing.T) {
			t.Parallel()
			addr := startEngine(t, eng)
			ok := "GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n"
			for _, c := range []struct {
				writes []string
				later  bool // not the connection's first request
			}{
				{writes: []string{"GET /users/1 HTTP/1.1\nHost: x\n\n"}},
				{writes: []string{"GET /users/1 HTTP/1.1\nHost: x\nConnection: close\n\n"}},
				{writes: []string{"GET /users/1 HTTP/1.1\r\nHost: x\r\n\n"}},
				// A later one is refused too, after the answers before
				// it (fasthttp's connections through their gate).
				{writes: []string{ok + "GET /users/1 HTTP/1.1\nHost: x\n\n"}, later: true},
				{writes: []string{ok, "GET /users/2 HTTP/1.1\r\nHost: x\n\r\n"}, later: true},
			} {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				// A bound for a broken server, far below its read timeout.
				_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
				var b []byte
				for _, w := range c.writes {
					if _, err := conn.Write([]byte(w)); err != nil {
						t.Fatal(err)
					}
					if len(c.writes) > 1 && len(b) == 0 {
						b = make([]byte, 4096)
						n, _ := conn.Read(b)
						b = b[:n]
					}
				}
				rest, err := io.ReadAll(conn)
				_ = conn.Close()
				b = append(b, rest...)
				want := "HTTP/1.1 400 "
				if c.later {
					want = "HTTP/1.1 200 "
				}
				if !strings.HasPrefix(string(b), want) || strings.Count(string(b), "HTTP/1.1 400 ") != 1 || !strings.Contains(string(b), "bare LF") {
					t.Errorf("%q: got %q %v, want a 400 that names the bare LF (after a 200 when later)", c.writes, b, err)
				}
			}
		})
	}
}

// startEngine serves loopStubs on 127.0.0.1 with the HTTP/1.1 engine eng
// until the test ends and returns the address.
func startEngine(t *testing.T, eng string) string {
	t.Helper()
	store, err := engine.NewStore(loopStubs())
	if err != nil {
		t.Fatal(err)
	}
	srv := httpfront.New(httpfront.Options{Engine: store.Engine(), Journal: journal.New(100, 1024), HTTP1Engine: eng,
		DelayHeader: true, MaxRequestedDelay: 50 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	return ln.Addr().String()
}

// TestAccessLogPath: the access log gives a request's path in the form it
// was matched in (decoded but for %2F and %25) on both HTTP/1.1 engines; it
// was the path as sent on the loop and fasthttp's normalized one (%2F
// decoded) on fasthttp.
func TestAccessLogPath(t *testing.T) {
	t.Parallel()
	for _, eng := range []string{httpfront.HTTP1Loop, httpfront.HTTP1Fasthttp} {
		store, err := engine.NewStore(loopStubs())
		if err != nil {
			t.Fatal(err)
		}
		var buf syncBuf
		al := accesslog.New(slog.New(slog.NewJSONHandler(&buf, nil)), 1)
		srv := httpfront.New(httpfront.Options{Engine: store.Engine(), Journal: journal.New(100, 1024), HTTP1Engine: eng, AccessLog: al})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = srv.Serve(ln) }()
		resp, err := http.Get("http://" + ln.Addr().String() + "/users/a%2Fb%20c")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		_ = srv.Shutdown(t.Context())
		if got := buf.String(); !strings.Contains(got, `"path":"/users/a%2Fb c"`) {
			t.Errorf("%s: access log %q, want the path /users/a%%2Fb c", eng, got)
		}
	}
}

// syncBuf is a bytes.Buffer safe for the logger's and the test's goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLoopDelaysCounted: every delayed request the loops answer counts
// once, with its status, whether it was held or came due before the loop
// could hold it (a delay of a microsecond, pipelined behind another).
func TestLoopDelaysCounted(t *testing.T) {
	t.Parallel()
	store, err := engine.NewStore(loopStubs())
	if err != nil {
		t.Fatal(err)
	}
	srv := httpfront.New(httpfront.Options{Engine: store.Engine(), Journal: journal.New(100, 1024), DelayHeader: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	const tiny = "GET /users/42 HTTP/1.1\r\nHost: x\r\nX-Decoy-Delay: 1us\r\n\r\n"
	got := exchange(t, ln.Addr().String(), tiny+tiny+tiny+"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if n := strings.Count(got, "HTTP/1.1 200 OK\r\n"); n != 4 {
		t.Fatalf("%d answers, want 4:\n%s", n, got)
	}
	snap := store.Engine().Snapshot()
	if n := snap.Get("user").Stats().Count(); n != 3 {
		t.Errorf("stub user counted %d requests, want 3", n)
	}
	if n := snap.Get("slow").Stats().Count(); n != 1 {
		t.Errorf("stub slow counted %d requests, want 1", n)
	}
	if st := srv.Stats(); st.LoopHandOffs != 0 {
		t.Errorf("%d connections handed off, want none", st.LoopHandOffs)
	}
}

// TestAccessLogHeldAnswer: the access log's line of an answer the loop
// holds says what became of it: 200 once written, 0 when a shutdown
// closed it unanswered.
func TestAccessLogHeldAnswer(t *testing.T) {
	t.Parallel()
	store, err := engine.NewStore([]engine.Source{
		{Stub: stub.Stub{ID: "soon", Request: stub.Request{Path: "/soon"},
			Response: &stub.Response{Body: stub.Text("on time"), Delay: new(stub.Duration(10 * time.Millisecond))}}},
		{Stub: stub.Stub{ID: "later", Request: stub.Request{Path: "/later"},
			Response: &stub.Response{Body: stub.Text("too late"), Delay: new(stub.Duration(time.Hour))}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf syncBuf
	al := accesslog.New(slog.New(slog.NewJSONHandler(&buf, nil)), 1)
	jr := journal.New(100, 1024)
	srv := httpfront.New(httpfront.Options{Engine: store.Engine(), AccessLog: al, Journal: jr})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	if got := exchange(t, ln.Addr().String(), "GET /soon HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); !strings.HasSuffix(got, "on time") {
		t.Fatalf("/soon: %q", got)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /later HTTP/1.1\r\nHost: x\r\n\r\n")
	// The journal has the request once the loop has read it and holds
	// its answer.
	waitFor(t, "the request read", func() bool { return len(jr.Find(journal.Filter{Path: "/later"})) == 1 })
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_ = srv.Shutdown(ctx)
	got := buf.String()
	for _, want := range []string{`"path":"/soon","stub":"soon","status":200`, `"path":"/later","stub":"later","status":0`} {
		if !strings.Contains(got, want) {
			t.Errorf("access log lacks %s:\n%s", want, got)
		}
	}
}
