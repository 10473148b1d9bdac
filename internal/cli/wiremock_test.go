package cli_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/decoy-dev/decoy/internal/cli"
)

const wireMockRoot = "../../examples/wiremock"

// TestServeWireMockRoot serves a WireMock root (mappings/ and __files/)
// as it is and checks what a client gets. Delays are read from
// Server-Timing, never timed.
func TestServeWireMockRoot(t *testing.T) {
	t.Parallel()
	a, _ := serve(t, nil, "--quiet", "--server-timing", wireMockRoot)
	base := "http://" + a.HTTPAddr.String()
	cases := []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		wantBody                 string
		wantHeader               map[string]string
		delay                    bool
	}{
		{"template and jsonBody", "GET", "/users/7", "", map[string]string{"Accept": "application/json"}, 200, `{"id":42,"name":"Ada"}`,
			map[string]string{"Content-Type": "application/json", "X-Trace": "a, b"}, false},
		{"header condition unmet", "GET", "/users/7", "", nil, 404, "", nil, false},
		{"query matchers", "GET", "/search?q=DECOY&page=2", "", nil, 200, "found", map[string]string{"Content-Type": "text/plain"}, false},
		{"absent query parameter present", "GET", "/search?q=decoy&page=2&debug=1", "", nil, 404, "", nil, false},
		{"formParameters", "POST", "/login", "username=ada&password=s%3Dcret", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 200, "welcome", nil, false},
		{"formParameters unmet", "POST", "/login", "username=bob&password=x", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 404, "", nil, false},
		{"url with query, base64Body", "PUT", "/exact?a=1", "", nil, 201, "hello", nil, false},
		{"auth, JSON body, bodyFileName, fixed delay", "POST", "/orders/12", `{"qty": 1, "sku": "BOOK-42", "note": "extra"}`,
			map[string]string{"Authorization": "Basic YWRhOnNlY3JldA=="}, 202, "{\"orderId\": 7, \"status\": \"accepted\"}\n",
			map[string]string{"Content-Type": "application/json"}, true},
		{"wrong credentials", "POST", "/orders/12", `{"qty": 1, "sku": "BOOK-42"}`,
			map[string]string{"Authorization": "Basic bm86bm8="}, 404, "", nil, false},
		{"lognormal delay", "GET", "/slow/x", "", nil, 200, "slow", nil, true},
		{"dribbled body", "GET", "/dribble", "", nil, 200, "0123456789", nil, false},
		{"templating served literally", "GET", "/hello", "", nil, 200, "Hello {{request.path}}", nil, false},
		{"scenario's start state", "GET", "/cart", "", nil, 200, `{"items":[]}`, nil, false},
		{"mapping with doesNotMatch not served", "GET", "/neg", "", nil, 404, "", nil, false},
	}
	for _, c := range cases {
		req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, resp.StatusCode, c.status, b)
			continue
		}
		if c.wantBody != "" && string(b) != c.wantBody {
			t.Errorf("%s: body %q, want %q", c.name, b, c.wantBody)
		}
		for k, v := range c.wantHeader {
			if got := strings.Join(resp.Header.Values(k), ", "); got != v {
				t.Errorf("%s: %s: %q, want %q", c.name, k, got, v)
			}
		}
		if got := strings.Contains(resp.Header.Get("Server-Timing"), "delay;dur="); c.status != 404 && got != c.delay {
			t.Errorf("%s: Server-Timing %q, want a delay: %v", c.name, resp.Header.Get("Server-Timing"), c.delay)
		}
	}
	// The fault: the connection is reset before any byte.
	_, err := http.Get(base + "/reset")
	if err == nil || !(errors.Is(err, syscall.ECONNRESET) || strings.Contains(err.Error(), "EOF")) {
		t.Errorf("GET /reset: %v, want a reset connection", err)
	}
	// Ids: the mapping's id, its uuid, its name.
	_, body := fetch(t, "http://"+a.AdminAddr.String()+"/stubs")
	for _, id := range []string{`"get-user"`, `"c0ffee00-0000-4000-8000-000000000001"`, `"slow-lognormal"`} {
		if !strings.Contains(body, id) {
			t.Errorf("GET /stubs lacks id %s", id)
		}
	}
}

func TestCheckWireMock(t *testing.T) {
	t.Parallel()
	code, out := run(t, nil, "check", wireMockRoot)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, w := range []string{
		"ok: 10 stubs in 2 files",
		"mappings/all.json:61: mapping \"cart has item\": not served: requiredScenarioState",
		"mappings/all.json:68: mapping \"not json\": not served: request.headers.X-Env.doesNotMatch",
		"mappings/all.json:48: mapping \"templated\": response.statusMessage: not supported",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}

	dir := t.TempDir()
	write(t, dir, "__files/ok.json", "{}")
	write(t, dir, "mappings/bad.json", "{\n  \"request\": {\"urlPath\": \"/a\"},\n  \"response\": {\n    \"bodyFileName\": \"missing.json\",\n    \"status\": \"two hundred\"\n  }\n}\n")
	write(t, dir, "mappings/broken.json", "{\"request\": {\"url\": \"/b\"},\n \"response\": {\"status\": 200,, }}\n")
	e, stdout, stderr := env(nil)
	code = cli.Main(context.Background(), []string{"check", dir}, e)
	got := stdout.String() + stderr.String()
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, got)
	}
	for _, w := range []string{"bad.json:4:", "response.bodyFileName: cannot read", "bad.json:5:", "response.status: want a whole number", "broken.json:2"} {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
}
