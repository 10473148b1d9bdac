package app_test

import (
	"bufio"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/external"
	"github.com/decoy-dev/decoy/internal/stub"
)

func corsStubs() []engine.Source {
	return []engine.Source{
		{Stub: stub.Stub{ID: "user", Request: stub.Request{Method: "GET", Path: "/users/{id}"},
			Response: &stub.Response{Headers: map[string]stub.HeaderValues{"X-Request-Id": {"r-1"}}, Body: stub.Text("ada")}}},
		{Stub: stub.Stub{ID: "create", Request: stub.Request{Method: "POST", Path: "/users"},
			Response: &stub.Response{Status: 201, Body: stub.Text("made")}}},
		{Stub: stub.Stub{ID: "slow", Request: stub.Request{Method: "GET", Path: "/slow"},
			Response: &stub.Response{Body: stub.Text("late"), Delay: new(stub.Duration(5 * time.Millisecond))}}},
		{Stub: stub.Stub{ID: "broken", Request: stub.Request{Method: "GET", Path: "/broken"},
			Response: &stub.Response{Faults: stub.Faults{{Kind: "error", Status: 503}}}}},
		{Stub: stub.Stub{ID: "custom-options", Request: stub.Request{Method: "OPTIONS", Path: "/custom"},
			Response: &stub.Response{Status: 200, Body: stub.Text("mine")}}},
	}
}

// startCORS starts an app serving corsStubs with the settings mod makes.
func startCORS(t *testing.T, mod func(*config.Settings)) *running {
	t.Helper()
	return startWith(t, corsStubs(), func(s *config.Settings) {
		s.CADir = "off"
		mod(s)
	})
}

// curlAnswer is an answer as curl -si printed it: the status line of the
// last response and its headers, names lower-cased (a header given twice
// keeps both values, joined by "\n").
type curlAnswer struct {
	status string
	header map[string]string
	raw    string
}

func runCurl(t *testing.T, curl string, args ...string) curlAnswer {
	t.Helper()
	out, err := exec.Command(curl, append([]string{"-sik", "--max-time", "10"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	a := curlAnswer{raw: string(out)}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.HasPrefix(line, "HTTP/"):
			// An interim answer (101 for the h2c Upgrade) comes first.
			a.status, a.header = line, map[string]string{}
		case line == "":
			if a.status != "" && !strings.Contains(a.status, " 101") {
				return a
			}
		case a.header != nil:
			name, value, _ := strings.Cut(line, ":")
			name, value = strings.ToLower(name), strings.TrimSpace(value)
			if old, ok := a.header[name]; ok {
				value = old + "\n" + value
			}
			a.header[name] = value
		}
	}
	return a
}

// TestCORSEngines: with cors on, each HTTP engine and port answers a
// page's requests as a browser needs, seen by curl: the stub's answer
// (static, delayed), decoy's 404 and an injected error carry
// Access-Control-Allow-Origin and expose the stub's headers; a preflight
// gets 204 with the methods of the path, unless a stub with method
// OPTIONS answers it. With cors off none of this is there.
func TestCORSEngines(t *testing.T) {
	t.Parallel()
	curl := external.Program(t, "curl")
	const page = "http://localhost:3000"
	modes := []struct {
		name  string
		set   func(*config.Settings)
		allow string // Access-Control-Allow-Origin for page; "" for none
		vary  bool
	}{
		{"off", func(*config.Settings) {}, "", false},
		{"any origin", func(s *config.Settings) { s.CORS = true }, "*", false},
		{"origin list", func(s *config.Settings) { s.CORSOrigins = []string{"https://app.example", page} }, page, true},
		{"credentials", func(s *config.Settings) { s.CORS, s.CORSCredentials = true, true }, page, true},
	}
	engines := []struct{ h1, h2 string }{{"loop", "decoy"}, {"fasthttp", "go"}}
	for _, m := range modes {
		for _, e := range engines {
			t.Run(m.name+"/"+e.h1+"+"+e.h2, func(t *testing.T) {
				t.Parallel()
				a := startCORS(t, func(s *config.Settings) {
					m.set(s)
					s.HTTP1Engine, s.HTTP2Engine = e.h1, e.h2
				})
				plain, tls := a.http, a.https
				ways := []struct {
					name string
					base string
					args []string
				}{
					{"HTTP/1.1", plain, []string{"--http1.1"}},
					{"TLS HTTP/1.1", tls, []string{"--http1.1"}},
					{"TLS HTTP/2", tls, []string{"--http2"}},
					{"h2c", plain, []string{"--http2-prior-knowledge"}},
					{"h2c Upgrade", plain, []string{"--http2"}},
				}
				for _, w := range ways {
					get := func(path string, extra ...string) curlAnswer {
						return runCurl(t, curl, append(append(append([]string{}, w.args...), "-H", "Origin: "+page), append(extra, w.base+path)...)...)
					}
					for _, c := range []struct {
						path, status string
						expose       string
					}{
						{"/users/7", "200", "X-Request-Id, "},
						{"/slow", "200", ""},
						{"/nothing", "404", ""},
						{"/broken", "503", ""},
					} {
						ans := get(c.path)
						if !strings.Contains(ans.status, " "+c.status) {
							t.Fatalf("%s GET %s: %q, want %s\n%s", w.name, c.path, ans.status, c.status, ans.raw)
						}
						checkCORS(t, w.name+" GET "+c.path, ans, m.allow, m.vary, m.name == "credentials")
						if m.allow != "" {
							if want := c.expose + "Server-Timing, Decoy-Validation"; !strings.HasPrefix(ans.header["access-control-expose-headers"], want) {
								t.Errorf("%s GET %s: Access-Control-Expose-Headers %q, want it to start %q", w.name, c.path, ans.header["access-control-expose-headers"], want)
							}
						}
					}
					// The h2c Upgrade is a GET with no body only (curl
					// sends no Upgrade otherwise): the preflights go the
					// other ways.
					if w.name == "h2c Upgrade" {
						continue
					}
					pre := get("/users", "-X", "OPTIONS", "-H", "Access-Control-Request-Method: POST", "-H", "Access-Control-Request-Headers: content-type, x-token")
					switch {
					case m.allow == "":
						if !strings.Contains(pre.status, " 404") {
							t.Errorf("%s preflight with cors off: %q, want 404 (no stub)", w.name, pre.status)
						}
					default:
						if !strings.Contains(pre.status, " 204") {
							t.Fatalf("%s preflight: %q, want 204\n%s", w.name, pre.status, pre.raw)
						}
						checkCORS(t, w.name+" preflight", pre, m.allow, m.vary, m.name == "credentials")
						for name, want := range map[string]string{
							"access-control-allow-methods": "POST",
							"access-control-allow-headers": "content-type, x-token",
							"access-control-max-age":       "600",
						} {
							if got := pre.header[name]; got != want {
								t.Errorf("%s preflight: %s %q, want %q", w.name, name, got, want)
							}
						}
					}
					own := get("/custom", "-X", "OPTIONS", "-H", "Access-Control-Request-Method: PUT")
					if !strings.Contains(own.status, " 200") || own.header["access-control-allow-methods"] != "" {
						t.Errorf("%s preflight to a stub with method OPTIONS: %q, Allow-Methods %q; want the stub's 200",
							w.name, own.status, own.header["access-control-allow-methods"])
					}
				}
			})
		}
	}
}

// checkCORS checks the Access-Control-Allow-* and Vary headers of ans.
func checkCORS(t *testing.T, what string, ans curlAnswer, allow string, vary, creds bool) {
	t.Helper()
	if got := ans.header["access-control-allow-origin"]; got != allow {
		t.Errorf("%s: Access-Control-Allow-Origin %q, want %q\n%s", what, got, allow, ans.raw)
	}
	if got, want := ans.header["access-control-allow-credentials"], map[bool]string{true: "true"}[creds]; got != want {
		t.Errorf("%s: Access-Control-Allow-Credentials %q, want %q", what, got, want)
	}
	if allow == "" {
		for name := range ans.header {
			if strings.HasPrefix(name, "access-control-") {
				t.Errorf("%s: %s with cors off", what, name)
			}
		}
	}
	if got := strings.Contains(ans.header["vary"], "Origin"); got != vary {
		t.Errorf("%s: Vary %q; want Origin in it: %v", what, ans.header["vary"], vary)
	}
}

// TestCORSOriginNotAllowed: an origin outside cors-origin gets no
// Access-Control-Allow-Origin, on an answer or a preflight, and the
// answers still say they vary by Origin.
func TestCORSOriginNotAllowed(t *testing.T) {
	t.Parallel()
	curl := external.Program(t, "curl")
	a := startCORS(t, func(s *config.Settings) { s.CORSOrigins = []string{"https://app.example"} })
	base := a.http
	for _, args := range [][]string{
		{base + "/users/7"},
		{base + "/nothing"},
		{"-X", "OPTIONS", "-H", "Access-Control-Request-Method: POST", base + "/users"},
	} {
		ans := runCurl(t, curl, append([]string{"-H", "Origin: https://evil.example"}, args...)...)
		checkCORS(t, strings.Join(args, " "), ans, "", true, false)
	}
	// The preflight is counted, under its own stub label.
	m := runCurl(t, curl, a.admin+"/metrics")
	if want := `decoy_requests_total{code="204",stub="cors-preflight"} 1`; !strings.Contains(m.raw, want) {
		t.Errorf("/metrics lacks %s", want)
	}
}
