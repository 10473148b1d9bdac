package main

import (
	"bufio"
	"bytes"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	t.Parallel()
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 1999, 123456, 1 << 40, 1<<63 + 12345} {
		i := bucketOf(v)
		lo := bucketLow(i)
		if lo > v {
			t.Errorf("value %d: bucket %d starts at %d, above it", v, i, lo)
		}
		if i+1 < nBuckets {
			if hi := bucketLow(i + 1); hi <= v {
				t.Errorf("value %d: bucket %d ends at %d, at or below it", v, i, hi)
			}
			if w := bucketLow(i+1) - lo; v >= subCount && float64(w) > float64(v)/float64(subCount)+1 {
				t.Errorf("value %d: bucket %d is %d wide, more than 1/%d of it", v, i, w, subCount)
			}
		}
	}
}

func TestQuantiles(t *testing.T) {
	t.Parallel()
	var h hist
	for v := int64(1); v <= 10000; v++ {
		h.add(v)
	}
	h.add(-5)
	for _, c := range []struct {
		q    float64
		want uint64
	}{{0.5, 5000}, {0.99, 9900}, {1, 10000}} {
		got := h.quantile(c.q)
		if d := float64(got) - float64(c.want); d > float64(c.want)/100 || -d > float64(c.want)/100 {
			t.Errorf("quantile %v = %d, want %d within 1%%", c.q, got, c.want)
		}
	}
	if h.early.Load() != 1 || h.max.Load() != 10000 || h.n.Load() != 10001 {
		t.Errorf("early %d max %d n %d, want 1, 10000, 10001", h.early.Load(), h.max.Load(), h.n.Load())
	}
}

func TestReadAnswer(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, in string
		status   int
		body     int
		wantErr  string
	}{
		{"ok", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP", 200, 3, ""},
		{"any size", "HTTP/1.1 200 OK\r\ncontent-length:5\r\n\r\nabcde", 200, -1, ""},
		{"status", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 200, -1, "status 404"},
		{"size", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab", 200, 3, "body of 2 bytes"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 200, -1, "no Content-Length"},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab", 200, -1, "unexpected EOF"},
		{"garbage", "SSH-2.0-OpenSSH\r\n", 200, -1, "malformed status line"},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 200, -1, "malformed Content-Length"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := readAnswer(bufio.NewReader(strings.NewReader(c.in)), c.status, c.body)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("error %v, want one with %q", err, c.wantErr)
			}
		})
	}
}

func FuzzReadAnswer(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		_ = readAnswer(bufio.NewReader(strings.NewReader(in)), 200, -1)
	})
}

func TestParseAnswer(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, in   string
		status     int
		body       int
		head, size int // want, when no error
		wantErr    string
	}{
		{"ok", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", 200, 3, 38, 3, ""},
		{"any size", "HTTP/1.1 200 OK\r\ncontent-length:5\r\n\r\nabcde", 200, -1, 37, 5, ""},
		{"LF only", "HTTP/1.0 200 OK\nX: y\nContent-Length: 0\n\n", 200, 0, 40, 0, ""},
		{"head only", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", 200, -1, 38, 2, ""},
		{"incomplete status line", "HTTP/1.1 200 O", 200, -1, 0, 0, ""},
		{"incomplete headers", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r", 200, -1, 0, 0, ""},
		{"status", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 200, -1, 0, 0, "status 404"},
		{"size", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab", 200, 3, 0, 0, "body of 2 bytes"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 200, -1, 0, 0, "no Content-Length"},
		{"garbage", "SSH-2.0-OpenSSH\r\n", 200, -1, 0, 0, "malformed status line"},
		{"short status line", "HTTP/1.1 20\r\n", 200, -1, 0, 0, "malformed status line"},
		{"letters in status", "HTTP/1.1 2x0 OK\r\n", 200, -1, 0, 0, "malformed status line"},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 200, -1, 0, 0, "malformed Content-Length"},
		{"huge length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", 200, -1, 0, 0, "malformed Content-Length"},
		{"head too long", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", maxHead), 200, -1, 0, 0, "longer than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			head, size, err := parseAnswer([]byte(c.in), c.status, c.body)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("error %v, want one with %q", err, c.wantErr)
			case c.wantErr == "" && (head != c.head || size != c.size):
				t.Fatalf("head %d, body %d; want %d, %d", head, size, c.head, c.size)
			}
		})
	}
}

// TestAnswerReader feeds answers to an answerReader cut in two at every
// point (inside the status line, inside CRLFs, inside the body) and byte by
// byte, as reads on a socket may return them.
func TestAnswerReader(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("b", 160)
	for _, c := range []struct {
		name, in string
		body     int
		wantErr  string
	}{
		{"ok", "HTTP/1.1 200 OK\r\nContent-Length: 160\r\nContent-Type: application/json\r\n\r\n" + body, 160, ""},
		{"empty body", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", -1, ""},
		{"wrong status", "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", -1, "status 500"},
		{"wrong size", "HTTP/1.1 200 OK\r\nContent-Length: 159\r\n\r\n" + body[1:], 160, "body of 159 bytes, want 160"},
		{"no length", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body, -1, "no Content-Length"},
		{"malformed", "HTTP/1.1 OK\r\nContent-Length: 0\r\n\r\n", -1, "malformed status line"},
		{"bytes past the end", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabc", -1, "1 bytes past the end"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := []byte(c.in)
			var cuts [][][]byte
			for k := 1; k < len(in); k++ {
				cuts = append(cuts, [][]byte{in[:k], in[k:]})
			}
			var bytewise [][]byte
			for k := range in {
				bytewise = append(bytewise, in[k:k+1])
			}
			cuts = append(cuts, [][]byte{in}, bytewise)
			var a answerReader // reused: each answer must leave it ready for the next
			for _, pieces := range cuts {
				var err error
				done, early := false, false
				for k, p := range pieces {
					done, err = a.feed(bytes.Clone(p), 200, c.body)
					if err != nil || done {
						early = k != len(pieces)-1
						break
					}
				}
				switch {
				case early && done && c.wantErr != "":
					// The bytes past the end came in a later read: they
					// start the next answer.
					a = answerReader{}
					continue
				case early && c.wantErr == "":
					t.Fatalf("pieces %q: done %v, error %v before the last piece", pieces, done, err)
				case c.wantErr == "" && (err != nil || !done):
					t.Fatalf("pieces %q: done %v, error %v", pieces, done, err)
				case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
					t.Fatalf("pieces %q: error %v, want one with %q", pieces, err, c.wantErr)
				}
				if c.wantErr != "" {
					a = answerReader{} // the engine drops the connection
				}
			}
		})
	}
}

// FuzzParseAnswer checks that parseAnswer never panics, never claims more
// head than it was given, and answers the same for a prefix of a good head
// as it will once the head is complete: "more bytes needed".
func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"), 3)
	f.Add([]byte("HTTP/1.1 200 OK\nContent-Length:0\n\n"), -1)
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"), -1)
	f.Add([]byte("HTTP/1.1 404 x\r\n\r\n"), 0)
	f.Fuzz(func(t *testing.T, in []byte, bodyBytes int) {
		head, body, err := parseAnswer(in, 200, bodyBytes)
		if err != nil {
			return
		}
		if head < 0 || head > len(in) || body < 0 || (head > 0 && bodyBytes >= 0 && body != bodyBytes) {
			t.Fatalf("head %d, body %d from %d bytes", head, body, len(in))
		}
		if head == 0 {
			return
		}
		for k := range head {
			if h, _, err := parseAnswer(in[:k], 200, bodyBytes); h != 0 || err != nil {
				t.Fatalf("prefix of %d bytes: head %d, error %v; want more bytes needed", k, h, err)
			}
		}
		var a answerReader
		done, err := a.feed(in[:head+min(body, len(in)-head)], 200, bodyBytes)
		if err != nil || done != (len(in)-head >= body) {
			t.Fatalf("feed: done %v, error %v", done, err)
		}
	})
}

// engines are the engines this platform runs.
func engines() []string {
	if runtime.GOOS == "linux" {
		return []string{"goroutines", "epoll"}
	}
	return []string{"goroutines"}
}

// delayServer starts a server on loopback that answers every request after
// delay with status and a 2-byte body, and counts the answers it writes.
func delayServer(t *testing.T, delay time.Duration, status string) (addr string, answers *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	answers = new(atomic.Int64)
	answer := []byte("HTTP/1.1 " + status + "\r\nContent-Length: 2\r\n\r\nok")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						time.Sleep(delay)
						answers.Add(1)
						if _, err := c.Write(answer); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), answers
}

// TestRun runs each engine against a server on loopback that answers every
// request after 20 ms, and checks that every answer read was counted, none
// came early and none was an error.
func TestRun(t *testing.T) {
	t.Parallel()
	for _, engine := range engines() {
		for _, start := range []string{"spread", "together"} {
			t.Run(engine+"/"+start, func(t *testing.T) {
				t.Parallel()
				addr, answers := delayServer(t, 20*time.Millisecond, "200 OK")
				o := options{addr: addr, path: "/x", conns: 50, delay: 20 * time.Millisecond, start: start,
					duration: time.Second, warmup: 100 * time.Millisecond, grace: 5 * time.Second,
					sources: "127.0.0.1", status: 200, bodyBytes: 2, dialPar: 8, engine: engine}
				res, err := measure(o)
				if err != nil {
					t.Fatal(err)
				}
				if res.errs.Load() != 0 {
					t.Fatalf("%d errors, first %v", res.errs.Load(), res.firstErr.Load())
				}
				if res.all.Load() != answers.Load() {
					t.Errorf("read %d answers, the server wrote %d", res.all.Load(), answers.Load())
				}
				if res.counted.Load() == 0 || res.late.n.Load() != uint64(res.counted.Load()) || res.late.early.Load() != 0 {
					t.Errorf("counted %d, histogram %d, early %d", res.counted.Load(), res.late.n.Load(), res.late.early.Load())
				}
				if engine == "epoll" {
					// Arrival timestamps: the kernel may turn them on a
					// little after the first socket asks, so not every
					// answer need have one, but a second of them must.
					w := &res.wire
					if w.n.Load() == 0 || w.n.Load() > uint64(res.counted.Load()) || w.early.Load() != 0 {
						t.Errorf("lateness on arrival: %d answers of %d counted, %d early", w.n.Load(), res.counted.Load(), w.early.Load())
					}
				}
			})
		}
	}
}

// TestRunLongRequest runs each engine with a request far larger than a
// socket's send buffer, so that it is written in several parts.
func TestRunLongRequest(t *testing.T) {
	t.Parallel()
	for _, engine := range engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			addr, answers := delayServer(t, 20*time.Millisecond, "200 OK")
			o := options{addr: addr, path: "/" + strings.Repeat("a", 8<<20), conns: 2, delay: 20 * time.Millisecond, start: "spread",
				duration: 200 * time.Millisecond, grace: 10 * time.Second, status: 200, bodyBytes: 2, dialPar: 2, engine: engine}
			res, err := measure(o)
			if err != nil {
				t.Fatal(err)
			}
			if res.errs.Load() != 0 || res.all.Load() == 0 || res.all.Load() != answers.Load() {
				t.Fatalf("errors %d (first %v), read %d answers, the server wrote %d", res.errs.Load(), res.firstErr.Load(), res.all.Load(), answers.Load())
			}
		})
	}
}

// TestRunErrors checks that each engine counts wrong answers as errors and
// drops their connections, and that a connection refused ends the run.
func TestRunErrors(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	for _, engine := range engines() {
		t.Run(engine+"/status", func(t *testing.T) {
			t.Parallel()
			addr, _ := delayServer(t, time.Millisecond, "404 Not Found")
			o := options{addr: addr, path: "/x", conns: 5, delay: time.Millisecond, start: "spread",
				duration: 200 * time.Millisecond, warmup: 0, grace: 5 * time.Second,
				status: 200, bodyBytes: -1, dialPar: 2, engine: engine}
			res, err := measure(o)
			if err != nil {
				t.Fatal(err)
			}
			if res.errs.Load() != 5 || res.lostConns.Load() != 5 || res.counted.Load() != 0 {
				t.Fatalf("errors %d, lost %d, counted %d; want 5, 5, 0", res.errs.Load(), res.lostConns.Load(), res.counted.Load())
			}
			if e, _ := res.firstErr.Load().(error); e == nil || !strings.Contains(e.Error(), "status 404") {
				t.Fatalf("first error %v, want status 404", e)
			}
		})
		t.Run(engine+"/refused", func(t *testing.T) {
			t.Parallel()
			o := options{addr: refused, path: "/x", conns: 3, delay: time.Millisecond, start: "spread",
				duration: 100 * time.Millisecond, grace: time.Second, status: 200, bodyBytes: -1, dialPar: 2, engine: engine}
			if _, err := measure(o); err == nil || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("error %v, want connection refused", err)
			}
		})
	}
}

func TestCheckEngine(t *testing.T) {
	t.Parallel()
	o := options{addr: "127.0.0.1:1", path: "/", conns: 1, delay: time.Second, start: "spread",
		duration: time.Second, grace: time.Second, dialPar: 1, engine: "threads"}
	if err := o.check(); err == nil || !strings.Contains(err.Error(), `-engine "threads"`) {
		t.Fatalf("error %v, want one about -engine", err)
	}
}
