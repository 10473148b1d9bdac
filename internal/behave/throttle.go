package behave

import (
	"context"
	"io"
	"time"
)

// idleSlack is how far a throttled stream may fall behind its rate and
// still catch up by writing without waiting. A longer pause (an idle
// keep-alive connection, a stalled reader) is forgiven, not repaid with a
// burst above the rate.
const idleSlack = 10 * time.Millisecond

// limiter meters bytes at a rate on a clock. It is not safe for
// concurrent use; each stream has its own.
type limiter struct {
	rate    int64
	quantum int64
	clk     Clock
	epoch   time.Time // when the current run started
	paid    int64     // bytes let through since epoch
	started bool
}

func newLimiter(rate int64, clk Clock) limiter {
	if clk == nil {
		clk = SystemClock{}
	}
	return limiter{rate: rate, quantum: quantumFor(Rate(rate)), clk: clk}
}

// take accounts n bytes and waits until the rate has paid for them.
func (l *limiter) take(n int64) error {
	now := l.clk.Now()
	if !l.started || now.Sub(l.epoch) > byteTime(l.paid, l.rate)+idleSlack {
		l.epoch, l.paid, l.started = now, 0, true
	}
	l.paid += n
	if wait := byteTime(l.paid, l.rate) - now.Sub(l.epoch); wait > 0 {
		return l.clk.Sleep(context.Background(), wait)
	}
	return nil
}

// ThrottledWriter writes to an underlying writer at no more than a given
// number of bytes per second, in chunks of 10 ms worth of bytes (1 byte
// to 64 KiB), sleeping on its clock before each chunk until the rate has
// paid for it. It suits a long-lived stream such as a per-connection
// bandwidth cap; a single body is better sent with a Pacer. A
// ThrottledWriter is not safe for concurrent use.
type ThrottledWriter struct {
	w io.Writer
	l limiter
}

var _ io.Writer = (*ThrottledWriter)(nil)

// NewThrottledWriter wraps w. bytesPerSec <= 0 means no limit; a nil clock
// means SystemClock. A sleep is never longer than one chunk's worth of time
// (10 ms at rates of 100 B/s and above), so a broken connection is noticed
// at the next write.
func NewThrottledWriter(w io.Writer, bytesPerSec int64, clock Clock) *ThrottledWriter {
	return &ThrottledWriter{w: w, l: newLimiter(bytesPerSec, clock)}
}

// Write writes p, chunk by chunk, at the rate.
func (t *ThrottledWriter) Write(p []byte) (int, error) {
	if t.l.rate <= 0 {
		return t.w.Write(p)
	}
	written := 0
	for len(p) > 0 {
		n := int(min(int64(len(p)), t.l.quantum))
		if err := t.l.take(int64(n)); err != nil {
			return written, err
		}
		m, err := t.w.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

// ThrottledReader reads from an underlying reader at no more than a given
// number of bytes per second: each Read returns at most one chunk and then
// waits until the rate has paid for it. It suits uploads read at a
// throttled rate. It is not safe for concurrent use.
type ThrottledReader struct {
	r io.Reader
	l limiter
}

var _ io.Reader = (*ThrottledReader)(nil)

// NewThrottledReader wraps r; bytesPerSec <= 0 means no limit and a nil
// clock means SystemClock.
func NewThrottledReader(r io.Reader, bytesPerSec int64, clock Clock) *ThrottledReader {
	return &ThrottledReader{r: r, l: newLimiter(bytesPerSec, clock)}
}

// Read reads at most one chunk and waits for the rate to pay for it.
func (t *ThrottledReader) Read(p []byte) (int, error) {
	if t.l.rate <= 0 {
		return t.r.Read(p)
	}
	if int64(len(p)) > t.l.quantum {
		p = p[:t.l.quantum]
	}
	n, err := t.r.Read(p)
	if n > 0 {
		if werr := t.l.take(int64(n)); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}
