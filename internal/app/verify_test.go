package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/journal"
)

// adminPost posts body to the admin API and decodes the JSON answer into v.
func adminPost(t *testing.T, r *running, path, body string, v any) int {
	t.Helper()
	resp, err := http.Post(r.admin+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v: %s", path, err, b)
	}
	return resp.StatusCode
}

type verified struct {
	Status     int    `json:"status"`
	Detail     string `json:"detail"`
	Expected   string `json:"expected"`
	Count      int    `json:"count"`
	Complete   bool   `json:"complete"`
	NearMisses []struct {
		URI     string   `json:"uri"`
		Reasons []string `json:"reasons"`
	} `json:"nearMisses"`
}

// TestVerifyUnderConcurrentTraffic sends known traffic from many
// goroutines over HTTP/1.1 and HTTP/2 and checks the counts exactly.
func TestVerifyUnderConcurrentTraffic(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			c := r.h1("127.0.0.1")
			for i := range each {
				req, _ := http.NewRequest("GET", fmt.Sprintf("%s/users/%d?worker=%d", r.http, i, w), nil)
				req.Header.Set("X-Worker", fmt.Sprint(w))
				resp, err := c.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			c := r.tls(true)
			for range 10 {
				req, _ := http.NewRequest("POST", r.https+"/flaky", strings.NewReader(`{"n":1}`))
				resp, err := c.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.ProtoMajor != 2 {
					t.Errorf("proto %s, want HTTP/2", resp.Proto)
				}
			}
		})
	}
	wg.Wait()
	// Over HTTP/1.1 the journal entry is made before the response is
	// written; over HTTP/2 just after. Wait until every request is in.
	for deadline := time.Now().Add(10 * time.Second); len(r.Journal.Find(journal.Filter{})) < workers*each+40 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}

	tests := []struct {
		name   string
		query  string
		status int
		count  int
	}{
		{"all users", `{"request":{"method":"GET","path":"/users/{id}"},"count":{"exactly":200}}`, 200, workers * each},
		{"one worker by header", `{"request":{"headers":{"X-Worker":"3"}},"count":{"exactly":25}}`, 200, each},
		{"one worker by query", `{"request":{"query":{"worker":"5"}},"count":{"exactly":25}}`, 200, each},
		{"one user", `{"request":{"path":"/users/7"},"count":{"exactly":8}}`, 200, workers},
		{"h2 posts with body", `{"request":{"method":"POST","path":"/flaky","body":{"contains":"\"n\""}},"count":{"exactly":40}}`, 200, 40},
		{"too many", `{"request":{"path":"/flaky"},"count":{"atMost":39}}`, 409, 40},
		{"none", `{"request":{"path":"/users/{id}","headers":{"X-Worker":"99"}}}`, 409, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got verified
			if st := adminPost(t, r, "/verify", tt.query, &got); st != tt.status || got.Count != tt.count || !got.Complete {
				t.Errorf("status %d, %+v; want %d and count %d", st, got, tt.status, tt.count)
			}
			if tt.status == 409 && got.Count == 0 {
				if len(got.NearMisses) != 3 || !strings.Contains(got.NearMisses[0].Reasons[0], "header X-Worker") {
					t.Errorf("near misses %+v", got.NearMisses)
				}
			}
		})
	}
	var counted struct{ Count, Searched int }
	if adminPost(t, r, "/requests/count", `{"pathPrefix":"/"}`, &counted); counted.Count != 240 || counted.Searched != 240 {
		t.Errorf("count %+v, want 240 of 240", counted)
	}
}
