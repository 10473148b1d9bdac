// Package h1loop serves HTTP/1.x connections from epoll loops, without a
// goroutine per connection: the path for answers a handler can give at
// once (decoy's pre-rendered stubs), at the cost nginx pays per request —
// one read and one write, no wake-up of a goroutine, no read that only
// finds the socket empty.
//
// Each loop owns an epoll instance (edge-triggered, as nginx and Go's own
// poller use it) holding the listening socket and its connections, and one
// goroutine that waits for it through Go's poller: the epoll descriptor is
// itself readable when any of its connections is, so the loop sleeps like
// any goroutine and the rest of the process (timers, other front doors)
// runs beside it. A wake-up reads every ready connection once (a short read
// means it is drained), parses the requests read, lets the Handler append
// each answer to one output buffer and writes it with one system call.
// Idle connections hold no buffers.
//
// The loop takes the plain common request only (see parse). Any other
// request — malformed, chunked, an upgrade, a body too large, or one the
// Handler declines (a stub that waits, a fault) — hands its connection off:
// the loop forgets it and gives Options.HandOff a net.Conn for it, with
// the bytes read but not answered, and the full server serves it from that
// request on. A request that Check finds malformed is refused on the loop
// instead (Options.Refuse).
package h1loop

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Handler answers requests on a loop's goroutine; it must not block.
type Handler interface {
	// Serve appends the whole response to r to out and returns it, or
	// returns ok false (and out unchanged) to hand the connection off from
	// r on. It may set r.Close to end the connection after the response.
	Serve(c *Conn, r *Request, out []byte) (res []byte, ok bool)
}

// Options configures a Server. Zero values take the defaults.
type Options struct {
	Handler Handler
	// HandOff receives a connection the loop no longer serves: nc is the
	// connection (a *net.TCPConn), pending the answers already made but
	// not yet written (to write first), and buffered the bytes read but
	// not answered (to read first; then it may give buffered back with
	// Release). It runs on the loop's goroutine and
	// must not block: serve nc on a goroutine of its own.
	HandOff func(c *Conn, nc net.Conn, pending, buffered []byte)
	// Opened is told of every accepted connection; when it returns false
	// the connection is handed off at once, before any read. Closed is
	// told of every connection the loop closes (not those handed off),
	// with the reason.
	Opened func(c *Conn) bool
	Closed func(c *Conn, why Reason)
	// Refuse, when set, answers on the loop a request that Check finds
	// malformed (or too large), instead of handing the
	// connection off: it appends the whole answer (ending the connection)
	// to out and returns it; the loop writes it and closes the connection
	// (Closed is told Refused). A first line that is no HTTP/1.x request
	// line closes the connection without an answer; on a later request it
	// is refused (Verdict.Later). Without Refuse, every request is handed
	// off.
	Refuse func(c *Conn, v Verdict, out []byte) []byte
	// Sent is told when the answers of a read are all written: start is
	// when the first write began, end when the last one returned
	// (monotonic, as Now).
	Sent func(c *Conn, start, end int64)
	// Stalled is told when answers the socket could not take at once
	// have all been written, or the connection closed with some unsent:
	// start is when the write began, end when it ended (as Now).
	Stalled func(c *Conn, start, end int64)
	// MaxHeaderBytes bounds the request line and headers the loop reads.
	// A larger request goes to HandOff with its first MaxHeaderBytes
	// bytes only: the full server is expected to read with a buffer of
	// that size, to refuse such a request from what fits in it, and to
	// close the connection. Default 8 KiB.
	MaxHeaderBytes int
	// MaxBodyBytes bounds a request body the loop reads whole (larger go
	// to HandOff). Default 64 KiB.
	MaxBodyBytes int
	// IdleTimeout closes a connection that waited that long for a request;
	// ReadTimeout one whose request has not all arrived in that time.
	IdleTimeout, ReadTimeout time.Duration
	// Loops is the number of loops (default GOMAXPROCS).
	Loops int
}

// Reason tells why the loop closed a connection.
type Reason int

// Reasons.
const (
	ClosedByClient Reason = iota // the client closed it (EOF)
	ResetByClient                // the client reset it, or it broke
	AskedClose                   // a request asked to close (Connection: close, HTTP/1.0)
	IdleTimeout                  // no request within IdleTimeout
	ReadTimeout                  // a request not all read within ReadTimeout
	Shutdown                     // the server shut down
	Refused                      // a request was malformed (Options.Refuse)
)

// Conn is a connection a loop serves. Its fields other than User belong
// to the loop.
type Conn struct {
	// Remote is the client's address.
	Remote netip.AddrPort
	// User is for the Handler and hooks; the loop never touches it.
	User any

	fd      int
	partial *[]byte // bytes of a request not yet complete
	pending []byte  // answers not yet written
	since   int64   // idle since / the partial request began (Now)
	writeAt int64   // when the pending write began (Now), 0 without one
	hup     bool    // the client closed its side or the connection broke
	again   bool    // in the loop's again queue
	backlog bool    // partial holds requests read but not answered yet
	// What Server.Conns readers may look at, from other goroutines.
	idle     atomic.Bool  // answered, nothing pending either way
	writing  atomic.Int64 // writeAt
	inFirst  int64        // when the partial request's first bytes arrived
	closing  bool         // close once pending is written
	blocked  bool         // input is waiting until pending is written
	nodelay  bool
	answered bool
	refused  bool    // closing after a refusal
	held     *[]byte // an answer held until due (see held.go)
	due      int64   // when held is due (Now)
	// Reads with arrival timestamps (stamp.go): asked for, on, and when
	// the bytes of the latest read arrived (Now; 0 unknown).
	stampTried, stamps bool
	arrived            int64
	written            Written // asked of and taken by the socket, until past the limits
}

// WritingSince is when the write of answers the client has not taken yet
// began (Now), or 0: for telling slow readers.
func (c *Conn) WritingSince() int64 { return c.writing.Load() }

// Idle tells that the connection has answered a request and waits for
// the next.
func (c *Conn) Idle() bool { return c.idle.Load() }

// publish makes the connection's state visible to Server.Conns.
func (c *Conn) publish() {
	c.idle.Store(c.answered && c.partial == nil && c.pending == nil && c.held == nil)
	c.writing.Store(c.writeAt)
}

var epoch = time.Now()

// At is the wall-clock time of an instant Now reported.
func At(ns int64) time.Time { return epoch.Add(time.Duration(ns)) }

// Now is the loop's clock: nanoseconds on the monotonic clock since the
// package started.
func Now() int64 { return int64(time.Since(epoch)) }

// Server runs the loops. Each listening socket given to Listen is in
// every loop's epoll instance (EPOLLEXCLUSIVE: one loop is woken per new
// connection) as a duplicate of its own.
type Server struct {
	o         Options
	loops     []*loop
	wg        sync.WaitGroup
	deferring deferring
}

// New starts o.Loops loops, serving no socket yet.
func New(o Options) (*Server, error) {
	if o.Handler == nil || o.HandOff == nil {
		return nil, errors.New("h1loop: a Handler and a HandOff are needed")
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 8 << 10
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 64 << 10
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 120 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 60 * time.Second
	}
	if o.Loops <= 0 {
		o.Loops = runtime.GOMAXPROCS(0)
	}
	s := &Server{o: o}
	for range o.Loops {
		l, err := s.newLoop()
		if err != nil {
			for _, l := range s.loops {
				l.closeFDs()
			}
			return nil, err
		}
		s.loops = append(s.loops, l)
	}
	for _, l := range s.loops {
		s.wg.Add(1)
		go l.run()
	}
	return s, nil
}

// Listen accepts connections on ln's socket from now on, until the socket
// is shut down (shutdown(2): accepting on it then fails) or Shutdown. ln
// itself is left as it is: its owner keeps it open, and closes it.
func (s *Server) Listen(ln *net.TCPListener) error { return s.ListenAdmit(ln, nil) }

// ListenAdmit is Listen with an allow-list: a connection for whose client
// admit returns false is closed with a reset as soon as it is accepted,
// before anything else is done with it (nil: every client stays).
func (s *Server) ListenAdmit(ln *net.TCPListener, admit func(netip.Addr) bool) error {
	rc, err := ln.SyscallConn()
	if err != nil {
		return err
	}
	var fds []int
	var derr error
	err = rc.Control(func(fd uintptr) {
		for range s.loops {
			d, err := unix.Dup(int(fd))
			if err != nil {
				derr = err
				return
			}
			unix.CloseOnExec(d)
			fds = append(fds, d)
		}
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		for _, fd := range fds {
			_ = unix.Close(fd)
		}
		return err
	}
	var stopped bool
	for i, l := range s.loops {
		if !l.request(func() { l.adds = append(l.adds, added{fds[i], admit}) }) {
			_ = unix.Close(fds[i])
			stopped = true
		}
	}
	if stopped {
		return errors.New("h1loop: the server has shut down")
	}
	return nil
}

// Shutdown stops accepting, closes every connection the loops hold and
// waits for the loops to end.
func (s *Server) Shutdown() {
	for _, l := range s.loops {
		l.request(func() { l.stopping = true })
	}
	s.wg.Wait()
}

// Conns calls f for every connection the loops hold, under their locks:
// f must be quick.
func (s *Server) Conns(f func(c *Conn)) {
	for _, l := range s.loops {
		l.mu.Lock()
		for _, c := range l.conns {
			if c != nil {
				f(c)
			}
		}
		l.mu.Unlock()
	}
}

// loop is one epoll instance and the goroutine that serves it.
type loop struct {
	s     *Server
	epfd  int
	evfd  int          // an eventfd: written when adds or stopping change
	tfd   int          // a timerfd: ticks for timeouts
	dfd   int          // a timerfd: the earliest held answer is due
	lnfds map[int]bool // the listening sockets it accepts on
	// admits are the allow-lists of the listening sockets that have one
	// (see ListenAdmit).
	admits map[int]func(netip.Addr) bool
	// acceptOff: accepting failed for want of descriptors or memory; the
	// listening sockets are out of epoll until the next tick.
	acceptOff bool
	tick      unix.ItimerSpec
	file      *os.File
	events    []unix.EpollEvent
	// mu guards conns against Server.Conns (only the loop changes it),
	// and the requests of other goroutines: adds and stopping.
	mu       sync.Mutex
	adds     []added // listening sockets to accept on
	stopping bool
	ended    bool    // the loop has closed its descriptors
	conns    []*Conn // by descriptor
	n        int     // connections held
	rbuf     []byte
	wbuf     []byte
	oob      [stampOOB]byte
	req      Request
	stop     bool
	// again holds connections that may have more to read (see readable);
	// spare is the queue's other buffer.
	again, spare []*Conn
	now          int64
	dstats       deferStats
	lastTick     int64 // when the timeout tick last came
	// sweepNext is the next entry of conns to check for timeouts; -1
	// when no pass is under way (see sweep).
	sweepNext int
	// Answers held until due (held.go): the connections by due time, how
	// many hold one, and when dfd is set to go off (0: not set).
	timers timers
	nheld  int
	armed  int64
	// A drain other goroutines asked for (under mu), and the loop's own:
	// draining, and until when held answers may be sent (0: no limit).
	drainAsked bool
	drainAt    int64
	draining   bool
	drainBy    int64
}

// readQuantum is the most a loop reads from one connection at a time
// (more when a request begun needs it).
const readQuantum = 16 << 10

// outQuantum is about the most a loop answers on one connection at a time:
// once the answers to a read's pipelined requests reach it, the rest wait
// in the again queue, behind the other ready connections (see readable).
// A read quantum of small requests for a 64 KiB body would otherwise make
// 25 MB of answers in one turn, copied whole (the loop's CPU for
// milliseconds) and kept in memory while the client does not read; a
// client that does not read now holds at most one quantum's answers
// (pending), and the kernel copies at most that much per send.
const outQuantum = 64 << 10

// yieldAfter is how long a loop with work runs before it lets other
// goroutines run.
const yieldAfter = 200 * time.Microsecond

const (
	evConn = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET
)

func (s *Server) newLoop() (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	l := &loop{s: s, epfd: epfd, evfd: -1, tfd: -1, dfd: -1, events: make([]unix.EpollEvent, 256), lnfds: map[int]bool{}, admits: map[int]func(netip.Addr) bool{}, sweepNext: -1}
	fail := func(err error) (*loop, error) {
		l.closeFDs()
		return nil, err
	}
	if l.evfd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		return fail(err)
	}
	if l.tfd, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err != nil {
		return fail(err)
	}
	// Timeouts are checked at a quarter of the shorter one, at most every
	// second, at least every 10 ms.
	tick := unix.NsecToTimespec(int64(min(max(min(s.o.IdleTimeout, s.o.ReadTimeout)/4, 10*time.Millisecond), time.Second)))
	l.tick = unix.ItimerSpec{Interval: tick, Value: tick}
	if err := unix.TimerfdSettime(l.tfd, 0, &l.tick, nil); err != nil {
		return fail(err)
	}
	if l.dfd, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err != nil {
		return fail(err)
	}
	for _, fd := range []int{l.evfd, l.tfd, l.dfd} {
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: int32(fd)}); err != nil {
			return fail(err)
		}
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		return fail(err)
	}
	// A non-blocking descriptor given to os.NewFile is served by Go's
	// poller: the loop's goroutine waits there for the epoll instance to
	// become readable.
	l.file = os.NewFile(uintptr(epfd), "h1loop-epoll")
	l.rbuf = make([]byte, s.o.MaxHeaderBytes+s.o.MaxBodyBytes)
	l.wbuf = make([]byte, 0, 64<<10)
	return l, nil
}

// request makes a change to adds or stopping under the loop's lock and
// wakes the loop to look at it; false once the loop has ended.
func (l *loop) request(f func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		// Its eventfd is closed: the number may be another file's now.
		return false
	}
	f()
	one := [8]byte{1}
	_, _ = unix.Write(l.evfd, one[:])
	return true
}

// added is a listening socket given to a loop, and its allow-list.
type added struct {
	fd    int
	admit func(netip.Addr) bool
}

// listen takes the listening sockets other goroutines gave; it tells
// whether the loop is to stop.
func (l *loop) listen() (stop bool) {
	var b [8]byte
	_, _ = unix.Read(l.evfd, b[:])
	l.mu.Lock()
	adds, stop := l.adds, l.stopping
	drain, by := l.drainAsked, l.drainAt
	l.adds = nil
	l.mu.Unlock()
	if drain && !l.draining {
		for _, a := range adds {
			_ = unix.Close(a.fd)
		}
		l.drain(by)
		return stop
	}
	for _, a := range adds {
		fd := a.fd
		l.lnfds[fd] = true
		if a.admit != nil {
			l.admits[fd] = a.admit
		}
		l.s.deferring.mu.Lock()
		setDefer(fd, l.s.deferring.on.Load())
		l.s.deferring.mu.Unlock()
		if !l.acceptOff {
			l.watchListener(fd)
		}
	}
	return stop
}

// watchListener puts a listening socket in epoll: level-triggered, and
// EPOLLEXCLUSIVE so that a new connection wakes one loop, not all.
func (l *loop) watchListener(fd int) {
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLEXCLUSIVE, Fd: int32(fd)}); err != nil {
		l.dropListener(fd)
	}
}

func (l *loop) dropListener(fd int) {
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	_ = unix.Close(fd)
	delete(l.lnfds, fd)
	delete(l.admits, fd)
}

func (l *loop) closeFDs() {
	l.mu.Lock()
	l.ended = true
	for _, a := range l.adds {
		fd := a.fd
		_ = unix.Close(fd)
	}
	l.adds = nil
	l.mu.Unlock()
	for fd := range l.lnfds {
		_ = unix.Close(fd)
	}
	for _, fd := range []int{l.evfd, l.tfd, l.dfd} {
		if fd >= 0 {
			_ = unix.Close(fd)
		}
	}
	if l.file != nil {
		_ = l.file.Close()
	} else {
		_ = unix.Close(l.epfd)
	}
}

func (l *loop) run() {
	defer l.s.wg.Done()
	defer l.closeFDs()
	rc, err := l.file.SyscallConn()
	if err != nil {
		return
	}
	// busy is when the loop last let other goroutines run (it parked, or
	// yielded): a loop that always finds work yields every yieldAfter,
	// so that timers and the goroutines of handed-off connections get the
	// CPU without waiting for the runtime to preempt it (10 ms).
	var busy int64
	parked := true
	park := func() bool {
		parked = true
		l.woke()
		return false
	}
	for !l.stop {
		yield := false
		err := rc.Read(func(uintptr) bool {
			for {
				n := epollWait(l.epfd, l.events)
				if n == 0 && len(l.again) == 0 && l.sweepNext < 0 {
					// Nothing ready: wait in Go's poller. Connections that
					// become ready from now on make the epoll descriptor
					// readable again (an edge the poller keeps).
					return park()
				}
				l.now = Now()
				if parked {
					busy, parked = l.now, false
				}
				for i := range n {
					l.event(&l.events[i])
				}
				if l.due() {
					l.release()
				}
				l.runAgain()
				if l.sweepNext >= 0 {
					l.sweep()
				}
				if l.draining && l.drained() {
					l.stop = true
				}
				if l.stop {
					return true
				}
				if l.now-busy >= int64(yieldAfter) {
					yield = true
					return true
				}
				// Poll again before waiting, until nothing is ready:
				// under load more has come in while these were served,
				// and a poll that finds it is cheaper than waiting in
				// the runtime's poller, which polls twice itself (0.5
				// epoll_pwait per request instead of 0.7 at 64
				// keep-alive connections, 2% less CPU per request). It
				// is also what finds a listening socket's next
				// connection (see accept).
			}
		})
		if err != nil {
			break
		}
		if yield {
			runtime.Gosched()
			busy = Now()
		}
	}
	for _, c := range l.open() {
		l.close(c, Shutdown)
	}
}

// open lists the connections the loop holds.
func (l *loop) open() []*Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	var open []*Conn
	for _, c := range l.conns {
		if c != nil {
			open = append(open, c)
		}
	}
	return open
}

// The calls a loop makes for each connection never block, so they go to
// the kernel directly (RawSyscall), as epollWait, reads and writes do. A
// call through the runtime's syscall entry (unix.Close, unix.EpollCtl)
// would also wake the runtime's monitor thread whenever it sleeps because
// the process was idle: with a new connection every few tens of
// microseconds, that is a wake-up and a run of 20 µs naps on the loop's
// CPU each time decoy goes idle (perf stat: a futex and a nanosleep every
// 15 connections).

// Recv reads from the socket fd into b. recvfrom(2) and sendto(2) rather
// than read(2) and write(2): they skip the file layer (0.14-0.27 µs less
// per request and answer on loopback here: BenchmarkSocketCalls), and
// MSG_NOSIGNAL spares a SIGPIPE when the client has gone.
func Recv(fd int, b []byte) (uintptr, syscall.Errno) {
	n, _, e := syscall.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0, 0, 0)
	return n, e
}

// Send writes b to the socket fd. Package httpfront reads and writes the
// connections its goroutines serve with these too.
func Send(fd int, b []byte) (uintptr, syscall.Errno) {
	n, _, e := syscall.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_NOSIGNAL, 0, 0)
	return n, e
}

// closeFD closes fd.
func closeFD(fd int) {
	_, _, _ = syscall.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

// epollCtl is unix.EpollCtl without the runtime's syscall entry.
func epollCtl(epfd, op, fd int, ev *unix.EpollEvent) error {
	_, _, e := syscall.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func epollWait(epfd int, events []unix.EpollEvent) int {
	for {
		n, _, e := syscall.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
		if e == unix.EINTR {
			// A signal (the runtime's preemption, say): the events are
			// still there, and no new edge would tell of them.
			continue
		}
		if e != 0 {
			return 0
		}
		return int(n)
	}
}

func (l *loop) event(ev *unix.EpollEvent) {
	fd := int(ev.Fd)
	switch {
	case l.lnfds[fd]:
		l.accept(fd)
		return
	case fd == l.evfd:
		l.stop = l.listen()
		return
	case fd == l.dfd:
		// The timer need not be read: setting it again clears it, and
		// each expiry is a new edge.
		l.release()
		return
	case fd == l.tfd:
		var b [8]byte
		_, _ = unix.Read(l.tfd, b[:])
		if l.lastTick != 0 && l.now > l.lastTick {
			l.ticked(float64(l.now-l.lastTick) / 1e9)
		}
		l.lastTick = l.now
		if l.acceptOff {
			l.acceptOff = false
			for fd := range l.lnfds {
				l.watchListener(fd)
			}
			_ = unix.TimerfdSettime(l.tfd, 0, &l.tick, nil)
		}
		l.sweepNext = 0 // a new pass (see sweep)
		return
	}
	if fd >= len(l.conns) || l.conns[fd] == nil {
		return
	}
	c := l.conns[fd]
	if ev.Events&unix.EPOLLOUT != 0 && c.pending != nil {
		if !l.flush(c) {
			return
		}
		c.publish()
	}
	if ev.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.hup = true
	}
	if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 || c.blocked {
		if c.pending != nil || c.held != nil {
			c.blocked = true
			c.publish()
			return
		}
		c.blocked = false
		l.readable(c)
		if c.fd >= 0 {
			c.publish()
		}
	}
}

// accept takes one connection from the listening socket lnfd. One per
// event, as nginx does: the socket is level-triggered, so when more wait
// the loop's next epoll_wait reports it again (run polls until nothing is
// ready before it waits). Taking them until the queue is empty would
// end each turn with an accept that finds none, and the kernel makes and
// frees a socket for such a call (BenchmarkAcceptNone: about 3 µs here,
// more than the rest of the turn's waiting).
func (l *loop) accept(lnfd int) {
	for range 8 {
		var sa unix.RawSockaddrAny
		size := uint32(unix.SizeofSockaddrAny)
		r, _, e := syscall.RawSyscall6(unix.SYS_ACCEPT4, uintptr(lnfd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&size)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		switch e {
		case 0:
		case unix.EINTR, unix.ECONNABORTED:
			continue
		case unix.EAGAIN:
			return
		case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
			// Out of descriptors: the socket stays ready, so stop
			// watching it for 10 ms rather than spin.
			l.acceptOff = true
			for fd := range l.lnfds {
				_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
			}
			_ = unix.TimerfdSettime(l.tfd, 0, &unix.ItimerSpec{Interval: l.tick.Interval, Value: unix.NsecToTimespec(int64(10 * time.Millisecond))}, nil)
			return
		default:
			// Shut down (a paused listener) or closed: done with it.
			l.dropListener(lnfd)
			return
		}
		l.dstats.accepts++
		l.dstats.woken++
		fd := int(r)
		remote := addrPort(&sa)
		if admit := l.admits[lnfd]; admit != nil && !admit(remote.Addr()) {
			// Not on the allow-list: a reset, and nothing else.
			_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
			_ = unix.Close(fd)
			continue
		}
		c := &Conn{fd: fd, Remote: remote, since: l.now}
		if l.s.o.Opened != nil && !l.s.o.Opened(c) {
			l.handOff(c, nil, nil)
			return
		}
		l.mu.Lock()
		for fd >= len(l.conns) {
			l.conns = append(l.conns, make([]*Conn, max(len(l.conns), 64))...)
		}
		l.conns[fd] = c
		l.n++
		l.mu.Unlock()
		if l.s.deferring.on.Load() {
			// Read before watching: the listening socket defers
			// accepting until data has arrived (deferaccept.go), so the
			// request is most likely here already, and a connection that
			// asks to close with its first request is never watched at
			// all. The watch comes after the read, so data arriving in
			// between still makes an edge (EPOLL_CTL_ADD reports a
			// socket that is ready).
			l.readable(c)
			if c.fd < 0 {
				return // answered and closed, or handed off
			}
			if c.partial == nil && !c.answered {
				l.dstats.silent++ // nothing to read: see deferaccept.go
			}
		}
		if err := epollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: evConn, Fd: int32(fd)}); err != nil {
			l.close(c, ResetByClient)
			return
		}
		c.publish()
		return
	}
}

func addrPort(sa *unix.RawSockaddrAny) netip.AddrPort {
	switch sa.Addr.Family {
	case unix.AF_INET:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := uint16(p.Port>>8) | uint16(p.Port<<8)
		return netip.AddrPortFrom(netip.AddrFrom4(p.Addr), port)
	case unix.AF_INET6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		port := uint16(p.Port>>8) | uint16(p.Port<<8)
		return netip.AddrPortFrom(netip.AddrFrom16(p.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}

var partialPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// readable reads once from c, answers the requests that are complete and
// keeps the rest. A read that filled its quantum may have left more: c then
// waits in the again queue, behind the other ready connections, so that
// one client pipelining without pause cannot hold the loop. After a
// hang-up (the client closed its side, or the connection broke) it reads
// on to the end, which a short read does not tell. Requests read before
// and left unanswered (see outQuantum) are answered first, without a read.
func (l *loop) readable(c *Conn) {
	buf := l.rbuf[:0]
	if c.partial != nil {
		buf = append(buf, *c.partial...)
		*c.partial = (*c.partial)[:0]
		partialPool.Put(c.partial)
		c.partial = nil
	}
	if c.backlog {
		// The read that brought these may have left more in the socket,
		// and no new edge would say so: read again after them.
		c.backlog = false
		l.serve(c, buf, true)
		return
	}
	space := l.rbuf[len(buf):min(cap(l.rbuf), len(buf)+readQuantum)]
	var n uintptr
	var e syscall.Errno
	if c.stamps {
		n, e, c.arrived = recvStamped(c.fd, space, &l.oob)
	} else {
		n, e = Recv(c.fd, space)
	}
	switch {
	case e == unix.EAGAIN:
		l.keep(c, buf)
		return
	case e != 0:
		l.close(c, ResetByClient)
		return
	case n == 0:
		l.close(c, ClosedByClient)
		return
	}
	if len(buf) == 0 {
		c.inFirst = l.now
	}
	// A full read is not known to have drained the socket: no new edge
	// would say so.
	l.serve(c, l.rbuf[:len(buf)+int(n)], int(n) == len(space) || c.hup)
}

// serve answers the complete requests in buf and keeps the rest; with
// more, or requests left unanswered, c goes to the again queue.
func (l *loop) serve(c *Conn, buf []byte, more bool) {
	rest, ok := l.answer(c, buf)
	if !ok {
		return
	}
	if len(rest) == cap(l.rbuf) {
		// Cannot happen (parse hands off requests too large to fit), but
		// never spin on it.
		l.handOff(c, nil, rest)
		return
	}
	l.keep(c, rest)
	if (more || c.backlog) && !c.again {
		c.again = true
		l.again = append(l.again, c)
	}
}

// runAgain reads once more from the connections in the again queue.
func (l *loop) runAgain() {
	q := l.again
	l.again = l.spare[:0]
	for _, c := range q {
		c.again = false
		if c.fd < 0 || l.conns[c.fd] != c {
			continue // closed or handed off since
		}
		if c.pending != nil || c.held != nil {
			c.blocked = true
		} else {
			l.readable(c)
		}
		if c.fd >= 0 {
			c.publish()
		}
	}
	clear(q)
	l.spare = q[:0]
}

// keep saves the start of a request for the next read.
func (l *loop) keep(c *Conn, rest []byte) {
	if len(rest) == 0 {
		return
	}
	p := partialPool.Get().(*[]byte)
	*p = append((*p)[:0], rest...)
	c.partial = p
}

// answer serves the complete requests in buf and writes their answers. It
// returns what is left of buf (a request not complete yet), or ok false
// when the connection is gone (closed or handed off).
func (l *loop) answer(c *Conn, buf []byte) (rest []byte, ok bool) {
	o := &l.s.o
	out := l.wbuf[:0]
	r := &l.req
	for len(buf) > 0 {
		st, n := parse(buf, r, o.MaxHeaderBytes, o.MaxBodyBytes)
		if st != parsed {
			if v := Check(buf, o.MaxHeaderBytes); v.Status != 0 {
				if o.Refuse != nil {
					// Refused here, after the answers before it, rather
					// than handed off only to be refused (a burst of
					// them cost the well-behaved connections a
					// goroutine each), by the rules every engine
					// applies (the full server's Gate).
					if c.answered {
						v = v.Later()
					}
					l.refuse(c, out, v)
					return nil, false
				}
				if st == needMore {
					// A later request, already malformed: the full
					// server refuses it now, as it would on its own.
					st = handOff
				}
			}
		}
		if st == needMore {
			break
		}
		if st == handOff {
			l.handOff(c, out, buf)
			return nil, false
		}
		if st == tooLarge {
			// The full server decides from its first MaxHeaderBytes
			// bytes (its read buffer) and closes the connection after
			// refusing it: the rest of a request that large (up to the
			// read quantum) need not be copied for it.
			l.handOff(c, out, buf[:min(len(buf), o.MaxHeaderBytes)])
			return nil, false
		}
		r.ReadAt, r.DoneAt, r.ArrivedAt, r.Due = c.inFirst, l.now, c.arrived, 0
		mark := len(out)
		res, served := o.Handler.Serve(c, r, out)
		if !served {
			l.handOff(c, out, buf)
			return nil, false
		}
		out = res
		buf = buf[n:]
		c.inFirst = l.now
		c.answered = true
		if r.Due != 0 && r.Due > Now() {
			// Held until due; the requests after it wait (backlog).
			l.hold(c, out[mark:], r.Due)
			out = out[:mark]
			c.closing = r.Close
			c.backlog = len(buf) > 0 && !r.Close
			break
		}
		if r.Close {
			c.closing = true
			break
		}
		if len(out) >= outQuantum && len(buf) > 0 {
			c.backlog = true
			break
		}
	}
	c.since = l.now
	if len(out) > 0 && !l.write(c, out) {
		return nil, false
	}
	if c.closing {
		if c.pending == nil && c.held == nil {
			l.close(c, AskedClose)
		}
		return nil, false
	}
	if cap(out) > cap(l.wbuf) && cap(out) <= 1<<20 {
		l.wbuf = out[:0]
	}
	return buf, true
}

// write writes out to c, keeping what the socket does not take.
func (l *loop) write(c *Conn, out []byte) bool {
	start := Now()
	if v := c.written.Ask(len(out)); v != 0 {
		SetNotSentLowat(c.fd, v)
	}
	n, e := Send(c.fd, out)
	if e != 0 && e != unix.EAGAIN {
		l.close(c, ResetByClient)
		return false
	}
	if e == unix.EAGAIN {
		n = 0
	}
	if v := c.written.Took(int(n)); v != 0 {
		SetNotSentLowat(c.fd, v)
	}
	if int(n) == len(out) {
		if l.s.o.Sent != nil {
			l.s.o.Sent(c, start, Now())
		}
		return true
	}
	// The rest goes when the socket can take it. Without Nagle's
	// algorithm, so that its last small segment is not held back.
	l.nodelay(c)
	c.pending = append([]byte(nil), out[n:]...)
	c.writeAt = start
	return true
}

// flush writes pending answers once c can take them; false when c is gone.
func (l *loop) flush(c *Conn) bool {
	p := c.pending
	n, e := Send(c.fd, p)
	if e == unix.EAGAIN {
		return true
	}
	if e != 0 {
		l.close(c, ResetByClient)
		return false
	}
	if v := c.written.Took(int(n)); v != 0 {
		SetNotSentLowat(c.fd, v)
	}
	if int(n) < len(p) {
		c.pending = p[n:]
		return true
	}
	end := Now()
	if l.s.o.Sent != nil {
		l.s.o.Sent(c, c.writeAt, end)
	}
	if l.s.o.Stalled != nil {
		l.s.o.Stalled(c, c.writeAt, end)
	}
	c.pending, c.writeAt = nil, 0
	c.since = l.now
	if c.closing && c.held == nil {
		l.close(c, l.closeReason(c))
		return false
	}
	return true
}

func (l *loop) closeReason(c *Conn) Reason {
	switch {
	case c.refused:
		return Refused
	case l.draining:
		return Shutdown
	}
	return AskedClose
}

// refuse writes out (the answers to the requests before) and an answer to
// c's malformed request as Options.Refuse words it (or, for bytes that are
// no HTTP/1.x request, none) and closes c.
func (l *loop) refuse(c *Conn, out []byte, v Verdict) {
	c.refused, c.closing = true, true
	if v.Status != NotHTTP && l.write(c, l.s.o.Refuse(c, v, out)) && c.pending != nil {
		return // closed once written (flush)
	}
	l.close(c, Refused)
}

func (l *loop) nodelay(c *Conn) {
	if !c.nodelay {
		c.nodelay = true
		_ = unix.SetsockoptInt(c.fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
}

// forget takes c out of the loop's table.
func (l *loop) forget(c *Conn) {
	if c.fd < len(l.conns) && l.conns[c.fd] == c {
		l.conns[c.fd] = nil
		l.n--
	}
	if c.partial != nil {
		*c.partial = (*c.partial)[:0]
		partialPool.Put(c.partial)
		c.partial = nil
	}
	if c.held != nil {
		putHeld(c.held)
		c.held, c.due = nil, 0
		l.nheld--
	}
}

// close closes c for the reason why.
func (l *loop) close(c *Conn, why Reason) {
	if c.fd < 0 {
		return
	}
	l.mu.Lock()
	l.forget(c)
	l.mu.Unlock()
	l.dstats.closes++
	closeFD(c.fd)
	c.fd = -1
	if c.pending != nil && l.s.o.Stalled != nil {
		l.s.o.Stalled(c, c.writeAt, Now())
	}
	c.pending, c.writeAt = nil, 0
	if l.s.o.Closed != nil {
		l.s.o.Closed(c, why)
	}
}

// bufferedPool holds the copies of unanswered bytes that go with a
// connection handed off, when they are more than a small request: under a
// burst of requests too large for the loop (headers past the limit) the
// copies were most of decoy's garbage. Options.HandOff gives them back
// with Release once it has read them.
var bufferedPool = sync.Pool{New: func() any { b := make([]byte, 0, readQuantum); return &b }}

// cloneBuffered copies b, into a pooled buffer when it is large enough to
// matter and fits one.
func cloneBuffered(b []byte) []byte {
	if len(b) <= 1<<10 || len(b) > readQuantum {
		return bytes.Clone(b)
	}
	p := bufferedPool.Get().(*[]byte)
	return append((*p)[:0], b...)
}

// Release gives back the buffered bytes of a connection handed off (see
// Options.HandOff) once they have all been read and nothing refers to
// them any more. Others are left to the garbage collector.
func Release(buffered []byte) {
	if cap(buffered) == readQuantum {
		buffered = buffered[:0]
		bufferedPool.Put(&buffered)
	}
}

// handOff gives c to Options.HandOff with the answers not yet written and
// the bytes not yet answered.
func (l *loop) handOff(c *Conn, out, buf []byte) {
	// c has no answers pending from an earlier read: a connection is read,
	// and so handed off, only once they are written. out and buf are the
	// loop's buffers: copy them.
	var pending, buffered []byte
	if len(out) > 0 {
		pending = bytes.Clone(out)
	}
	if len(buf) > 0 {
		buffered = cloneBuffered(buf)
	}
	l.mu.Lock()
	l.forget(c)
	l.mu.Unlock()
	_ = epollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	// net.FileConn gives the full server a duplicate of the descriptor,
	// in Go's poller; the loop's own is closed.
	f := os.NewFile(uintptr(c.fd), "")
	nc, err := net.FileConn(f)
	_ = f.Close() // nc has a duplicate
	c.fd = -1
	c.pending = nil
	if err != nil {
		if l.s.o.Closed != nil {
			l.s.o.Closed(c, ResetByClient)
		}
		return
	}
	l.s.o.HandOff(c, nc, pending, buffered)
}

// sweepChunk is how many entries of its table a loop checks for timeouts
// in one turn.
const sweepChunk = 1024

// timedOut answers a request that has not all arrived within ReadTimeout
// with the 408 Options.Refuse makes, once and as far as the socket takes
// it at once: the connection closes after it.
func (l *loop) timedOut(c *Conn) {
	if l.s.o.Refuse == nil {
		return
	}
	if b := l.s.o.Refuse(c, Verdict{Status: 408}, nil); len(b) > 0 {
		_, _ = Send(c.fd, b)
	}
}

// sweep closes connections past their timeouts, checking the next
// sweepChunk entries of the table from sweepNext; a pass begins at each
// tick and goes on over as many turns of the loop as it takes, between
// the events. One pass at once over 19,000 connections held the loop for
// 0.3 to 1.2 ms a second, and the requests that came meanwhile waited.
func (l *loop) sweep() {
	o := &l.s.o
	now := Now()
	idle, read := int64(o.IdleTimeout), int64(o.ReadTimeout)
	end := min(l.sweepNext+sweepChunk, len(l.conns))
	part := l.conns[l.sweepNext:end]
	l.sweepNext = end
	if end == len(l.conns) {
		l.sweepNext = -1
	}
	for _, c := range part {
		if c == nil || c.pending != nil || c.held != nil {
			continue
		}
		switch {
		case c.partial != nil && now-c.inFirst >= read:
			l.timedOut(c)
			l.close(c, ReadTimeout)
		case c.partial == nil && !c.answered && now-c.since >= read:
			// A new connection has ReadTimeout for its first request.
			l.close(c, IdleTimeout)
		case c.partial == nil && c.answered && now-c.since >= idle:
			l.close(c, IdleTimeout)
		}
	}
}
