package cli_test

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/external"
)

// TestServeCompressedBody: curl sends a gzip body (Content-Encoding:
// gzip), and body and form matchers see it as it was before compression,
// on every HTTP/1.1 engine and over HTTP/2; the journal's verify reads it
// the same way.
func TestServeCompressedBody(t *testing.T) {
	t.Parallel()
	external.Program(t, "curl")
	dir := t.TempDir()
	file := write(t, dir, "stubs.yaml", `- request: {method: POST, path: /orders, body: {jsonPath: [{path: $.item, equals: book}]}}
  response: {body: ordered}
- request: {method: POST, path: /form, body: {form: {Action: AssumeRole}}}
  response: {body: assumed}
`)
	zip := func(name, text string) string {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		_, _ = w.Write([]byte(text))
		_ = w.Close()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	order := zip("order.gz", `{"item":"book","qty":2}`)
	other := zip("other.gz", `{"item":"pen"}`)
	form := zip("form.gz", "Action=AssumeRole&Version=2011-06-15")
	for _, engine := range []string{"loop", "fasthttp"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			a, _ := serve(t, nil, "--quiet", "--http1-engine", engine, "--admin", "127.0.0.1:0", file)
			base := "http://" + a.HTTPAddr.String()
			gz := []string{"-H", "Content-Encoding: gzip", "-H", "Content-Type: application/json"}
			tests := []struct {
				name string
				args []string
				want string
			}{
				{"gzip JSON", append(gz, "--data-binary", "@"+order, base+"/orders"), "ordered\n200"},
				{"over HTTP/2", append(gz, "--http2-prior-knowledge", "--data-binary", "@"+order, base+"/orders"), "ordered\n200"},
				{"another item", append(gz, "--data-binary", "@"+other, base+"/orders"), "\n404"},
				{"gzip form", []string{"-H", "Content-Encoding: gzip", "-H", "Content-Type: application/x-www-form-urlencoded", "--data-binary", "@" + form, base + "/form"}, "assumed\n200"},
			}
			for _, tt := range tests {
				if got := curlOut(t, tt.args...); !strings.HasSuffix(got, tt.want) {
					t.Errorf("%s: got %q, want it to end with %q", tt.name, got, tt.want)
				}
			}
			got := curlOut(t, "-d", `{"method":"POST","path":"/orders","body":{"jsonPath":[{"path":"$.item","equals":"book"}]}}`, "http://"+a.AdminAddr.String()+"/requests/count")
			if !strings.HasPrefix(got, `{"count":2,`) {
				t.Errorf("/requests/count of the gzip orders: %q, want 2", got)
			}
		})
	}
}
