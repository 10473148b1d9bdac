package app_test

import (
	"runtime"
	"slices"
	"testing"
	"time"
)

// TestAcceptQueueFollowsResume: the accept-queue readings (/metrics at
// scrape time, /health's acceptQueue at each one-second reading) follow a
// listener paused and resumed through the admin API onto its new socket;
// while paused it reads as an empty queue of no size.
func TestAcceptQueueFollowsResume(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("accept queues are measured on Linux only")
	}
	t.Parallel()
	tests := []struct {
		name string
		// paused are the listeners paused and resumed, of all the data
		// listeners.
		paused, all []string
	}{
		{"http of two", []string{"http"}, []string{"http", "https"}},
		{"https of two", []string{"https"}, []string{"http", "https"}},
		{"both", []string{"http", "https"}, []string{"http", "https"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := start(t, nil)
			// queues checks every listener's series; paused ones read 0
			// and 0.
			queues := func(when string, paused bool) {
				t.Helper()
				f := r.scrape(t)
				for _, name := range tt.all {
					isPaused := paused && slices.Contains(tt.paused, name)
					length := f.value("decoy_accept_queue_length", "listener="+name)
					limit := f.value("decoy_accept_queue_max", "listener="+name)
					switch {
					case length < 0 || limit < 0:
						t.Errorf("%s: no decoy_accept_queue_length or _max for %s (%v, %v)", when, name, length, limit)
					case isPaused && (length != 0 || limit != 0):
						t.Errorf("%s: %s paused reads length %v, max %v; want 0, 0", when, name, length, limit)
					case !isPaused && limit <= 0:
						t.Errorf("%s: %s reads max %v, want the backlog", when, name, limit)
					}
				}
			}
			// health waits for a reading taken after now, then checks
			// that /health has acceptQueue.
			health := func(when string) {
				t.Helper()
				time.Sleep(1200 * time.Millisecond)
				var doc map[string]any
				getJSON(t, r.admin+"/health", &doc)
				if q, ok := doc["acceptQueue"].(float64); !ok || q != 0 {
					t.Errorf("%s: /health acceptQueue %v (%v), want 0: %v", when, doc["acceptQueue"], ok, doc)
				}
			}
			queues("at start", false)
			for _, name := range tt.paused {
				if code, body := adminDo(t, r, "POST", "/listeners/"+name+"/pause", ""); code != 200 {
					t.Fatalf("pause %s: %d %s", name, code, body)
				}
			}
			queues("paused", true)
			health("paused")
			for _, name := range tt.paused {
				if code, body := adminDo(t, r, "POST", "/listeners/"+name+"/resume", ""); code != 200 {
					t.Fatalf("resume %s: %d %s", name, code, body)
				}
			}
			queues("resumed", false)
			health("resumed")
		})
	}
}
