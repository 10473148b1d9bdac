package httpfront

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/engine"
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
// stops when ctx ends or a write fails.
func sendBody(ctx context.Context, w io.Writer, flush func() error, resp *engine.Response, p *behave.Pacer, limit int64) error {
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
	for {
		c, ok := sched.Next()
		if !ok {
			return nil
		}
		if wait := c.At - time.Since(start); wait > 0 {
			if err := behave.Sleep(ctx, wait); err != nil {
				return err
			}
		}
		if gen == nil {
			if _, err := w.Write(resp.Body[c.Off : c.Off+c.Len]); err != nil {
				return err
			}
		} else {
			for left := c.Len; left > 0; {
				k := int(min(left, int64(len(buf))))
				_, _ = io.ReadFull(gen, buf[:k])
				if _, err := w.Write(buf[:k]); err != nil {
					return err
				}
				left -= int64(k)
			}
		}
		if flush != nil && p != nil {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}
