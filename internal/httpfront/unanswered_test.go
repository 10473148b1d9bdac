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

// engineClient is a client of one engine: the HTTP/1.1 loop (which hands
// stubs with behaviour to fasthttp), fasthttp, TLS HTTP/1.1, decoy's
// HTTP/2 and Go's, plaintext and TLS.
type engineClient struct {
	name   string
	o      httpfront.Options
	client func(f *fixture) *http.Client
	url    func(f *fixture) string
}

func engineClients() []engineClient {
	plain := func(f *fixture) string { return "http://" + f.http }
	secure := func(f *fixture) string { return "https://" + f.https }
	return []engineClient{
		{"h1-loop", httpfront.Options{}, (*fixture).h1, plain},
		{"h1-fasthttp", httpfront.Options{HTTP1Engine: httpfront.HTTP1Fasthttp}, (*fixture).h1, plain},
		{"h1-tls", httpfront.Options{}, func(f *fixture) *http.Client { return f.tlsClient(false) }, secure},
		{"h2c-decoy", httpfront.Options{}, (*fixture).h2c, plain},
		{"h2-decoy-tls", httpfront.Options{}, func(f *fixture) *http.Client { return f.tlsClient(true) }, secure},
		{"h2c-go", httpfront.Options{HTTP2Engine: httpfront.HTTP2Go}, (*fixture).h2c, plain},
		{"h2-go-tls", httpfront.Options{HTTP2Engine: httpfront.HTTP2Go}, func(f *fixture) *http.Client { return f.tlsClient(true) }, secure},
	}
}

// TestUnansweredStatusZero: a request that got no status (a fault that
// sends none, a hang the client ends) is counted and journaled as status
// 0 on every engine, and close-mid-body under the status of the head it
// sent.
func TestUnansweredStatusZero(t *testing.T) {
	t.Parallel()
	var srcs []engine.Source
	kinds := []string{"reset", "empty", "malformed", "garbage", "hang", "close-mid-body"}
	for _, k := range kinds {
		srcs = append(srcs, engine.Source{Stub: stub.Stub{ID: k, Request: stub.Request{Path: "/" + k},
			Response: &stub.Response{Status: 201, Body: stub.Text("a body of some length"), Faults: stub.Faults{{Kind: k}}}}})
	}
	for _, c := range engineClients() {
		for _, k := range kinds {
			t.Run(c.name+"/"+k, func(t *testing.T) {
				t.Parallel()
				f := startSources(t, srcs, c.o)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if k == "hang" {
					// The client gives up once the request is in.
					st := f.store.Engine().Snapshot().Get(k)
					go func() {
						for st.Calls() == 0 {
							time.Sleep(time.Millisecond)
						}
						cancel()
					}()
				}
				req, _ := http.NewRequestWithContext(ctx, "GET", c.url(f)+"/"+k, nil)
				if resp, err := c.client(f).Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				want := 0
				if k == "close-mid-body" {
					want = 201
				}
				var es []journal.Entry
				waitFor(t, "the journal entry", func() bool {
					es = f.journal.Find(journal.Filter{})
					return len(es) == 1
				})
				if es[0].Status != want || es[0].Fault != k {
					t.Errorf("journal: status %d, fault %q; want %d, %q", es[0].Status, es[0].Fault, want, k)
				}
				if got := statusCounts(f.store.Engine(), k); len(got) != 1 || got[want] != 1 {
					t.Errorf("decoy_requests_total by code %v, want {%d: 1}", got, want)
				}
			})
		}
	}
}

// TestBytesOutGenerated: a body generated as it goes (above 8 MiB) is
// counted in the journal's bytesOut and decoy_response_bytes_total on
// every engine (decoy's HTTP/2 counted 0).
func TestBytesOutGenerated(t *testing.T) {
	t.Parallel()
	const size = 9 << 20
	srcs := []engine.Source{{Stub: stub.Stub{ID: "big", Request: stub.Request{Path: "/big"},
		Response: &stub.Response{Generate: &stub.Generate{Size: size, Seed: 3}}}}}
	for _, c := range engineClients() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := startSources(t, srcs, c.o)
			if _, body := get(t, c.client(f), c.url(f)+"/big"); len(body) != size {
				t.Fatalf("got %d bytes, want %d", len(body), size)
			}
			var es []journal.Entry
			waitFor(t, "the journal entry", func() bool {
				es = f.journal.Find(journal.Filter{})
				return len(es) == 1
			})
			if es[0].BytesOut != size {
				t.Errorf("journal: bytesOut %d, want %d", es[0].BytesOut, size)
			}
			// Counted as it is written: the client may have it all a
			// moment before the last write is counted.
			waitFor(t, "decoy_response_bytes_total to reach the body's size", func() bool {
				return f.store.Engine().Snapshot().Get("big").Stats().Read().BytesOut >= size
			})
			if n := f.store.Engine().Snapshot().Get("big").Stats().Read().BytesOut; n != size {
				t.Errorf("decoy_response_bytes_total %d, want %d", n, size)
			}
		})
	}
}
