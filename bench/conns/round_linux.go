//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/decoy-dev/decoy/bench/internal/answer"
	"github.com/decoy-dev/decoy/bench/internal/rawpoll"
	"github.com/decoy-dev/decoy/internal/h1loop"
)

const defaultEngine = "epoll"

// rawFD returns the socket of c, and asks the kernel to timestamp what
// arrives on it (SO_TIMESTAMPNS), for the latency on arrival. The net.Conn
// stays open and owns the socket; the epoll round only reads and writes
// it, between rounds nothing does.
func rawFD(c syscall.Conn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := rc.Control(func(s uintptr) { fd = int(s) }); err != nil {
		return -1, err
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	return fd, nil
}

// rconn is one connection of an epoll round.
type rconn struct {
	reading bool      // the request is written, its answer not yet all read
	done    bool      // answered or failed: out of the round
	t0      time.Time // when the request was written
	wire    time.Time // when the last segment read so far reached this machine (kernel timestamp; zero: unknown)
	ans     answer.Reader
}

// epollRound is childRound on one OS thread: the held connections' sockets
// in one epoll instance, each request written at its time (start + i/rate)
// with one write, each answer read as it arrives, no goroutine per request
// and no Go scheduler between an answer's arrival and its timestamp. On a
// loaded client CPU the goroutine engine's own scheduling is much of what
// it measures (a goroutine and a timer per request, the runtime's poller
// waking the goroutine that reads); this engine measures the server.
//
// Each answer gives two latencies: from the request's write to the read
// that brought the answer's end (Lat, what the bounds judge), and to the
// kernel's timestamp of that last segment reaching the client's socket
// (Wire), which leaves out how long the answer waited for this process to
// read it.
//
// A request not answered within -timeout of the round's last request is an
// error. A connection that fails (an error, an early close, a wrong answer)
// is closed and counts as an error in every later round.
func epollRound(o options, clients []*client, req []byte, rate float64) report {
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	r := report{Phase: "round", Lat: make([]int64, 0, len(clients)), Wire: make([]int64, 0, len(clients))}
	fail := func(err error) {
		r.Errors++
		if r.First == "" {
			r.First = err.Error()
		}
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		r.Errors = len(clients)
		r.First = fmt.Sprintf("epoll_create1: %v", err)
		return r
	}
	defer unix.Close(ep)

	conns := make([]rconn, len(clients))
	drop := func(i int, err error) {
		fail(fmt.Errorf("connection %d: %w", i, err))
		conns[i].done = true
		_ = clients[i].c.Close() // also removes it from the epoll set
		clients[i] = nil
	}
	for i, cl := range clients {
		if cl == nil {
			fail(errors.New("not connected"))
			conns[i].done = true
			continue
		}
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, cl.fd, &ev); err != nil {
			drop(i, fmt.Errorf("epoll_ctl: %w", err))
		}
	}

	evs := make([]unix.EpollEvent, 256)
	buf := make([]byte, 64<<10)
	var oob [64]byte
	start := time.Now()
	var deadline time.Time // the last request's write + -timeout
	next, pending := 0, 0
	for next < len(conns) || pending > 0 {
		now := time.Now()
		for ; next < len(conns) && (rate <= 0 || !now.Before(start.Add(offset(next, rate)))); next++ {
			c := &conns[next]
			if c.done {
				continue
			}
			c.t0 = time.Now()
			n, err := unix.Write(clients[next].fd, req)
			switch {
			case err != nil:
				drop(next, fmt.Errorf("write: %w", err))
				continue
			case n < len(req):
				// Never on an idle connection's empty send buffer.
				drop(next, fmt.Errorf("write: %d of %d bytes written", n, len(req)))
				continue
			}
			c.reading = true
			pending++
		}
		if next == len(conns) && deadline.IsZero() {
			deadline = time.Now().Add(o.timeout)
		}
		if pending == 0 && next == len(conns) {
			break
		}
		var wait time.Duration
		if next < len(conns) {
			wait = start.Add(offset(next, rate)).Sub(now)
		} else {
			if !now.Before(deadline) {
				for i := range conns {
					if conns[i].reading && !conns[i].done {
						drop(i, fmt.Errorf("no answer within %v of the round's last request: %w", o.timeout, os.ErrDeadlineExceeded))
					}
				}
				break
			}
			wait = deadline.Sub(now)
		}
		got, err := rawpoll.Wait(ep, evs, wait)
		if err != nil {
			for i := range conns {
				if conns[i].reading && !conns[i].done {
					drop(i, err)
				}
			}
			break
		}
		for _, ev := range got {
			i := int(ev.Fd)
			c := &conns[i]
			if c.done {
				// Data or a close after its answer: the next round
				// reports it; level-triggered, it would be reported
				// again and again in this one.
				if clients[i] != nil {
					_ = unix.EpollCtl(ep, unix.EPOLL_CTL_DEL, clients[i].fd, nil)
				}
				continue
			}
			n, oobn, _, _, err := unix.Recvmsg(clients[i].fd, buf, oob[:], 0)
			t1 := time.Now() // before any other work: this may be the answer's last byte
			switch {
			case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
				continue
			case err != nil:
				drop(i, fmt.Errorf("read: %w", err))
			case n == 0:
				drop(i, fmt.Errorf("read: the server closed the connection: %w", io.ErrUnexpectedEOF))
			case !c.reading:
				drop(i, errors.New("the server sent data before the request"))
			}
			if c.done {
				if c.reading {
					pending--
				}
				continue
			}
			if sec, nsec, ok := h1loop.TimestampNS(oob[:oobn]); ok {
				c.wire = time.Unix(sec, nsec)
			}
			fin, err := c.ans.Feed(buf[:n], o.status, o.bodyBytes)
			if err != nil {
				drop(i, err)
				pending--
				continue
			}
			if !fin {
				continue
			}
			c.reading, c.done = false, true
			pending--
			r.OK++
			r.Lat = append(r.Lat, t1.Sub(c.t0).Microseconds())
			if !c.wire.IsZero() {
				// Both wall clock: the timestamp has no monotonic reading.
				r.Wire = append(r.Wire, c.wire.Sub(c.t0.Round(0)).Microseconds())
			}
		}
	}
	r.Ms = time.Since(start).Milliseconds()
	return r
}
