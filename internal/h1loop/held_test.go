package h1loop

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/loopback"
	"golang.org/x/sys/unix"
)

// late answers /late/N after N milliseconds (held on the loop), and
// anything else as echo does. It tells held of each answer it holds.
type late struct{ held chan<- string }

func (h late) Serve(c *Conn, r *Request, out []byte) ([]byte, bool) {
	if n, ok := strings.CutPrefix(string(r.Path), "/late/"); ok {
		ms, _ := strconv.Atoi(n)
		r.Due = r.DoneAt + int64(time.Duration(ms)*time.Millisecond)
		if h.held != nil {
			h.held <- string(r.Path)
		}
	}
	return echo{}.Serve(c, r, out)
}

func TestTimersPopInOrder(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 2, 3, 7, 64, 1000} {
		rng := rand.New(rand.NewPCG(uint64(n), 1))
		var h timers
		var want []int64
		for range n {
			d := rng.Int64N(50)
			h.push(timer{due: d})
			want = append(want, d)
		}
		slices.Sort(want)
		var got []int64
		for len(h) > 0 {
			got = append(got, h.pop().due)
		}
		if !slices.Equal(got, want) {
			t.Errorf("n=%d: popped %v, want %v", n, got, want)
		}
	}
}

// readTimed reads n responses and says when each arrived.
func readTimed(t *testing.T, br *bufio.Reader, n int) (bodies []string, at []time.Time) {
	t.Helper()
	for range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, string(b))
		at = append(at, time.Now())
	}
	return bodies, at
}

// TestHeldInOrder: pipelined requests, some held, are answered in order,
// and no held answer comes before its time.
func TestHeldInOrder(t *testing.T) {
	t.Parallel()
	h := serve(t, Options{Handler: late{}})
	c := h.dial(t)
	paths := []string{"/late/40", "/a", "/late/10", "/b", "/late/0", "/c"}
	var req strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", p)
	}
	sent := time.Now()
	if _, err := io.WriteString(c, req.String()); err != nil {
		t.Fatal(err)
	}
	bodies, at := readTimed(t, bufio.NewReader(c), len(paths))
	if !slices.Equal(bodies, paths) {
		t.Fatalf("bodies %q, want %q", bodies, paths)
	}
	// Each held answer counts from when its request was read, which is
	// after the answers before it: never earlier than its delay after
	// the write.
	if d := at[0].Sub(sent); d < 40*time.Millisecond {
		t.Errorf("/late/40 answered after %v", d)
	}
	if d := at[2].Sub(sent); d < 50*time.Millisecond {
		t.Errorf("/late/10 after /late/40 answered after %v", d)
	}
}

// TestHeldLetsEarlierAnswersGo: the answers before a held one are written
// at once, the held one is not; Shutdown closes the connection without it.
func TestHeldLetsEarlierAnswersGo(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var holding []bool
	h := serve(t, Options{Handler: late{}, Sent: func(c *Conn, _, _ int64) {
		mu.Lock()
		holding = append(holding, c.Holding())
		mu.Unlock()
	}})
	c := h.dial(t)
	fmt.Fprint(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /late/600000 HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	if got := readBodies(t, br, 1); got[0] != "/a" {
		t.Fatalf("first answer %q", got[0])
	}
	mu.Lock()
	if !slices.Equal(holding, []bool{true}) {
		t.Errorf("Holding when /a was written: %v, want [true]", holding)
	}
	mu.Unlock()
	h.srv.Shutdown()
	if b, err := br.ReadByte(); err == nil {
		t.Errorf("read %q after Shutdown, want the connection closed", b)
	}
	if r := h.reasons(t, 1); r[0] != Shutdown {
		t.Errorf("reason %v, want Shutdown", r[0])
	}
}

// TestHeldThenClose: a held answer to a request that asks to close is
// written, then the connection closes.
func TestHeldThenClose(t *testing.T) {
	t.Parallel()
	h := serve(t, Options{Handler: late{}})
	c := h.dial(t)
	fmt.Fprint(c, "GET /late/20 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	if got := readBodies(t, br, 1); got[0] != "/late/20" {
		t.Fatalf("answer %q", got[0])
	}
	if b, err := br.ReadByte(); err == nil {
		t.Errorf("read %q after the answer to Connection: close", b)
	}
	if r := h.reasons(t, 1); r[0] != AskedClose {
		t.Errorf("reason %v, want AskedClose", r[0])
	}
}

// TestHeldSuspendsTimeouts: a connection holding an answer longer than
// its timeouts is not closed for them; once answered, it idles out.
func TestHeldSuspendsTimeouts(t *testing.T) {
	t.Parallel()
	h := serve(t, Options{Handler: late{}, IdleTimeout: 20 * time.Millisecond, ReadTimeout: 20 * time.Millisecond})
	c := h.dial(t)
	fmt.Fprint(c, "GET /late/300 HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	if got := readBodies(t, br, 1); got[0] != "/late/300" {
		t.Fatalf("answer %q", got[0])
	}
	if r := h.reasons(t, 1); r[0] != IdleTimeout {
		t.Errorf("reason %v, want IdleTimeout", r[0])
	}
}

// TestHeldMany: many connections holding answers of different delays, on
// few loops, are all answered, none early.
func TestHeldMany(t *testing.T) {
	t.Parallel()
	h := serve(t, Options{Handler: late{}, Loops: 2})
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		c := h.dial(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ms := i % 7 * 5
			p := fmt.Sprintf("/late/%d", ms)
			br := bufio.NewReader(c)
			for range 3 {
				sent := time.Now()
				if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", p); err != nil {
					errs <- err
					return
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				if d := time.Since(sent); string(b) != p || d < time.Duration(ms)*time.Millisecond {
					errs <- fmt.Errorf("%s: body %q after %v", p, b, d)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestHeldClientGone: a client that closes while its answer is held
// leaves nothing behind: the connection closes when the answer is due.
func TestHeldClientGone(t *testing.T) {
	t.Parallel()
	h := serve(t, Options{Handler: late{}})
	c := h.dial(t)
	fmt.Fprint(c, "GET /late/30 HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = c.Close()
	r := h.reasons(t, 1)
	if r[0] != ClosedByClient && r[0] != ResetByClient {
		t.Errorf("reason %v, want the client's", r[0])
	}
}

// TestDrain: a drain closes idle connections at once, sends the answers
// held that are due by its time and then closes their connections, and
// closes those due later unanswered.
func TestDrain(t *testing.T) {
	t.Parallel()
	held := make(chan string, 2)
	h := serve(t, Options{Handler: late{held}})
	idle, soon, later := h.dial(t), h.dial(t), h.dial(t)
	fmt.Fprint(idle, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
	bi := bufio.NewReader(idle)
	readBodies(t, bi, 1)
	fmt.Fprint(soon, "GET /late/200 HTTP/1.1\r\nHost: x\r\n\r\n")
	fmt.Fprint(later, "GET /late/600000 HTTP/1.1\r\nHost: x\r\n\r\n")
	<-held // both held before the drain begins
	<-held
	deadline := time.Now().Add(time.Minute)
	done := make(chan struct{})
	go func() { h.srv.Drain(deadline); close(done) }()
	if b, err := bi.ReadByte(); err == nil {
		t.Errorf("idle connection read %q during the drain", b)
	}
	if b, err := bufio.NewReader(later).ReadByte(); err == nil {
		t.Errorf("connection held past the drain's time read %q", b)
	}
	bs := bufio.NewReader(soon)
	if got := readBodies(t, bs, 1); got[0] != "/late/200" {
		t.Errorf("held answer %q", got[0])
	}
	if b, err := bs.ReadByte(); err == nil {
		t.Errorf("read %q after the held answer during the drain", b)
	}
	<-done
	for _, r := range h.reasons(t, 3) {
		if r != Shutdown {
			t.Errorf("reason %v, want Shutdown", r)
		}
	}
}

// stamping asks for arrival timestamps on every request and keeps what
// each request said of its arrival.
type stamping struct {
	mu      sync.Mutex
	arrived []int64
	done    []int64
}

func (h *stamping) Serve(c *Conn, r *Request, out []byte) ([]byte, bool) {
	h.mu.Lock()
	h.arrived = append(h.arrived, r.ArrivedAt)
	h.done = append(h.done, r.DoneAt)
	h.mu.Unlock()
	c.StampArrivals()
	return echo{}.Serve(c, r, out)
}

// TestStampArrivals: from the read after StampArrivals on, requests say
// when they arrived, and never later than the loop found them read.
func TestStampArrivals(t *testing.T) {
	t.Parallel()
	timestampsOn(t)
	h := &stamping{}
	srv := serve(t, Options{Handler: h})
	c := srv.dial(t)
	br := bufio.NewReader(c)
	for range 3 {
		fmt.Fprint(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
		readBodies(t, br, 1)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.arrived[0] != 0 {
		t.Errorf("first request arrived at %d, want 0 (not stamped yet)", h.arrived[0])
	}
	for i := 1; i < 3; i++ {
		if h.arrived[i] <= 0 || h.arrived[i] > Now() {
			t.Errorf("request %d arrived at %d, want a time before now (%d)", i, h.arrived[i], Now())
		}
		if h.arrived[i] < h.done[i-1] {
			t.Errorf("request %d arrived at %d, before the previous one was read (%d)", i, h.arrived[i], h.done[i-1])
		}
	}
}

// timestampsOn makes sure the kernel timestamps what TCP receives: it
// turns that on for the whole machine when the first socket asks, a
// little later (a deferred work item, late on a busy machine). A loopback
// TCP connection asks and sends to itself until its bytes come stamped;
// it stays open for the test. (A UDP socket would not do: the kernel
// stamps a datagram when it is read if it came unstamped.)
func timestampsOn(t *testing.T) {
	t.Helper()
	client, c := loopback.Pair(t)
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	b, oob := make([]byte, 8), make([]byte, stampOOB)
	for range 10000 {
		if _, err := client.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		var oobn int
		var rerr error
		if err := rc.Read(func(fd uintptr) bool {
			_, oobn, _, _, rerr = unix.Recvmsg(int(fd), b, oob, 0)
			return rerr != unix.EAGAIN
		}); err != nil || rerr != nil {
			t.Fatal(err, rerr)
		}
		if _, _, ok := TimestampNS(oob[:oobn]); ok {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Skip("the kernel timestamps nothing TCP receives")
}
