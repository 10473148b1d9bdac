//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/decoy-dev/decoy/bench/internal/answer"
	"github.com/decoy-dev/decoy/bench/internal/rawpoll"
	"github.com/decoy-dev/decoy/internal/h1loop"
)

const defaultEngine = "epoll"

// connection states in the epoll engine.
const (
	stConnecting = iota + 1 // connect in progress, waiting for EPOLLOUT
	stIdle                  // connected, no request sent yet
	stWriting               // the request is partly written, waiting for EPOLLOUT
	stReading               // the request is written, waiting for the answer
	stDone                  // closed
)

// econn is one connection of the epoll engine.
type econn struct {
	fd    int
	state int
	sent  int       // request bytes written
	out   bool      // registered for EPOLLOUT (a partly written request)
	t0    time.Time // when the request's write began
	wire  time.Time // when the last segment read so far reached this machine (kernel timestamp; zero: unknown)
	since time.Time // when connect began
	ans   answer.Reader
}

// eloop is the epoll engine: one goroutine locked to its OS thread, raw
// nonblocking sockets and one epoll instance, no goroutine per
// connection. Readiness is level-triggered: a connection has at most one
// small answer in flight, and one read usually takes all of it, so level
// triggering costs one read per answer where edge triggering would need a
// second read to see EAGAIN; a partial answer is simply reported again.
// Sockets wait for EPOLLIN only, except while connecting or while a request
// is partly written (EPOLLOUT).
type eloop struct {
	o     *options
	req   []byte
	res   *result
	ep    int
	conns []econn
	evs   []unix.EpollEvent
	buf   []byte
	oob   [64]byte // a read's control message: the arrival timestamp
	live  int      // connections not done
}

// runEpoll runs the epoll engine on the calling goroutine.
func runEpoll(o *options, srcs []net.IP, raddr *net.TCPAddr, req []byte, res *result, w *window) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll_create1: %w", err)
	}
	l := &eloop{o: o, req: req, res: res, ep: ep, conns: make([]econn, o.conns),
		evs: make([]unix.EpollEvent, 1024), buf: make([]byte, 64<<10)}
	for i := range l.conns {
		l.conns[i].fd = -1
	}
	defer l.closeAll()
	t0 := time.Now()
	if err := l.dial(srcs, raddr); err != nil {
		return err
	}
	res.dialTime = time.Since(t0)
	w.begin(o)
	return l.run(w)
}

func (l *eloop) closeAll() {
	for i := range l.conns {
		if c := &l.conns[i]; c.fd >= 0 {
			_ = unix.Close(c.fd)
			c.fd = -1
		}
	}
	_ = unix.Close(l.ep)
}

// ctl adds or changes connection i's registration for events.
func (l *eloop) ctl(op, i int, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(i)}
	return unix.EpollCtl(l.ep, op, l.conns[i].fd, &ev)
}

// wait waits for events at most d (rounded up to a millisecond), and
// returns them: a raw epoll_pwait, so that the loop keeps its P (see
// rawpoll.Wait). The loop allocates nothing, so the garbage collector
// seldom needs to stop it.
func (l *eloop) wait(d time.Duration) ([]unix.EpollEvent, error) {
	return rawpoll.Wait(l.ep, l.evs, d)
}

// dialTimeout is how long a connect may take, as in the goroutine engine.
const dialTimeout = 10 * time.Second

// dial opens every connection, -dial-parallel at a time; any failure ends
// the run.
func (l *eloop) dial(srcs []net.IP, raddr *net.TCPAddr) error {
	family := unix.AF_INET
	var sa unix.Sockaddr
	if ip4 := raddr.IP.To4(); ip4 != nil {
		sa = &unix.SockaddrInet4{Port: raddr.Port, Addr: [4]byte(ip4)}
	} else {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: raddr.Port, Addr: [16]byte(raddr.IP.To16())}
	}
	next, pending, open := 0, 0, 0
	for open < len(l.conns) {
		for pending < l.o.dialPar && next < len(l.conns) {
			var src net.IP
			if len(srcs) > 0 {
				src = srcs[next%len(srcs)]
			}
			done, err := l.connect(next, family, src, sa)
			if err != nil {
				return fmt.Errorf("connection %d: %w", next, err)
			}
			if done {
				open++
			} else {
				pending++
			}
			next++
		}
		if pending == 0 {
			continue
		}
		evs, err := l.wait(time.Second)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			i := int(ev.Fd)
			c := &l.conns[i]
			if c.state != stConnecting {
				continue
			}
			soerr, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
			if err == nil && soerr != 0 {
				err = unix.Errno(soerr)
			}
			if err == nil {
				err = l.ctl(unix.EPOLL_CTL_MOD, i, unix.EPOLLIN)
			}
			if err != nil {
				return fmt.Errorf("connection %d: connect: %w", i, err)
			}
			c.state = stIdle
			pending--
			open++
		}
		if len(evs) == 0 && pending > 0 {
			now := time.Now()
			for i := range next {
				if c := &l.conns[i]; c.state == stConnecting && now.Sub(c.since) > dialTimeout {
					return fmt.Errorf("connection %d: connect: %w", i, os.ErrDeadlineExceeded)
				}
			}
		}
	}
	l.live = len(l.conns)
	return nil
}

// connect creates connection i's socket, binds it to src (when not nil)
// and starts connecting; done reports a connection already made.
func (l *eloop) connect(i, family int, src net.IP, sa unix.Sockaddr) (done bool, err error) {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("socket: %w", err)
	}
	c := &l.conns[i]
	c.fd = fd
	c.since = time.Now()
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		return false, fmt.Errorf("TCP_NODELAY: %w", err)
	}
	// Arrival timestamps (see read); without them, no wire lateness.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	if src != nil {
		// Let connect choose the port, so that ports are unique per
		// (source, destination) pair rather than per source address.
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
		var lsa unix.Sockaddr
		if ip4 := src.To4(); ip4 != nil && family == unix.AF_INET {
			lsa = &unix.SockaddrInet4{Addr: [4]byte(ip4)}
		} else {
			lsa = &unix.SockaddrInet6{Addr: [16]byte(src.To16())}
		}
		if err := unix.Bind(fd, lsa); err != nil {
			return false, fmt.Errorf("bind to %v: %w", src, err)
		}
	}
	switch err := unix.Connect(fd, sa); {
	case err == nil:
		c.state = stIdle
		return true, l.ctl(unix.EPOLL_CTL_ADD, i, unix.EPOLLIN)
	case errors.Is(err, unix.EINPROGRESS):
		c.state = stConnecting
		return false, l.ctl(unix.EPOLL_CTL_ADD, i, unix.EPOLLOUT)
	default:
		return false, fmt.Errorf("connect: %w", err)
	}
}

// run sends the first requests on the timetable of w and answers each
// answer with the next request until w.mEnd, then lets the requests in
// flight finish until w.deadline.
func (l *eloop) run(w *window) error {
	o := l.o
	first := 0 // the next connection to send its first request
	for l.live > 0 {
		now := time.Now()
		for first < len(l.conns) && !now.Before(w.start.Add(o.offset(first))) {
			if c := &l.conns[first]; c.state == stIdle {
				l.send(first, w.mEnd)
			}
			first++
		}
		if !now.Before(w.deadline) {
			for i := range l.conns {
				if c := &l.conns[i]; c.state == stReading || c.state == stWriting {
					l.fail(i, fmt.Errorf("no answer %v past the delay: %w", o.grace, os.ErrDeadlineExceeded))
				}
			}
			return nil
		}
		until := w.deadline
		if first < len(l.conns) {
			until = w.start.Add(o.offset(first))
		}
		evs, err := l.wait(until.Sub(now))
		if err != nil {
			return err
		}
		for _, ev := range evs {
			i := int(ev.Fd)
			switch l.conns[i].state {
			case stReading:
				l.read(i, w)
			case stWriting:
				l.write(i)
			case stIdle:
				// Level-triggered, this would be reported again and again.
				l.fail(i, errors.New("the server sent data or closed the connection before the first request"))
			}
		}
	}
	return nil
}

// send sends connection i's next request, or closes it once mEnd has come.
func (l *eloop) send(i int, mEnd time.Time) {
	c := &l.conns[i]
	c.t0 = time.Now()
	if !c.t0.Before(mEnd) {
		l.close(i)
		return
	}
	c.sent = 0
	c.state = stWriting
	l.write(i)
}

// write writes the rest of connection i's request; until it is all
// written, the connection waits for EPOLLOUT instead of EPOLLIN.
func (l *eloop) write(i int) {
	c := &l.conns[i]
	n, err := unix.Write(c.fd, l.req[c.sent:])
	if err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
		l.fail(i, fmt.Errorf("writing the request: %w", err))
		return
	}
	c.sent += max(n, 0)
	want := c.sent < len(l.req) // EPOLLOUT wanted
	if want != c.out {
		events := uint32(unix.EPOLLIN)
		if want {
			events = unix.EPOLLOUT
		}
		if err := l.ctl(unix.EPOLL_CTL_MOD, i, events); err != nil {
			l.fail(i, err)
			return
		}
		c.out = want
	}
	if !want {
		c.state = stReading
	}
}

// read reads what has come of connection i's answer; when that ends it,
// it counts the answer and sends the next request. Two latenesses are
// counted: at the read (what the client saw), and on arrival (the kernel's
// timestamp of the answer's last segment reaching this machine, which
// leaves out the time the answer waited for this client to get to it).
func (l *eloop) read(i int, w *window) {
	c := &l.conns[i]
	n, oobn, _, _, err := unix.Recvmsg(c.fd, l.buf, l.oob[:], 0)
	t1 := time.Now() // before any other work: this may be the answer's last byte
	switch {
	case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
		return
	case err != nil:
		l.fail(i, fmt.Errorf("reading the answer: %w", err))
		return
	case n == 0:
		l.fail(i, fmt.Errorf("the server closed the connection: %w", io.ErrUnexpectedEOF))
		return
	}
	c.wire = arrival(l.oob[:oobn])
	done, err := c.ans.Feed(l.buf[:n], l.o.status, l.o.bodyBytes)
	if err != nil {
		l.fail(i, err)
		return
	}
	if !done {
		return
	}
	l.res.all.Add(1)
	if !t1.Before(w.mStart) && t1.Before(w.mEnd) {
		l.res.counted.Add(1)
		l.res.late.add((t1.Sub(c.t0) - l.o.delay).Microseconds())
		if !c.wire.IsZero() {
			// Both wall clock: the timestamp has no monotonic reading.
			l.res.wire.add((c.wire.Sub(c.t0.Round(0)) - l.o.delay).Microseconds())
		}
	}
	l.send(i, w.mEnd)
}

// arrival returns the time of the SCM_TIMESTAMPNS control message in oob
// (a recvmsg's); zero when there is none.
func arrival(oob []byte) time.Time {
	sec, nsec, ok := h1loop.TimestampNS(oob)
	if !ok {
		return time.Time{}
	}
	return time.Unix(sec, nsec)
}

// fail counts err and gives connection i up.
func (l *eloop) fail(i int, err error) {
	l.res.fail(fmt.Errorf("connection %d: %w", i, err))
	l.res.lostConns.Add(1)
	l.close(i)
}

// close closes connection i (which also removes it from the epoll set).
func (l *eloop) close(i int) {
	c := &l.conns[i]
	if c.state == stDone {
		return
	}
	_ = unix.Close(c.fd)
	c.fd = -1
	c.state = stDone
	l.live--
}
