package main

import (
	"bufio"
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
