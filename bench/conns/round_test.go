package main

import (
	"bufio"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// roundEngines are the engines this platform runs.
func roundEngines() []string {
	if runtime.GOOS == "linux" {
		return []string{"goroutines", "epoll"}
	}
	return []string{"goroutines"}
}

// answerServer answers every request on a connection with what answer
// returns for the request's number on that connection (0, 1, ...); an
// empty answer closes the connection, nil leaves it unanswered.
func answerServer(t *testing.T, answer func(n int) *string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for n := 0; ; n++ {
					for { // a GET: up to the empty line
						line, err := br.ReadString('\n')
						if err != nil {
							return
						}
						if line == "\r\n" {
							break
						}
					}
					a := answer(n)
					switch {
					case a == nil:
						_, _ = io.Copy(io.Discard, br)
						return
					case *a == "":
						return
					}
					if _, err := io.WriteString(c, *a); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func ptr(s string) *string { return &s }

// TestRound runs rounds on held connections with each engine and checks
// what they count: answers, latencies (on arrival too, with epoll), and
// each kind of failure, which must be an error of the round, never a hang.
func TestRound(t *testing.T) {
	t.Parallel()
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
	for _, engine := range roundEngines() {
		for _, c := range []struct {
			name    string
			answer  func(n int) *string
			rate    float64
			rounds  int
			errs    int // per round
			wantErr string
		}{
			{"all at once", func(int) *string { return ptr(ok) }, 0, 2, 0, ""},
			{"paced", func(int) *string { return ptr(ok) }, 2000, 2, 0, ""},
			{"answer in two writes", func(int) *string {
				return ptr("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhe")
			}, 0, 1, 3, "i/o timeout"},
			{"wrong status", func(int) *string { return ptr("HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n") }, 0, 1, 3, "status 503"},
			{"wrong size", func(int) *string { return ptr("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nhell") }, 0, 1, 3, "body of 4 bytes"},
			{"closed", func(int) *string { return ptr("") }, 0, 1, 3, "EOF"},
			{"Connection: close", func(int) *string {
				return ptr("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello")
			}, 0, 1, 3, "Connection: close"},
			{"never answered", func(int) *string { return nil }, 0, 1, 3, "i/o timeout"},
			{"closed in the second round", func(n int) *string {
				if n == 0 {
					return ptr(ok)
				}
				return ptr("")
			}, 0, 2, -1, "EOF"},
		} {
			t.Run(engine+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				addr := answerServer(t, c.answer)
				o := options{addr: addr, status: 200, bodyBytes: 5, timeout: 300 * time.Millisecond, engine: engine}
				if c.name == "answer in two writes" {
					o.timeout = 200 * time.Millisecond // the rest never comes
				}
				const n = 3
				clients := make([]*client, n)
				for i := range clients {
					conn, err := net.Dial("tcp", addr)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { _ = conn.Close() })
					fd, err := rawFD(conn.(*net.TCPConn))
					if err != nil {
						t.Fatal(err)
					}
					clients[i] = &client{c: conn, br: bufio.NewReader(conn), fd: fd}
				}
				req := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
				round := childRound
				if engine == "epoll" {
					round = epollRound
				}
				for k := range c.rounds {
					r := round(o, clients, req, c.rate)
					wantErrs := c.errs
					if wantErrs < 0 { // fails from the second round on
						wantErrs = 0
						if k > 0 {
							wantErrs = n
						}
					}
					if r.Errors != wantErrs || r.OK != n-wantErrs || len(r.Lat) != r.OK {
						t.Fatalf("round %d: %d answered (%d latencies), %d errors (first %q); want %d errors", k+1, r.OK, len(r.Lat), r.Errors, r.First, wantErrs)
					}
					if c.wantErr != "" && wantErrs > 0 && !strings.Contains(r.First, c.wantErr) {
						t.Fatalf("round %d: first error %q, want one with %q", k+1, r.First, c.wantErr)
					}
					if engine == "epoll" && len(r.Wire) != r.OK {
						t.Fatalf("round %d: %d latencies on arrival for %d answers", k+1, len(r.Wire), r.OK)
					}
					for i := range r.Wire {
						if r.Wire[i] < 0 || r.Wire[i] > r.Lat[i]+1 {
							t.Fatalf("round %d: latency on arrival %d µs against %d µs at the read", k+1, r.Wire[i], r.Lat[i])
						}
					}
				}
			})
		}
	}
}
