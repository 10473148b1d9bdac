package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/app"
	"github.com/decoy-dev/decoy/internal/cli"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func env(vars map[string]string) (cli.Env, *syncBuffer, *syncBuffer) {
	out, errOut := &syncBuffer{}, &syncBuffer{}
	return cli.Env{Getenv: func(k string) string { return vars[k] }, Stdout: out, Stderr: errOut}, out, errOut
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodStubs = `
- id: hello
  request: {method: GET, path: /hello}
  response: {body: "hi there"}
`

// unroutable is a document with a path decoy cannot route beside one it can.
const unroutable = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a{.x}:\n    get:\n      responses: {'200': {description: x}}\n  /b:\n    get:\n      responses: {'200': {description: x}}\n"

func TestCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := write(t, dir, "good/stubs.yaml", goodStubs)
	write(t, dir, "cfg/stubs/a.yaml", goodStubs)
	cfgFile := write(t, dir, "cfg/decoy.yaml", "files: [stubs/]\n")
	noFiles := write(t, dir, "cfg/nofiles.yaml", "seed: 7\n")
	cases := []struct {
		name     string
		file     string
		content  string
		wantCode int
		want     []string // in stderr (or stdout when 0)
		flags    []string
	}{
		{"valid", good, "", 0, []string{"ok: 1 stubs in 1 files"}, nil},
		{"syntax error", "syntax.yaml", "- request: {path: /a\n  response: [", 2, []string{"syntax.yaml:"}, nil},
		{"unknown field", "unknown.yaml", "- request: {path: /a}\n  response: {body: x}\n  respnse: {}\n", 2, []string{"unknown.yaml:3", `unknown field "respnse"`}, nil},
		{"bad regex", "regex.yaml", "- request:\n    path: /a\n    headers:\n      X-Id: {regex: 'a(b'}\n  response: {body: x}\n", 2, []string{"regex.yaml:4", "request.headers.X-Id.regex", "missing closing )"}, nil},
		{"missing body file", "body.yaml", "- request: {path: /a}\n  response:\n    bodyFile: nope.json\n", 2, []string{"body.yaml:3", "bodyFile", "nope.json"}, nil},
		{"form beside json, queryOrForm without query", "form.yaml", "- request:\n    path: /a\n    body:\n      json: {a: 1}\n      form: {a: '1'}\n  response: {body: x}\n- request: {path: /b, queryOrForm: true}\n  response: {body: y}\n", 2,
			[]string{"form.yaml:5: [0].request.body.form: a body is a form or JSON, not both", "form.yaml:7: [1].request.queryOrForm: has no query matchers"}, nil},
		{"missing response", "noresp.yaml", "- request: {path: /a}\n", 2, []string{"noresp.yaml:1", "response: missing"}, nil},
		{"every problem at once", "both.yaml", "- request: {path: /a}\n  response: {body: x}\n  bogus: 1\n- request: {pathRegex: '('}\n  response: {body: x}\n", 2,
			[]string{"both.yaml:3", `unknown field "bogus"`, "both.yaml:4", "request.pathRegex"}, nil},
		{"no such file", "/nonexistent/stubs.yaml", "", 2, []string{"/nonexistent/stubs.yaml: no such file or folder"}, nil},
		{"unresolvable $ref in a spec", "ref.yaml", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          $ref: '#/components/responses/Gone'\n", 2,
			[]string{"ref.yaml:8", "#/components/responses/Gone", "does not exist"}, nil},
		{"schema that does not compile", "schema.yaml", "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: x\n          content:\n            application/json:\n              schema: {type: strng}\n", 0,
			[]string{"ok: ", "schema.yaml#/paths/~1a/get/responses/200/content/application~1json/schema: schema does not compile", "/type"}, nil},
		{"a path decoy cannot route", "route.yaml", unroutable, 2, []string{"route.yaml:4", "cannot route this path"}, nil},
		{"the same, --lenient", "route.yaml", unroutable, 0, []string{"ok: ", "lenient: /a{.x} is not served"}, []string{"--lenient"}},
		{"the config file's files", "", "", 0, []string{"ok: 1 stubs in 1 files"}, []string{"--config", cfgFile}},
		{"no files anywhere", "", "", 2, []string{"decoy check needs the stub files and folders to check (or a config file with files:)"}, []string{"--config", noFiles}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			file := c.file
			if c.content != "" {
				file = write(t, t.TempDir(), c.file, c.content)
			}
			e, out, errOut := env(nil)
			args := append([]string{"check"}, c.flags...)
			if file != "" {
				args = append(args, file)
			}
			code := cli.Main(context.Background(), args, e)
			got := out.String() + errOut.String()
			if code != c.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, c.wantCode, got)
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

// serve runs `decoy serve` with args on ephemeral loopback ports until the
// test ends, and returns the running app.
func serve(t *testing.T, vars map[string]string, args ...string) (*app.App, *syncBuffer) {
	t.Helper()
	a, out, _ := serveWith(t, vars, []string{"serve", "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--grpc", "127.0.0.1:0"}, args...)
	return a, out
}

// serveWith runs decoy with base and args until the test ends, and returns
// the running app, its standard output and its standard error.
func serveWith(t *testing.T, vars map[string]string, base []string, args ...string) (*app.App, *syncBuffer, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e, out, errOut := env(vars)
	ready := make(chan *app.App, 1)
	e.OnReady = func(a *app.App) { ready <- a }
	done := make(chan int, 1)
	go func() { done <- cli.Main(ctx, append(base, args...), e) }()
	select {
	case a := <-ready:
		t.Cleanup(func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("serve exited %d\n%s", code, errOut.String())
			}
		})
		return a, out, errOut
	case code := <-done:
		cancel()
		t.Fatalf("serve exited %d before serving\n%s", code, errOut.String())
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("serve did not start")
	}
	return nil, nil, nil
}

func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeDemo(t *testing.T) {
	t.Parallel()
	a, out := serve(t, nil)
	for path, want := range map[string]string{"/users": "Ada Lovelace", "/orders/9": "ord-1001", "/slow": "delayedMs"} {
		code, body := fetch(t, "http://"+a.HTTPAddr.String()+path)
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d %q", path, code, body)
		}
	}
	code, body := fetch(t, "http://"+a.AdminAddr.String()+"/health")
	if code != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("health: %d %s", code, body)
	}
	banner := out.String()
	for _, w := range []string{"built-in demo", "/users/{id}", "curl -s", "--http2-prior-knowledge"} {
		if !strings.Contains(banner, w) {
			t.Errorf("banner lacks %q:\n%s", w, banner)
		}
	}
}

func TestServeFilesAndPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stubs := write(t, dir, "stubs/hello.yaml", goodStubs)
	// The config file sets the journal size and the files; the environment
	// overrides the journal size; a flag overrides the environment.
	cfg := write(t, dir, "decoy.yaml", "journal-size: 5\nfiles: [stubs]\nquiet: true\n")
	a, out := serve(t, map[string]string{"DECOY_JOURNAL_SIZE": "7"}, "--config", cfg, "--journal-size", "9")
	if a.Journal.Cap() != 9 {
		t.Errorf("journal size %d, want 9 (flag over env over file)", a.Journal.Cap())
	}
	if code, body := fetch(t, "http://"+a.HTTPAddr.String()+"/hello"); code != 200 || body != "hi there" {
		t.Errorf("GET /hello: %d %q", code, body)
	}
	if out.String() != "" {
		t.Errorf("quiet printed %q", out.String())
	}
	_ = stubs
	a2, _ := serve(t, map[string]string{"DECOY_JOURNAL_SIZE": "7", "DECOY_QUIET": "true"}, "--config", cfg)
	if a2.Journal.Cap() != 7 {
		t.Errorf("journal size %d, want 7 (env over file)", a2.Journal.Cap())
	}
}

func TestServeBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := write(t, dir, "good.yaml", "- request: {path: /a}\n  response: {body: a}\n")
	bad := write(t, dir, "bad.yaml", "- request: {path: /a, pathRegex: '('}\n  response: {status: 1000}\n")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	cases := []struct {
		name     string
		args     []string
		vars     map[string]string
		wantCode int
		want     []string
	}{
		{"bad stub file", []string{bad}, nil, 2, []string{"bad.yaml:1", "give only one of path", "bad.yaml:2", "1000 is not an HTTP status"}},
		{"unknown flag", []string{"--nope"}, nil, 2, []string{"unknown flag: --nope", "Run 'decoy serve --help' for usage."}},
		{"bad flag value", []string{"--max-body-bytes", "lots"}, nil, 2, []string{"max-body-bytes", "not a size"}},
		{"bad env value", nil, map[string]string{"DECOY_READ_TIMEOUT": "soon"}, 2, []string{"DECOY_READ_TIMEOUT", "not a duration"}},
		{"port in use", []string{"--http", busy.Addr().String()}, nil, 1, []string{"cannot listen for HTTP on " + busy.Addr().String(), "--http"}},
		{"bad tcp-congestion", []string{"--tcp-congestion", "new reno"}, nil, 2, []string{"flag --tcp-congestion", `"new reno" is not a TCP congestion control algorithm`}},
		{"tcp-congestion the kernel refuses", []string{"--tcp-congestion", "nosuchcc"}, nil, 1, []string{"cannot listen for HTTP on 127.0.0.1:0", `tcp-congestion "nosuchcc"`, "tcp-congestion auto"}},
		{"cert without key", []string{"--tls-cert", "x.pem"}, nil, 2, []string{"tls-cert and tls-key go together"}},
		{"client-auth without the TLS port", []string{"--client-auth", "require"}, nil, 2, []string{"client-auth is require but the TLS port is off"}},
		{"every listener off", []string{"--http", "", good}, nil, 2, []string{"every listener is off"}},
		{"every listener off but gRPC, without protos", []string{"--http", "", "--grpc", "127.0.0.1:0", good}, nil, 2, []string{"every listener is off"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e, out, errOut := env(c.vars)
			args := append([]string{"serve", "--http", "127.0.0.1:0", "--https", "", "--admin", "", "--grpc", ""}, c.args...)
			// Bad input must stop decoy at once; the timeout only keeps a
			// regression from hanging the suite.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			code := cli.Main(ctx, args, e)
			got := out.String() + errOut.String()
			if code != c.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, c.wantCode, got)
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

// TestUsageErrors: a command given the wrong arguments says what it
// needs, and which help to read.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"check"}, []string{"decoy check needs the stub files and folders to check (or a config file with files:): decoy check stubs/", "Run 'decoy check --help' for usage."}},
		{[]string{"check", "--nope", "x.yaml"}, []string{"unknown flag: --nope", "Run 'decoy check --help' for usage."}},
		{[]string{"certs", "issue"}, []string{"decoy certs issue needs the host names and IP addresses to certify: decoy certs issue api.example.com", "Run 'decoy certs issue --help' for usage."}},
		{[]string{"certs", "client"}, []string{"decoy certs client needs the client's name", "Run 'decoy certs client --help' for usage."}},
		{[]string{"nope"}, []string{`unknown command "nope" for "decoy"`, "Run 'decoy --help' for usage."}},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			t.Parallel()
			e, out, errOut := env(map[string]string{"XDG_CONFIG_HOME": t.TempDir()})
			code := cli.Main(context.Background(), c.args, e)
			got := out.String() + errOut.String()
			if code != cli.ExitBadInput {
				t.Fatalf("exit %d, want %d\n%s", code, cli.ExitBadInput, got)
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	e, out, _ := env(nil)
	if code := cli.Main(context.Background(), []string{"version"}, e); code != 0 || !strings.HasPrefix(out.String(), "decoy ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	e, out, _ = env(nil)
	if code := cli.Main(context.Background(), []string{"serve", "--help"}, e); code != 0 {
		t.Fatalf("serve --help: %d", code)
	}
	for _, w := range []string{"--http", "DECOY_HTTP", "--journal-size", "DECOY_JOURNAL_SIZE", "--config", "Examples:"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("serve --help lacks %q", w)
		}
	}
	// pflag takes back-quoted text in a usage for the value's name.
	if m := regexp.MustCompile(`(?m)^\s+--\S+ (\S+)`).FindAllStringSubmatch(out.String(), -1); len(m) == 0 {
		t.Error("serve --help shows no flag with a value")
	} else {
		for _, f := range m {
			if f[1] != "string" && f[1] != "list" && f[1] != "bytes" && f[1] != "duration" && f[1] != "int" && f[1] != "number" && f[1] != "rate" {
				t.Errorf("serve --help names a value %q: %s", f[1], strings.TrimSpace(f[0]))
			}
		}
	}
}

// TestServeBannerMore: past 20 stubs the banner says where the rest are
// listed, and does not point at an admin API that is off.
func TestServeBannerMore(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 25 {
		fmt.Fprintf(&b, "- request: {path: /s%d}\n  response: {body: s%d}\n", i, i)
	}
	stubs := write(t, t.TempDir(), "many.yaml", b.String())
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "5 more: GET http://127.0.0.1:"},
		{[]string{"--admin", ""}, "5 more: the admin API lists them when --admin has an address"},
	} {
		_, out := serve(t, nil, append(tt.args, stubs)...)
		if banner := out.String(); !strings.Contains(banner, tt.want) || strings.Contains(banner, "http:///") {
			t.Errorf("with %q the banner lacks %q:\n%s", tt.args, tt.want, banner)
		}
	}
}
