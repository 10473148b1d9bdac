package openapi

import (
	"testing"

	"github.com/decoy-dev/decoy/internal/engine"
)

// acceptOnly are a request's fields with only an Accept header.
type acceptOnly string

func (a acceptOnly) Header(name string) (string, bool) {
	if name != "Accept" || a == "" {
		return "", false
	}
	return string(a), true
}
func (acceptOnly) Query(string) (string, bool)  { return "", false }
func (acceptOnly) Cookie(string) (string, bool) { return "", false }

// TestNegotiatedAllocs: choosing the media type of an answer, once each
// type has been served, allocates nothing.
func TestNegotiatedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	res, err := Load("testdata/negotiate.yaml", nil, Options{Seed: 1, Validation: "off"})
	if err != nil {
		t.Fatal(err)
	}
	snap, errs := engine.Compile(res.Sources)
	if errs != nil {
		t.Fatal(errs)
	}
	for _, accept := range []string{"", "*/*", "text/csv", "application/xml;q=1, application/json;q=0.5", "text/*;q=0.1, text/plain", "image/png"} {
		r := &engine.Request{Proto: "HTTP/1.1", Method: "GET", Path: "/report", Fields: acceptOnly(accept)}
		st := snap.Match(r)
		if st == nil || st.Vary() == nil {
			t.Fatalf("Accept %q: no negotiated stub", accept)
		}
		serve := func() *engine.Response { return st.Vary().Vary(r, st.Responses()[0]) }
		first := serve()
		if n := testing.AllocsPerRun(100, func() {
			if serve() != first {
				t.Fatal("a new response for the same Accept")
			}
		}); n != 0 {
			t.Errorf("Accept %q: %v allocations per request", accept, n)
		}
	}
}
