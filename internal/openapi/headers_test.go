package openapi

import (
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/engine"
)

// headersDoc declares response headers decoy cannot send as they are
// (hop-by-hop ones, as Postman exports have them, the ones decoy sets
// itself, a value with a newline) on two responses of one operation.
const headersDoc = `openapi: 3.0.3
info: {title: t, version: "1"}
components:
  headers:
    Hop: {schema: {type: string}, example: keep-alive}
paths:
  /a:
    get:
      responses:
        "200":
          description: ok
          headers:
            Connection: {$ref: "#/components/headers/Hop"}
            keep-alive: {schema: {type: string}, example: timeout=5}
            Proxy-Connection: {schema: {type: string}, example: close}
            Transfer-Encoding: {schema: {type: string}, example: chunked}
            Upgrade: {schema: {type: string}, example: h2c}
            TE: {schema: {type: string}, example: trailers}
            Trailer: {schema: {type: string}, example: X-Sum}
            Content-Length: {schema: {type: integer}, example: 99}
            Content-Encoding: {schema: {type: string}, example: gzip}
            Content-Type: {schema: {type: string}, example: text/html}
            Location: {schema: {type: string, example: "https://a.example/x\nhttps://b.example/y"}}
            X-CR: {schema: {type: string}, example: "a\rb"}
            X-Tab: {schema: {type: string}, example: "a\tb"}
            X-Rate-Limit: {schema: {type: integer}, example: 10}
            "X Bad": {schema: {type: string}, example: x}
          content:
            application/json:
              schema: {type: object, properties: {ok: {type: boolean}}}
        "404":
          description: missing
          headers:
            Connection: {schema: {type: string}, example: close}
            Content-Encoding: {schema: {type: string}, example: br}
`

func TestResponseHeadersNotSent(t *testing.T) {
	t.Parallel()
	res, err := Load("testdata/headers.yaml", []byte(headersDoc), Options{Seed: 1})
	if err != nil {
		t.Fatalf("the document does not load: %v", err)
	}
	// What the engine would refuse would fail the load in package config.
	if _, errs := engine.Compile(res.Sources); errs != nil {
		t.Fatalf("the stubs do not compile: %v", errs)
	}
	tests := []struct {
		header string
		sent   string // "" when left out
		why    string // in the one warning about it ("" for none)
	}{
		{"Connection", "", "hop-by-hop"},
		{"keep-alive", "", "hop-by-hop"},
		{"Proxy-Connection", "", "hop-by-hop"},
		{"Transfer-Encoding", "", "hop-by-hop"},
		{"Upgrade", "", "hop-by-hop"},
		{"TE", "", "hop-by-hop"},
		{"Trailer", "", "hop-by-hop"},
		{"Content-Length", "", "decoy sets it"},
		{"Content-Encoding", "", "not compressed"},
		// The media type's, not the declared one (text/html).
		{"Content-Type", "application/json", "OpenAPI says a declared Content-Type response header is ignored"},
		{"Location", "", "not a valid header value"},
		{"X-CR", "", "not a valid header value"},
		{"X Bad", "", "not a valid header name"},
		{"X-Tab", "a\tb", ""},
		{"X-Rate-Limit", "10", ""},
	}
	src := byID(t, res)
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			t.Parallel()
			got := src["headers:GET /a"].Stub.Response.Headers[tt.header]
			if tt.sent == "" && len(got) > 0 {
				t.Errorf("the 200 sends %s: %q", tt.header, got)
			}
			if tt.sent != "" && (len(got) != 1 || got[0] != tt.sent) {
				t.Errorf("the 200 sends %s: %q, want %q", tt.header, got, tt.sent)
			}
			if h := src["headers:GET /a:code=404"].Stub.Response.Headers[tt.header]; len(h) > 0 {
				t.Errorf("the 404 sends %s: %q", tt.header, h)
			}
			want := `headers.yaml#/paths/~1a/get: response header "` + tt.header + `" is not sent`
			n := 0
			for _, w := range res.Warnings {
				if strings.Contains(w, want) {
					n++
					if !strings.Contains(w, tt.why) {
						t.Errorf("warning %q does not say %q", w, tt.why)
					}
				}
			}
			if wantN := map[bool]int{true: 1, false: 0}[tt.why != ""]; n != wantN {
				t.Errorf("%d warnings %q, want %d (one per operation, whatever its responses): %q", n, want, wantN, res.Warnings)
			}
		})
	}
}
