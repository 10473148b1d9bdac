package main

import (
	"bufio"
	"io"
	"net"
	"slices"
	"testing"
	"time"
)

// fakeServer accepts connections on 127.0.0.1:0 and handles each with
// serve, after reading what the client sent first.
func fakeServer(t *testing.T, serve func(net.Conn)) string {
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
				_, _ = br.Peek(1) // the request has arrived
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestSendMalformedClassifies(t *testing.T) {
	t.Parallel()
	const answer400 = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	const answer200 = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	hold := func(c net.Conn) { _, _ = io.Copy(io.Discard, c) } // never answers, never closes
	tests := []struct {
		name    string
		closeOK bool
		serve   func(net.Conn)
		want    func(*kindResult) int
	}{
		{"4xx is rejected", false, func(c net.Conn) { _, _ = io.WriteString(c, answer400) }, func(k *kindResult) int { return k.Rejected }},
		{"close without answer", false, func(net.Conn) {}, func(k *kindResult) int { return k.Closed }},
		{"no answer, no close is hung", false, hold, func(k *kindResult) int { return k.Hung }},
		{"2xx to a malformed request is wrong", false, func(c net.Conn) { _, _ = io.WriteString(c, answer200) }, func(k *kindResult) int { return k.Wrong }},
		{"smuggling: answer then close", true, func(c net.Conn) { _, _ = io.WriteString(c, answer200) }, func(k *kindResult) int { return k.Closed }},
		{"smuggling: 4xx then close", true, func(c net.Conn) { _, _ = io.WriteString(c, answer400) }, func(k *kindResult) int { return k.Rejected }},
		{"smuggling: second answer is wrong", true, func(c net.Conn) { _, _ = io.WriteString(c, answer200+answer200) }, func(k *kindResult) int { return k.Wrong }},
		{"smuggling: answer then kept open is hung", true, func(c net.Conn) { _, _ = io.WriteString(c, answer200); hold(c) }, func(k *kindResult) int { return k.Hung }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := fakeServer(t, tt.serve)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			res := &kindResult{Name: tt.name}
			o := options{abuseTimeout: 300 * time.Millisecond}
			sendMalformed(o, c, malformed{name: tt.name, payload: []byte("x\r\n\r\n"), closeOK: tt.closeOK}, res)
			if got := tt.want(res); got != 1 {
				t.Errorf("counted %+v; want exactly this outcome once", res)
			}
			if n := res.Rejected + res.Closed + res.Wrong + res.Hung; n != 1 {
				t.Errorf("%d outcomes counted, want 1: %+v", n, res)
			}
		})
	}
}

func TestInterleave(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		n    []int
	}{
		{"even", []int{2, 2}},
		{"uneven", []int{10, 1, 3}},
		{"empty kind", []int{0, 4}},
		{"shares of 2000", func() []int {
			_, a, b, c, d, e := abuseShares(2000)
			return []int{a, b, c, d, e}
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			order := interleave(tt.n, func(n int) int { return n })
			count := make([]int, len(tt.n))
			for _, k := range order {
				count[k]++
			}
			if !slices.Equal(count, tt.n) {
				t.Fatalf("counts %v, want %v", count, tt.n)
			}
			// Each kind's j-th appearance lies in the j-th n-th of the
			// list, give or take one per kind.
			seen := make([]int, len(tt.n))
			slack := float64(len(tt.n))
			for i, k := range order {
				lo := float64(seen[k])/float64(tt.n[k])*float64(len(order)) - slack
				hi := float64(seen[k]+1)/float64(tt.n[k])*float64(len(order)) + slack
				if float64(i) < lo || float64(i) > hi {
					t.Fatalf("kind %d's appearance %d at %d, want within [%.0f, %.0f]: %v", k, seen[k], i, lo, hi, order)
				}
				seen[k]++
			}
		})
	}
}

func TestAbuseSharesAddUp(t *testing.T) {
	t.Parallel()
	for _, n := range []int{20, 100, 900, 2000, 2001} {
		burst, line, hdr, silent, large, pipe := abuseShares(n)
		if sum := burst + line + hdr + silent + large + pipe; sum != n {
			t.Errorf("abuseShares(%d) adds up to %d", n, sum)
		}
		if large < 1 || pipe < 1 || burst < 1 {
			t.Errorf("abuseShares(%d): every kind needs one: burst %d large %d pipeline %d", n, burst, large, pipe)
		}
	}
}
