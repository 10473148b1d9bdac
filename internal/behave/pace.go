package behave

import (
	"bufio"
	"context"
	"io"
	"math"
	"math/bits"
	"time"
)

type paceKind uint8

const (
	paceAll paceKind = iota // one chunk, at once
	paceThrottle
	paceDribble
	paceSpread
	paceChunks
)

// Pacer says how a body is delivered over time: at a byte rate (throttle),
// in chunks at an interval (dribble), or spread so that the last byte
// leaves after a given delay. It is immutable and safe for concurrent use;
// a nil *Pacer sends the whole body at once.
type Pacer struct {
	kind   paceKind
	rate   int64         // throttle: bytes per second
	chunk  int64         // bytes per chunk (spread: 0 means automatic)
	every  time.Duration // dribble: interval
	spread time.Duration // spread: when the last chunk goes
	sizes  []int64       // chunks: the sizes of one pass through the list
	starts []int64       // chunks: where each chunk of a pass starts
	cycle  int64         // chunks: the bytes of one pass
	count  int64         // chunks: how many chunks in all
}

// NewThrottlePacer paces a body at r bytes per second, in chunks of 10 ms
// worth of bytes (1 byte to 64 KiB). A chunk may go once the rate has paid
// for all bytes up to its end, so at any time t after the start at most
// r×t bytes have been written and the whole body takes size/r.
func NewThrottlePacer(r Rate) *Pacer {
	if r <= 0 {
		return nil
	}
	return &Pacer{kind: paceThrottle, rate: int64(r), chunk: quantumFor(r)}
}

// NewDribblePacer sends chunk bytes every interval: the first chunk at
// once, chunk i after i×every.
func NewDribblePacer(chunk int64, every time.Duration) *Pacer {
	return &Pacer{kind: paceDribble, chunk: max(chunk, 1), every: max(every, 0)}
}

// NewSpreadPacer spreads a body over d: chunk i goes when d×(its end)/size
// has passed, so the last byte leaves at d. With chunk <= 0 the body is cut
// into one chunk per 10 ms of d (at least one).
func NewSpreadPacer(d time.Duration, chunk int64) *Pacer {
	return &Pacer{kind: paceSpread, spread: max(d, 0), chunk: max(chunk, 0)}
}

// NewChunkPacer sends count chunks, one every interval (the first at
// once), taking their sizes in turn from sizes (cycling): a stream of
// events. Sizes must be positive; a body longer than the chunks is cut at
// their end, a shorter one ends early.
func NewChunkPacer(sizes []int64, count int64, every time.Duration) *Pacer {
	if len(sizes) == 0 || count <= 0 {
		return nil
	}
	p := &Pacer{kind: paceChunks, every: max(every, 0), count: count,
		sizes: append([]int64(nil), sizes...), starts: make([]int64, len(sizes))}
	for i, n := range sizes {
		p.starts[i] = p.cycle
		p.cycle += max(n, 1)
		p.sizes[i] = max(n, 1)
	}
	return p
}

// Chunk is one write of a paced body: Len bytes from offset Off, to be
// written At after the first write.
type Chunk struct {
	Off, Len int64
	At       time.Duration
}

// Schedule is the delivery plan of one body. It is a small value computed
// on demand, chunk by chunk: nothing is allocated per chunk. Use Next to
// walk it, or Len and At for random access.
type Schedule struct {
	p     Pacer
	total int64
	chunk int64
	n     int64 // number of chunks
	i     int64 // next chunk for Next
}

// Schedule plans the delivery of a body of total bytes.
func (p *Pacer) Schedule(total int64) Schedule {
	total = max(total, 0)
	s := Schedule{total: total}
	if p != nil {
		s.p = *p
	}
	switch {
	case total == 0:
		return s
	case s.p.kind == paceAll:
		s.chunk = total
	case s.p.kind == paceChunks:
		// Chunks that start before total, at most count.
		k := int64(len(s.p.sizes))
		q, rem := total/s.p.cycle, total%s.p.cycle
		n := q * k
		for _, st := range s.p.starts {
			if st < rem {
				n++
			}
		}
		s.n = min(n, s.p.count)
		return s
	case s.p.kind == paceSpread && s.p.chunk == 0:
		parts := max(int64(s.p.spread/(10*time.Millisecond)), 1)
		s.chunk = max((total+parts-1)/parts, 1)
	default:
		s.chunk = s.p.chunk
	}
	s.n = (total + s.chunk - 1) / s.chunk
	return s
}

// Len is the number of chunks.
func (s *Schedule) Len() int64 { return s.n }

// Total is the body size.
func (s *Schedule) Total() int64 { return s.total }

// At returns chunk i (0 <= i < Len).
func (s *Schedule) At(i int64) Chunk {
	if s.p.kind == paceChunks {
		k := int64(len(s.p.sizes))
		j := i % k
		off := (i/k)*s.p.cycle + s.p.starts[j]
		return Chunk{Off: off, Len: min(s.p.sizes[j], s.total-off), At: dribbleAt(i, s.p.every)}
	}
	off := i * s.chunk
	n := min(s.chunk, s.total-off)
	end := off + n
	var at time.Duration
	switch s.p.kind {
	case paceThrottle:
		at = byteTime(end, s.p.rate)
	case paceDribble:
		at = dribbleAt(i, s.p.every)
	case paceSpread:
		at = mulDiv(uint64(end), uint64(s.p.spread), uint64(s.total))
	}
	return Chunk{Off: off, Len: n, At: at}
}

// Next returns the next chunk, and false after the last.
func (s *Schedule) Next() (Chunk, bool) {
	if s.i >= s.n {
		return Chunk{}, false
	}
	c := s.At(s.i)
	s.i++
	return c, true
}

// Duration is when the last chunk goes (0 for an empty body).
func (s *Schedule) Duration() time.Duration {
	if s.n == 0 {
		return 0
	}
	return s.At(s.n - 1).At
}

// dribbleAt is i×every, saturating.
func dribbleAt(i int64, every time.Duration) time.Duration {
	if every > 0 && i > math.MaxInt64/int64(every) {
		return math.MaxInt64
	}
	return time.Duration(i) * every
}

// Streams reports whether the pacer sends a stream of chunks (no
// Content-Length: the end of the body is the end of the stream).
func (p *Pacer) Streams() bool { return p != nil && p.kind == paceChunks }

// mulDiv returns a×b/c rounded down as a Duration, saturating.
func mulDiv(a, b, c uint64) time.Duration {
	if c == 0 {
		return 0
	}
	hi, lo := bits.Mul64(a, b)
	if hi >= c {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, c)
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(q)
}

// Flusher is a writer that buffers, such as *bufio.Writer; Send flushes it
// after each chunk so that the pacing reaches the wire.
type Flusher interface {
	Flush() error
}

var _ Flusher = (*bufio.Writer)(nil)

// Send writes body to w on p's schedule, waiting on clk between chunks and
// flushing w after each chunk when it is a Flusher. Chunk times count from
// the call; a writer that falls behind (a slow reader) writes without
// waiting until it catches up, so the average rate over the body holds.
// It stops early when ctx ends or a write fails, returning the bytes
// written. It allocates nothing per chunk.
func (p *Pacer) Send(ctx context.Context, w io.Writer, body []byte, clk Clock) (int64, error) {
	if clk == nil {
		clk = SystemClock{}
	}
	s := p.Schedule(int64(len(body)))
	f, flush := w.(Flusher)
	start := clk.Now()
	var sent int64
	for {
		c, ok := s.Next()
		if !ok {
			return sent, nil
		}
		if wait := c.At - clk.Now().Sub(start); wait > 0 {
			if err := clk.Sleep(ctx, wait); err != nil {
				return sent, err
			}
		}
		n, err := w.Write(body[c.Off : c.Off+c.Len])
		sent += int64(n)
		if err != nil {
			return sent, err
		}
		if flush {
			if err := f.Flush(); err != nil {
				return sent, err
			}
		}
	}
}
