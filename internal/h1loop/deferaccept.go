package h1loop

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Deferred accepting, when new connections come fast.
//
// With TCP_DEFER_ACCEPT on a listening socket the kernel hands over a
// connection only once its first bytes have arrived (or after about a
// second if it sends nothing), so a loop accepts and answers it in one
// turn instead of waking once for the connection and again for its
// request. Under a stream of short connections that halves the loops'
// wake-ups and lets them work through many connections per wake-up (a
// new connection per request: 24 µs of CPU per request without, 16 with;
// nginx 20). For a lone client it costs time instead: the loop's wake-up
// then starts only once the request is there, where without it the
// wake-up for the connection overlaps the client's sending (c=1, a new
// connection per request: p50 49 µs with, 33-36 without).
//
// So it is tried, and kept only where it pays: when connections arrive
// at deferMinRate a second or more (counted at each timeout tick), and as
// many close as open (short connections: a crowd of new ones that stay,
// such as a pool warming up, is better served at once), a loop
// turns deferring on for a trial of deferJudgeEvery wake-ups that accept
// a connection. If those accepted deferOnTenths/10 connections each on
// average (concurrent clients: dozens), it stays on, judged again the
// same way; otherwise (a lone client: one) it goes off, and the next
// trial waits twice as many ticks as the last wait, up to deferMaxWait.
// It goes off too when fewer than deferMinRate connections a second
// arrive, and for deferMaxWait ticks when more than a tenth of the
// connections accepted in a tick had sent nothing: the kernel accepts
// those only once deferring gave up on them (after a second), and until
// then they wait in the listening socket's queue of half-made
// connections, which is as long as its backlog. A crowd of clients that
// connect and wait (a pool warming up: 19,000 connections) overflows it,
// and the connections beyond it take seconds to be made (42 s for 19,000
// here, against 0.6 s without deferring).

const (
	deferJudgeEvery = 64   // accepting wake-ups per judgement
	deferOnTenths   = 20   // connections per accepting wake-up, x10, to keep it on
	deferMinRate    = 1000 // connections per second below which it is off
	deferMaxWait    = 32   // most ticks between trials
	deferSilentMax  = 10   // silent connections per 100 accepted in a tick, at most
	deferSeconds    = 1    // TCP_DEFER_ACCEPT's value: the longest a silent connection waits
)

// deferring is the Server's side: how many loops want deferred accepting,
// and whether the listening sockets have it.
type deferring struct {
	mu    sync.Mutex
	votes int
	on    atomic.Bool // the sockets have TCP_DEFER_ACCEPT
}

// deferStats is a loop's count of its accepting wake-ups.
type deferStats struct {
	vote    bool // this loop wants deferring
	wakes   int  // accepting wake-ups since the last judgement
	conns   int  // the connections they accepted
	woken   int  // connections accepted since the loop last woke
	accepts int  // connections accepted since the last tick
	silent  int  // of those, accepted with deferring on and nothing to read
	closes  int  // connections closed since the last tick
	wait    int  // ticks before the next trial
	backoff int  // the last wait
}

// woke records the end of a wake-up and the connections it accepted.
func (l *loop) woke() {
	d := &l.dstats
	accepts := d.woken
	d.woken = 0
	if accepts == 0 || !d.vote {
		return
	}
	d.wakes++
	d.conns += accepts
	if d.wakes < deferJudgeEvery {
		return
	}
	tenths := d.conns * 10 / d.wakes
	d.wakes, d.conns = 0, 0
	if tenths >= deferOnTenths {
		d.backoff = 0
		return
	}
	l.voteDefer(false)
	d.backoff = min(max(2*d.backoff, 1), deferMaxWait)
	d.wait = d.backoff
}

// ticked judges the connection rate since the last tick, secs ago.
func (l *loop) ticked(secs float64) {
	d := &l.dstats
	fast := float64(d.accepts)/secs >= deferMinRate
	silent := d.silent*100 > d.accepts*deferSilentMax
	short := d.closes*2 >= d.accepts
	d.accepts, d.silent, d.closes = 0, 0, 0
	switch {
	case d.vote && silent:
		l.voteDefer(false)
		d.wakes, d.conns = 0, 0
		d.backoff, d.wait = deferMaxWait, deferMaxWait
	case d.vote && !fast:
		l.voteDefer(false)
		d.wakes, d.conns = 0, 0
	case !d.vote && !fast:
		d.wait, d.backoff = 0, 0
	case !d.vote && d.wait > 0:
		d.wait--
	case !d.vote && short:
		l.voteDefer(true)
	}
}

// voteDefer changes this loop's vote and, when that changes what the
// loops want, sets the listening sockets accordingly (every loop has a
// duplicate of each, so this loop's will do).
func (l *loop) voteDefer(on bool) {
	d := &l.s.deferring
	l.dstats.vote = on
	d.mu.Lock()
	defer d.mu.Unlock()
	if on {
		d.votes++
	} else {
		d.votes--
	}
	want := d.votes > 0
	if want == d.on.Load() {
		return
	}
	d.on.Store(want)
	for fd := range l.lnfds {
		setDefer(fd, want)
	}
}

// setDefer sets or clears TCP_DEFER_ACCEPT on the listening socket fd.
func setDefer(fd int, on bool) {
	v := 0
	if on {
		v = deferSeconds
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, v)
}
