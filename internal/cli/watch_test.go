package cli_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWatchReloads: an edited stub file is served without a restart; a
// broken edit leaves the stubs served before in place (POST /reload says
// why, with file:line), and fixing it serves it.
func TestWatchReloads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "stubs", "hello.yaml")
	write(t, dir, "stubs/hello.yaml", "- request: {path: /hello}\n  response: {body: one}\n")
	a, _ := serve(t, nil, "--quiet", filepath.Join(dir, "stubs"))
	base, admin := "http://"+a.HTTPAddr.String(), "http://"+a.AdminAddr.String()
	if code, body := fetch(t, base+"/hello"); code != 200 || body != "one" {
		t.Fatalf("GET /hello: %d %q", code, body)
	}
	// An editor's save: a new file renamed over the old one.
	tmp := file + ".tmp~"
	if err := os.WriteFile(tmp, []byte("- request: {path: /hello}\n  response: {body: two}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	waitBody(t, base+"/hello", "two")
	// A file made in a new folder is read too.
	write(t, dir, "stubs/more/bye.yaml", "- request: {path: /bye}\n  response: {body: bye}\n")
	waitBody(t, base+"/bye", "bye")

	// A broken edit: the watcher keeps the stubs served, and so does
	// POST /reload, which names the problem.
	if err := os.WriteFile(file, []byte("- request: {path: /hello}\n  response: {status: 99}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(admin+"/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Status int
		Errors []struct{ Message string }
	}
	_ = json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if resp.StatusCode != 422 || len(p.Errors) == 0 || !strings.Contains(p.Errors[0].Message, "hello.yaml:2") {
		t.Fatalf("POST /reload of a broken file: %d %+v, want 422 naming hello.yaml:2", resp.StatusCode, p)
	}
	if code, body := fetch(t, base+"/hello"); code != 200 || body != "two" {
		t.Fatalf("after a broken edit GET /hello: %d %q, want the stub served before", code, body)
	}
	if err := os.WriteFile(file, []byte("- request: {path: /hello}\n  response: {body: three}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	resp, err = http.Post(admin+"/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /reload: %d", resp.StatusCode)
	}
	if code, body := fetch(t, base+"/hello"); code != 200 || body != "three" {
		t.Fatalf("after POST /reload GET /hello: %d %q", code, body)
	}
}

// TestReloadDemo: the demo has no files to read again.
func TestReloadDemo(t *testing.T) {
	t.Parallel()
	a, _ := serve(t, nil, "--quiet")
	resp, err := http.Post("http://"+a.AdminAddr.String()+"/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 409 {
		t.Errorf("POST /reload on the demo: %d, want 409", resp.StatusCode)
	}
}

// waitBody polls url until it answers want (at most 10 s: the watcher
// waits for the files to settle first).
func waitBody(t *testing.T, url, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := fetch(t, url)
		if code == 200 && body == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d %q after 10 s, want %q", url, code, body, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
