package httpfront_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/demo"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/grpcfront"
	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/journal"
)

const webStubs = `
- request: {path: /decoy.demo.v1.Users/GetUser, body: {jsonPath: [{path: $.id, equals: 1}]}}
  response:
    headers: {x-request-id: req-1, x-blob-bin: AAECAw==}
    body: {id: 1, name: Ada}
    grpc: {trailers: {x-cost-units: "3", x-sig-bin: /wD/}}
- request: {path: /decoy.demo.v1.Users/GetUser, body: {jsonPath: [{path: $.id, equals: 2}]}}
  response:
    grpc:
      status: NOT_FOUND
      message: "no user 2 — ünïcode, 100% sure"
      details:
        - "@type": type.googleapis.com/google.rpc.BadRequest
          fieldViolations: [{field: id, description: no such user}]
- request:
    path: /decoy.demo.v1.Users/GetUser
    headers: {x-tenant: acme, x-key-bin: {equals: "\x01\x02"}}
    body: {jsonPath: [{path: $.id, equals: 4}]}
  response: {body: {id: 4, name: matched on metadata}}
- request: {path: /decoy.demo.v1.Users/GetUser, body: {jsonPath: [{path: $.id, equals: 4}]}}
  response: {body: {id: 4, name: not matched}}
- request: {path: /decoy.demo.v1.Users/ListUsers, headers: {x-slow: "1"}}
  response:
    grpc:
      stream: [{body: {id: 1}}, {body: {id: 2}}, {body: {id: 3}, delay: 1h}]
- request: {path: /decoy.demo.v1.Users/ListUsers}
  response:
    headers: {x-mode: list}
    grpc:
      stream: [{body: {id: 1}}, {body: {id: 2}}]
      status: UNAVAILABLE
      message: the user store went away
      trailers: {x-after: stream}
`

// TestGRPCWebPathsAgree: gRPC-Web calls served through ServeWeb on the
// HTTP servers themselves (fasthttp for HTTP/1.1, decoy's HTTP/2 loop)
// get the answers the gRPC front door gives through net/http's interface
// (the reference: fasthttp's net/http adaptor, h2serve.ServeHTTP): the
// same status, header fields and body, over HTTP/1.1, h2c and TLS.
func TestGRPCWebPathsAgree(t *testing.T) {
	t.Parallel()
	native, ref := webPair(t)
	tlsConf := &tls.Config{InsecureSkipVerify: true} // two fixtures, two test CAs
	h2c := &http.Transport{Protocols: new(http.Protocols)}
	h2c.Protocols.SetUnencryptedHTTP2(true)
	transports := []struct {
		name   string
		rt     http.RoundTripper
		scheme string
		addr   func(*fixture) string
		major  int
	}{
		{"HTTP/1.1", &http.Transport{}, "http", func(f *fixture) string { return f.http }, 1},
		{"h2c", h2c, "http", func(f *fixture) string { return f.http }, 2},
		{"TLS h2", &http.Transport{TLSClientConfig: tlsConf, ForceAttemptHTTP2: true}, "https", func(f *fixture) string { return f.https }, 2},
	}
	frame := func(msg ...byte) []byte { return append([]byte{0, 0, 0, 0, byte(len(msg))}, msg...) }
	text := func(b []byte) []byte { return []byte(base64.StdEncoding.EncodeToString(b)) }
	const proto = "application/grpc-web+proto"
	cases := []struct {
		name, method, path, ctype string
		headers                   []string
		body                      []byte
	}{
		{"a message, header and trailer metadata", "POST", "/decoy.demo.v1.Users/GetUser", proto, nil, frame(0x08, 1)},
		{"an error with details", "POST", "/decoy.demo.v1.Users/GetUser", proto, nil, frame(0x08, 2)},
		{"matched on text and binary metadata", "POST", "/decoy.demo.v1.Users/GetUser", proto,
			[]string{"x-tenant", "acme", "x-key-bin", base64.StdEncoding.EncodeToString([]byte{1, 2})}, frame(0x08, 4)},
		{"metadata that does not match", "POST", "/decoy.demo.v1.Users/GetUser", proto, []string{"x-tenant", "other"}, frame(0x08, 4)},
		{"-text", "POST", "/decoy.demo.v1.Users/GetUser", "application/grpc-web-text", nil, text(frame(0x08, 1))},
		{"a server stream that ends in an error", "POST", "/decoy.demo.v1.Users/ListUsers", proto, nil, frame()},
		{"a generated answer, from an origin", "POST", "/decoy.demo.v1.Users/GetUser", "application/grpc-web", []string{"origin", "http://localhost:3000"}, frame(0x08, 9)},
		{"an unknown method", "POST", "/decoy.demo.v1.Users/Nope", proto, nil, frame()},
		{"a body that ends inside a message", "POST", "/decoy.demo.v1.Users/GetUser", proto, nil, []byte{0, 0, 0, 0, 9, 0x08}},
		{"a malformed grpc-timeout", "POST", "/decoy.demo.v1.Users/GetUser", proto, []string{"grpc-timeout", "soon"}, frame(0x08, 1)},
		{"JSON messages", "POST", "/decoy.demo.v1.Users/GetUser", "application/grpc-web+json", nil, []byte(`{"id":1}`)},
		{"a preflight", "OPTIONS", "/decoy.demo.v1.Users/GetUser", "", []string{"origin", "http://localhost:3000",
			"access-control-request-method", "POST", "access-control-request-headers", "content-type,x-grpc-web"}, nil},
	}
	do := func(t *testing.T, c *http.Client, url string, major int, tc int) webAnswer {
		t.Helper()
		k := cases[tc]
		a, got, err := webCall(c, k.method, url+k.path, k.ctype, k.headers, k.body)
		if err != nil {
			t.Fatalf("%s: %v", k.name, err)
		}
		if got != major {
			t.Fatalf("%s: HTTP/%d, want HTTP/%d", k.name, got, major)
		}
		return a
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			c := &http.Client{Transport: tr.rt, Timeout: 10 * time.Second}
			for i, k := range cases {
				want := do(t, c, tr.scheme+"://"+tr.addr(ref), tr.major, i)
				got := do(t, c, tr.scheme+"://"+tr.addr(native), tr.major, i)
				if got.status != want.status || got.body != want.body {
					t.Errorf("%s: %d %q, want %d %q", k.name, got.status, got.body, want.status, want.body)
				}
				if !sameHeader(got.header, want.header) {
					t.Errorf("%s: header fields\n%v\nwant\n%v", k.name, got.header, want.header)
				}
			}
		})
	}
	// The cases must tell something: answers that differ from one
	// another, with metadata and statuses.
	c := &http.Client{Timeout: 10 * time.Second}
	url := "http://" + native.http
	if a := do(t, c, url, 1, 0); a.header.Get("X-Request-Id") != "req-1" || !strings.Contains(a.body, "x-cost-units:3") {
		t.Errorf("the first case: %v %q", a.header, a.body)
	}
	if a := do(t, c, url, 1, 2); !strings.Contains(a.body, "matched on metadata") || strings.Contains(a.body, "not matched") {
		t.Errorf("metadata matching: %q", a.body)
	}
}

// TestGRPCWebStreamOverHTTP1: over HTTP/1.1 a server stream's messages
// reach the client as they are sent: the first two while the third
// waits an hour (an answer sent whole at the end would not come).
func TestGRPCWebStreamOverHTTP1(t *testing.T) {
	t.Parallel()
	native, _ := webPair(t)
	c, err := net.Dial("tcp", native.http)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "POST /decoy.demo.v1.Users/ListUsers HTTP/1.1\r\nHost: decoy\r\n"+
		"Content-Type: application/grpc-web+proto\r\nX-Slow: 1\r\nContent-Length: 5\r\n\r\n\x00\x00\x00\x00\x00"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/grpc-web+proto" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	for id := byte(1); id <= 2; id++ {
		var prefix [5]byte
		if _, err := io.ReadFull(resp.Body, prefix[:]); err != nil {
			t.Fatalf("message %d: %v", id, err)
		}
		msg := make([]byte, int(prefix[1])<<24|int(prefix[2])<<16|int(prefix[3])<<8|int(prefix[4]))
		if _, err := io.ReadFull(resp.Body, msg); err != nil {
			t.Fatalf("message %d: %v", id, err)
		}
		if prefix[0] != 0 || len(msg) < 2 || msg[0] != 0x08 || msg[1] != id {
			t.Errorf("message %d: flag %d, %x", id, prefix[0], msg)
		}
	}
	// A shutdown that stops waiting ends the call, which would wait an
	// hour for its third message.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = native.srv.Shutdown(ctx)
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("the stream ended cleanly; want it cut by the shutdown")
	}
}

// webPair serves webStubs for the demo's .proto files twice: with the
// gRPC front door itself (ServeWeb on the HTTP servers) and with its
// net/http handler (the reference).
func webPair(t testing.TB) (native, ref *fixture) {
	t.Helper()
	set, err := demo.Protos()
	if err != nil {
		t.Fatal(err)
	}
	l, err := config.LoadStubBytes("stubs.yaml", []byte(webStubs))
	if err != nil {
		t.Fatal(err)
	}
	if errs := grpcfront.Check(set, l.Sources); errs != nil {
		t.Fatal(l.Locate(errs))
	}
	store, err := engine.NewStore(l.Sources, grpcfront.EngineOptions(set)...)
	if err != nil {
		t.Fatal(err)
	}
	front := grpcfront.New(grpcfront.Options{Engine: store.Engine(), Protos: set, Journal: journal.New(100, 1024)})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = front.Shutdown(ctx)
	})
	return startStore(t, store, httpfront.Options{GRPC: front}), startStore(t, store, httpfront.Options{GRPC: http.HandlerFunc(front.ServeHTTP)})
}

// webAnswer is an answer as a test compares it: the status, the header
// fields but for Date and Content-Length, and the body.
type webAnswer struct {
	status int
	header http.Header
	body   string
}

// webCall sends a request and reads its answer.
func webCall(c *http.Client, method, url, ctype string, headers []string, body []byte) (webAnswer, int, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return webAnswer{}, 0, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("X-Grpc-Web", "1")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return webAnswer{}, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return webAnswer{}, 0, err
	}
	h := resp.Header.Clone()
	h.Del("Date")
	h.Del("Content-Length")
	return webAnswer{resp.StatusCode, h, string(b)}, resp.ProtoMajor, nil
}

// FuzzGRPCWebPathsAgree: whatever a gRPC-Web request holds (its content
// type, body, grpc-timeout, binary metadata), over HTTP/1.1 or h2c, the
// HTTP servers' own path answers it as net/http's path does.
func FuzzGRPCWebPathsAgree(f *testing.F) {
	native, ref := webPair(f)
	h1, h2c := native.h1(), native.h2c()
	f.Add("application/grpc-web+proto", []byte{0, 0, 0, 0, 2, 0x08, 1}, "", "", false)
	f.Add("application/grpc-web-text", []byte("AAAAAAIIAQ=="), "1S", "AQI=", true)
	f.Add("application/grpc-web", []byte{0, 0, 0, 0, 9, 0x08}, "soon", "not base64", false)
	f.Add("application/grpc-web+json", []byte(`{"id":1}`), "", "", true)
	f.Add("application/GRPC-web+proto", []byte{1, 0, 0, 0, 2, 0x08, 4}, "99999999n", "", true)
	wellFormed := regexp.MustCompile(`^[0-9]{1,8}[HMSmun]$`)
	f.Fuzz(func(t *testing.T, ctype string, body []byte, timeout, bin string, h2 bool) {
		if wellFormed.MatchString(timeout) {
			// A deadline short enough to pass during the call would make
			// the two answers a race; a malformed one is answered alike.
			timeout = "10S"
		}
		var headers []string
		if timeout != "" {
			headers = append(headers, "grpc-timeout", timeout)
		}
		if bin != "" {
			headers = append(headers, "x-key-bin", bin)
		}
		c := h1
		if h2 {
			c = h2c
		}
		const path = "/decoy.demo.v1.Users/GetUser"
		want, _, err := webCall(c, "POST", "http://"+ref.http+path, ctype, headers, body)
		if err != nil {
			return // a request the client will not send
		}
		got, _, err := webCall(c, "POST", "http://"+native.http+path, ctype, headers, body)
		if err != nil {
			t.Fatalf("the reference answered, decoy's own path: %v", err)
		}
		if got.status != want.status || got.body != want.body || !sameHeader(got.header, want.header) {
			t.Errorf("got %d %v %q\nwant %d %v %q", got.status, got.header, got.body, want.status, want.header, want.body)
		}
	})
}

// sameHeader compares header fields, the order of values aside.
func sameHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb := b[k]
		if len(va) != len(vb) {
			return false
		}
		va, vb = slices.Clone(va), slices.Clone(vb)
		slices.Sort(va)
		slices.Sort(vb)
		if !slices.Equal(va, vb) {
			return false
		}
	}
	return true
}
