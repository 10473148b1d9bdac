// Package examples_test keeps docs/stubs.md and the example stub files true:
// every example folder passes `decoy check`, every YAML and JSON example in
// the docs is a valid stub file (and the invalid one fails as the docs say),
// and the examples, served, answer as the docs describe — the 404 sample
// included, byte for byte up to JSON formatting.
package examples_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy"
	"github.com/decoy-dev/decoy/internal/cli"
	"github.com/decoy-dev/decoy/internal/wake"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// fasthttp refreshes its Date header from one process-wide goroutine
	// that it never stops; see the root package's TestMain.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"), goleak.IgnoreAnyFunction(wake.Goroutine),
		goleak.IgnoreAnyFunction("github.com/dlclark/regexp2.runClock"))
}

const docsFile = "../docs/stubs.md"

// check runs `decoy check args...` through the CLI's real entry point.
func check(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = cli.Main(context.Background(), append([]string{"check"}, args...), cli.Env{
		Getenv: func(string) string { return "" },
		Stdout: &out,
		Stderr: &errOut,
	})
	return code, out.String(), errOut.String()
}

// TestExampleFoldersPassCheck runs `decoy check` on every folder under
// examples/.
func TestExampleFoldersPassCheck(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || e.Name() == "testdata" {
			continue
		}
		n++
		t.Run(e.Name(), func(t *testing.T) {
			code, out, errOut := check(t, e.Name())
			if code != cli.ExitOK {
				t.Fatalf("decoy check %s: exit %d\n%s%s", e.Name(), code, out, errOut)
			}
			if !strings.HasPrefix(out, "ok: ") {
				t.Errorf("decoy check %s printed %q", e.Name(), out)
			}
		})
	}
	if n == 0 {
		t.Fatal("no example folders")
	}
}

// block is a fenced code block of the docs.
type block struct {
	info string // "yaml", "json output", ...
	line int    // of the opening fence
	text string
}

func docBlocks(t *testing.T) []block {
	t.Helper()
	f, err := os.Open(docsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []block
	var cur *block
	var b strings.Builder
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &block{info: strings.TrimSpace(strings.TrimPrefix(line, "```")), line: n}
			b.Reset()
		case cur != nil && strings.TrimSpace(line) == "```":
			cur.text = b.String()
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s:%d: code block never closed", docsFile, cur.line)
	}
	return out
}

// copyDir copies the files of src (one level deep is enough here, plus
// subfolders) into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDocExamplesAreValid checks every ```yaml and ```json block of the docs
// as a stub file of its own, and the ```yaml invalid block against the
// console output shown after it.
func TestDocExamplesAreValid(t *testing.T) {
	blocks := docBlocks(t)
	bodies, err := filepath.Abs("stubs/bodies")
	if err != nil {
		t.Fatal(err)
	}
	checked, invalid := 0, 0
	for i, bl := range blocks {
		switch bl.info {
		case "yaml", "json":
			checked++
			dir := t.TempDir()
			copyDir(t, bodies, filepath.Join(dir, "bodies"))
			name := filepath.Join(dir, "example."+bl.info)
			if err := os.WriteFile(name, []byte(bl.text), 0o644); err != nil {
				t.Fatal(err)
			}
			if code, out, errOut := check(t, name); code != cli.ExitOK {
				t.Errorf("%s:%d: the %s example is not a valid stub file (exit %d):\n%s%s\n%s",
					docsFile, bl.line, bl.info, code, out, errOut, bl.text)
			}
		case "yaml invalid":
			invalid++
			if i+1 >= len(blocks) || blocks[i+1].info != "console" {
				t.Fatalf("%s:%d: an invalid example must be followed by a console block with its output", docsFile, bl.line)
			}
			t.Run("invalid", func(t *testing.T) { testInvalidExample(t, bl, blocks[i+1]) })
		}
	}
	if checked < 10 || invalid != 1 {
		t.Errorf("checked %d examples and %d invalid ones; the docs have lost their examples?", checked, invalid)
	}
}

func testInvalidExample(t *testing.T, bl, console block) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(bl.text), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	code, out, errOut := check(t, "bad.yaml")
	if code != cli.ExitBadInput {
		t.Errorf("%s:%d: decoy check of the invalid example: exit %d, want %d\n%s%s",
			docsFile, bl.line, code, cli.ExitBadInput, out, errOut)
	}
	got := map[string]bool{}
	reported := 0
	for _, l := range strings.Split(errOut, "\n") {
		l = strings.TrimSpace(l)
		got[l] = true
		if strings.HasPrefix(l, "bad.yaml:") {
			reported++
		}
	}
	shown := 0
	for _, l := range strings.Split(console.text, "\n") {
		if !strings.HasPrefix(l, "  bad.yaml:") {
			continue
		}
		shown++
		if !got[strings.TrimSpace(l)] {
			t.Errorf("%s:%d: the docs show\n\t%s\nbut decoy check says:\n%s", docsFile, console.line, strings.TrimSpace(l), errOut)
		}
	}
	if reported != shown {
		t.Errorf("%s:%d: the docs show %d problems, decoy check reports %d:\n%s", docsFile, console.line, shown, reported, errOut)
	}
}

// serveExamples serves examples/stubs from the repository root, as the docs'
// `decoy serve examples/stubs` does, so that origins read
// examples/stubs/FILE:LINE.
func serveExamples(t *testing.T) *decoy.Server {
	t.Helper()
	t.Chdir("..")
	srv, err := decoy.Start(decoy.Options{Files: []string{"examples/stubs"}, HTTPS: true})
	if err != nil {
		t.Fatalf("serving examples/stubs: %v", err)
	}
	t.Cleanup(srv.Close)
	return srv
}

type call struct {
	method, path string
	headers      map[string]string
	body         string
	// Expected.
	status      int
	contentType string
	respBody    string // exact, unless empty
	respHeaders map[string][]string
	stub        string // the stub that answers; "" for none
}

func do(t *testing.T, c *http.Client, base string, k call) (*http.Response, []byte) {
	t.Helper()
	var body io.Reader
	if k.body != "" {
		body = strings.NewReader(k.body)
	}
	req, err := http.NewRequest(k.method, base+k.path, body)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range k.headers {
		req.Header.Set(name, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", k.method, k.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", k.method, k.path, err)
	}
	return resp, b
}

// TestExamplesAnswerAsDocumented serves examples/stubs and sends the
// requests each stub's comment describes, over HTTP/1.1 and over HTTP/2.
func TestExamplesAnswerAsDocumented(t *testing.T) {
	srv := serveExamples(t)
	ctJSON := "application/json"
	text := "text/plain; charset=utf-8"
	search := map[string]string{"Accept": "application/json", "X-Api-Version": "2.1", "Cookie": "session=abc"}
	calls := []call{
		// matching.yaml
		{method: "GET", path: "/match/health", status: 200, contentType: ctJSON, respBody: `{"status":"up"}`, stub: "health"},
		{method: "POST", path: "/match/health", status: 404, stub: ""},
		{method: "GET", path: "/match/users/42", status: 200, respBody: `{"id":42,"name":"Ada Lovelace"}`, stub: "get-user"},
		{method: "GET", path: "/match/users/%34%32", status: 200, stub: "get-user"},
		{method: "GET", path: "/match/users/0", status: 404, respBody: `{"error":"no such user"}`, stub: "get-user-404"},
		{method: "GET", path: "/match/users/", status: 404, stub: ""},
		{method: "GET", path: "/match/users/42/posts", status: 404, stub: ""},
		{method: "GET", path: "/match/static/css/site.css", status: 200, contentType: text, respBody: "static file",
			respHeaders: map[string][]string{"Cache-Control": {"max-age=3600"}}, stub: "static-files"},
		{method: "GET", path: "/match/static/", status: 404, stub: ""},
		{method: "DELETE", path: "/match/v1/orders/1", status: 410, respBody: `{"error":"API v1 is gone, use /match/v2/"}`, stub: "legacy-api"},
		{method: "GET", path: "/match/reports/2024-01-15", status: 200, stub: "report-by-date"},
		{method: "GET", path: "/match/reports/2024-01-15/x", status: 404, stub: ""},
		{method: "GET", path: "/match/search?q=decoy&type=books", headers: search, status: 200, stub: "search-books"},
		{method: "GET", path: "/match/search?q=decoy&type=books", status: 401, respBody: `{"error":"log in first"}`, stub: "search-needs-login"},
		{method: "GET", path: "/match/search?q=decoy&type=films", headers: search, status: 404, stub: ""},
		{method: "GET", path: "/match/search?q=decoy&type=books", headers: map[string]string{
			"accept": "text/json", "x-api-version": "2", "Cookie": "session=abc"}, status: 200, stub: "search-books"},
		{method: "GET", path: "/match/search?q=decoy&type=books", headers: map[string]string{
			"Accept": "application/json", "X-Api-Version": "3", "Cookie": "session=abc"}, status: 404, stub: ""},
		{method: "POST", path: "/match/orders", body: `{ "qty": 1, "sku": "BOOK-42" }`, status: 201, stub: "create-order-exact"},
		{method: "POST", path: "/match/orders", body: `{"sku": "BOOK-42", "qty": 1.0}`, status: 201, stub: "create-order-exact"},
		{method: "POST", path: "/match/orders", body: `{"sku": "BOOK-42", "qty": 2}`, status: 404, stub: ""},
		{method: "POST", path: "/match/orders", body: `{"qty": 100, "items": [{"sku": "PEN-1"}, {"sku": "BOOK-9"}]}`,
			status: 202, respBody: `{"id":"ord-2","status":"queued"}`, stub: "create-order-bulk"},
		{method: "POST", path: "/match/orders", body: `{"qty": 100, "items": [{"sku": "PEN-1"}]}`, status: 404, stub: ""},
		{method: "POST", path: "/match/orders", body: `{"qty": 100, "items": [{"sku": "BOOK-1"}], "coupon": "X"}`, status: 404, stub: ""},
		{method: "PUT", path: "/match/import", headers: map[string]string{"Content-Type": "text/csv"},
			body: "sku,qty\nBOOK-1,3\n", status: 204, respBody: "", stub: "upload-csv"},
		{method: "PUT", path: "/match/import", headers: map[string]string{"Content-Type": "text/csv"},
			body: "sku,qty\nPEN-1,3\n", status: 404, stub: ""},

		// responses.yaml
		{method: "GET", path: "/responses/products/1", status: 200, contentType: ctJSON,
			respBody:    `{"id":1,"name":"Difference Engine","price":{"amount":19.99,"currency":"GBP"},"tags":["mechanical","antique"]}`,
			respHeaders: map[string][]string{"Cache-Control": {"max-age=60"}, "Etag": {`"v1"`}}, stub: "product"},
		{method: "GET", path: "/responses/robots.txt", status: 200, contentType: text, respBody: "User-agent: *\nDisallow: /admin\n",
			respHeaders: map[string][]string{"Set-Cookie": {"a=1; Path=/", "b=2; Path=/"}}, stub: "robots"},
		{method: "GET", path: "/responses/page", status: 200, contentType: "text/html; charset=utf-8", respBody: "<h1>Hello</h1>", stub: "page"},
		{method: "GET", path: "/responses/catalog", status: 200, contentType: ctJSON, stub: "catalog"},
		{method: "GET", path: "/responses/pixel.gif", status: 200, contentType: "image/gif", stub: "pixel"},
		{method: "GET", path: "/responses/blob", status: 200, contentType: "application/octet-stream", stub: "blob"},
		{method: "DELETE", path: "/responses/products/7", status: 204, respBody: "", stub: "accepted"},
		{method: "GET", path: "/responses/products/2", status: 404, contentType: "application/problem+json", stub: ""},
	}
	for _, proto := range []struct {
		name, base string
		major      int
	}{{"HTTP/1.1", srv.URL, 1}, {"HTTP/2", srv.TLSURL, 2}} {
		t.Run(proto.name, func(t *testing.T) {
			srv.ClearRequests()
			for _, k := range calls {
				resp, body := do(t, srv.Client(), proto.base, k)
				what := k.method + " " + k.path
				if resp.ProtoMajor != proto.major {
					t.Fatalf("%s: answered over %s", what, resp.Proto)
				}
				if resp.StatusCode != k.status {
					t.Errorf("%s: status %d, want %d (%s)", what, resp.StatusCode, k.status, body)
				}
				if k.contentType != "" && resp.Header.Get("Content-Type") != k.contentType {
					t.Errorf("%s: Content-Type %q, want %q", what, resp.Header.Get("Content-Type"), k.contentType)
				}
				if (k.respBody != "" || k.status == 204) && string(body) != k.respBody {
					t.Errorf("%s: body %q, want %q", what, body, k.respBody)
				}
				for name, want := range k.respHeaders {
					if got := resp.Header.Values(name); !reflect.DeepEqual(got, want) {
						t.Errorf("%s: header %s %q, want %q", what, name, got, want)
					}
				}
				if resp.ContentLength != int64(len(body)) {
					t.Errorf("%s: Content-Length %d for %d bytes", what, resp.ContentLength, len(body))
				}
				e := srv.Requests(decoy.Filter{Limit: 1})
				if len(e) != 1 || e[0].Stub != k.stub {
					t.Errorf("%s: answered by %+v, want stub %q", what, e, k.stub)
				}
			}
		})
	}
}

func TestExampleBodies(t *testing.T) {
	srv := serveExamples(t)
	c := srv.Client()
	get := func(path string) []byte {
		_, b := do(t, c, srv.URL, call{method: "GET", path: path})
		return b
	}
	file, err := os.ReadFile("examples/stubs/bodies/catalog.json")
	if err != nil {
		t.Fatal(err)
	}
	if b := get("/responses/catalog"); !bytes.Equal(b, file) {
		t.Errorf("bodyFile: got %q, want the file's bytes", b)
	}
	if b := get("/responses/pixel.gif"); len(b) != 42 || !bytes.HasPrefix(b, []byte("GIF89a")) {
		t.Errorf("bodyBase64: %d bytes %q", len(b), b)
	}
	// generate: 1 MiB, the same bytes on every run (this digest is of seed 7).
	b := get("/responses/blob")
	sum := sha256.Sum256(b)
	if len(b) != 1<<20 || hex.EncodeToString(sum[:]) != "b68bcbe4f707ca8cba7dfde359a44ddf0427ad71e81505e52e2d9d5bf3a69a81" {
		t.Errorf("generate: %d bytes, sha256 %x", len(b), sum)
	}
}

func TestExampleDelay(t *testing.T) {
	srv := serveExamples(t)
	start := time.Now()
	_, b := do(t, srv.Client(), srv.URL, call{method: "GET", path: "/responses/slow"})
	if d := time.Since(start); d < 250*time.Millisecond || string(b) != `{"ok":true}` {
		t.Errorf("got %s after %v, want {\"ok\":true} after 250ms", b, d)
	}
}

func TestExampleSequences(t *testing.T) {
	srv := serveExamples(t)
	c := srv.Client()
	statusBody := func(base, path string) string {
		resp, b := do(t, c, base, call{method: "GET", path: path})
		return resp.Status[:3] + " " + string(b)
	}
	job := []string{`202 {"state":"queued"}`, `202 {"state":"running"}`, `200 {"state":"done"}`, `200 {"state":"done"}`}
	// The counter is shared by every connection and protocol.
	bases := []string{srv.URL, srv.TLSURL, srv.URL, srv.TLSURL}
	for i, want := range job {
		if got := statusBody(bases[i], "/sequences/jobs/1"); got != want {
			t.Errorf("job-status call %d: %s, want %s", i+1, got, want)
		}
	}
	flaky := []string{"503", "200", "503", "200", "503"}
	for i, want := range flaky {
		if got := statusBody(srv.URL, "/sequences/flaky")[:3]; got != want {
			t.Errorf("flaky call %d: %s, want %s", i+1, got, want)
		}
	}
	if err := srv.Reset(); err != nil {
		t.Fatal(err)
	}
	if got := statusBody(srv.URL, "/sequences/jobs/1"); got != job[0] {
		t.Errorf("after reset: %s, want %s", got, job[0])
	}
	// HEAD moves a sequence on too.
	resp, err := c.Head(srv.URL + "/sequences/jobs/1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := statusBody(srv.URL, "/sequences/jobs/1"); got != job[2] {
		t.Errorf("after a HEAD: %s, want %s", got, job[2])
	}
}

func TestExampleHEAD(t *testing.T) {
	srv := serveExamples(t)
	for _, base := range []string{srv.URL, srv.TLSURL} {
		resp, b := do(t, srv.Client(), base, call{method: "HEAD", path: "/responses/blob"})
		if resp.StatusCode != 200 || len(b) != 0 || resp.ContentLength != 1<<20 {
			t.Errorf("HEAD over %s: %d, Content-Length %d, %d body bytes", resp.Proto, resp.StatusCode, resp.ContentLength, len(b))
		}
	}
}

// TestNoMatchSampleInDocs sends the request the docs show and compares the
// answer with the sample in the docs.
func TestNoMatchSampleInDocs(t *testing.T) {
	var sample string
	for _, bl := range docBlocks(t) {
		if bl.info == "json output" {
			sample = bl.text
		}
	}
	if sample == "" {
		t.Fatalf("%s: no ```json output block (the 404 sample)", docsFile)
	}
	docs, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(docs, []byte("\n## When nothing matches\n")) {
		t.Errorf("%s: no heading for #when-nothing-matches, which every 404's type points to", docsFile)
	}
	srv := serveExamples(t)
	for _, base := range []string{srv.URL, srv.TLSURL} {
		resp, body := do(t, srv.Client(), base, call{method: "GET", path: "/match/search?q=decoy",
			headers: map[string]string{"Accept": "application/json", "Cookie": "session=abc"}})
		if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" ||
			resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d %s %s", resp.Proto, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
		}
		var got, want any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(sample), &want); err != nil {
			t.Fatalf("%s: the 404 sample is not JSON: %v", docsFile, err)
		}
		if !reflect.DeepEqual(got, want) {
			var pretty bytes.Buffer
			_ = json.Indent(&pretty, body, "", "  ")
			t.Errorf("%s: the 404 sample in %s is out of date; decoy now answers:\n%s", resp.Proto, docsFile, pretty.String())
		}
	}
}
