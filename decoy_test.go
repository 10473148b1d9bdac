package decoy_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy"
	"github.com/decoy-dev/decoy/internal/wake"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestMain fails the package when a goroutine outlives the tests: every
// Server must stop everything it started on Close.
//
// One goroutine is known and benign: fasthttp refreshes the Date header of
// every fasthttp server in the process from a single goroutine, started
// once (sync.Once) on first use and never stopped — there is no API to stop
// it. Its top frame is time.Sleep, so it is ignored by its own function
// rather than by its top one. The same goes for the clock regexp2 keeps
// while patterns with a time limit run (it stops a second after the last).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"), goleak.IgnoreAnyFunction(wake.Goroutine),
		goleak.IgnoreAnyFunction("github.com/dlclark/regexp2.runClock"))
}

// get sends a GET and returns the response with its body read.
func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp, string(b)
}

func userStub() decoy.Stub {
	return decoy.Stub{
		ID:      "get-user",
		Request: decoy.Request{Method: "GET", Path: "/users/{id}"},
		Response: &decoy.Response{
			Headers: map[string]decoy.HeaderValues{"Cache-Control": {"max-age=60"}},
			Body:    decoy.MustJSON(map[string]any{"id": 42, "name": "Ada"}),
		},
	}
}

func TestNewServerHTTP1(t *testing.T) {
	srv := decoy.NewServer(t, userStub())
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") || srv.TLSURL != "" || srv.AdminURL != "" {
		t.Fatalf("URL %q, TLSURL %q, AdminURL %q: want only URL, on loopback", srv.URL, srv.TLSURL, srv.AdminURL)
	}
	resp, body := get(t, srv.Client(), srv.URL+"/users/42")
	if resp.StatusCode != 200 || resp.ProtoMajor != 1 {
		t.Fatalf("got %d over %s, want 200 over HTTP/1.1", resp.StatusCode, resp.Proto)
	}
	if body != `{"id":42,"name":"Ada"}` {
		t.Errorf("body %s", body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "max-age=60" {
		t.Errorf("Cache-Control %q", cc)
	}
}

func TestTLSServesHTTP2(t *testing.T) {
	srv, err := decoy.Start(decoy.Options{Stubs: []decoy.Stub{userStub()}, HTTPS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.TLSURL, "https://127.0.0.1:") {
		t.Fatalf("TLSURL %q", srv.TLSURL)
	}
	resp, body := get(t, srv.Client(), srv.TLSURL+"/users/7")
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("got %d over %s, want 200 over HTTP/2", resp.StatusCode, resp.Proto)
	}
	if body != `{"id":42,"name":"Ada"}` {
		t.Errorf("body %s", body)
	}
	if resp.TLS == nil || resp.TLS.NegotiatedProtocol != "h2" {
		t.Errorf("TLS state %+v, want ALPN h2", resp.TLS)
	}
	// The plaintext URL still answers alongside.
	if resp, _ := get(t, srv.Client(), srv.URL+"/users/7"); resp.ProtoMajor != 1 {
		t.Errorf("plaintext: %s, want HTTP/1.1", resp.Proto)
	}
	// A client that does not trust decoy's CA is refused.
	if _, err := http.Get(srv.TLSURL + "/users/7"); err == nil {
		t.Error("the default client accepted decoy's certificate")
	}
}

func TestTLSHTTP1ByALPN(t *testing.T) {
	srv, err := decoy.Start(decoy.Options{Stubs: []decoy.Stub{userStub()}, HTTPS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.ForceAttemptHTTP2 = false
	tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
	tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	defer tr.CloseIdleConnections()
	resp, body := get(t, &http.Client{Transport: tr}, srv.TLSURL+"/users/7")
	if resp.StatusCode != 200 || resp.ProtoMajor != 1 || body != `{"id":42,"name":"Ada"}` {
		t.Fatalf("got %d over %s: %s", resp.StatusCode, resp.Proto, body)
	}
}

func TestH2C(t *testing.T) {
	srv := decoy.NewServer(t, userStub())
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	resp, body := get(t, &http.Client{Transport: tr}, srv.URL+"/users/1")
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || body != `{"id":42,"name":"Ada"}` {
		t.Fatalf("got %d over %s: %s", resp.StatusCode, resp.Proto, body)
	}
}

func TestNoMatchIs404Problem(t *testing.T) {
	srv := decoy.NewServer(t, userStub())
	resp, body := get(t, srv.Client(), srv.URL+"/orders")
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var p struct {
		Type    string
		Closest []struct {
			Stub    string
			Reasons []string
		}
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(p.Type, "docs/stubs.md#when-nothing-matches") {
		t.Errorf("type %q", p.Type)
	}
	if len(p.Closest) != 1 || p.Closest[0].Stub != "get-user" || len(p.Closest[0].Reasons) == 0 {
		t.Errorf("closest %+v", p.Closest)
	}
}

func TestIDsGivenToStubs(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "stub.yaml")
	write(t, file, "- request: {path: /from-file}\n  response: {body: file}\n")
	srv, err := decoy.Start(decoy.Options{
		Files: []string{file},
		Stubs: []decoy.Stub{
			{Request: decoy.Request{Path: "/a"}, Response: &decoy.Response{Body: decoy.Text("a")}},
			{ID: "stub-3", Request: decoy.Request{Path: "/b"}, Response: &decoy.Response{Body: decoy.Text("b")}},
			{Request: decoy.Request{Path: "/c"}, Response: &decoy.Response{Body: decoy.Text("c")}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// The file's stub is "stub-1" (from its name), so the first unnamed
	// option stub takes the next free number; stub-3 is taken explicitly.
	for path, want := range map[string]string{"/from-file": "stub-1", "/a": "stub-4", "/b": "stub-3", "/c": "stub-5"} {
		get(t, srv.Client(), srv.URL+path)
		if got := srv.Requests(decoy.Filter{Path: path}); len(got) != 1 || got[0].Stub != want {
			t.Errorf("%s: answered by %+v, want %s", path, got, want)
		}
	}
	id, err := srv.Add(decoy.Stub{Request: decoy.Request{Path: "/d"}, Response: &decoy.Response{}})
	if err != nil || id != "stub-6" {
		t.Errorf("Add: %q, %v; want stub-6", id, err)
	}
}

func write(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFilesErrorsNameFileAndLine(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unknown-field.yaml", "- request: {path: /x}\n  response:\n    stauts: 201\n", "unknown-field.yaml:3"},
		{"bad-regex.yaml", "- request: {path: /x}\n  response: {body: x}\n- request:\n    pathRegex: '^/(x'\n  response: {body: y}\n", "bad-regex.yaml:4"},
		{"bad-json.json", "[\n  {\"request\": {\"path\": \"/x\"},\n   \"response\": {\"status\": \"two hundred\"}}\n]\n", "bad-json.json:3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, tc.name)
			write(t, file, tc.text)
			srv, err := decoy.Start(decoy.Options{Files: []string{file}})
			if err == nil {
				srv.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, tc.want)) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, err := decoy.Start(decoy.Options{Files: []string{filepath.Join(dir, "nope.yaml")}})
		if err == nil || !strings.Contains(err.Error(), "nope.yaml: no such file") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("a gRPC stub without .proto files", func(t *testing.T) {
		file := filepath.Join(dir, "grpc-only.yaml")
		write(t, file, "- request: {path: /shop.v1.Users/GetUser}\n  response: {grpc: {status: UNAVAILABLE}}\n")
		srv, err := decoy.Start(decoy.Options{Files: []string{file}})
		if err == nil {
			srv.Close()
			t.Fatal("no error")
		}
		if want := file + ":2: [0].response.grpc: no .proto files were given"; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	})
	t.Run("bad option stub", func(t *testing.T) {
		_, err := decoy.Start(decoy.Options{Stubs: []decoy.Stub{
			{Request: decoy.Request{Path: "/ok"}, Response: &decoy.Response{}},
			{Request: decoy.Request{Path: "no-slash"}, Response: &decoy.Response{Status: 42}},
		}})
		if err == nil {
			t.Fatal("no error")
		}
		for _, want := range []string{"Options.Stubs[1]: request.path", "Options.Stubs[1]: response.status"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})
}

func TestAddAtRuntime(t *testing.T) {
	srv := decoy.NewServer(t)
	if resp, _ := get(t, srv.Client(), srv.URL+"/late"); resp.StatusCode != 404 {
		t.Fatalf("before Add: %d", resp.StatusCode)
	}
	id, err := srv.Add(decoy.Stub{
		Request:  decoy.Request{Method: "GET", Path: "/late", Query: map[string]decoy.StringMatcher{"v": decoy.Eq("1")}},
		Response: &decoy.Response{Status: 201, Body: decoy.Text("added")},
	})
	if err != nil || id != "stub-1" {
		t.Fatalf("Add: %q, %v", id, err)
	}
	if resp, body := get(t, srv.Client(), srv.URL+"/late?v=1"); resp.StatusCode != 201 || body != "added" {
		t.Fatalf("after Add: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, srv.Client(), srv.URL+"/late?v=2"); resp.StatusCode != 404 {
		t.Errorf("query v=2: %d, want 404", resp.StatusCode)
	}

	// An invalid stub changes nothing and says what is wrong.
	if _, err := srv.Add(decoy.Stub{Request: decoy.Request{PathRegex: "("}, Response: &decoy.Response{}}); err == nil ||
		!strings.Contains(err.Error(), "request.pathRegex") {
		t.Errorf("bad regex: %v", err)
	}
	if _, err := srv.Add(decoy.Stub{ID: id, Request: decoy.Request{Path: "/x"}, Response: &decoy.Response{}}); err == nil ||
		!strings.Contains(err.Error(), "already used") {
		t.Errorf("duplicate id: %v", err)
	}
	if resp, _ := get(t, srv.Client(), srv.URL+"/late?v=1"); resp.StatusCode != 201 {
		t.Errorf("after failed Adds: %d", resp.StatusCode)
	}

	if err := srv.Remove(id); err != nil {
		t.Fatal(err)
	}
	if err := srv.Remove(id); err == nil {
		t.Error("removing twice: no error")
	}
	if resp, _ := get(t, srv.Client(), srv.URL+"/late?v=1"); resp.StatusCode != 404 {
		t.Errorf("after Remove: %d", resp.StatusCode)
	}
}

func TestResetAndSequences(t *testing.T) {
	srv := decoy.NewServer(t, decoy.Stub{
		Request:   decoy.Request{Path: "/flaky"},
		Responses: []decoy.Response{{Status: 503}, {Status: 200, Body: decoy.Text("ok")}},
	})
	want := []int{503, 200, 200}
	for i, w := range want {
		if resp, _ := get(t, srv.Client(), srv.URL+"/flaky"); resp.StatusCode != w {
			t.Errorf("call %d: %d, want %d", i+1, resp.StatusCode, w)
		}
	}
	if _, err := srv.Add(decoy.Stub{Request: decoy.Request{Path: "/extra"}, Response: &decoy.Response{}}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Reset(); err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(t, srv.Client(), srv.URL+"/flaky"); resp.StatusCode != 503 {
		t.Errorf("after Reset: %d, want the sequence to start again (503)", resp.StatusCode)
	}
	if resp, _ := get(t, srv.Client(), srv.URL+"/extra"); resp.StatusCode != 404 {
		t.Errorf("after Reset: added stub still answers (%d)", resp.StatusCode)
	}
	// Reset keeps the journal.
	if n := srv.Count("GET", "/flaky"); n != 4 {
		t.Errorf("Count after Reset: %d, want 4", n)
	}
}

func TestCountAndRequests(t *testing.T) {
	srv := decoy.NewServer(t, userStub())
	c := srv.Client()
	for _, p := range []string{"/users/42", "/users/42", "/users/7?x=1", "/nothing"} {
		get(t, c, srv.URL+p)
	}
	resp, err := c.Post(srv.URL+"/users/42", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/users/42", 2},
		{"get", "/users/42", 2},
		{"POST", "/users/42", 1},
		{"", "/users/42", 3},
		{"GET", "/users/*", 3},
		{"GET", "/users/7", 1},
		{"", "", 5},
		{"", "*", 5},
		{"DELETE", "", 0},
	} {
		if got := srv.Count(tc.method, tc.path); got != tc.want {
			t.Errorf("Count(%q, %q) = %d, want %d", tc.method, tc.path, got, tc.want)
		}
	}

	unmatched := srv.Requests(decoy.Filter{Stub: "-"})
	// The POST matches no stub either: get-user answers GET only.
	if len(unmatched) != 2 || unmatched[1].Path != "/nothing" || unmatched[0].Method != "POST" || unmatched[1].Status != 404 {
		t.Errorf("unmatched: %+v", unmatched)
	}
	all := srv.Requests(decoy.Filter{})
	if len(all) != 5 || all[0].Method != "POST" || all[0].Body != `{"a":1}` {
		t.Errorf("newest first: %+v", all)
	}
	if all[2].Query != "x=1" || all[2].Stub != "get-user" {
		t.Errorf("entry %+v", all[2])
	}

	srv.ClearRequests()
	if n := srv.Count("", ""); n != 0 {
		t.Errorf("after ClearRequests: %d", n)
	}
}

func TestJournalSize(t *testing.T) {
	small, err := decoy.Start(decoy.Options{Stubs: []decoy.Stub{userStub()}, JournalSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	off, err := decoy.Start(decoy.Options{Stubs: []decoy.Stub{userStub()}, JournalSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	for range 3 {
		get(t, small.Client(), small.URL+"/users/1")
		get(t, off.Client(), off.URL+"/users/1")
	}
	if n := small.Count("GET", "/users/1"); n != 2 {
		t.Errorf("journal of 2: Count %d", n)
	}
	if n := off.Count("GET", "/users/1"); n != 0 {
		t.Errorf("journal off: Count %d", n)
	}
}

func TestAdmin(t *testing.T) {
	srv, err := decoy.Start(decoy.Options{Stubs: []decoy.Stub{userStub()}, Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.AdminURL, "http://127.0.0.1:") {
		t.Fatalf("AdminURL %q", srv.AdminURL)
	}
	resp, body := get(t, srv.Client(), srv.AdminURL+"/stubs")
	if resp.StatusCode != 200 || !strings.Contains(body, `"get-user"`) {
		t.Errorf("GET /stubs: %d %s", resp.StatusCode, body)
	}
	// The admin API and the package change the same stubs.
	resp, err = srv.Client().Post(srv.AdminURL+"/stubs", "application/json",
		strings.NewReader(`{"id":"via-admin","request":{"path":"/admin-made"},"response":{"body":"hi"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("POST /stubs: %d", resp.StatusCode)
	}
	if resp, body := get(t, srv.Client(), srv.URL+"/admin-made"); resp.StatusCode != 200 || body != "hi" {
		t.Errorf("stub made by the admin API: %d %s", resp.StatusCode, body)
	}
	if err := srv.Remove("via-admin"); err != nil {
		t.Error(err)
	}
}

func TestDelayAndHEAD(t *testing.T) {
	srv := decoy.NewServer(t, decoy.Stub{
		Request:  decoy.Request{Method: "GET", Path: "/slow"},
		Response: &decoy.Response{Delay: new(decoy.Duration(100 * time.Millisecond)), Body: decoy.Text("late")},
	})
	start := time.Now()
	_, body := get(t, srv.Client(), srv.URL+"/slow")
	if d := time.Since(start); d < 100*time.Millisecond || body != "late" {
		t.Errorf("got %q after %v, want late after 100ms or more", body, d)
	}
	resp, err := srv.Client().Head(srv.URL + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != 4 {
		t.Errorf("HEAD: %d, Content-Length %d", resp.StatusCode, resp.ContentLength)
	}
}

func TestCloseFreesThePorts(t *testing.T) {
	srv, err := decoy.Start(decoy.Options{Stubs: []decoy.Stub{userStub()}, HTTPS: true, Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	// A kept-alive connection on each listener.
	get(t, srv.Client(), srv.URL+"/users/1")
	get(t, srv.Client(), srv.TLSURL+"/users/1")
	get(t, srv.Client(), srv.AdminURL+"/health")
	srv.Close()
	srv.Close() // a second Close does nothing
	for _, u := range []string{srv.URL, srv.TLSURL, srv.AdminURL} {
		addr := strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Close", addr)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("%s is not free after Close: %v", addr, err)
			continue
		}
		ln.Close()
	}
}

func TestCloseCutsDelays(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("https=%v", tls), func(t *testing.T) {
			srv, err := decoy.Start(decoy.Options{HTTPS: tls, Stubs: []decoy.Stub{{
				Request:  decoy.Request{Path: "/hang"},
				Response: &decoy.Response{Delay: new(decoy.Duration(time.Hour))},
			}}})
			if err != nil {
				t.Fatal(err)
			}
			url := srv.URL
			if tls {
				url = srv.TLSURL
			}
			done := make(chan error, 1)
			go func() {
				resp, err := srv.Client().Get(url + "/hang")
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				done <- err
			}()
			time.Sleep(200 * time.Millisecond) // let the request arrive
			start := time.Now()
			srv.Close()
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Close took %v with a delayed response in flight", d)
			}
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("the client is still waiting after Close")
			}
		})
	}
}

func TestJSONValues(t *testing.T) {
	if _, err := decoy.JSON(make(chan int)); err == nil {
		t.Error("JSON(chan): no error")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("MustJSON(func): no panic")
			}
		}()
		decoy.MustJSON(func() {})
	}()
	v := decoy.MustJSON(struct {
		B int    `json:"b"`
		A string `json:"a"`
	}{1, "x"})
	if got := string(v.JSON()); got != `{"b":1,"a":"x"}` {
		t.Errorf("struct: %s", got)
	}
	if s, ok := decoy.MustJSON("hi").String(); !ok || s != "hi" {
		t.Error("a JSON string is not text")
	}
	if !decoy.MustJSON(nil).IsZero() {
		t.Error("null is not the zero Value")
	}
}

// fakeTB records what NewServer reports instead of stopping the test.
type fakeTB struct {
	testing.TB
	fatal    string
	cleanups []func()
}

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Fatalf(format string, a ...any) { f.fatal = fmt.Sprintf(format, a...) }
func (f *fakeTB) Cleanup(fn func())              { f.cleanups = append(f.cleanups, fn) }

func TestNewServerFailsTheTest(t *testing.T) {
	f := &fakeTB{TB: t}
	decoy.NewServer(f, decoy.Stub{Request: decoy.Request{Path: "/x"}})
	if !strings.Contains(f.fatal, "decoy.NewServer: Options.Stubs[0]: response: missing") {
		t.Errorf("Fatalf got %q", f.fatal)
	}
}

func TestNewServerClosesOnCleanup(t *testing.T) {
	f := &fakeTB{TB: t}
	srv := decoy.NewServer(f, userStub())
	get(t, srv.Client(), srv.URL+"/users/1")
	if len(f.cleanups) != 1 {
		t.Fatalf("%d cleanups registered", len(f.cleanups))
	}
	f.cleanups[0]()
	if _, err := srv.Client().Get(srv.URL + "/users/1"); err == nil {
		t.Error("still serving after cleanup")
	}
}

// echoProto is a gRPC service on well-known types, so that the test's
// client needs no generated code.
const echoProto = `syntax = "proto3";
package test.v1;
import "google/protobuf/wrappers.proto";
service Echo {
  rpc Say(google.protobuf.StringValue) returns (google.protobuf.StringValue);
}
`

// TestGRPC: .proto files among Files are served over gRPC on GRPCAddr,
// in cleartext and (with HTTPS) over TLS, answered by the stubs, which are
// checked against them at Start and on Add.
func TestGRPC(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	proto := write("echo.proto", echoProto)
	stubs := write("stubs.yaml", `- request: {path: /test.v1.Echo/Say, body: {json: hello}}
  response: {body: hi}
- request: {path: /test.v1.Echo/Say}
  response: {grpc: {status: NOT_FOUND, message: say hello}}
`)
	srv, err := decoy.Start(decoy.Options{Files: []string{proto, stubs}, HTTPS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.GRPCAddr, "127.0.0.1:") {
		t.Fatalf("GRPCAddr %q, want a loopback address", srv.GRPCAddr)
	}
	for _, creds := range []credentials.TransportCredentials{insecure.NewCredentials(), credentials.NewTLS(srv.ClientTLSConfig())} {
		conn, err := grpc.NewClient("passthrough:///"+srv.GRPCAddr, grpc.WithTransportCredentials(creds))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out := new(wrapperspb.StringValue)
		if err := conn.Invoke(ctx, "/test.v1.Echo/Say", wrapperspb.String("hello"), out); err != nil || out.GetValue() != "hi" {
			t.Errorf("%s: Say(hello) = %q, %v; want hi", creds.Info().SecurityProtocol, out.GetValue(), err)
		}
		err = conn.Invoke(ctx, "/test.v1.Echo/Say", wrapperspb.String("bye"), out)
		if st := status.Convert(err); st.Code() != codes.NotFound || st.Message() != "say hello" {
			t.Errorf("%s: Say(bye) = %v, want NOT_FOUND say hello", creds.Info().SecurityProtocol, err)
		}
		cancel()
		_ = conn.Close()
	}
	if got := srv.Count("POST", "/test.v1.Echo/Say"); got != 4 {
		t.Errorf("Count = %d, want the 4 calls", got)
	}
	// A stub whose answer does not fit the method is refused at Add.
	_, err = srv.Add(decoy.Stub{Request: decoy.Request{Path: "/test.v1.Echo/Say"},
		Response: &decoy.Response{Body: decoy.MustJSON(map[string]any{"nope": 1})}})
	if err == nil || !strings.Contains(err.Error(), "not a valid google.protobuf.StringValue") {
		t.Errorf("Add with a field the output type lacks: %v, want an error naming it", err)
	}

	// Without .proto files there is no gRPC listener.
	plain := decoy.NewServer(t, userStub())
	if plain.GRPCAddr != "" || plain.ClientTLSConfig() != nil {
		t.Errorf("without protos and HTTPS: GRPCAddr %q, ClientTLSConfig %v; want none", plain.GRPCAddr, plain.ClientTLSConfig())
	}

	// A stub file that does not fit the protos fails Start with its line.
	bad := write("bad.yaml", "- request: {path: /test.v1.Echo/Say}\n  response: {body: {nope: 1}}\n")
	if _, err := decoy.Start(decoy.Options{Files: []string{proto, bad}}); err == nil || !strings.Contains(err.Error(), "bad.yaml:2") {
		t.Errorf("Start with a stub that does not fit: %v, want bad.yaml:2", err)
	}
	// A .proto file that does not compile fails Start with its line.
	broken := write("broken.proto", "syntax = \"proto3\";\nmessage {\n")
	if _, err := decoy.Start(decoy.Options{Files: []string{broken}}); err == nil || !strings.Contains(err.Error(), "broken.proto:2") {
		t.Errorf("Start with a broken .proto: %v, want broken.proto:2", err)
	}
}

// TestSettings: Options.Settings gives decoy serve's settings by name,
// and refuses unknown ones and those the package owns.
func TestSettings(t *testing.T) {
	t.Parallel()
	srv, err := decoy.Start(decoy.Options{Stubs: []decoy.Stub{userStub()}, Settings: map[string]string{"cors": "true", "max-body-bytes": "10"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	resp, _ := get(t, srv.Client(), srv.URL+"/users/1")
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("cors: Access-Control-Allow-Origin %q, want *", got)
	}
	post, err := srv.Client().Post(srv.URL+"/users/1", "text/plain", strings.NewReader("more than ten bytes"))
	if err != nil {
		t.Fatal(err)
	}
	_ = post.Body.Close()
	if post.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("max-body-bytes 10: a 19-byte body got %d, want 413", post.StatusCode)
	}
	for _, tc := range []struct {
		settings map[string]string
		want     string
	}{
		{map[string]string{"corss": "true"}, `no setting "corss"; did you mean "cors"?`},
		{map[string]string{"http": "127.0.0.1:8080"}, `"http" is the package's own`},
		{map[string]string{"workers": "2"}, `"workers" is the package's own`},
		{map[string]string{"max-body-bytes": "lots"}, "max-body-bytes"},
		{map[string]string{"tcp-congestion": "new reno"}, `"new reno" is not a TCP congestion control algorithm`},
		// Refused by the kernel (or, off Linux, by decoy) as it listens.
		{map[string]string{"tcp-congestion": "nosuchcc"}, `tcp-congestion "nosuchcc"`},
		// Settings that must agree, as decoy serve checks them.
		{map[string]string{"client-auth": "require"}, "client-auth is require but the TLS port is off (https is empty): set Options.HTTPS"},
		{map[string]string{"cors-credentials": "true"}, "cors-credentials is set but CORS is off"},
	} {
		if _, err := decoy.Start(decoy.Options{Settings: tc.settings}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Settings %v: %v, want an error with %q", tc.settings, err, tc.want)
		}
	}
}
