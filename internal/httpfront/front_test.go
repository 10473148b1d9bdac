package httpfront_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/external"
	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/pki"
	"github.com/decoy-dev/decoy/internal/stub"
	"golang.org/x/net/http2"
)

type fixture struct {
	store   *engine.Store
	journal *journal.Journal
	srv     *httpfront.Server
	http    string // host:port, plaintext
	https   string // host:port, TLS
	roots   *x509.CertPool
}

func stubs() []engine.Source {
	v, _ := stub.JSONValue([]byte(`{"id":42,"name":"Ada"}`))
	return []engine.Source{
		{Stub: stub.Stub{ID: "user", Request: stub.Request{Method: "GET", Path: "/users/{id}"},
			Response: &stub.Response{Body: v, Headers: map[string]stub.HeaderValues{"X-Stub": {"user"}}}}},
		{Stub: stub.Stub{ID: "create", Request: stub.Request{Method: "POST", Path: "/orders",
			Headers: map[string]stub.StringMatcher{"Content-Type": {Contains: "json"}}},
			Response: &stub.Response{Status: 201, Body: stub.Text("created")}}},
		{Stub: stub.Stub{ID: "slow", Request: stub.Request{Path: "/slow"},
			Response: &stub.Response{Body: stub.Text("late"), Delay: new(stub.Duration(300 * time.Millisecond))}}},
	}
}

func start(t *testing.T, o httpfront.Options) *fixture {
	t.Helper()
	return startSources(t, stubs(), o)
}

// startSources serves srcs with o on 127.0.0.1, plaintext and TLS (h2 and
// http/1.1 by ALPN), until the test ends.
func startSources(t *testing.T, srcs []engine.Source, o httpfront.Options) *fixture {
	t.Helper()
	store, err := engine.NewStore(srcs)
	if err != nil {
		t.Fatal(err)
	}
	return startStore(t, store, o)
}

// startStore serves the stubs of store as startSources does.
func startStore(t testing.TB, store *engine.Store, o httpfront.Options) *fixture {
	t.Helper()
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue([]string{"127.0.0.1", "localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: store, journal: journal.New(100, 1024), roots: x509.NewCertPool()}
	f.roots.AppendCertsFromPEM(ca.CertPEM)
	o.Engine = store.Engine()
	o.Journal = f.journal
	o.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	f.srv = httpfront.New(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.http, f.https = ln.Addr().String(), tln.Addr().String()
	go func() { _ = f.srv.Serve(ln) }()
	go func() { _ = f.srv.ServeTLS(tln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := f.srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return f
}

// clientTimeout bounds each request of the fixture's clients: only a hang
// should reach it. Tests move bodies of several MiB, over TLS, under the
// race detector, on a 2-CPU CI machine that may be busy: one such body
// took 10 s there.
const clientTimeout = 60 * time.Second

func (f *fixture) h1() *http.Client {
	return &http.Client{Transport: &http.Transport{}, Timeout: clientTimeout}
}

func (f *fixture) h2c() *http.Client {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Timeout: clientTimeout, Transport: &http.Transport{Protocols: p}}
}

func (f *fixture) tlsClient(h2 bool) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.roots}, ForceAttemptHTTP2: h2}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{Transport: tr, Timeout: clientTimeout}
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestProtocols(t *testing.T) {
	t.Parallel()
	f := start(t, httpfront.Options{})
	cases := []struct {
		name      string
		client    *http.Client
		url       string
		wantMajor int
	}{
		{"HTTP/1.1", f.h1(), "http://" + f.http, 1},
		{"h2c prior knowledge", f.h2c(), "http://" + f.http, 2},
		{"TLS h2", f.tlsClient(true), "https://" + f.https, 2},
		{"TLS HTTP/1.1", f.tlsClient(false), "https://" + f.https, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := get(t, c.client, c.url+"/users/7")
			if resp.ProtoMajor != c.wantMajor {
				t.Errorf("protocol %s, want major %d", resp.Proto, c.wantMajor)
			}
			if resp.StatusCode != 200 || body != `{"id":42,"name":"Ada"}` {
				t.Errorf("got %d %q", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if resp.Header.Get("X-Stub") != "user" || resp.Header.Get("Date") == "" {
				t.Errorf("headers %v", resp.Header)
			}
			if resp.ContentLength != int64(len(body)) {
				t.Errorf("Content-Length %d for %d bytes", resp.ContentLength, len(body))
			}
			// No stub: a problem+json 404 naming the closest stubs.
			resp, body = get(t, c.client, c.url+"/orders")
			if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("unmatched: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			var p struct {
				Closest []engine.Miss `json:"closest"`
			}
			if err := json.Unmarshal([]byte(body), &p); err != nil || len(p.Closest) == 0 || p.Closest[0].Stub != "create" {
				t.Fatalf("closest stubs: %v %s", err, body)
			}
			if !strings.Contains(strings.Join(p.Closest[0].Reasons, ";"), "method is GET, want POST") {
				t.Errorf("reasons %v", p.Closest[0].Reasons)
			}
		})
	}
}

// TestPathSameOnEveryProtocol: the path a stub sees is the path as sent,
// percent-decoded, with nothing cleaned, on HTTP/1.1 and HTTP/2 alike.
func TestPathSameOnEveryProtocol(t *testing.T) {
	t.Parallel()
	f := start(t, httpfront.Options{})
	for _, s := range []stub.Stub{
		{ID: "dots", Request: stub.Request{Path: "/a/../b"}, Response: &stub.Response{Body: stub.Text("dots")}},
		{ID: "double", Request: stub.Request{Path: "/a//b"}, Response: &stub.Response{Body: stub.Text("double")}},
		{ID: "space", Request: stub.Request{Path: "/a b"}, Response: &stub.Response{Body: stub.Text("space")}},
		{ID: "clean", Request: stub.Request{Path: "/b"}, Response: &stub.Response{Body: stub.Text("clean")}},
	} {
		if _, err := f.store.Create(s, "test"); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ path, want string }{
		{"/a/../b", "dots"}, {"/a//b", "double"}, {"/a%20b", "space"}, {"/b", "clean"},
	} {
		for _, client := range []*http.Client{f.h1(), f.h2c()} {
			req, _ := http.NewRequest("GET", "http://"+f.http+"/", nil)
			req.URL.Opaque = c.path // sent exactly as written
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != c.want {
				t.Errorf("%s over %s answered %q, want %q", c.path, resp.Proto, b, c.want)
			}
		}
	}
}

func TestHead(t *testing.T) {
	t.Parallel()
	f := start(t, httpfront.Options{})
	for _, c := range []*http.Client{f.h1(), f.h2c()} {
		resp, err := c.Head("http://" + f.http + "/users/1")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(b) != 0 || resp.ContentLength != 22 {
			t.Errorf("%s HEAD: %d, %d body bytes, Content-Length %d", resp.Proto, resp.StatusCode, len(b), resp.ContentLength)
		}
	}
}

// TestH2CUpgrade checks the HTTP/1.1 Upgrade to h2c on the wire: the server
// must switch protocols and answer the request on stream 1.
func TestH2CUpgrade(t *testing.T) {
	t.Parallel()
	f := start(t, httpfront.Options{})
	c, err := net.Dial("tcp", f.http)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET /users/1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n")
	br := bufio.NewReader(c)
	status, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 101") {
		t.Fatalf("status line %q, %v", status, err)
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l == "\r\n" {
			break
		}
	}
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, br)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var gotHeaders, gotData bool
	for !gotData {
		frame, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading frames: %v", err)
		}
		switch fr := frame.(type) {
		case *http2.HeadersFrame:
			gotHeaders = fr.StreamID == 1
		case *http2.DataFrame:
			if fr.StreamID == 1 && strings.Contains(string(fr.Data()), `"Ada"`) {
				gotData = true
			}
		}
	}
	if !gotHeaders {
		t.Error("no HEADERS on stream 1")
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	f := start(t, httpfront.Options{MaxHeaderBytes: 4096, MaxBodyBytes: 1024})
	cases := []struct {
		name       string
		raw        string
		wantStatus string // "" means the server may just close; "closed", it must close without a byte
	}{
		{"headers over the limit", "GET /users/1 HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 8000) + "\r\n\r\n", "431"},
		{"body over the limit", "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n" + strings.Repeat("a", 5000), "413"},
		{"not HTTP at all", "NOT A REQUEST\r\n\r\n", "closed"},
		{"an invalid HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", "closed"},
		{"malformed request line", "GET  HTTP/1.1\r\nHost: x\r\n\r\n", "400"},
		{"malformed header", "GET /users/1 HTTP/1.1\r\nHost x\r\n\r\n", "400"},
		{"bad content length", "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", "400"},
		{"bare LF line ends", "GET /users/1 HTTP/1.1\nHost: x\n\n", "400"},
		{"two Content-Lengths", "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "400"},
		{"disconnect mid-headers", "GET /users/1 HTTP/1.1\r\nHo", ""},
		{"disconnect mid-body", "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc", ""},
	}
	// Over TLS, the first request is judged as on plaintext.
	dials := map[string]func() (net.Conn, error){
		"tcp": func() (net.Conn, error) { return net.Dial("tcp", f.http) },
		"tls": func() (net.Conn, error) {
			return tls.Dial("tcp", f.https, &tls.Config{RootCAs: f.roots, NextProtos: []string{"http/1.1"}})
		},
	}
	for _, c := range cases {
		for transport, dial := range dials {
			t.Run(transport+"/"+c.name, func(t *testing.T) {
				conn, err := dial()
				if err != nil {
					t.Fatal(err)
				}
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				_, _ = io.WriteString(conn, c.raw)
				switch c.wantStatus {
				case "":
					_ = conn.Close()
				case "closed":
					b, err := io.ReadAll(conn)
					_ = conn.Close()
					if err != nil || len(b) > 0 {
						t.Fatalf("got %q (%v), want the connection closed without an answer", b, err)
					}
				default:
					line, err := bufio.NewReader(conn).ReadString('\n')
					_ = conn.Close()
					if err != nil || !strings.Contains(line, " "+c.wantStatus+" ") {
						t.Fatalf("status line %q (%v), want %s", line, err, c.wantStatus)
					}
				}
				// Everyone else is still served.
				resp, _ := get(t, f.h1(), "http://"+f.http+"/users/1")
				if resp.StatusCode != 200 {
					t.Fatalf("after %s: %d", c.name, resp.StatusCode)
				}
			})
		}
	}
	// Over HTTP/2, an oversized body is a 413 problem too.
	req, _ := http.NewRequest("POST", "http://"+f.http+"/orders", strings.NewReader(strings.Repeat("a", 5000)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.h2c().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("h2 oversized body: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestJournal(t *testing.T) {
	t.Parallel()
	f := start(t, httpfront.Options{})
	req, _ := http.NewRequest("POST", "http://"+f.http+"/orders?src=test", strings.NewReader(`{"sku":"A"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.h1().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	get(t, f.h2c(), "http://"+f.http+"/nothing")
	es := f.journal.Find(journal.Filter{})
	if len(es) != 2 {
		t.Fatalf("%d entries", len(es))
	}
	if e := es[1]; e.Method != "POST" || e.Path != "/orders" || e.Query != "src=test" || e.Stub != "create" || e.Status != 201 || e.Body != `{"sku":"A"}` || e.Headers["Content-Type"][0] != "application/json" {
		t.Errorf("HTTP/1.1 entry %+v", e)
	}
	if e := es[0]; e.Proto != "HTTP/2.0" || e.Stub != "" || e.Status != 404 {
		t.Errorf("HTTP/2 entry %+v", e)
	}
}

// TestGracefulShutdown: a request in flight finishes; new connections are
// refused afterwards.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	store, _ := engine.NewStore(stubs())
	srv := httpfront.New(httpfront.Options{Engine: store.Engine()})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() { _ = srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	idle := &http.Client{Transport: &http.Transport{}}
	get(t, idle, url+"/users/1") // leaves an idle kept-alive connection

	done := make(chan string, 1)
	go func() {
		resp, err := http.Get(url + "/slow")
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- string(b)
	}()
	// Wait until the slow request is being served.
	deadline := time.Now().Add(5 * time.Second)
	for store.Engine().Snapshot().Get("slow").Calls() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if got := <-done; got != "late" {
		t.Fatalf("in-flight request got %q", got)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

// TestConcurrentChanges: while clients send requests, stubs are replaced
// over and over; every response must come whole from one version.
func TestConcurrentChanges(t *testing.T) {
	t.Parallel()
	f := start(t, httpfront.Options{})
	put := func(v int) {
		s := stub.Stub{Request: stub.Request{Method: "GET", Path: "/users/{id}"},
			Response: &stub.Response{Body: stub.Text(fmt.Sprintf("v%d", v)),
				Headers: map[string]stub.HeaderValues{"X-Version": {fmt.Sprintf("v%d", v)}}}}
		if _, err := f.store.Replace("user", s, "test"); err != nil {
			t.Error(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for v := 0; ; v++ {
			select {
			case <-stop:
				return
			default:
				put(v)
			}
		}
	}()
	clients := []*http.Client{f.h1(), f.h2c(), f.tlsClient(true)}
	urls := []string{"http://" + f.http, "http://" + f.http, "https://" + f.https}
	var cwg sync.WaitGroup
	for i := range clients {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			for range 200 {
				resp, err := clients[i].Get(urls[i] + "/users/1")
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if v := resp.Header.Get("X-Version"); v != "" && v != string(b) {
					t.Errorf("header %s with body %s: a half-applied change", v, b)
				}
			}
		}()
	}
	cwg.Wait()
	close(stop)
	wg.Wait()
}

// TestCurl talks to the server with curl over every protocol.
func TestCurl(t *testing.T) {
	t.Parallel()
	curl := external.Program(t, "curl")
	f := start(t, httpfront.Options{})
	cases := []struct {
		name string
		args []string
		want string // http_version as curl reports it
	}{
		{"HTTP/1.1", []string{"http://" + f.http + "/users/1"}, "1.1"},
		{"h2c prior knowledge", []string{"--http2-prior-knowledge", "http://" + f.http + "/users/1"}, "2"},
		{"h2c upgrade", []string{"--http2", "http://" + f.http + "/users/1"}, "2"},
		{"TLS h2", []string{"-k", "--http2", "https://" + f.https + "/users/1"}, "2"},
		{"TLS HTTP/1.1", []string{"-k", "--http1.1", "https://" + f.https + "/users/1"}, "1.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"-sS", "--max-time", "10", "-w", "\n%{http_code} %{http_version}"}, c.args...)
			out, err := exec.Command(curl, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("curl: %v\n%s", err, out)
			}
			want := `{"id":42,"name":"Ada"}` + "\n200 " + c.want
			if string(out) != want {
				t.Fatalf("curl printed %q, want %q", out, want)
			}
		})
	}
}

// TestHTTP2Engines runs the same exchanges through decoy's own HTTP/2 loop
// and through Go's server.
func TestHTTP2Engines(t *testing.T) {
	t.Parallel()
	for _, engineName := range []string{httpfront.HTTP2Decoy, httpfront.HTTP2Go} {
		t.Run(engineName, func(t *testing.T) {
			t.Parallel()
			f := start(t, httpfront.Options{HTTP2Engine: engineName, ServerTiming: true})
			for _, c := range []struct {
				client *http.Client
				url    string
			}{{f.h2c(), "http://" + f.http}, {f.tlsClient(true), "https://" + f.https}} {
				resp, body := get(t, c.client, c.url+"/users/9")
				if resp.ProtoMajor != 2 || resp.StatusCode != 200 || body != `{"id":42,"name":"Ada"}` ||
					resp.Header.Get("Date") == "" || resp.Header.Get("Server-Timing") == "" || resp.Header.Get("X-Stub") != "user" {
					t.Errorf("%s: %s %d %q %v", c.url, resp.Proto, resp.StatusCode, body, resp.Header)
				}
				resp, body = get(t, c.client, c.url+"/slow")
				if resp.StatusCode != 200 || body != "late" {
					t.Errorf("%s/slow: %d %q", c.url, resp.StatusCode, body)
				}
				resp, _ = get(t, c.client, c.url+"/none")
				if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("%s/none: %d %v", c.url, resp.StatusCode, resp.Header)
				}
			}
			if n := f.store.Engine().Snapshot().Get("slow").Stats(); n == nil {
				t.Error("no stats for the slow stub")
			}
		})
	}
}

// TestUnsupportedVersion: a request of an HTTP version decoy does not
// speak (after a first, good one on the connection, since a connection
// whose first line is not HTTP/1.x is closed at once) is a 505
// problem+json, and the connection is closed; HTTP/1.0 is served.
func TestUnsupportedVersion(t *testing.T) {
	t.Parallel()
	f := start(t, httpfront.Options{})
	for _, tc := range []struct{ version, want string }{{"HTTP/9.9", "505"}, {"HTTP/1.2", "505"}, {"HTTP/1.0", "200"}} {
		conn, err := net.Dial("tcp", f.http)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /users/1 %s\r\nHost: x\r\n\r\n", tc.version)
		r := bufio.NewReader(conn)
		var statuses []string
		var ctype string
		for range 2 {
			resp, err := http.ReadResponse(r, nil)
			if err != nil {
				t.Fatalf("%s: %v", tc.version, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses = append(statuses, strconv.Itoa(resp.StatusCode))
			ctype = resp.Header.Get("Content-Type")
		}
		conn.Close()
		if statuses[0] != "200" || statuses[1] != tc.want {
			t.Errorf("%s: statuses %v, want [200 %s]", tc.version, statuses, tc.want)
		}
		if tc.want == "505" && ctype != "application/problem+json" {
			t.Errorf("%s: Content-Type %q", tc.version, ctype)
		}
	}
}
