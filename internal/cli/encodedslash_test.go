package cli_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"testing"
	"time"
)

// TestEncodedSlashInPath: an encoded slash (%2F) is part of a segment, not
// a separator, on every engine and protocol: /refs/{ref} answers
// /refs/heads%2Fmain with ref "heads/main" (an OpenAPI document echoes it),
// and an exact path /a/b is not /a%2Fb. It was decoded before matching, so
// such a parameter could never match.
func TestEncodedSlashInPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stubs := write(t, dir, "stubs.yaml", `
- request: {path: "/files/{name}"}
  response: {body: one segment}
- request: {path: /a/b}
  response: {body: two segments}
- request: {path: "/a%2Fb"}
  response: {body: one encoded}
- request: {path: "/100%"}
  response: {body: percent}
`)
	spec := write(t, dir, "git.yaml", `
openapi: 3.0.3
info: {title: git, version: "1"}
paths:
  /refs/{ref}:
    get:
      parameters: [{name: ref, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: a ref
          content:
            application/json:
              schema: {type: object, required: [ref], properties: {ref: {type: string}}}
`)
	h1 := new(http.Protocols)
	h1.SetHTTP1(true)
	h2c := new(http.Protocols)
	h2c.SetUnencryptedHTTP2(true)
	h2 := new(http.Protocols)
	h2.SetHTTP2(true)
	for _, engines := range [][]string{{"--http1-engine", "loop", "--http2-engine", "decoy"}, {"--http1-engine", "fasthttp", "--http2-engine", "go"}} {
		a, _ := serve(t, nil, append(engines, "--quiet", stubs, spec)...)
		for _, c := range []struct {
			name string
			base string
			p    *http.Protocols
		}{
			{"HTTP/1.1", "http://" + a.HTTPAddr.String(), h1},
			{"h2c", "http://" + a.HTTPAddr.String(), h2c},
			{"TLS HTTP/1.1", "https://" + a.HTTPSAddr.String(), h1},
			{"TLS h2", "https://" + a.HTTPSAddr.String(), h2},
		} {
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
				Protocols: c.p, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
			for path, want := range map[string]string{
				"/files/a%2Fb":       "one segment",
				"/a/b":               "two segments",
				"/a%2Fb":             "one encoded",
				"/a%2fb":             "one encoded",
				"/100%25":            "percent",
				"/refs/heads%2Fmain": `{"ref":"heads/main"}`,
			} {
				resp, err := client.Get(c.base + path)
				if err != nil {
					t.Fatalf("%v %s %s: %v", engines, c.name, path, err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(b) != want {
					t.Errorf("%v %s GET %s: %d %q, want %q", engines, c.name, path, resp.StatusCode, b, want)
				}
			}
		}
	}
}
