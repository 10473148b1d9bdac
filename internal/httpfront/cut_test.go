package httpfront_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/stub"
	"golang.org/x/net/http2"
)

// TestCutGeneratedBody: close-mid-body on a body generated as it is sent
// (above 8 MiB) sends the headers with the full Content-Length and half
// of the body, then breaks off, on every protocol and engine; on HTTP/2
// the break is RST_STREAM INTERNAL_ERROR.
func TestCutGeneratedBody(t *testing.T) {
	t.Parallel()
	const size = 9 << 20
	srcs := []engine.Source{{Stub: stub.Stub{ID: "big", Request: stub.Request{Path: "/big"}, Response: &stub.Response{
		Generate: &stub.Generate{Size: size}, Faults: stub.Faults{{Kind: "close-mid-body"}}}}}}
	for _, engineName := range []string{httpfront.HTTP2Decoy, httpfront.HTTP2Go} {
		f := startSources(t, srcs, httpfront.Options{HTTP2Engine: engineName})
		for _, tt := range []struct {
			name string
			c    *http.Client
			url  string
			h2   bool
		}{
			{"HTTP/1.1", f.h1(), "http://" + f.http, false},
			{"h2c", f.h2c(), "http://" + f.http, true},
			{"TLS h2", f.tlsClient(true), "https://" + f.https, true},
		} {
			t.Run(engineName+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				resp, err := tt.c.Get(tt.url + "/big")
				if err != nil {
					t.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || resp.ContentLength != size || n != size/2 {
					t.Errorf("status %d, Content-Length %d, %d bytes: want 200, %d, %d", resp.StatusCode, resp.ContentLength, n, size, size/2)
				}
				var se http2.StreamError
				switch {
				case tt.h2 && (!errors.As(err, &se) || se.Code != http2.ErrCodeInternal):
					t.Errorf("after the body: %v, want a stream error INTERNAL_ERROR", err)
				case !tt.h2 && !errors.Is(err, io.ErrUnexpectedEOF):
					t.Errorf("after the body: %v, want an unexpected EOF", err)
				}
			})
		}
	}
}

// TestCutPaced: close-mid-body on a paced body sends the part before the
// cut on the pace of the whole body. With a dribble of 5 bytes an hour,
// the first 5 bytes come, the next 5 wait; the server shutting down then
// ends the exchange, so the client has 5 bytes, not the 10 before the
// cut.
func TestCutPaced(t *testing.T) {
	t.Parallel()
	srcs := []engine.Source{{Stub: stub.Stub{ID: "cut", Request: stub.Request{Path: "/cut"}, Response: &stub.Response{
		Body:    stub.Text("0123456789abcdefghij"),
		Dribble: &stub.Dribble{Chunk: 5, Every: stub.Duration(time.Hour)},
		Faults:  stub.Faults{{Kind: "close-mid-body"}}}}}}
	for _, engineName := range []string{httpfront.HTTP2Decoy, httpfront.HTTP2Go} {
		for _, proto := range []string{"HTTP/1.1", "h2c"} {
			t.Run(engineName+"/"+proto, func(t *testing.T) {
				t.Parallel()
				f := startSources(t, srcs, httpfront.Options{HTTP2Engine: engineName})
				c := f.h1()
				if proto == "h2c" {
					c = f.h2c()
				}
				resp, err := c.Get("http://" + f.http + "/cut")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				first := make([]byte, 5)
				if _, err := io.ReadFull(resp.Body, first); err != nil {
					t.Fatalf("the first chunk: %v", err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				_ = f.srv.Shutdown(ctx)
				cancel()
				rest, err := io.ReadAll(resp.Body)
				if got := string(first) + string(rest); err == nil || got != "01234" {
					t.Errorf("got %q, then %v; want the first dribbled chunk %q, then an error", got, err, "01234")
				}
			})
		}
	}
}
