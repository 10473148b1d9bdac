package engine

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"testing"

	"github.com/decoy-dev/decoy/internal/stub"
)

func gzipped(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func deflated(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	_, _ = w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestMatchCompressedBody: body matchers, form fields included, see a
// gzip or deflate body as the client wrote it before compressing it; a
// body that cannot be inflated is matched as sent.
func TestMatchCompressedBody(t *testing.T) {
	t.Parallel()
	type S = map[string]string
	contains := func(id, text string) stub.Stub {
		return withID(id, stub.Stub{Request: stub.Request{Method: "POST", Path: "/", Body: &stub.BodyMatcher{Contains: text}}})
	}
	stubs := []stub.Stub{contains("order", `"item":"book"`), formStub("form:AssumeRole", "AssumeRole"), contains("raw", "\x1f\x8b")}
	jsonBody := `{"item":"book","qty":2}`
	tests := []struct {
		name string
		r    rq
		want string
	}{
		{"plain", rq{method: "POST", body: jsonBody}, "order"},
		{"gzip", rq{method: "POST", header: S{"Content-Encoding": "gzip"}, body: gzipped(t, jsonBody)}, "order"},
		{"x-gzip, any case", rq{method: "POST", header: S{"Content-Encoding": " X-GZIP "}, body: gzipped(t, jsonBody)}, "order"},
		{"deflate", rq{method: "POST", header: S{"Content-Encoding": "deflate"}, body: deflated(t, jsonBody)}, "order"},
		{"gzip form", rq{method: "POST", header: S{"Content-Encoding": "gzip", "Content-Type": formType}, body: gzipped(t, "Action=AssumeRole&Version=2011-06-15")}, "form:AssumeRole"},
		{"a coding decoy cannot undo: as sent", rq{method: "POST", header: S{"Content-Encoding": "br"}, body: gzipped(t, jsonBody)}, "raw"},
		{"not valid gzip: as sent", rq{method: "POST", header: S{"Content-Encoding": "gzip"}, body: "\x1f\x8b not gzip"}, "raw"},
		{"gzip without the header: as sent", rq{method: "POST", body: gzipped(t, jsonBody)}, "raw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := mustCompile(t, srcs(stubs...))
			if got := snap.Match(tt.r.req()); matchedID(got) != tt.want {
				t.Errorf("matched %q, want %q", matchedID(got), tt.want)
			}
		})
	}
}

// TestPlainBodyOnce: the body is inflated once per request, however many
// stubs' body matchers read it.
func TestPlainBodyOnce(t *testing.T) {
	t.Parallel()
	r := rq{method: "POST", header: map[string]string{"Content-Encoding": "gzip"}, body: gzipped(t, "hello")}.req()
	first := r.PlainBody()
	if string(first) != "hello" {
		t.Fatalf("PlainBody = %q, want hello", first)
	}
	if again := r.PlainBody(); &again[0] != &first[0] {
		t.Error("the second call inflated the body again")
	}
	r.Body = []byte("other")
	if got := r.PlainBody(); string(got) != "other" {
		t.Errorf("after the body changed: %q, want it read again", got)
	}
}
