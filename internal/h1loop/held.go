package h1loop

import (
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Answers held until their time (Request.Due): a stub with a latency is
// answered on the loop like any other, its answer kept with its connection
// until due. The loop keeps the held connections in a heap by due time and
// a timerfd set to the earliest; a turn of the loop that finds the earliest
// due (the timer's wake-up, or any other under load) writes every answer
// that has come due. A held connection reads nothing more until its answer
// is written: the requests after it wait, as they would behind a server
// that is slow to answer, and its timeouts are suspended.

// timer is a held connection in the loop's heap.
type timer struct {
	due int64
	c   *Conn
}

// timers is a binary min-heap by due time. Entries whose connection has
// gone (closed, or its answer written) stay until they reach the top.
type timers []timer

func (h *timers) push(t timer) {
	*h = append(*h, t)
	q := *h
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if q[p].due <= q[i].due {
			break
		}
		q[p], q[i] = q[i], q[p]
		i = p
	}
}

func (h *timers) pop() timer {
	q := *h
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q[last] = timer{}
	q = q[:last]
	for i := 0; ; {
		m := i
		if l := 2*i + 1; l < len(q) && q[l].due < q[m].due {
			m = l
		}
		if r := 2*i + 2; r < len(q) && q[r].due < q[m].due {
			m = r
		}
		if m == i {
			break
		}
		q[m], q[i] = q[i], q[m]
		i = m
	}
	*h = q
	return top
}

// heldPool holds the buffers of held answers: a delayed answer costs no
// allocation.
var heldPool = sync.Pool{New: func() any { b := make([]byte, 0, 1<<10); return &b }}

// putHeld gives back a held answer's buffer, unless it grew large.
func putHeld(b *[]byte) {
	if cap(*b) <= outQuantum {
		*b = (*b)[:0]
		heldPool.Put(b)
	}
}

// hold keeps ans, the answer to c's last request served, until due.
func (l *loop) hold(c *Conn, ans []byte, due int64) {
	b := heldPool.Get().(*[]byte)
	*b = append((*b)[:0], ans...)
	c.held, c.due = b, due
	l.nheld++
	l.timers.push(timer{due, c})
	l.armFor(due)
}

// wakeGrid is the spacing of the delay timer's wake-ups: it goes off at
// the first multiple of wakeGrid (on Now's clock) at or after the earliest
// due answer, so that answers due within one interval share a wake-up of
// the loop, at most wakeGrid late. Package wake, which times the delays
// of the other front doors, uses the same spacing.
const wakeGrid = int64(250 * time.Microsecond)

// armFor sets the delay timer for an answer due at due, unless it goes
// off sooner already.
func (l *loop) armFor(due int64) {
	at := (due + wakeGrid - 1) / wakeGrid * wakeGrid
	if l.armed == 0 || at < l.armed {
		l.arm(at)
	}
}

// arm sets the delay timer to go off at at (as Now).
func (l *loop) arm(at int64) {
	l.armed = at
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(max(at-Now(), 1))}
	_, _, _ = syscall.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(l.dfd), 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
}

// due tells whether the earliest held answer has come due.
func (l *loop) due() bool { return len(l.timers) > 0 && l.timers[0].due <= l.now }

// release writes the held answers that have come due, and sets the timer
// for the next.
func (l *loop) release() {
	now := Now()
	l.now = now
	for len(l.timers) > 0 && l.timers[0].due <= now {
		t := l.timers.pop()
		c := t.c
		if c == nil || c.fd < 0 || c.held == nil || c.due != t.due {
			// The end of a drain (see drain), or a connection closed
			// or handed off since.
			continue
		}
		l.unhold(c)
		if c.fd >= 0 {
			c.publish()
		}
	}
	l.armed = 0
	if len(l.timers) > 0 {
		l.armFor(l.timers[0].due)
	}
}

// unhold writes c's held answer, after the answers still pending; the
// requests that waited behind it are served next (in the again queue).
func (l *loop) unhold(c *Conn) {
	b := c.held
	c.held, c.due = nil, 0
	l.nheld--
	if c.pending != nil {
		c.pending = append(c.pending, *b...)
		putHeld(b)
		return // flush writes it, and closes c if it is closing
	}
	ok := l.write(c, *b) // keeps a copy of what the socket does not take
	putHeld(b)
	if !ok {
		return
	}
	if c.closing {
		if c.pending == nil {
			l.close(c, l.closeReason(c))
		}
		return
	}
	c.since = l.now
	if c.pending == nil && (c.blocked || c.backlog) && !c.again {
		c.again = true
		l.again = append(l.again, c)
	}
}

// Holding tells whether c has an answer held for later (Request.Due); the
// answers written meanwhile are those before it. Only the Handler and the
// loop's hooks may call it.
func (c *Conn) Holding() bool { return c.held != nil }

// drain begins a drain: the loop stops accepting and closes every
// connection except those holding an answer due by by (Now; 0: any),
// which close once it is written.
func (l *loop) drain(by int64) {
	l.draining = true
	for fd := range l.lnfds {
		l.dropListener(fd)
	}
	for _, c := range l.open() {
		if c.held == nil || by != 0 && c.due > by {
			l.close(c, Shutdown)
		} else {
			c.closing = true
		}
	}
	l.drainBy = by
	if by != 0 {
		// Wake up at by, to close what is left.
		l.timers.push(timer{due: by})
		l.armFor(by)
	}
}

// drained tells whether a draining loop is done: no connection left, or
// the drain's time has passed (the rest close at once).
func (l *loop) drained() bool {
	if l.n == 0 {
		return true
	}
	return l.drainBy != 0 && l.now >= l.drainBy
}

// Drain stops accepting and ends the connections, but sends the answers
// held for later (Request.Due) that are due by by (zero: all of them)
// first; it returns when the loops have ended. A connection whose answer
// is due later, or is still being written at by, is closed without it.
// Shutdown ends a drain at once.
func (s *Server) Drain(by time.Time) {
	var at int64
	if !by.IsZero() {
		at = max(int64(by.Sub(epoch)), 1)
	}
	for _, l := range s.loops {
		l.request(func() { l.drainAsked, l.drainAt = true, at })
	}
	s.wg.Wait()
}
