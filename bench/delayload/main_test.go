package main

import (
	"bufio"
	"net"
	"strings"
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

// TestRun runs the client against a small server on loopback that answers
// every request after 20 ms, and checks that it counts answers and no
// errors.
func TestRun(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
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
						time.Sleep(20 * time.Millisecond)
						if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	o := options{addr: ln.Addr().String(), path: "/x", conns: 4, delay: 20 * time.Millisecond, start: "spread",
		duration: 300 * time.Millisecond, warmup: 50 * time.Millisecond, grace: 2 * time.Second,
		status: 200, bodyBytes: 2, dialPar: 2}
	res, err := measure(o)
	if err != nil {
		t.Fatal(err)
	}
	if res.errs.Load() != 0 {
		t.Fatalf("%d errors, first %v", res.errs.Load(), res.firstErr.Load())
	}
	if res.counted.Load() == 0 || res.late.n.Load() != uint64(res.counted.Load()) || res.late.early.Load() != 0 {
		t.Fatalf("counted %d, histogram %d, early %d", res.counted.Load(), res.late.n.Load(), res.late.early.Load())
	}
}
