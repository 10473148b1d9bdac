package httpfront_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/httpfront"
)

// TestDelayNeverEarly: delayed answers on one connection, on every
// protocol, each come no sooner than the stub's 300 ms after the request
// was sent. From the second on, decoy counts the delay from the request's
// arrival (kernel timestamps); that must never make one shorter.
func TestDelayNeverEarly(t *testing.T) {
	t.Parallel()
	f := start(t, httpfront.Options{})
	const delay = 300 * time.Millisecond
	cases := []struct {
		name   string
		client *http.Client
		url    string
		proto  int
	}{
		{"HTTP/1.1", f.h1(), "http://" + f.http + "/slow", 1},
		{"h2c", f.h2c(), "http://" + f.http + "/slow", 2},
		{"TLS HTTP/1.1", f.tlsClient(false), "https://" + f.https + "/slow", 1},
		{"TLS h2", f.tlsClient(true), "https://" + f.https + "/slow", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for i := range 3 {
				t0 := time.Now()
				resp, err := c.client.Get(c.url)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				took := time.Since(t0)
				if err != nil || resp.StatusCode != 200 || string(body) != "late" {
					t.Fatalf("request %d: %d %q %v", i, resp.StatusCode, body, err)
				}
				if resp.ProtoMajor != c.proto {
					t.Fatalf("request %d went over %s", i, resp.Proto)
				}
				if took < delay {
					t.Errorf("request %d answered after %v, sooner than the %v delay", i, took, delay)
				}
			}
		})
	}
}
