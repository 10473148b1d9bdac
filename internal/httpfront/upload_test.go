package httpfront_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/external"
	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/stub"
)

// pattern is an endless reader of a repeating byte pattern; uploads made
// from it are never held by the client either.
type pattern struct{ i byte }

func (p *pattern) Read(b []byte) (int, error) {
	for k := range b {
		b[k] = p.i
		p.i = p.i*7 + 1
	}
	return len(b), nil
}

func patternBody(n int64) io.Reader { return io.LimitReader(&pattern{}, n) }

func patternSHA(t testing.TB, n int64) string {
	h := sha256.New()
	if _, err := io.Copy(h, patternBody(n)); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// startUpload serves stubs that discard uploads next to ordinary ones.
func startUpload(t testing.TB, o httpfront.Options) (string, *engine.Store, *journal.Journal) {
	t.Helper()
	ok := func(id, method, path string, r stub.Response, body *stub.BodyMatcher) engine.Source {
		if r.Body.IsZero() {
			r.Body = stub.Text(id)
		}
		return engine.Source{Stub: stub.Stub{ID: id, Request: stub.Request{Method: method, Path: path, Body: body}, Response: &r}}
	}
	srcs := []engine.Source{
		ok("sink", "POST", "/upload", stub.Response{Status: 201, Upload: &stub.Upload{Discard: true}}, nil),
		ok("sized", "PUT", "/sized", stub.Response{Upload: &stub.Upload{Discard: true, ExpectSize: 1 << 20, SHA256: patternSHA(t, 1<<20)}}, nil),
		ok("slow", "POST", "/slow", stub.Response{Upload: &stub.Upload{Discard: true, Rate: 4 << 20}}, nil),
		ok("form", "POST", "/form", stub.Response{}, &stub.BodyMatcher{Contains: "sku=A"}),
		ok("plain", "", "/plain", stub.Response{}, nil),
	}
	store, err := engine.NewStore(srcs)
	if err != nil {
		t.Fatal(err)
	}
	j := journal.New(100, 256)
	o.Engine, o.Journal = store.Engine(), j
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
	return "http://" + ln.Addr().String(), store, j
}

func post(t testing.TB, c *http.Client, method, url string, body io.Reader, size int64) (int, string) {
	t.Helper()
	code, text, err := tryPost(c, method, url, body, size)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return code, text
}

func tryPost(c *http.Client, method, url string, body io.Reader, size int64) (int, string, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return 0, "", err
	}
	req.ContentLength = size // -1: chunked
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// heapAllocated is the bytes this process has allocated on the heap so
// far (the server's and the Go clients').
func heapAllocated() int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.TotalAlloc)
}

func vmRSS(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// TestUploadDiscardLarge uploads 64 MiB with each client and checks the
// journal and the metrics saw it all while decoy held none of it. It is
// not parallel, so that the allocations it counts are its own.
func TestUploadDiscardLarge(t *testing.T) {
	const size = 64 << 20
	base, store, j := startUpload(t, httpfront.Options{})
	clients := []struct {
		name  string
		proto string
		send  func(t *testing.T) int
	}{
		{"go HTTP/1.1", "HTTP/1.1", func(t *testing.T) int {
			code, _ := post(t, h1c(), "POST", base+"/upload", patternBody(size), size)
			return code
		}},
		{"go HTTP/1.1 chunked", "HTTP/1.1", func(t *testing.T) int {
			code, _ := post(t, h1c(), "POST", base+"/upload", patternBody(size), -1)
			return code
		}},
		{"go h2c", "HTTP/2.0", func(t *testing.T) int {
			code, _ := post(t, h2cc(), "POST", base+"/upload", patternBody(size), size)
			return code
		}},
		{"curl HTTP/1.1", "HTTP/1.1", func(t *testing.T) int { return curlUpload(t, base+"/upload", size, "--http1.1") }},
		{"curl h2c", "HTTP/2.0", func(t *testing.T) int { return curlUpload(t, base+"/upload", size, "--http2-prior-knowledge") }},
	}
	var sent uint64
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			j.Clear()
			before, rss := heapAllocated(), vmRSS(t)
			if code := c.send(t); code != 201 {
				t.Fatalf("status %d, want 201", code)
			}
			sent += size
			// Holding the body, or any copy of it, allocates at least
			// its size; the bytes allocated are counted exactly, where
			// RSS moves with the race detector's shadow and the pages
			// earlier tests left, so RSS is only logged.
			allocated := heapAllocated() - before
			t.Logf("%d KiB allocated, RSS grew by %d KiB for a %d MiB upload", allocated>>10, (vmRSS(t)-rss)>>10, size>>20)
			if allocated > size/4 {
				t.Errorf("%d bytes allocated for a %d-byte upload: the body was held", allocated, size)
			}
			// The entry is added once the answer is written, so the client
			// can have it first: wait for it (and so keep the next
			// subtest's journal clear of it).
			var es []journal.Entry
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
				es = j.Find(journal.Filter{Stub: "sink"})
				if len(es) > 0 || time.Now().After(deadline) {
					break
				}
			}
			if len(es) != 1 {
				t.Fatalf("%d journal entries for the upload, want 1", len(es))
			}
			if e := es[0]; e.BodySize != size || e.BytesIn != size || e.Proto != c.proto || e.Status != 201 || e.DurationUS <= 0 {
				t.Errorf("journal entry: size %d, in %d, proto %s, status %d, %dµs", e.BodySize, e.BytesIn, e.Proto, e.Status, e.DurationUS)
			}
		})
	}
	if sent == 0 {
		return
	}
	u := store.Engine().Snapshot().Get("sink").Stats().ReadUploads()
	var n uint64
	for _, k := range u.Rates {
		n += k
	}
	if u.Bytes != sent || n != sent/size || u.RateSum == 0 {
		t.Errorf("upload stats %+v, want %d bytes in %d uploads", u, sent, sent/size)
	}
}

// curlUpload sends size pattern bytes with curl reading from stdin and
// returns the status.
func curlUpload(t *testing.T, url string, size int64, flags ...string) int {
	curl := external.Program(t, "curl")
	args := append([]string{"-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Length: " + strconv.FormatInt(size, 10), "--data-binary", "@-", url}, flags...)
	cmd := exec.Command(curl, args...)
	cmd.Stdin = patternBody(size)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %v: %v %s", args, err, out)
	}
	code, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return code
}

func TestUploadChecks(t *testing.T) {
	t.Parallel()
	base, _, j := startUpload(t, httpfront.Options{MaxUploadBytes: 2 << 20, MaxBodyBytes: 64 << 10})
	tests := []struct {
		name     string
		method   string
		path     string
		size     int64
		body     func() io.Reader
		chunked  bool
		want     int
		wantText string
	}{
		{"size and digest right", "PUT", "/sized", 1 << 20, nil, false, 200, "sized"},
		{"size and digest right, chunked", "PUT", "/sized", 1 << 20, nil, true, 200, "sized"},
		{"size wrong", "PUT", "/sized", 1<<20 - 1, nil, false, 422, "upload.expectSize"},
		{"digest wrong", "PUT", "/sized", 1 << 20, func() io.Reader { return strings.NewReader(strings.Repeat("x", 1<<20)) }, false, 422, "upload.sha256"},
		{"beyond max-upload-bytes", "POST", "/upload", 3 << 20, nil, false, 413, "max-upload-bytes"},
		{"beyond max-body-bytes is fine for uploads", "POST", "/upload", 1 << 20, nil, false, 201, "sink"},
		{"empty upload", "POST", "/upload", 0, nil, false, 201, "sink"},
		// Ordinary stubs on a connection that streams bodies.
		{"body matcher still matches", "POST", "/form", 5, func() io.Reader { return strings.NewReader("sku=A") }, false, 200, "form"},
		{"body matcher, chunked", "POST", "/form", 5, func() io.Reader { return strings.NewReader("sku=A") }, true, 200, "form"},
		{"body matcher misses", "POST", "/form", 5, func() io.Reader { return strings.NewReader("sku=B") }, false, 404, "matched none"},
		{"ordinary body beyond max-body-bytes", "POST", "/plain", 1 << 20, nil, false, 413, "exceeds"},
		{"ordinary chunked body beyond max-body-bytes", "POST", "/plain", 1 << 20, nil, true, 413, "exceeds"},
		{"ordinary small body", "POST", "/plain", 100, nil, false, 200, "plain"},
	}
	for _, tt := range tests {
		for _, proto := range []string{"h1", "h2c"} {
			t.Run(tt.name+"/"+proto, func(t *testing.T) {
				t.Parallel()
				c := h1c()
				if proto == "h2c" {
					c = h2cc()
				}
				var body io.Reader = patternBody(tt.size)
				if tt.body != nil {
					body = tt.body()
				}
				size := tt.size
				if tt.chunked {
					size = -1
				}
				code, text, err := tryPost(c, tt.method, base+tt.path, body, size)
				if err != nil {
					// A body refused with 413 closes the connection; a
					// client still writing it may see the reset first.
					if tt.want == 413 && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
						return
					}
					t.Fatal(err)
				}
				if code != tt.want || !strings.Contains(text, tt.wantText) {
					t.Errorf("%d %s, want %d with %q", code, text, tt.want, tt.wantText)
				}
			})
		}
	}
	t.Cleanup(func() {
		for _, e := range j.Find(journal.Filter{Stub: "sized", Status: new(200)}) {
			if e.BodySize != 1<<20 {
				t.Errorf("journal: sized upload of %d bytes", e.BodySize)
			}
		}
	})
}

// TestUploadRate: a throttled upload takes at least size/rate (a lower
// bound only: the test machine may be slow, never too fast).
func TestUploadRate(t *testing.T) {
	t.Parallel()
	base, store, _ := startUpload(t, httpfront.Options{})
	const size = 1 << 20 // at 4 MiB/s: 250 ms
	for _, c := range []struct {
		name string
		c    *http.Client
	}{{"h1", h1c()}, {"h2c", h2cc()}} {
		t0 := time.Now()
		if code, _ := post(t, c.c, "POST", base+"/slow", patternBody(size), size); code != 200 {
			t.Fatalf("%s: status %d", c.name, code)
		}
		if d := time.Since(t0); d < 200*time.Millisecond {
			t.Errorf("%s: 1 MiB at 4 MiB/s took %v, want at least ~250ms", c.name, d)
		}
	}
	u := store.Engine().Snapshot().Get("slow").Stats().ReadUploads()
	if rate := float64(u.RateSum) / 2; rate > 5<<20 {
		t.Errorf("mean recorded throughput %.0f B/s, above the 4 MiB/s rate", rate)
	}
}

// TestUploadKeepAlive: after a discarded upload the connection serves the
// next request (the body was read to its end, not left in the stream).
func TestUploadKeepAlive(t *testing.T) {
	t.Parallel()
	base, _, _ := startUpload(t, httpfront.Options{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	for i := range 3 {
		n := 100 << 10 * (i + 1)
		fmt.Fprintf(conn, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", n)
		if _, err := io.Copy(conn, patternBody(int64(n))); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 || string(b) != "sink" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, b)
		}
	}
	fmt.Fprintf(conn, "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the uploads: %v %v", resp, err)
	}
}
