package h1loop

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// echo answers with the request's path, or declines paths under /off; a
// path /big/N answers N bytes.
type echo struct{}

func (echo) Serve(c *Conn, r *Request, out []byte) ([]byte, bool) {
	p := string(r.Path)
	if strings.HasPrefix(p, "/off") {
		return out, false
	}
	body := []byte(p)
	if n, ok := strings.CutPrefix(p, "/big/"); ok {
		k, _ := strconv.Atoi(n)
		body = bytes.Repeat([]byte{'x'}, k)
	}
	out = fmt.Appendf(out, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n", len(body))
	if r.Close {
		out = append(out, "Connection: close\r\n"...)
	}
	out = append(out, "\r\n"...)
	return append(out, body...), true
}

type harness struct {
	srv    *Server
	ln     net.Listener
	addr   string
	mu     sync.Mutex
	closed []Reason
	opened int
	stalls int
	handed chan handed
}

type handed struct {
	nc                nn
	pending, buffered string
}

type nn = net.Conn

func serve(t *testing.T, o Options) *harness {
	t.Helper()
	h := &harness{handed: make(chan handed, 4)}
	if o.Handler == nil {
		o.Handler = echo{}
	}
	o.HandOff = func(c *Conn, nc net.Conn, pending, buffered []byte) {
		h.handed <- handed{nc, string(pending), string(buffered)}
	}
	opened := o.Opened
	o.Opened = func(c *Conn) bool {
		h.mu.Lock()
		h.opened++
		h.mu.Unlock()
		return opened == nil || opened(c)
	}
	o.Closed = func(_ *Conn, why Reason) { h.mu.Lock(); h.closed = append(h.closed, why); h.mu.Unlock() }
	o.Stalled = func(*Conn, int64, int64) { h.mu.Lock(); h.stalls++; h.mu.Unlock() }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	t.Cleanup(func() { _ = ln.Close() })
	h.ln = ln
	h.srv, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.srv.Listen(ln.(*net.TCPListener)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.srv.Shutdown)
	return h
}

func (h *harness) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	// A guard against a hang, not a timing check: generous, since 7 MiB
	// of pipelined answers under the race detector on a loaded machine
	// has taken more than 10 s.
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// reasons waits until n connections have closed and returns why.
func (h *harness) reasons(t *testing.T, n int) []Reason {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		h.mu.Lock()
		if len(h.closed) >= n {
			r := append([]Reason(nil), h.closed...)
			h.mu.Unlock()
			return r
		}
		h.mu.Unlock()
	}
	t.Fatalf("fewer than %d connections closed", n)
	return nil
}

func readBodies(t *testing.T, br *bufio.Reader, n int) []string {
	t.Helper()
	bodies, _ := readTimed(t, br, n)
	return bodies
}

func TestPipelinedAndInPieces(t *testing.T) {
	t.Parallel()
	h := serve(t, Options{})
	c := h.dial(t)
	br := bufio.NewReader(c)
	// Three requests in one write, then one byte at a time.
	fmt.Fprint(c, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\nGET /4 HT")
	for _, b := range []byte("TP/1.1\r\nHost: x\r\n\r\n") {
		if _, err := c.Write([]byte{b}); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(readBodies(t, br, 4), ","); got != "/1,/2,/3,/4" {
		t.Errorf("bodies %s", got)
	}
	// A request with a body split across writes.
	fmt.Fprint(c, "POST /5 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
	fmt.Fprint(c, "cd")
	if got := readBodies(t, br, 1)[0]; got != "/5" {
		t.Errorf("body %s", got)
	}
}

func TestHandOffKeepsOrder(t *testing.T) {
	t.Parallel()
	h := serve(t, Options{})
	c := h.dial(t)
	fmt.Fprint(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /off HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
	var got handed
	select {
	case got = <-h.handed:
	case <-time.After(10 * time.Second):
		t.Fatal("not handed off")
	}
	defer got.nc.Close()
	if !strings.HasSuffix(got.pending, "\r\n\r\n/a") {
		t.Errorf("pending %q, want the answer to /a", got.pending)
	}
	if got.buffered != "GET /off HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n" {
		t.Errorf("buffered %q", got.buffered)
	}
	// The connection is the client's: what the new owner writes arrives.
	if _, err := io.WriteString(got.nc, got.pending); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(got.nc, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\noff"); err != nil {
		t.Fatal(err)
	}
	if b := strings.Join(readBodies(t, bufio.NewReader(c), 2), ","); b != "/a,off" {
		t.Errorf("bodies %s", b)
	}
	// A malformed request is handed off too, with nothing answered.
	c2 := h.dial(t)
	fmt.Fprint(c2, "GET / HTTP/1.1\r\nBad Header\r\n\r\n")
	select {
	case got = <-h.handed:
		got.nc.Close()
		if got.pending != "" || !strings.HasPrefix(got.buffered, "GET / HTTP/1.1\r\nBad") {
			t.Errorf("pending %q, buffered %q", got.pending, got.buffered)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("malformed request not handed off")
	}
}

func TestCloseReasons(t *testing.T) {
	t.Parallel()
	h := serve(t, Options{IdleTimeout: 50 * time.Millisecond, ReadTimeout: 50 * time.Millisecond})
	// Asked to close: the answer, then EOF.
	c := h.dial(t)
	fmt.Fprint(c, "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /y HTTP/1.1\r\nHost: x\r\n\r\n")
	all, err := io.ReadAll(c)
	if err != nil || !strings.HasSuffix(string(all), "\r\n\r\n/x") {
		t.Errorf("read %q, %v", all, err)
	}
	if r := h.reasons(t, 1); r[0] != AskedClose {
		t.Errorf("reason %v, want AskedClose", r[0])
	}
	// Idle after an answer.
	c = h.dial(t)
	fmt.Fprint(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
	readBodies(t, bufio.NewReader(c), 1)
	if r := h.reasons(t, 2); r[1] != IdleTimeout {
		t.Errorf("reason %v, want IdleTimeout", r[1])
	}
	// A request that never ends.
	c = h.dial(t)
	fmt.Fprint(c, "GET /x HTTP/1.1\r\nHo")
	if r := h.reasons(t, 3); r[2] != ReadTimeout {
		t.Errorf("reason %v, want ReadTimeout", r[2])
	}
	// The client closes; half-closes after a request, which is answered.
	c = h.dial(t)
	c.Close()
	if r := h.reasons(t, 4); r[3] != ClosedByClient {
		t.Errorf("reason %v, want ClosedByClient", r[3])
	}
	c = h.dial(t)
	fmt.Fprint(c, "GET /half HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = c.(*net.TCPConn).CloseWrite()
	all, _ = io.ReadAll(c)
	if !strings.HasSuffix(string(all), "/half") {
		t.Errorf("after a half-close: %q", all)
	}
	if r := h.reasons(t, 5); r[4] != ClosedByClient {
		t.Errorf("reason %v, want ClosedByClient", r[4])
	}
}

// TestSlowReader: an answer larger than the socket takes waits for the
// client, which gets every byte; the connection meanwhile reads nothing
// more, and answers again once the client has caught up.
func TestSlowReader(t *testing.T) {
	t.Parallel()
	h := serve(t, Options{})
	c := h.dial(t)
	const size = 8 << 20
	fmt.Fprintf(c, "GET /big/%d HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n", size)
	br := bufio.NewReader(c)
	bodies := readBodies(t, br, 2)
	if len(bodies[0]) != size || strings.Trim(bodies[0], "x") != "" || bodies[1] != "/after" {
		t.Errorf("got %d bytes and %q", len(bodies[0]), bodies[1])
	}
	h.mu.Lock()
	stalls := h.stalls
	h.mu.Unlock()
	if stalls == 0 {
		t.Error("no stalled write reported for an answer the socket could not take")
	}
}

func TestShutdownClosesConnections(t *testing.T) {
	t.Parallel()
	h := serve(t, Options{})
	c := h.dial(t)
	fmt.Fprint(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
	readBodies(t, bufio.NewReader(c), 1)
	h.srv.Shutdown()
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after Shutdown")
	}
	if r := h.reasons(t, 1); r[0] != Shutdown {
		t.Errorf("reason %v, want Shutdown", r[0])
	}
	// Once more is harmless, and a socket given afterwards is refused.
	h.srv.Shutdown()
	if err := h.srv.Listen(h.ln.(*net.TCPListener)); err == nil {
		t.Error("Listen after Shutdown succeeded")
	}
}

// TestListenerShutDown: a listening socket that is shut down (how a paused
// listener stops) stops the loops accepting on it; a new one given to
// Listen is served.
func TestListenerShutDown(t *testing.T) {
	t.Parallel()
	h := serve(t, Options{})
	rc, err := h.ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	_ = rc.Control(func(fd uintptr) { _ = syscall.Shutdown(int(fd), syscall.SHUT_RDWR) })
	if c, err := net.DialTimeout("tcp", h.addr, time.Second); err == nil {
		c.Close()
		t.Error("connected to a listener that was shut down")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := h.srv.Listen(ln.(*net.TCPListener)); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(c, "GET /again HTTP/1.1\r\nHost: x\r\n\r\n")
	if b := readBodies(t, bufio.NewReader(c), 1)[0]; b != "/again" {
		t.Errorf("body %q", b)
	}
}

func TestManyConnections(t *testing.T) {
	t.Parallel()
	h := serve(t, Options{Loops: 2})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			c, err := net.Dial("tcp", h.addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			for j := range 5 {
				fmt.Fprintf(c, "GET /%d/%d HTTP/1.1\r\nHost: x\r\n\r\n", i, j)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				if want := fmt.Sprintf("/%d/%d", i, j); string(b) != want {
					errs <- fmt.Errorf("got %q, want %q", b, want)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.opened != 100 {
		t.Errorf("opened %d, want 100", h.opened)
	}
}

// TestTooLargeHandsOffItsStart: a request whose line and headers pass
// MaxHeaderBytes goes to HandOff with only the bytes the full server
// decides on (its read buffer is MaxHeaderBytes), after the answers before
// it.
func TestTooLargeHandsOffItsStart(t *testing.T) {
	h := serve(t, Options{MaxHeaderBytes: 1 << 10})
	c := h.dial(t)
	big := "GET /big HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 20<<10) + "\r\n\r\n"
	if _, err := io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"+big); err != nil {
		t.Fatal(err)
	}
	got := <-h.handed
	defer got.nc.Close()
	if !strings.HasSuffix(got.pending, "\r\n\r\n/a") {
		t.Errorf("pending %q, want /a's answer", got.pending)
	}
	if n := len(got.buffered); n != 1<<10 || !strings.HasPrefix(big, got.buffered) {
		t.Errorf("handed off %d bytes (%.40q...), want the request's first 1024", n, got.buffered)
	}
}

// TestBufferedCopies: unanswered bytes over 1 KiB go in a pooled buffer,
// which Release takes back; others are plain copies Release ignores.
func TestBufferedCopies(t *testing.T) {
	for _, n := range []int{1, 1 << 10, 1<<10 + 1, readQuantum, readQuantum + 1} {
		src := bytes.Repeat([]byte{'x'}, n)
		b := cloneBuffered(src)
		if !bytes.Equal(b, src) {
			t.Fatalf("%d bytes: the copy differs", n)
		}
		pooled := n > 1<<10 && n <= readQuantum
		if got := cap(b) == readQuantum; got != pooled {
			t.Errorf("%d bytes: pooled %v, want %v", n, got, pooled)
		}
		src[0] = 'y'
		if b[0] != 'x' {
			t.Fatalf("%d bytes: the copy shares the loop's buffer", n)
		}
		Release(b)
	}
}

// TestRefuse: with Options.Refuse, a connection's malformed first request
// is answered on the loop and the connection closed (Refused); bytes that
// are no HTTP/1.x request are closed without an answer, as soon as their
// first line is in; a malformed later request is refused after the
// answers before it, and bytes that are no request after an answer too.
func TestRefuse(t *testing.T) {
	t.Parallel()
	refuse := func(_ *Conn, v Verdict, out []byte) []byte {
		body := fmt.Sprintf("%d %s %q", v.Status, v.Why, v.Quote)
		return fmt.Appendf(out, "HTTP/1.1 %d X\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", v.Status, len(body), body)
	}
	h := serve(t, Options{Refuse: refuse, MaxHeaderBytes: 1 << 10})
	for i, tt := range []struct{ in, want string }{
		{"GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n", `400 a header line has no colon "no colon"`},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", `400 a chunk size is not a hexadecimal number of 1 to 15 digits "zz\r\n"`},
		{"GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 2<<10) + "\r\n\r\n", `431  ""`},
		{"hello world\r\n\r\n", ""},
		{"hello world\r\n", ""}, // no more needed to know
	} {
		c := h.dial(t)
		if _, err := io.WriteString(c, tt.in); err != nil {
			t.Fatal(err)
		}
		all, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("%q: %v", tt.in, err)
		}
		if _, body, _ := strings.Cut(string(all), "\r\n\r\n"); body != tt.want {
			t.Errorf("%q: answered %q, want the body %q", tt.in, all, tt.want)
		}
		if r := h.reasons(t, i+1); r[i] != Refused {
			t.Errorf("%q: closed for %v, want Refused", tt.in, r[i])
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n", `400 a header line has no colon "no colon"`},
		{"hello world\r\n", `400 the request line is no HTTP/1.x request line (method, target and HTTP/1.1 or HTTP/1.0) "hello world"`},
	} {
		c := h.dial(t)
		fmt.Fprint(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"+tt.in)
		all, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("%q: %v", tt.in, err)
		}
		if first, second, _ := strings.Cut(string(all), "HTTP/1.1 400 X"); !strings.HasSuffix(first, "/a") || !strings.HasSuffix(second, tt.want) {
			t.Errorf("later %q: answered %q, want /a's answer, then the body %q", tt.in, all, tt.want)
		}
	}
}

// widest is echo noting the most answers a loop had made on one
// connection in one go when it asked for another.
type widest struct {
	echo
	most atomic.Int64
}

func (w *widest) Serve(c *Conn, r *Request, out []byte) ([]byte, bool) {
	if n := int64(len(out)); n > w.most.Load() {
		w.most.Store(n) // one loop: no race with another Serve
	}
	return w.echo.Serve(c, r, out)
}

func TestPipelineAnsweredInQuanta(t *testing.T) {
	t.Parallel()
	const size, n = 24 << 10, 300 // 7 MiB of answers to 12 KiB of requests
	for _, halfClose := range []bool{false, true} {
		t.Run(fmt.Sprintf("half-close=%v", halfClose), func(t *testing.T) {
			t.Parallel()
			w := &widest{}
			h := serve(t, Options{Handler: w})
			c := h.dial(t)
			var reqs strings.Builder
			for i := range n {
				fmt.Fprintf(&reqs, "GET /big/%d HTTP/1.1\r\nHost: x\r\n\r\n", size+i)
			}
			reqs.WriteString("GET /end HTTP/1.1\r\nHost: x\r\n\r\n")
			if _, err := io.WriteString(c, reqs.String()); err != nil {
				t.Fatal(err)
			}
			if halfClose {
				// The answers still come, all of them, before the close.
				if err := c.(*net.TCPConn).CloseWrite(); err != nil {
					t.Fatal(err)
				}
			}
			bodies := readBodies(t, bufio.NewReader(c), n+1)
			for i, b := range bodies[:n] {
				if len(b) != size+i {
					t.Fatalf("answer %d: %d bytes, want %d", i, len(b), size+i)
				}
			}
			if bodies[n] != "/end" {
				t.Errorf("last answer %q", bodies[n])
			}
			// Answers to a read's requests are made a quantum at a time:
			// never more than that before the next one.
			if most := w.most.Load(); most >= outQuantum {
				t.Errorf("%d bytes of answers made before another, want under %d", most, outQuantum)
			}
		})
	}
}

// TestPipelineLongerThanARead: requests pipelined past one read's quantum,
// whose answers pass the output quantum, are all answered: the requests
// left in the socket by a full read are read once the answers before them
// are out, though no new edge tells of them.
func TestPipelineLongerThanARead(t *testing.T) {
	t.Parallel()
	const size, n = 2 << 10, 4000 // 140 KiB of requests, 8 MiB of answers
	h := serve(t, Options{Handler: &echo{}})
	c := h.dial(t)
	_ = c.SetReadDeadline(time.Now().Add(60 * time.Second)) // a stall fails, not hangs
	var reqs strings.Builder
	for i := range n {
		fmt.Fprintf(&reqs, "GET /big/%d HTTP/1.1\r\nHost: x\r\n\r\n", size+i%7)
	}
	go func() { _, _ = io.WriteString(c, reqs.String()) }()
	bodies := readBodies(t, bufio.NewReader(c), n)
	for i, b := range bodies {
		if len(b) != size+i%7 {
			t.Fatalf("answer %d: %d bytes, want %d", i, len(b), size+i%7)
		}
	}
}

// TestNotSentLowat: a connection given more than NotSentFirst gets
// TCP_NOTSENT_LOWAT of that, and a client that does not read then holds
// no more than about that in decoy's socket; one that reads a large
// answer has it raised to NotSentMost; one given less keeps the default.
func TestNotSentLowat(t *testing.T) {
	t.Parallel()
	fds := make(chan int, 2)
	h := serve(t, Options{Opened: func(c *Conn) bool { fds <- c.fd; return true }})
	lowat := func(fd int) int {
		v, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	small := h.dial(t)
	fd := <-fds
	fmt.Fprint(small, "GET /big/1000 HTTP/1.1\r\nHost: x\r\n\r\n")
	readBodies(t, bufio.NewReader(small), 1)
	if v := lowat(fd); v == NotSentFirst || v == NotSentMost {
		t.Errorf("TCP_NOTSENT_LOWAT %d after a small answer, want the default", v)
	}

	reader := h.dial(t)
	fd = <-fds
	fmt.Fprintf(reader, "GET /big/%d HTTP/1.1\r\nHost: x\r\n\r\n", 16<<20)
	readBodies(t, bufio.NewReader(reader), 1)
	if v := lowat(fd); v != NotSentMost {
		t.Errorf("TCP_NOTSENT_LOWAT %d after a 16 MiB answer read at once, want %d", v, NotSentMost)
	}

	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4096) })
	}}
	stuck, err := d.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	fd = <-fds
	fmt.Fprintf(stuck, "GET /big/%d HTTP/1.1\r\nHost: x\r\n\r\n", 16<<20)
	// Wait until the loop has an answer it could not write (the client
	// reads nothing), then see what the socket holds.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		writing := false
		h.srv.Conns(func(c *Conn) { writing = writing || c.WritingSince() != 0 })
		if writing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the answer to a client that does not read never waited")
		}
	}
	if v := lowat(fd); v != NotSentFirst {
		t.Errorf("TCP_NOTSENT_LOWAT %d after a 16 MiB answer not read, want %d", v, NotSentFirst)
	}
	unsent, err := unix.IoctlGetInt(fd, unix.SIOCOUTQNSD)
	if err != nil {
		t.Fatal(err)
	}
	if most := NotSentFirst + 256<<10; unsent > most {
		t.Errorf("the socket holds %d bytes unsent to a client that does not read, want at most %d", unsent, most)
	}
}

func TestWrittenPassesOnce(t *testing.T) {
	var w Written
	for i, tc := range []struct {
		ask, took int
		wantAsk   int
		wantTook  int
	}{
		{NotSentFirst / 2, NotSentFirst / 2, 0, 0},
		{NotSentFirst / 2, ReaderAfter / 2, 0, 0},            // exactly NotSentFirst asked: not past it
		{1, ReaderAfter/2 - NotSentFirst/2, NotSentFirst, 0}, // exactly ReaderAfter taken
		{NotSentFirst, 1, 0, NotSentMost},
		{ReaderAfter, ReaderAfter, 0, 0}, // once only
	} {
		if got := w.Ask(tc.ask); got != tc.wantAsk {
			t.Errorf("write %d: Ask(%d) = %d, want %d", i, tc.ask, got, tc.wantAsk)
		}
		if got := w.Took(tc.took); got != tc.wantTook {
			t.Errorf("write %d: Took(%d) = %d, want %d", i, tc.took, got, tc.wantTook)
		}
	}
}
