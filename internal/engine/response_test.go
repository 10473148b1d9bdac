package engine

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/stub"
)

func jsonValue(t testing.TB, s string) stub.Value {
	t.Helper()
	v, err := stub.JSONValue([]byte(s))
	if err != nil {
		t.Fatalf("JSONValue(%q): %v", s, err)
	}
	return v
}

// compileOne compiles a stub answering r and returns its response. A panic
// in the compiler is reported as a test error instead of crashing the run.
func compileOne(t *testing.T, r stub.Response, dir string) (resp *Response, errs Errors) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("Compile panicked: %v", p)
			resp, errs = nil, nil
		}
	}()
	snap, errs := Compile([]Source{{Stub: stub.Stub{ID: "x", Response: &r}, Dir: dir}})
	if errs != nil {
		return nil, errs
	}
	return snap.Get("x").Responses()[0], nil
}

func headerList(r *Response) string {
	var l []string
	for _, h := range r.Headers {
		l = append(l, h.Name+": "+h.Value)
		if string(h.NameB) != h.Name || string(h.ValueB) != h.Value {
			l = append(l, "BYTES DIFFER")
		}
	}
	return strings.Join(l, "\n")
}

func TestResponseRendering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		r           stub.Response
		status      int
		contentType string
		body        string
		headers     string // "Name: value" lines in order
	}{
		{"empty", stub.Response{}, 200, "", "", ""},
		{"status kept", stub.Response{Status: 404}, 404, "", "", ""},
		{"string body is text", stub.Response{Body: stub.Text("hello\n")}, 200, "text/plain; charset=utf-8", "hello\n", ""},
		{"empty string body is text", stub.Response{Body: stub.Text("")}, 200, "text/plain; charset=utf-8", "", ""},
		{"string holding JSON stays a string", stub.Response{Body: stub.Text(`{"a":1}`)}, 200, "text/plain; charset=utf-8", `{"a":1}`, ""},
		{"object body is compact JSON in key order", stub.Response{Body: jsonValue(t, "{ \"z\": 1,\n \"a\": [1, 2, {\"m\": null, \"b\": true}] }")},
			200, "application/json", `{"z":1,"a":[1,2,{"m":null,"b":true}]}`, ""},
		{"array body", stub.Response{Body: jsonValue(t, `[ 3, 2, 1 ]`)}, 200, "application/json", `[3,2,1]`, ""},
		{"number body", stub.Response{Body: jsonValue(t, `42`)}, 200, "application/json", `42`, ""},
		{"bool body", stub.Response{Body: jsonValue(t, `false`)}, 200, "application/json", `false`, ""},
		{"null body is no body", stub.Response{Body: jsonValue(t, `null`)}, 200, "", "", ""},
		{"unicode and escapes kept", stub.Response{Body: jsonValue(t, `{"s":"é\u00e9\n<"}`)}, 200, "application/json", `{"s":"é\u00e9\n<"}`, ""},
		{"content-type header overrides", stub.Response{Body: jsonValue(t, `{}`), Headers: map[string]stub.HeaderValues{"content-type": {"application/vnd.api+json"}}},
			200, "application/vnd.api+json", `{}`, ""},
		{"content-type header on text", stub.Response{Body: stub.Text("<p>"), Headers: map[string]stub.HeaderValues{"Content-Type": {"text/html"}}},
			200, "text/html", `<p>`, ""},
		{"content-type header without body", stub.Response{Headers: map[string]stub.HeaderValues{"CONTENT-TYPE": {"text/csv"}}},
			200, "text/csv", ``, ""},
		{"header names as written, sorted", stub.Response{Headers: map[string]stub.HeaderValues{"x-b": {"2"}, "X-A": {"1"}, "cache-control": {"no-store"}, "ETag": {`"v1"`}}},
			200, "", "", "ETag: \"v1\"\nX-A: 1\ncache-control: no-store\nx-b: 2"},
		{"header list sent once per value", stub.Response{Headers: map[string]stub.HeaderValues{"Set-Cookie": {"a=1", "b=2"}}},
			200, "", "", "Set-Cookie: a=1\nSet-Cookie: b=2"},
		{"header empty value", stub.Response{Headers: map[string]stub.HeaderValues{"X-Empty": {""}}},
			200, "", "", "X-Empty: "},
		{"base64", stub.Response{BodyBase64: base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 0xff})}, 200, "application/octet-stream", "\x00\x01\x02\xff", ""},
		{"base64 trimmed", stub.Response{BodyBase64: "  aGk=\n"}, 200, "application/octet-stream", "hi", ""},
		{"base64 with content type", stub.Response{BodyBase64: "aGk=", Headers: map[string]stub.HeaderValues{"Content-Type": {"image/png"}}}, 200, "image/png", "hi", ""},
		{"generate zeros", stub.Response{Generate: &stub.Generate{Size: 5, Pattern: "zeros"}}, 200, "application/octet-stream", "\x00\x00\x00\x00\x00", ""},
		{"generate text", stub.Response{Generate: &stub.Generate{Size: 12, Pattern: "text"}}, 200, "text/plain; charset=utf-8", "decoy genera", ""},
		{"generate text seed shifts", stub.Response{Generate: &stub.Generate{Size: 5, Pattern: "text", Seed: 6}}, 200, "text/plain; charset=utf-8", "gener", ""},
		{"generate empty", stub.Response{Generate: &stub.Generate{Size: 0}}, 200, "application/octet-stream", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, errs := compileOne(t, tt.r, "")
			if errs != nil {
				t.Fatalf("Compile: %v", errs)
			}
			if r.Status != tt.status {
				t.Errorf("Status = %d, want %d", r.Status, tt.status)
			}
			if r.ContentType != tt.contentType || string(r.ContentTypeB) != tt.contentType {
				t.Errorf("ContentType = %q (%q), want %q", r.ContentType, r.ContentTypeB, tt.contentType)
			}
			if string(r.Body) != tt.body {
				t.Errorf("Body = %q, want %q", r.Body, tt.body)
			}
			if got := headerList(r); got != tt.headers {
				t.Errorf("Headers:\n%s\nwant\n%s", got, tt.headers)
			}
		})
	}
}

func TestResponseDelay(t *testing.T) {
	t.Parallel()
	r, errs := compileOne(t, stub.Response{Delay: new(stub.Duration(250 * time.Millisecond))}, "")
	if errs != nil {
		t.Fatal(errs)
	}
	if d, ok := r.Behave.Latency.Fixed(); !ok || d != 250*time.Millisecond {
		t.Errorf("latency = %v", r.Behave.Latency)
	}
}

func TestResponseErrors(t *testing.T) {
	t.Parallel()
	H := func(k string, v ...string) map[string]stub.HeaderValues { return map[string]stub.HeaderValues{k: v} }
	tests := []struct {
		name  string
		r     stub.Response
		field string
		msg   string // a part of the message
	}{
		{"status too low", stub.Response{Status: 99}, "response.status", "not an HTTP status"},
		{"status negative", stub.Response{Status: -200}, "response.status", "-200"},
		{"status too high", stub.Response{Status: 1000}, "response.status", "not an HTTP status"},
		{"bad base64", stub.Response{BodyBase64: "not base64!"}, "response.bodyBase64", "not valid base64"},
		{"base64 URL alphabet", stub.Response{BodyBase64: "-_-_"}, "response.bodyBase64", "not valid base64"},
		{"base64 missing padding", stub.Response{BodyBase64: "aGk"}, "response.bodyBase64", "not valid base64"},
		{"two body sources", stub.Response{Body: stub.Text("a"), BodyBase64: "aGk="}, "response.body", "only one of"},
		{"body and generate", stub.Response{Body: stub.Text("a"), Generate: &stub.Generate{Size: 1}}, "response.body", "only one of"},
		{"generate and base64", stub.Response{Generate: &stub.Generate{Size: 1}, BodyBase64: "aGk="}, "response.body", "only one of"},
		{"generate bad pattern", stub.Response{Generate: &stub.Generate{Size: 1, Pattern: "noise"}}, "response.generate", `pattern "noise"`},
		{"generate too large", stub.Response{Generate: &stub.Generate{Size: MaxGenerated + 1}}, "response.generate", "size must be between"},
		{"generate negative", stub.Response{Generate: &stub.Generate{Size: -1}}, "response.generate", "size must be between"},
		{"missing body file", stub.Response{BodyFile: "does-not-exist.json"}, "response.bodyFile", "cannot read"},
		{"header CRLF injection", stub.Response{Headers: H("X-A", "a\r\nSet-Cookie: evil=1")}, "response.headers.X-A", "CR, LF or NUL"},
		{"header LF", stub.Response{Headers: H("X-A", "a\nb")}, "response.headers.X-A", "CR, LF or NUL"},
		{"header CR", stub.Response{Headers: H("X-A", "a\rb")}, "response.headers.X-A", "CR, LF or NUL"},
		{"header NUL", stub.Response{Headers: H("X-A", "a\x00b")}, "response.headers.X-A", "CR, LF or NUL"},
		{"header CRLF in second value", stub.Response{Headers: H("X-A", "ok", "\r\n")}, "response.headers.X-A", "CR, LF or NUL"},
		{"header name with space", stub.Response{Headers: H("X A", "1")}, "response.headers.X A", "not a valid header name"},
		{"header name with colon", stub.Response{Headers: H("X-A:", "1")}, "response.headers.X-A:", "not a valid header name"},
		{"header name with CRLF", stub.Response{Headers: H("X\r\nEvil", "1")}, "response.headers.X\r\nEvil", "not a valid header name"},
		{"header name empty", stub.Response{Headers: H("", "1")}, "response.headers.", "not a valid header name"},
		{"header name non-ASCII", stub.Response{Headers: H("X-Ü", "1")}, "response.headers.X-Ü", "not a valid header name"},
		{"Content-Length refused", stub.Response{Headers: H("Content-Length", "10")}, "response.headers.Content-Length", "set by decoy"},
		{"content-length lowercase refused", stub.Response{Headers: H("content-length", "10")}, "response.headers.content-length", "Content-Length is set by decoy"},
		{"Transfer-Encoding refused", stub.Response{Headers: H("Transfer-Encoding", "chunked")}, "response.headers.Transfer-Encoding", "set by decoy"},
		{"Connection refused", stub.Response{Headers: H("connection", "close")}, "response.headers.connection", "set by decoy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, errs := compileOne(t, tt.r, t.TempDir())
			if len(errs) != 1 {
				t.Fatalf("errors = %v, want one", errs)
			}
			if errs[0].Field != tt.field {
				t.Errorf("Field = %q, want %q", errs[0].Field, tt.field)
			}
			if !strings.Contains(errs[0].Msg, tt.msg) {
				t.Errorf("Msg = %q, want it to contain %q", errs[0].Msg, tt.msg)
			}
		})
	}
}

func TestResponseGenerateDeterministic(t *testing.T) {
	t.Parallel()
	gen := func(g stub.Generate) []byte {
		r, errs := compileOne(t, stub.Response{Generate: &g}, "")
		if errs != nil {
			t.Fatalf("Compile: %v", errs)
		}
		return r.Body
	}
	a1 := gen(stub.Generate{Size: 4096, Seed: 1})
	a2 := gen(stub.Generate{Size: 4096, Seed: 1, Pattern: "random"})
	b := gen(stub.Generate{Size: 4096, Seed: 2})
	if len(a1) != 4096 || len(b) != 4096 {
		t.Fatalf("sizes %d, %d, want 4096", len(a1), len(b))
	}
	if !bytes.Equal(a1, a2) {
		t.Error("same seed gave different bytes")
	}
	if bytes.Equal(a1, b) {
		t.Error("different seeds gave the same bytes")
	}
	// A shorter body from the same seed is a prefix of the longer one.
	if short := gen(stub.Generate{Size: 13, Seed: 1}); !bytes.Equal(short, a1[:13]) {
		t.Errorf("size 13 = %x, want prefix %x", short, a1[:13])
	}
	// Random bytes are not all zero and use many byte values.
	seen := map[byte]bool{}
	for _, c := range a1 {
		seen[c] = true
	}
	if len(seen) < 200 {
		t.Errorf("random body uses only %d distinct byte values", len(seen))
	}
	// Text is printable.
	txt := gen(stub.Generate{Size: 1000, Pattern: "text", Seed: 3})
	for i, c := range txt {
		if c != '\n' && (c < ' ' || c > '~') {
			t.Fatalf("text byte %d is %q", i, c)
		}
	}
	if !bytes.Equal(txt, gen(stub.Generate{Size: 1000, Pattern: "text", Seed: 3})) {
		t.Error("text is not deterministic")
	}
	if bytes.Equal(txt, gen(stub.Generate{Size: 1000, Pattern: "text", Seed: 4})) {
		t.Error("text seed has no effect")
	}
	z := gen(stub.Generate{Size: 100, Pattern: "zeros", Seed: 9})
	if !bytes.Equal(z, make([]byte, 100)) {
		t.Error("zeros is not all zero")
	}
}

// The text pattern takes any seed (a uint64): large seeds must not make
// compiling crash.
func TestResponseGenerateTextLargeSeed(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1 << 63, 1<<64 - 1, 1<<63 + 77} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			r, errs := compileOne(t, stub.Response{Generate: &stub.Generate{Size: 100, Pattern: "text", Seed: seed}}, "")
			if errs != nil {
				t.Fatalf("Compile: %v", errs)
			}
			if r != nil && len(r.Body) != 100 {
				t.Errorf("len(Body) = %d, want 100", len(r.Body))
			}
		})
	}
}

func TestResponseBodyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "bodies"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"bodies/user.json": `{"id": 1}`,
		"page.html":        "<html></html>",
		"blob":             "\x89PNG\r\n\x1a\n....",
		"notes.unknownext": "plain words",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	abs := filepath.Join(dir, "bodies", "user.json")
	tests := []struct {
		name        string
		file        string
		dir         string
		body        string
		contentType string
	}{
		{"relative to Dir", "bodies/user.json", dir, `{"id": 1}`, "application/json"},
		{"absolute ignores Dir", abs, "/nonexistent", `{"id": 1}`, "application/json"},
		{"html by extension", "page.html", dir, "<html></html>", "text/html; charset=utf-8"},
		{"sniffed without extension", "blob", dir, "\x89PNG\r\n\x1a\n....", "image/png"},
		{"sniffed unknown extension", "notes.unknownext", dir, "plain words", "text/plain; charset=utf-8"},
		{"dot-dot stays relative to Dir", "bodies/../page.html", dir, "<html></html>", "text/html; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, errs := compileOne(t, stub.Response{BodyFile: tt.file}, tt.dir)
			if errs != nil {
				t.Fatalf("Compile: %v", errs)
			}
			if string(r.Body) != tt.body {
				t.Errorf("Body = %q, want %q", r.Body, tt.body)
			}
			if r.ContentType != tt.contentType {
				t.Errorf("ContentType = %q, want %q", r.ContentType, tt.contentType)
			}
		})
	}
	t.Run("missing names the file", func(t *testing.T) {
		t.Parallel()
		_, errs := compileOne(t, stub.Response{BodyFile: "bodies/none.json"}, dir)
		if len(errs) != 1 {
			t.Fatalf("errors = %v", errs)
		}
		want := "cannot read " + filepath.Join(dir, "bodies/none.json") + ": no such file or directory"
		if errs[0].Msg != want {
			t.Errorf("Msg = %q, want %q", errs[0].Msg, want)
		}
	})
	for _, bad := range []struct{ name, file, msg string }{
		{"a folder is not a body", "bodies", "is not a regular file"},
		{"a device is not a body", "/dev/zero", "/dev/zero is not a regular file"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			t.Parallel()
			_, errs := compileOne(t, stub.Response{BodyFile: bad.file}, dir)
			if len(errs) != 1 || errs[0].Field != "response.bodyFile" || !strings.Contains(errs[0].Msg, bad.msg) {
				t.Fatalf("errors = %v, want one on response.bodyFile containing %q", errs, bad.msg)
			}
		})
	}
}

func TestStatusText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code int
		want string
	}{
		{200, "OK"}, {404, "Not Found"}, {418, "I'm a teapot"}, {299, "Status 299"}, {999, "Status 999"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			if got := StatusText(tt.code); got != tt.want {
				t.Errorf("StatusText(%d) = %q, want %q", tt.code, got, tt.want)
			}
		})
	}
}
