package httpfront_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/external"
	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/stub"
)

func behaveStubs() []engine.Source {
	src := func(id, path string, r stub.Response) engine.Source {
		if r.Body.IsZero() && r.Generate == nil {
			r.Body = stub.Text(strings.Repeat("0123456789", 1000))
		}
		return engine.Source{Stub: stub.Stub{ID: id, Request: stub.Request{Path: path}, Response: &r}}
	}
	fault := func(kind string) stub.Response { return stub.Response{Faults: stub.Faults{{Kind: kind}}} }
	return []engine.Source{
		src("rand", "/rand", stub.Response{Latency: &stub.Latency{Uniform: &stub.Uniform{Min: stub.Duration(2 * time.Millisecond), Max: stub.Duration(20 * time.Millisecond)}}}),
		src("prof", "/prof", stub.Response{Latency: &stub.Latency{Profile: "fast"}}),
		src("plain", "/plain", stub.Response{}),
		src("reset", "/reset", fault("reset")),
		src("empty", "/empty", fault("empty")),
		src("malformed", "/malformed", fault("malformed")),
		src("garbage", "/garbage", fault("garbage")),
		src("cut", "/cut", fault("close-mid-body")),
		src("hang", "/hang", fault("hang")),
		src("error", "/error", stub.Response{Faults: stub.Faults{{Kind: "error", Status: 503, After: stub.Duration(5 * time.Millisecond)}}}),
		src("throttle", "/throttle", stub.Response{Throttle: 512 << 10, Generate: &stub.Generate{Size: 512 << 10, Seed: 3}}),
		src("big", "/big", stub.Response{Generate: &stub.Generate{Size: 9 << 20, Seed: 3}}),
		src("small", "/small", stub.Response{Generate: &stub.Generate{Size: 8 << 20, Seed: 3}}),
	}
}

// startBehave serves behaveStubs over plaintext (HTTP/1.1 and h2c) with
// seed 7 and the profile "fast".
func startBehave(t *testing.T, o httpfront.Options) (string, *engine.Store) {
	t.Helper()
	store, err := engine.NewStore(behaveStubs(), engine.WithSeed(7),
		engine.WithProfiles(stub.Profiles{"fast": {Percentiles: stub.Percentiles{"p50": stub.Duration(3 * time.Millisecond), "p99": stub.Duration(9 * time.Millisecond)}}}))
	if err != nil {
		t.Fatal(err)
	}
	o.Engine = store.Engine()
	o.ServerTiming = true
	srv := httpfront.New(o)
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
	return "http://" + ln.Addr().String(), store
}

func h1c() *http.Client { return &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second} }

func h2cc() *http.Client {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Protocols: p}}
}

// delayOf reads the delay;dur of the Server-Timing header, "" without one.
func delayOf(h http.Header) string {
	v := h.Get("Server-Timing")
	_, d, ok := strings.Cut(v, "delay;dur=")
	if !ok {
		return ""
	}
	return d
}

func millis(d time.Duration) string {
	us := d.Microseconds()
	return itoa(us/1000) + "." + pad3(us%1000)
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func pad3(n int64) string { s := itoa(n); return strings.Repeat("0", 3-len(s)) + s }

func do(t *testing.T, c *http.Client, method, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp, b
}

// TestLatencyReplays: the delays of a random latency and of a profile are
// the seed's, call by call, on HTTP/1.1 and HTTP/2 alike.
func TestLatencyReplays(t *testing.T) {
	t.Parallel()
	profiles := stub.Profiles{"fast": {Percentiles: stub.Percentiles{"p50": stub.Duration(3 * time.Millisecond), "p99": stub.Duration(9 * time.Millisecond)}}}
	for _, proto := range []struct {
		name string
		c    *http.Client
	}{{"HTTP/1.1", h1c()}, {"h2c", h2cc()}} {
		t.Run(proto.name, func(t *testing.T) {
			t.Parallel()
			base, _ := startBehave(t, httpfront.Options{})
			for _, id := range []string{"rand", "prof"} {
				var spec stub.Latency
				for _, s := range behaveStubs() {
					if s.Stub.ID == id {
						spec = *s.Stub.Response.Latency
					}
				}
				sm, errs := behave.CompileLatency(spec, profiles)
				if errs != nil {
					t.Fatal(errs)
				}
				key := behave.NewKey(7, id)
				for call := range uint64(6) {
					resp, _ := do(t, proto.c, "GET", base+"/"+id, nil)
					want := millis(sm.SampleKey(key, call, 10000))
					if got := delayOf(resp.Header); got != want {
						t.Errorf("%s call %d: delay;dur=%s, want %s", id, call, got, want)
					}
				}
			}
			resp, _ := do(t, proto.c, "GET", base+"/plain", nil)
			if d := delayOf(resp.Header); d != "" {
				t.Errorf("a stub without latency reported delay %s", d)
			}
		})
	}
}

// TestRequestedDelay: X-Decoy-Delay and Prefer: delay= replace the
// stub's latency, are clamped and reported above the cap, and a malformed
// one gets a 400.
func TestRequestedDelay(t *testing.T) {
	t.Parallel()
	for _, proto := range []struct {
		name string
		c    *http.Client
	}{{"HTTP/1.1", h1c()}, {"h2c", h2cc()}} {
		t.Run(proto.name, func(t *testing.T) {
			t.Parallel()
			base, _ := startBehave(t, httpfront.Options{DelayHeader: true, MaxRequestedDelay: 40 * time.Millisecond})
			resp, _ := do(t, proto.c, "GET", base+"/plain", map[string]string{"X-Decoy-Delay": "25ms"})
			if d := delayOf(resp.Header); d != "25.000" {
				t.Errorf("X-Decoy-Delay: 25ms gave delay %q", d)
			}
			resp, _ = do(t, proto.c, "GET", base+"/rand", map[string]string{"Prefer": "return=minimal, delay=15"})
			if d := delayOf(resp.Header); d != "15.000" {
				t.Errorf("Prefer: delay=15 gave delay %q", d)
			}
			resp, _ = do(t, proto.c, "GET", base+"/plain", map[string]string{"X-Decoy-Delay": "2h"})
			if d := delayOf(resp.Header); d != "40.000" || !strings.Contains(resp.Header.Get("Decoy-Delay-Clamped"), "requested=2h") {
				t.Errorf("2h gave delay %q, Decoy-Delay-Clamped %q", d, resp.Header.Get("Decoy-Delay-Clamped"))
			}
			for _, bad := range []string{"soon", "-5ms"} {
				resp, b := do(t, proto.c, "GET", base+"/plain", map[string]string{"X-Decoy-Delay": bad})
				if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(b), "delay") {
					t.Errorf("X-Decoy-Delay: %s: %d %s %s", bad, resp.StatusCode, resp.Header.Get("Content-Type"), b)
				}
			}
		})
	}
	// Off: the header is ignored.
	base, _ := startBehave(t, httpfront.Options{})
	resp, _ := do(t, h1c(), "GET", base+"/plain", map[string]string{"X-Decoy-Delay": "soon"})
	if resp.StatusCode != 200 {
		t.Errorf("with delay-header off a malformed delay got %d", resp.StatusCode)
	}
}

// TestFaultsCurl: each fault as curl sees it, by its exit code.
func TestFaultsCurl(t *testing.T) {
	t.Parallel()
	curl := external.Program(t, "curl")
	base, _ := startBehave(t, httpfront.Options{})
	for _, tt := range []struct {
		path string
		exit int
	}{
		{"/reset", 56}, {"/empty", 52}, {"/malformed", 8}, {"/cut", 18}, {"/hang", 28}, {"/error", 22}, {"/plain", 0},
	} {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(curl, "-sS", "--fail", "--max-time", "1", "-o", os.DevNull, base+tt.path)
			out, err := cmd.CombinedOutput()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.exit {
				t.Errorf("curl %s exited %d, want %d: %s", tt.path, code, tt.exit, out)
			}
		})
	}
}

// TestFaultsGo: what Go's clients see on HTTP/1.1 and HTTP/2.
func TestFaultsGo(t *testing.T) {
	t.Parallel()
	base, _ := startBehave(t, httpfront.Options{})
	for _, proto := range []struct {
		name string
		c    *http.Client
	}{{"HTTP/1.1", h1c()}, {"h2c", h2cc()}} {
		for _, path := range []string{"/reset", "/empty", "/malformed", "/garbage", "/cut"} {
			t.Run(proto.name+path, func(t *testing.T) {
				t.Parallel()
				resp, err := proto.c.Get(base + path)
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				if err == nil {
					t.Fatalf("%s %s: no error", proto.name, path)
				}
				if proto.name == "h2c" && !strings.Contains(err.Error(), "stream error") && !strings.Contains(err.Error(), "INTERNAL_ERROR") {
					t.Errorf("%s: %v, want a stream error", path, err)
				}
			})
		}
		t.Run(proto.name+"/error", func(t *testing.T) {
			t.Parallel()
			resp, b := do(t, proto.c, "GET", base+"/error", nil)
			if resp.StatusCode != 503 || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("error fault: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
		})
		t.Run(proto.name+"/hang", func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/hang", nil)
			_, err := proto.c.Do(req)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("hang: %v, want the client's deadline", err)
			}
		})
	}
}

// TestGeneratedStreamed: a generated body above 8 MiB is streamed with
// its Content-Length, and starts with the same bytes as one made in memory
// from the same seed.
func TestGeneratedStreamed(t *testing.T) {
	t.Parallel()
	base, store := startBehave(t, httpfront.Options{})
	if big := store.Engine().Snapshot().Get("big").Responses()[0]; len(big.Body) != 0 || big.BodyLen() != 9<<20 {
		t.Fatalf("the 9 MiB body is held in memory (%d bytes) or has the wrong length %d", len(big.Body), big.BodyLen())
	}
	for _, c := range []*http.Client{h1c(), h2cc()} {
		resp, big := do(t, c, "GET", base+"/big", nil)
		_, small := do(t, c, "GET", base+"/small", nil)
		if resp.ContentLength != 9<<20 || len(big) != 9<<20 {
			t.Fatalf("Content-Length %d, body %d bytes", resp.ContentLength, len(big))
		}
		if sha256.Sum256(big[:8<<20]) != sha256.Sum256(small) {
			t.Error("the streamed body does not start with the in-memory body of the same seed")
		}
	}
}

// TestThrottle: 512 KiB at 512 KiB/s takes about a second (generous
// bounds: the schedule itself is tested with a fake clock in behave).
func TestThrottle(t *testing.T) {
	t.Parallel()
	base, _ := startBehave(t, httpfront.Options{})
	for _, c := range []*http.Client{h1c(), h2cc()} {
		start := time.Now()
		resp, b := do(t, c, "GET", base+"/throttle", nil)
		took := time.Since(start)
		if resp.ContentLength != 512<<10 || len(b) != 512<<10 {
			t.Fatalf("Content-Length %d, body %d", resp.ContentLength, len(b))
		}
		if took < 700*time.Millisecond || took > 4*time.Second {
			t.Errorf("512 KiB at 512 KiB/s took %v", took)
		}
	}
}
