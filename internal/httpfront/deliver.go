package httpfront

import (
	"bufio"
	"context"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/journal"
)

// Header names of the requested delay, and of the response header that
// reports a clamped one.
const (
	delayHeader   = "X-Decoy-Delay"
	clampedHeader = "Decoy-Delay-Clamped"
)

// requested is a delay a client asked for in its request headers.
type requested struct {
	set     bool
	d       time.Duration
	clamped string // the value of Decoy-Delay-Clamped, "" when not clamped
	err     error
}

// parseRequested reads X-Decoy-Delay (first) or the delay preference of
// Prefer.
func (s *Server) parseRequested(xdelay, prefer string) requested {
	v := xdelay
	if v == "" {
		if prefer == "" || s.o.NoPrefer {
			return requested{}
		}
		var ok bool
		if v, ok = behave.PreferDelay(prefer); !ok {
			return requested{}
		}
	}
	d, clamped, err := behave.ParseRequestedDelay(v, s.o.MaxRequestedDelay)
	if err != nil {
		return requested{err: err}
	}
	r := requested{set: true, d: d}
	if clamped {
		r.clamped = "requested=" + strings.TrimSpace(v) + "; applied=" + d.String()
	}
	return r
}

// action is what one call of a stub with behaviour does.
type action struct {
	delay time.Duration // the chosen latency (or requested delay)
	fault *behave.FaultAction
	pacer *behave.Pacer // how the body goes: throttle, dribble, spread; nil at once
	ttfb  time.Duration // waited before the first byte
}

// decide draws the call's latency and fault.
func decide(st *engine.Stub, resp *engine.Response, call uint64, rq requested) action {
	var a action
	b := resp.Behave
	if rq.set {
		a.delay = rq.d
	} else if b != nil {
		a.delay = b.Latency.SampleKey(st.Key(), call, int(min(resp.BodyLen(), 1<<40)))
	}
	a.ttfb = a.delay
	if b == nil {
		return a
	}
	a.fault, _ = b.Faults.DecideKey(st.Key(), call)
	a.pacer = b.Pacer
	if b.Spread && !rq.set && a.fault == nil {
		a.pacer = behave.NewSpreadPacer(a.delay, 0)
		a.ttfb = 0
	}
	return a
}

// faultKind is the kind of the action's fault, 0 without one.
func (a *action) faultKind() behave.FaultKind {
	if a.fault == nil {
		return 0
	}
	return a.fault.Kind
}

// faultName is the journal's name of a fault kind: "" for none.
func faultName(k behave.FaultKind) string {
	if k == 0 {
		return ""
	}
	return k.String()
}

// streamed reports whether the body must be written by sendBody rather
// than handed over whole.
func (a *action) streamed(resp *engine.Response) bool {
	return a.pacer != nil || (resp.Behave != nil && resp.Behave.Generated != nil)
}

// copyChunk is the most sendBody writes at once from a generated body.
const copyChunk = 64 << 10

// sendBody writes the first limit bytes of resp's body (all of it when
// limit < 0) to w on p's schedule, calling flush after each chunk. It
// stops when ctx ends or a write fails, and returns the bytes w took.
func sendBody(ctx context.Context, w io.Writer, flush func() error, resp *engine.Response, p *behave.Pacer, limit int64) (int64, error) {
	n := resp.BodyLen()
	if limit >= 0 {
		n = min(n, limit)
	}
	var gen *engine.GenReader
	var buf []byte
	if resp.Behave != nil && resp.Behave.Generated != nil {
		gen = resp.Behave.Generated.Reader()
		buf = make([]byte, copyChunk)
	}
	sched := p.Schedule(n)
	start := time.Now()
	var sent int64
	for {
		c, ok := sched.Next()
		if !ok {
			return sent, nil
		}
		if wait := c.At - time.Since(start); wait > 0 {
			if err := behave.Sleep(ctx, wait); err != nil {
				return sent, err
			}
		}
		if gen == nil {
			k, err := w.Write(resp.Body[c.Off : c.Off+c.Len])
			sent += int64(k)
			if err != nil {
				return sent, err
			}
		} else {
			for left := c.Len; left > 0; {
				k := int(min(left, int64(len(buf))))
				_, _ = io.ReadFull(gen, buf[:k])
				k, err := w.Write(buf[:k])
				sent += int64(k)
				if err != nil {
					return sent, err
				}
				left -= int64(k)
			}
		}
		if flush != nil && p != nil {
			if err := flush(); err != nil {
				return sent, err
			}
		}
	}
}

// countAhead is the largest body counted as sent when its response is
// handed to the connection, before it is written: a response that size
// almost always leaves in one write, and a client that has it finds it
// counted. A larger body, and one paced or generated as it goes, counts as
// it is written, so a download the client abandons counts what it was
// sent. The HTTP/1.1 loops send bodies up to this size only.
const countAhead = loopBodyOut

// lateCount counts what became of a request after the front door
// recorded it: the body bytes sent of a body counted as it is written, and
// on decoy's HTTP/2, for a response that goes after a wait, whether it was
// answered at all. The journal record, added with the status and body
// length planned, is corrected when they turn out otherwise (a body cut
// short, status 0 for a stream closed unanswered). Its methods may be
// called from the goroutine sending the response before the front door
// gives the record (recorded): the corrections wait for it.
type lateCount struct {
	stats   *engine.Stats
	j       *journal.Journal
	planned int64 // the body's length, as the journal record has it
	body    bool  // the body counts as it goes (done), not with the request

	mu      sync.Mutex
	seq     uint64 // the journal record, 0 until recorded (or without one)
	fix     bool   // the record needs status and bytes
	status  int
	bytes   int64
	request *lateRequest // the request's count, when it waits for the answer
}

// lateRequest is a request's count held until its answer is known.
type lateRequest struct {
	index, status, in int
	out               int // body bytes counted with the request, when answered
	overhead          time.Duration
	ready             bool // the front door has filled it in
	answered          int  // 0: not yet, 1: answered, -1: closed unanswered
}

// newLateCount returns a count for a body of planned bytes, which counts
// as it goes (done) when body is set.
func newLateCount(stats *engine.Stats, j *journal.Journal, planned int64, body bool) *lateCount {
	return &lateCount{stats: stats, j: j, planned: planned, body: body}
}

// counted is what of out, the body bytes of a response, counts with its
// request: none when the body counts as it goes.
func (t *lateCount) counted(out int) int {
	if t.body {
		return 0
	}
	return out
}

// holdRequest has the request counted only once answered (or closed
// unanswered): the front door calls it before the response may go, and
// countRequest once it knows the figures.
func (t *lateCount) holdRequest() {
	t.mu.Lock()
	t.request = &lateRequest{}
	t.mu.Unlock()
}

// held tells whether holdRequest holds the request's count.
func (t *lateCount) held() bool {
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.request != nil
}

// countRequest gives the request's count (as Stats.RecordStatus takes
// it; out counts only if it is answered) for a count holdRequest made.
func (t *lateCount) countRequest(index, status, in, out int, overhead time.Duration) {
	t.mu.Lock()
	r := t.request
	r.index, r.status, r.in, r.out, r.overhead, r.ready = index, status, in, out, overhead, true
	t.settleLocked()
	t.mu.Unlock()
}

// answered tells that the response went (ok) or that the stream closed
// before it did: status 0 and no body.
func (t *lateCount) answered(ok bool) {
	if t == nil {
		return
	}
	t.mu.Lock()
	if t.request != nil && t.request.answered == 0 {
		t.request.answered = 1
		if !ok {
			t.request.answered = -1
			t.fix, t.status, t.bytes = true, 0, 0
			t.applyLocked()
		}
		t.settleLocked()
	}
	t.mu.Unlock()
}

// settleLocked counts a held request once both its figures and its
// answer are known.
func (t *lateCount) settleLocked() {
	r := t.request
	if r == nil || !r.ready || r.answered == 0 {
		return
	}
	status, out := r.status, r.out
	if r.answered < 0 {
		status, out = 0, 0
	}
	t.stats.RecordStatus(r.index, status, r.in, out, r.overhead)
	r.answered = 2 // counted
}

// done counts the n bytes of the body sent, once it has ended.
func (t *lateCount) done(n int64) {
	if t == nil {
		return
	}
	t.stats.AddSent(int(n))
	if n >= t.planned {
		return
	}
	t.mu.Lock()
	if !t.fix {
		t.fix, t.status = true, -1
	}
	t.bytes = n
	t.applyLocked()
	t.mu.Unlock()
}

// recorded gives the journal record, once added.
func (t *lateCount) recorded(seq uint64) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.seq = seq
	t.applyLocked()
	t.mu.Unlock()
}

// applyLocked corrects the journal record, once it is known and needs it.
func (t *lateCount) applyLocked() {
	if t.seq == 0 || !t.fix {
		return
	}
	if t.status < 0 {
		t.j.SentBytes(t.seq, t.bytes)
	} else {
		t.j.Answered(t.seq, t.status, t.bytes)
	}
}

// bufferedSent is what of sent, the bytes written to w, reached the writer
// under it: what a failed flush left in w's buffer did not.
func bufferedSent(w *bufio.Writer, sent int64) int64 {
	return max(sent-int64(w.Buffered()), 0)
}
