package cli_test

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTryLinesAnswer sends every curl line of the banner's "Try:" list and
// wants a 2xx answer to each: the lines are what a new user copies first.
func TestTryLinesAnswer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stubs := write(t, dir, "stubs.yaml", `
- request: {path: /ws}
  response: {websocket: {echo: true}}
- request: {method: GET, path: "/with space/{id}"}
  response: {body: space}
- request: {method: GET, path: /search, query: {q: {present: true}, type: books, debug: {absent: true}}}
  response: {body: found}
- request: {method: POST, path: /orders, headers: {Content-Type: {contains: json}}, body: {jsonPath: [{path: "$.items[0].sku", equals: BOOK-42}]}}
  response: {status: 201, body: created}
- request: {method: GET, path: /me, cookies: {sid: {present: true}}, headers: {X-Tenant: t1}}
  response: {body: me}
- request: {method: GET, path: /re, query: {q: {regex: "^[0-9]+$"}}}
  response: {body: left out}
- request: {method: POST, path: /ping}
  response: {body: pong}
`)
	spec := write(t, dir, "api.yaml", `
openapi: 3.0.3
info: {title: t, version: "1"}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Api-Key}
    basic: {type: http, scheme: basic}
security: [{key: []}]
paths:
  /things/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
        - {name: kind, in: query, required: true, schema: {type: string, enum: [big, small]}}
      responses: {"200": {description: ok, content: {application/json: {schema: {type: object}}}}}
  /things:
    post:
      security: [{basic: []}]
      requestBody:
        required: true
        content: {application/json: {schema: {type: object}}}
      responses: {"201": {description: made}}
  /notes:
    post:
      security: []
      requestBody:
        content: {application/json: {schema: {type: object, required: [text], properties: {text: {type: string}}}}}
      responses: {"201": {description: made}}
`)
	for _, files := range [][]string{{stubs}, {spec}} {
		t.Run(filepath.Base(files[0]), func(t *testing.T) {
			t.Parallel()
			_, out := serve(t, nil, files...)
			var lines []string
			for deadline := time.Now().Add(10 * time.Second); ; {
				if b := out.String(); strings.Contains(b, "/requests?limit=5") {
					for _, l := range strings.Split(b, "\n") {
						if l = strings.TrimSpace(l); strings.HasPrefix(l, "curl ") && !strings.Contains(l, "/requests?") {
							lines = append(lines, l)
						}
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no Try lines:\n%s", out.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("Try lines:\n%s", strings.Join(lines, "\n"))
			if len(lines) < 3 {
				t.Fatalf("only %d Try lines:\n%s", len(lines), out.String())
			}
			client := &http.Client{Transport: &http.Transport{Protocols: plainHTTP1()}}
			for _, l := range lines {
				if strings.Contains(l, "--http2") {
					continue // the same request again, over HTTP/2
				}
				req := curlRequest(t, l)
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("%s: %v", l, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					t.Errorf("%s: %d %s", l, resp.StatusCode, body)
				}
				if strings.Contains(string(body), "left out") {
					t.Errorf("%s: a line for a stub that wants a regular expression", l)
				}
			}
		})
	}
}

func plainHTTP1() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	return p
}

// curlRequest reads a Try line (curl -s [-X M] [-H 'h']... [-b 'c'] [-d 'b'] 'url').
func curlRequest(t *testing.T, line string) *http.Request {
	t.Helper()
	words := shellWords(line)
	method, body := "GET", ""
	var headers [][2]string
	var cookie, url string
	for i := 1; i < len(words); i++ {
		switch w := words[i]; w {
		case "-X":
			i++
			method = words[i]
		case "-H":
			i++
			k, v, _ := strings.Cut(words[i], ": ")
			headers = append(headers, [2]string{k, v})
		case "-b":
			i++
			cookie = words[i]
		case "-d":
			i++
			body = words[i]
			if method == "GET" {
				method = "POST"
			}
		case "-o", "-w":
			i++
		case "-I":
			method = "HEAD"
		default:
			if strings.HasPrefix(w, "http") {
				url = w
			}
		}
	}
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // as curl -d sends
	}
	for _, h := range headers {
		req.Header.Set(h[0], h[1])
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	return req
}

// shellWords splits a line of words and 'single-quoted' words, as a shell
// does for what the banner prints.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	in, has := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			in, has = !in, true
		case c == ' ' && !in:
			if has {
				words = append(words, cur.String())
			}
			cur.Reset()
			has = false
		case c == '\\' && !in && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			has = true
		default:
			cur.WriteByte(c)
			has = true
		}
	}
	if has {
		words = append(words, cur.String())
	}
	return words
}
