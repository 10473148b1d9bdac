package httpfront_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/stub"
)

// TestShutdownKeepsDelays: a graceful shutdown does not answer a request
// waiting on an injected delay early (its client would measure a latency
// the stub never asked for). A delay that ends within shutdown-timeout is
// answered in full; one that would end after it is closed unanswered. On
// every engine: the HTTP/1.1 loop (which hands delayed stubs to
// fasthttp), fasthttp, decoy's HTTP/2 and Go's, plaintext and TLS.
func TestShutdownKeepsDelays(t *testing.T) {
	t.Parallel()
	srcs := []engine.Source{
		{Stub: stub.Stub{ID: "soon", Request: stub.Request{Path: "/soon"},
			Response: &stub.Response{Body: stub.Text("on time"), Delay: new(stub.Duration(300 * time.Millisecond))}}},
		{Stub: stub.Stub{ID: "later", Request: stub.Request{Path: "/later"},
			Response: &stub.Response{Body: stub.Text("too late"), Delay: new(stub.Duration(time.Hour))}}},
		// A paced body's wait before the first byte and a fault's wait
		// are delays too.
		{Stub: stub.Stub{ID: "later-paced", Request: stub.Request{Path: "/later-paced"},
			Response: &stub.Response{Body: stub.Text("paced"), Delay: new(stub.Duration(time.Hour)),
				Throttle: 1 << 20}}},
		{Stub: stub.Stub{ID: "later-fault", Request: stub.Request{Path: "/later-fault"},
			Response: &stub.Response{Body: stub.Text("x"), Delay: new(stub.Duration(time.Hour)),
				Faults: stub.Faults{{Kind: "error", Status: 503}}}}},
	}
	type client struct {
		name   string
		o      httpfront.Options
		client func(f *fixture) *http.Client
		url    func(f *fixture) string
	}
	clients := []client{
		{"h1-loop", httpfront.Options{}, (*fixture).h1, func(f *fixture) string { return "http://" + f.http }},
		{"h1-fasthttp", httpfront.Options{HTTP1Engine: httpfront.HTTP1Fasthttp}, (*fixture).h1, func(f *fixture) string { return "http://" + f.http }},
		{"h1-tls", httpfront.Options{}, func(f *fixture) *http.Client { return f.tlsClient(false) }, func(f *fixture) string { return "https://" + f.https }},
		{"h2c-decoy", httpfront.Options{}, (*fixture).h2c, func(f *fixture) string { return "http://" + f.http }},
		{"h2-decoy-tls", httpfront.Options{}, func(f *fixture) *http.Client { return f.tlsClient(true) }, func(f *fixture) string { return "https://" + f.https }},
		{"h2c-go", httpfront.Options{HTTP2Engine: httpfront.HTTP2Go}, (*fixture).h2c, func(f *fixture) string { return "http://" + f.http }},
		{"h2-go-tls", httpfront.Options{HTTP2Engine: httpfront.HTTP2Go}, func(f *fixture) *http.Client { return f.tlsClient(true) }, func(f *fixture) string { return "https://" + f.https }},
	}
	for _, c := range clients {
		for _, path := range []string{"/soon", "/later", "/later-paced", "/later-fault"} {
			t.Run(c.name+path, func(t *testing.T) {
				t.Parallel()
				f := startSources(t, srcs, c.o)
				st := f.store.Engine().Snapshot().Get(path[1:])
				type result struct {
					status int
					body   string
					err    error
				}
				got := make(chan result, 1)
				go func() {
					resp, err := c.client(f).Get(c.url(f) + path)
					if err != nil {
						got <- result{err: err}
						return
					}
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					got <- result{resp.StatusCode, string(b), err}
				}()
				// Wait until the request is being served.
				for st.Calls() == 0 {
					time.Sleep(time.Millisecond)
				}
				timeout := 10 * time.Second
				if path != "/soon" {
					timeout = 2 * time.Second
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				shut := make(chan error, 1)
				go func() { shut <- f.srv.Shutdown(ctx) }()
				r := <-got
				switch path {
				case "/soon":
					if r.err != nil || r.status != 200 || r.body != "on time" {
						t.Errorf("got %d %q %v, want 200 %q", r.status, r.body, r.err, "on time")
					}
				default:
					// Closed, not answered: no status reaches the client.
					if r.err == nil {
						t.Errorf("got %d %q, want the request closed unanswered", r.status, r.body)
					}
				}
				if err := <-shut; err != nil {
					t.Errorf("shutdown: %v", err)
				}
				if path == "/soon" {
					return
				}
				// Recorded as it went: status 0, none sent. decoy's HTTP/2
				// journals the request before its wait and corrects the
				// entry when the stream closes unanswered, which may come
				// just after Shutdown returns.
				var es []journal.Entry
				waitFor(t, "the request counted", func() bool {
					es = f.journal.Find(journal.Filter{})
					return len(es) == 1 && es[0].Status == 0 && st.Stats().Count() == 1
				})
				if es[0].BytesOut != 0 {
					t.Errorf("journal bytesOut %d, want 0", es[0].BytesOut)
				}
				if got := statusCounts(f.store.Engine(), path[1:]); len(got) != 1 || got[0] != 1 {
					t.Errorf("decoy_requests_total by code %v, want {0: 1}", got)
				}
			})
		}
	}
}
