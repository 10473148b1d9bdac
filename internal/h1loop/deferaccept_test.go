package h1loop

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// listenerFD is a duplicate of a new listening socket's descriptor.
func listenerFD(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	if err := rc.Control(func(s uintptr) { fd, err = unix.Dup(int(s)) }); err != nil || fd < 0 {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Close(fd) })
	return fd
}

func deferSet(t *testing.T, fd int) bool {
	t.Helper()
	v, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT)
	if err != nil {
		t.Fatal(err)
	}
	return v != 0
}

// TestDeferTrials drives one loop's judgement with ticks (connections
// a second) and accepting wake-ups (connections each), and checks the
// listening socket's option after each step.
func TestDeferTrials(t *testing.T) {
	type step struct {
		tickRate int  // a tick of one second with this many connections...
		stay     bool // ...that stay open (else as many close)
		silent   int  // ...of which this many sent nothing
		times    int  // that many ticks (0: one)
		wakes    int  // or this many accepting wake-ups...
		each     int  // ...of this many connections each
		want     bool
	}
	trial := []step{{tickRate: 5000, want: true}}
	lone := step{wakes: deferJudgeEvery, each: 1, want: false}
	crowd := step{wakes: deferJudgeEvery, each: 10, want: true}
	fastTick := step{tickRate: 5000, want: false} // waiting out a back-off
	cases := []struct {
		name  string
		steps []step
	}{
		{"slow connections: never tried", []step{{tickRate: 10}, {tickRate: 999}}},
		{"concurrent clients: kept", append(trial, crowd, crowd, step{tickRate: 5000, want: true}, crowd)},
		{"a lone client: off, tried again after 1 tick, then 2", append(trial, lone,
			fastTick, step{tickRate: 5000, want: true}, lone,
			fastTick, fastTick, step{tickRate: 5000, want: true})},
		{"judged on whole windows only", append(trial, step{wakes: deferJudgeEvery - 1, each: 1, want: true})},
		{"slowing down: off at once", append(trial, crowd, step{tickRate: 100, want: false})},
		{"back-off forgotten once slow", append(trial, lone, fastTick, step{tickRate: 10}, step{tickRate: 5000, want: true})},
		{"two per wake-up is enough", append(trial, step{wakes: deferJudgeEvery, each: 2, want: true})},
		{"one and a half is not", append(trial, step{wakes: deferJudgeEvery / 2, each: 2, want: true}, step{wakes: deferJudgeEvery / 2, each: 1, want: false})},
		{"a crowd that stays: never tried", []step{{tickRate: 5000, stay: true}, {tickRate: 20000, stay: true}}},
		{"silent ones while deferring: off for the longest wait", append(trial, crowd,
			step{tickRate: 5000, silent: 501, want: false}, step{tickRate: 5000, times: deferMaxWait, want: false},
			step{tickRate: 5000, want: true})},
		{"a few silent ones are fine", append(trial, step{tickRate: 5000, silent: 500, want: true})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fd := listenerFD(t)
			l := &loop{s: &Server{}, lnfds: map[int]bool{fd: true}}
			for i, st := range tc.steps {
				if st.wakes > 0 {
					for range st.wakes {
						l.dstats.woken = st.each
						l.woke()
					}
				} else {
					for range max(st.times, 1) {
						l.dstats.accepts, l.dstats.silent = st.tickRate, st.silent
						if !st.stay {
							l.dstats.closes = st.tickRate
						}
						l.ticked(1)
					}
				}
				if got := deferSet(t, fd); got != st.want || l.s.deferring.on.Load() != st.want {
					t.Fatalf("step %d (%+v): deferring %v (flag %v), want %v", i, st, got, l.s.deferring.on.Load(), st.want)
				}
			}
		})
	}
}

// TestDeferVotes: the sockets keep deferring while any loop wants it.
func TestDeferVotes(t *testing.T) {
	fd := listenerFD(t)
	s := &Server{}
	a := &loop{s: s, lnfds: map[int]bool{fd: true}}
	b := &loop{s: s, lnfds: map[int]bool{fd: true}}
	for _, st := range []struct {
		l    *loop
		on   bool
		want bool
	}{{a, true, true}, {b, true, true}, {a, false, true}, {b, false, false}} {
		st.l.voteDefer(st.on)
		if got := deferSet(t, fd); got != st.want {
			t.Fatalf("after a vote %v: deferring %v, want %v", st.on, got, st.want)
		}
	}
}

// TestDeferredAccepting serves with deferred accepting on: the loop reads
// a new connection's request before it watches it, so requests that are
// whole, in pieces, asking to close, pipelined or handed off must be
// served as without it.
func TestDeferredAccepting(t *testing.T) {
	h := serve(t, Options{Loops: 1})
	rc, err := h.ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	h.srv.deferring.mu.Lock()
	_ = rc.Control(func(fd uintptr) { setDefer(int(fd), true) })
	h.srv.deferring.on.Store(true)
	h.srv.deferring.mu.Unlock()

	get := func(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n" }
	t.Run("whole, then another", func(t *testing.T) {
		c := h.dial(t)
		br := bufio.NewReader(c)
		_, _ = io.WriteString(c, get("/a"))
		if got := readBodies(t, br, 1); got[0] != "/a" {
			t.Fatalf("got %q", got)
		}
		_, _ = io.WriteString(c, get("/b"))
		if got := readBodies(t, br, 1); got[0] != "/b" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("in pieces", func(t *testing.T) {
		c := h.dial(t)
		req := get("/pieces")
		for _, part := range []string{req[:5], req[5:20], req[20:]} {
			_, _ = io.WriteString(c, part)
		}
		if got := readBodies(t, bufio.NewReader(c), 1); got[0] != "/pieces" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("asking to close", func(t *testing.T) {
		c := h.dial(t)
		_, _ = io.WriteString(c, "GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		all, err := io.ReadAll(c)
		if err != nil || !strings.HasSuffix(string(all), "/bye") {
			t.Fatalf("got %q, %v", all, err)
		}
	})
	t.Run("pipelined", func(t *testing.T) {
		c := h.dial(t)
		_, _ = io.WriteString(c, get("/1")+get("/2")+get("/3"))
		if got := strings.Join(readBodies(t, bufio.NewReader(c), 3), " "); got != "/1 /2 /3" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("handed off", func(t *testing.T) {
		c := h.dial(t)
		_, _ = io.WriteString(c, get("/x")+get("/off"))
		got := <-h.handed
		defer got.nc.Close()
		if !strings.HasSuffix(got.pending, "/x") || got.buffered != get("/off") {
			t.Fatalf("handed off with %q pending and %q buffered", got.pending, got.buffered)
		}
	})
}
