// Package listen owns the runtime control of decoy's data-port listeners:
// a Listener can stop accepting, its socket closed so that clients get
// "connection refused" (the fail-fast signal of a backend that is down),
// and start again on the same address; and it can hold every new
// connection for a while before its first read (accepted, then silent),
// for tests of client connect and reconnect logic. The admin API drives
// them by name.
package listen

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Listener is a net.Listener that can be paused and resumed, and that can
// delay the first read of the connections it accepts. It is safe for
// concurrent use.
type Listener struct {
	name  string
	addr  net.Addr
	delay atomic.Int64 // first-read delay, ns
	// opts: how the socket is opened again on resume (SO_REUSEPORT,
	// congestion control).
	opts Options
	// allow, when set, refuses clients from other networks as they are
	// accepted (SetAllow).
	allow atomic.Pointer[Allow]

	mu      sync.Mutex
	ln      net.Listener       // nil while paused
	watch   func(net.Listener) // told of each socket opened by Resume
	resumed chan struct{}      // closed when the pause ends
	closed  bool
	done    chan struct{} // closed by Close
}

// New wraps ln, serving under name ("http", "https", "grpc").
func New(name string, ln net.Listener) *Listener {
	return &Listener{name: name, addr: ln.Addr(), ln: ln, done: make(chan struct{})}
}

// Name is the listener's name.
func (l *Listener) Name() string { return l.name }

// Addr is the address the listener is bound to, paused or not.
func (l *Listener) Addr() net.Addr { return l.addr }

// Accept waits for a connection; while paused it waits for the resume.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return nil, net.ErrClosed
		}
		ln, wait := l.ln, l.resumed
		l.mu.Unlock()
		if ln == nil {
			select {
			case <-wait:
				continue
			case <-l.done:
				return nil, net.ErrClosed
			}
		}
		c, err := ln.Accept()
		if err != nil {
			l.mu.Lock()
			paused := l.ln != ln && !l.closed
			l.mu.Unlock()
			if paused {
				continue // Pause closed the socket under us
			}
			return nil, err
		}
		if a := l.allow.Load(); a != nil && !a.admit(c) {
			continue
		}
		if d := time.Duration(l.delay.Load()); d > 0 {
			c = &slowStart{Conn: c, d: d, done: l.done}
		}
		return c, nil
	}
}

// SetAllow makes the listener refuse, as it accepts them, connections
// from clients outside a (nil: allow every client). A server that
// accepts on the socket itself (see Watch) asks Admit.
func (l *Listener) SetAllow(a *Allow) { l.allow.Store(a) }

// Admit tells whether a client at addr, accepted on the socket Watch
// gave, may stay; the caller closes the connection when it may not.
// Refusals are counted. Nil when every client is allowed, so that a
// server need not call it at all.
func (l *Listener) Admit() func(addr netip.Addr) bool {
	a := l.allow.Load()
	if a == nil {
		return nil
	}
	return a.Allows
}

// Refused is how many connections the allow-list refused.
func (l *Listener) Refused() uint64 { return l.allow.Load().Refused() }

// Close closes the listener for good.
func (l *Listener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	close(l.done)
	if l.ln != nil {
		return l.ln.Close()
	}
	return nil
}

// ErrClosed is returned when pausing or resuming a closed listener.
var ErrClosed = errors.New("the listener is closed")

// Pause closes the listening socket: new connections are refused until
// Resume. Connections already accepted are not touched. Pausing a paused
// listener does nothing.
func (l *Listener) Pause() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return ErrClosed
	case l.ln == nil:
		return nil
	}
	// A server accepting on a duplicate of the socket (see Watch) must
	// stop too: shutting the socket down stops it listening for every
	// descriptor that shares it.
	if tl, ok := l.ln.(*net.TCPListener); ok {
		if rc, err := tl.SyscallConn(); err == nil {
			_ = rc.Control(func(fd uintptr) { _ = syscall.Shutdown(int(fd), syscall.SHUT_RDWR) })
		}
	}
	err := l.ln.Close()
	l.ln = nil
	l.resumed = make(chan struct{})
	return err
}

// Watch is for a server that accepts on the listening socket itself
// rather than through Accept: it calls f with the socket now (unless
// paused) and after each Resume. Pause shuts the socket down, which ends
// accepting on it (a duplicate included). Close does not: the server stops
// on its own shutdown.
func (l *Listener) Watch(f func(ln net.Listener)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.watch = f
	if l.ln != nil && !l.closed {
		f(l.ln)
	}
}

// Hold makes c, a connection accepted on the socket Watch gave, wait for
// the first-read delay before its first read, as Accept's connections do
// (c as it is when there is no delay).
func (l *Listener) Hold(c net.Conn) net.Conn {
	d := time.Duration(l.delay.Load())
	if d <= 0 {
		return c
	}
	return &slowStart{Conn: c, d: d, done: l.done}
}

// Resume listens again on the same address. Resuming a listener that is
// not paused does nothing.
func (l *Listener) Resume() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return ErrClosed
	case l.ln != nil:
		return nil
	}
	ln, err := OpenWith(l.addr.String(), l.opts)
	if err != nil {
		return fmt.Errorf("cannot listen on %s again: %w", l.addr, err)
	}
	l.ln = ln
	close(l.resumed)
	if l.watch != nil {
		l.watch(ln)
	}
	return nil
}

// Socket is the listening socket now: nil while the listener is paused
// or closed. Resume opens a new socket, so ask again rather than keep it.
func (l *Listener) Socket() net.Listener {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	return l.ln
}

// Paused reports whether the listener is paused.
func (l *Listener) Paused() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ln == nil && !l.closed
}

// SetFirstReadDelay makes connections accepted from now on wait d before
// their first read (0: not at all).
func (l *Listener) SetFirstReadDelay(d time.Duration) { l.delay.Store(int64(max(d, 0))) }

// FirstReadDelay is the delay set by SetFirstReadDelay.
func (l *Listener) FirstReadDelay() time.Duration { return time.Duration(l.delay.Load()) }

// slowStart is a connection whose first read waits d. Reads come from one
// goroutine at a time, as on any connection a server reads requests from.
type slowStart struct {
	net.Conn
	d      time.Duration
	done   <-chan struct{}
	waited bool
}

func (c *slowStart) Read(b []byte) (int, error) {
	if !c.waited {
		c.waited = true
		t := time.NewTimer(c.d)
		select {
		case <-t.C:
		case <-c.done:
			t.Stop()
		}
	}
	return c.Conn.Read(b)
}

// NetConn returns the accepted connection, for code that needs the TCP
// connection itself.
func (c *slowStart) NetConn() net.Conn { return c.Conn }

// Set is the listeners the admin API controls, by name.
type Set struct {
	byName map[string]*Listener
}

// NewSet holds ls; nil entries are skipped.
func NewSet(ls ...*Listener) *Set {
	s := &Set{byName: map[string]*Listener{}}
	for _, l := range ls {
		if l != nil {
			s.byName[l.name] = l
		}
	}
	return s
}

// Get returns the listener named name.
func (s *Set) Get(name string) (*Listener, bool) {
	if s == nil {
		return nil, false
	}
	l, ok := s.byName[name]
	return l, ok
}

// All returns the listeners sorted by name.
func (s *Set) All() []*Listener {
	if s == nil {
		return nil
	}
	out := make([]*Listener, 0, len(s.byName))
	for _, l := range s.byName {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Names lists the listeners' names, sorted.
func (s *Set) Names() []string {
	var out []string
	for _, l := range s.All() {
		out = append(out, l.name)
	}
	return out
}
