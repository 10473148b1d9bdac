package app_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

func adminDo(t *testing.T, r *running, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, r.admin+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// fresh is a client that opens a new connection per request.
func fresh(tlsClient *http.Client) *http.Client {
	if tlsClient != nil {
		tr := tlsClient.Transport.(*http.Transport).Clone()
		tr.DisableKeepAlives = true
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
}

// TestListenerPauseResume pauses each data port through the admin API: a
// new connection is refused while paused, and served after resume on the
// same address.
func TestListenerPauseResume(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	tests := []struct {
		name string
		url  string
		c    *http.Client
	}{
		{"http", r.http, fresh(nil)},
		{"https", r.https, fresh(r.tls(false))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			get := func() (*http.Response, error) {
				resp, err := tt.c.Get(tt.url + "/users/1")
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				return resp, err
			}
			if resp, err := get(); err != nil || resp.StatusCode != 200 {
				t.Fatalf("before pause: %v %v", resp, err)
			}
			if code, body := adminDo(t, r, "POST", "/listeners/"+tt.name+"/pause", ""); code != 200 || !strings.Contains(body, `"paused":true`) {
				t.Fatalf("pause: %d %s", code, body)
			}
			if _, err := get(); !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("while paused: %v, want connection refused", err)
			}
			if code, body := adminDo(t, r, "POST", "/listeners/"+tt.name+"/resume", ""); code != 200 || !strings.Contains(body, `"paused":false`) {
				t.Fatalf("resume: %d %s", code, body)
			}
			if resp, err := get(); err != nil || resp.StatusCode != 200 {
				t.Fatalf("after resume: %v %v", resp, err)
			}
		})
	}
}

func TestListenerFirstReadDelay(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	if code, body := adminDo(t, r, "PUT", "/listeners/http/first-read-delay", `{"delay": "300ms"}`); code != 200 || !strings.Contains(body, `"firstReadDelay":"300ms"`) {
		t.Fatalf("set: %d %s", code, body)
	}
	t0 := time.Now()
	resp, err := fresh(nil).Get(r.http + "/users/1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if took := time.Since(t0); took < 200*time.Millisecond {
		t.Errorf("answered after %v, want at least the 300ms first-read delay", took)
	}
	if code, _ := adminDo(t, r, "PUT", "/listeners/http/first-read-delay", `{"delay": "0s"}`); code != 200 {
		t.Fatalf("reset: %d", code)
	}
}

func TestListenerBadInput(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	tests := []struct {
		name, method, path, body string
		want                     int
		text                     string
	}{
		{"unknown listener", "POST", "/listeners/ftp/pause", "", 404, "there are http, https"},
		{"unknown listener resume", "POST", "/listeners/ftp/resume", "", 404, "ftp"},
		{"no delay", "PUT", "/listeners/http/first-read-delay", `{}`, 400, "delay"},
		{"negative delay", "PUT", "/listeners/http/first-read-delay", `{"delay": "-1s"}`, 400, "delay"},
		{"too long", "PUT", "/listeners/http/first-read-delay", `{"delay": "2h"}`, 400, "1h"},
		{"not a duration", "PUT", "/listeners/http/first-read-delay", `{"delay": "soon"}`, 400, "delay"},
		{"unknown field", "PUT", "/listeners/http/first-read-delay", `{"delay": "1s", "x": 1}`, 400, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, body := adminDo(t, r, tt.method, tt.path, tt.body)
			if code != tt.want || !strings.Contains(body, tt.text) {
				t.Errorf("%d %s, want %d with %q", code, body, tt.want, tt.text)
			}
		})
	}
	code, body := adminDo(t, r, "GET", "/listeners", "")
	if code != 200 || strings.Contains(body, `"paused":true`) || strings.Contains(body, `"firstReadDelay":"1s"`) {
		t.Errorf("after bad input: %d %s", code, body)
	}
}

// TestBehaviourOverrideServed: a runtime override changes what a client
// sees, and DELETE restores it.
func TestBehaviourOverrideServed(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	c := fresh(nil)
	if code, body := adminDo(t, r, "PUT", "/behaviours", `{"faults": [{"kind": "error", "status": 418}], "stubs": ["user"]}`); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	resp, err := c.Get(r.http + "/users/1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 418 {
		t.Errorf("under the override: %d, want 418", resp.StatusCode)
	}
	if code, _ := adminDo(t, r, "DELETE", "/behaviours", ""); code != 204 {
		t.Fatalf("DELETE: %d", code)
	}
	resp, err = c.Get(r.http + "/users/1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after DELETE: %d, want 200", resp.StatusCode)
	}
}
