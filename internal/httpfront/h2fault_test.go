package httpfront_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/stub"
	"golang.org/x/net/http2"
)

const faultBody = "0123456789abcdefghij" // 20 bytes: close-mid-body sends 10

// h2FaultStubs has faults only (no paced body), so HTTP/2 connections
// stay on the engine chosen.
func h2FaultStubs() []engine.Source {
	one := func(id string, f stub.Fault) engine.Source {
		return engine.Source{Stub: stub.Stub{ID: id, Request: stub.Request{Path: "/" + id},
			Response: &stub.Response{Body: stub.Text(faultBody), Faults: stub.Faults{f}}}}
	}
	return []engine.Source{
		one("rst-cancel", stub.Fault{Kind: "reset", H2: &stub.H2Fault{RSTStream: "CANCEL"}}),
		one("rst-calm-late", stub.Fault{Kind: "error", After: stub.Duration(5 * time.Millisecond), H2: &stub.H2Fault{RSTStream: "ENHANCE_YOUR_CALM"}}),
		one("reset", stub.Fault{Kind: "reset"}),
		one("empty", stub.Fault{Kind: "empty"}),
		one("garbage", stub.Fault{Kind: "garbage"}),
		one("malformed", stub.Fault{Kind: "malformed"}),
		one("cut", stub.Fault{Kind: "close-mid-body"}),
		one("error", stub.Fault{Kind: "error", Status: 502}),
		one("goaway-calm", stub.Fault{Kind: "reset", H2: &stub.H2Fault{GOAWAY: "ENHANCE_YOUR_CALM"}}),
		{Stub: stub.Stub{ID: "goaway", Request: stub.Request{Path: "/goaway"}, Responses: []stub.Response{
			{Faults: stub.Faults{{Kind: "reset", H2: &stub.H2Fault{GOAWAY: stub.GoAwayNoError}}}},
			{Body: stub.Text("retried")},
		}}},
	}
}

func startH2Faults(t *testing.T, engineName string) (string, *httpfront.Server, *journal.Journal) {
	t.Helper()
	store, err := engine.NewStore(h2FaultStubs(), engine.WithSeed(7))
	if err != nil {
		t.Fatal(err)
	}
	j := journal.New(100, 1024)
	srv := httpfront.New(httpfront.Options{Engine: store.Engine(), HTTP2Engine: engineName, Journal: j})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String(), srv, j
}

// h2cTransport is Go's HTTP/2 client speaking h2c with prior knowledge.
func h2cTransport() *http.Transport {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return &http.Transport{Protocols: p}
}

// TestH2Faults: the RST_STREAM code Go's HTTP/2 client sees for each fault,
// on both HTTP/2 engines (Go's server cannot choose the code: always
// INTERNAL_ERROR), and that faulted requests are counted and journaled.
func TestH2Faults(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		engine string
		path   string
		code   http2.ErrCode // the stream error the client gets
		body   string        // the part of the body read before it
		status int           // the response status, 0 for none
	}{
		{httpfront.HTTP2Decoy, "/rst-cancel", http2.ErrCodeCancel, "", 0},
		{httpfront.HTTP2Decoy, "/rst-calm-late", http2.ErrCodeEnhanceYourCalm, "", 0},
		{httpfront.HTTP2Decoy, "/reset", http2.ErrCodeInternal, "", 0},
		{httpfront.HTTP2Decoy, "/empty", http2.ErrCodeInternal, "", 0},
		{httpfront.HTTP2Decoy, "/garbage", http2.ErrCodeInternal, "", 0},
		{httpfront.HTTP2Decoy, "/malformed", http2.ErrCodeProtocol, "", 0},
		{httpfront.HTTP2Decoy, "/cut", http2.ErrCodeInternal, faultBody[:10], 200},
		{httpfront.HTTP2Go, "/rst-cancel", http2.ErrCodeInternal, "", 0},
		{httpfront.HTTP2Go, "/reset", http2.ErrCodeInternal, "", 0},
		{httpfront.HTTP2Go, "/malformed", http2.ErrCodeInternal, "", 0},
		{httpfront.HTTP2Go, "/cut", http2.ErrCodeInternal, faultBody[:10], 200},
	} {
		t.Run(tt.engine+tt.path, func(t *testing.T) {
			t.Parallel()
			base, srv, j := startH2Faults(t, tt.engine)
			tr := h2cTransport()
			defer tr.CloseIdleConnections()
			req, _ := http.NewRequest("GET", base+tt.path, nil)
			resp, err := tr.RoundTrip(req)
			var body []byte
			status := 0
			if err == nil {
				status = resp.StatusCode
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			var se http2.StreamError
			if !errors.As(err, &se) || se.Code != tt.code {
				t.Fatalf("got %v, want a stream error %v", err, tt.code)
			}
			if status != tt.status || string(body) != tt.body {
				t.Errorf("status %d, body %q before the error; want %d, %q", status, body, tt.status, tt.body)
			}
			// Counted and journaled, on either engine.
			deadline := time.Now().Add(5 * time.Second)
			for srv.Stats().Requests[metrics.HTTP2] == 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if n := srv.Stats().Requests[metrics.HTTP2]; n != 1 {
				t.Errorf("%d HTTP/2 requests counted, want 1", n)
			}
			es := j.Find(journal.Filter{})
			if len(es) != 1 || es[0].Fault == "" || es[0].Stub != strings.TrimPrefix(tt.path, "/") {
				t.Errorf("journal: %+v, want one entry with its fault", es)
			}
		})
	}
}

// TestH2GoAwayFault: GOAWAY naming the stream before the request's; Go's
// client retries it on a new connection, where the stub's next response
// answers.
func TestH2GoAwayFault(t *testing.T) {
	t.Parallel()
	base, _, _ := startH2Faults(t, httpfront.HTTP2Decoy)
	// One connection: the error is the GOAWAY's.
	tr := h2cTransport()
	cc, err := tr.NewClientConn(context.Background(), "http", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", base+"/goaway", nil)
	_, err = cc.RoundTrip(req)
	if err == nil || !strings.Contains(err.Error(), "GOAWAY") {
		t.Fatalf("got %v, want the GOAWAY's error", err)
	}
	_ = cc.Close()
	// The stub's sequence went on: through the pool, the retry answers.
	base2, _, _ := startH2Faults(t, httpfront.HTTP2Decoy)
	tr2 := h2cTransport()
	defer tr2.CloseIdleConnections()
	req, _ = http.NewRequest("GET", base2+"/goaway", nil)
	resp, err := tr2.RoundTrip(req)
	if err != nil {
		t.Fatalf("the retried request failed: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "retried" {
		t.Errorf("retried request: %d %q", resp.StatusCode, b)
	}
}

// TestH2GoAwayCode: `goaway: ENHANCE_YOUR_CALM` sends GOAWAY with that
// code, naming no stream as processed (the request's stream is the
// connection's first), as a raw HTTP/2 client reads it.
func TestH2GoAwayCode(t *testing.T) {
	t.Parallel()
	base, _, _ := startH2Faults(t, httpfront.HTTP2Decoy)
	fr := h2cGet(t, strings.TrimPrefix(base, "http://"), "/goaway-calm")
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no GOAWAY before %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.GoAwayFrame:
			if f.ErrCode != http2.ErrCodeEnhanceYourCalm || f.LastStreamID != 0 {
				t.Errorf("GOAWAY code %v, last stream %d; want ENHANCE_YOUR_CALM, 0", f.ErrCode, f.LastStreamID)
			}
			return
		case *http2.HeadersFrame, *http2.DataFrame, *http2.RSTStreamFrame:
			t.Fatalf("got %v before the GOAWAY", f)
		}
	}
}
