package behave

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"testing"
	"time"
)

// TestThrottleSchedule: 10 MB at 1 MiB/s is planned to finish at
// 10,000,000 / 1,048,576 s ≈ 9.537 s, in 10 ms chunks, never ahead of the
// rate.
func TestThrottleSchedule(t *testing.T) {
	t.Parallel()
	const total, rate = 10_000_000, 1 << 20
	s := NewThrottlePacer(rate).Schedule(total)
	want := time.Duration(math.Round(float64(total) / rate * float64(time.Second)))
	if d := s.Duration(); (d - want).Abs() > time.Millisecond {
		t.Errorf("last chunk at %v, want %v", d, want)
	}
	t.Logf("10 MB at 1 MiB/s: %d chunks, last at %v", s.Len(), s.Duration())
	if s.Len() != (total+10485-1)/10485 {
		t.Errorf("%d chunks, want %d of 10485 bytes", s.Len(), (total+10485-1)/10485)
	}
	var sum int64
	prev := time.Duration(-1)
	for c, ok := s.Next(); ok; c, ok = s.Next() {
		if c.Off != sum {
			t.Fatalf("chunk at offset %d, want %d", c.Off, sum)
		}
		sum += c.Len
		if c.At < prev {
			t.Fatalf("chunk at %v after one at %v", c.At, prev)
		}
		prev = c.At
		// Never ahead of the rate: by time At, at most rate×At bytes.
		if float64(sum) > float64(rate)*c.At.Seconds()+1 {
			t.Fatalf("%d bytes by %v is above %d B/s", sum, c.At, rate)
		}
	}
	if sum != total {
		t.Errorf("chunks cover %d bytes, want %d", sum, total)
	}
}

func TestSchedules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		p     *Pacer
		total int64
		want  []Chunk
	}{
		{"nil pacer", nil, 1000, []Chunk{{0, 1000, 0}}},
		{"empty body", NewThrottlePacer(1024), 0, nil},
		{"dribble", NewDribblePacer(400, 100*ms), 1000, []Chunk{{0, 400, 0}, {400, 400, 100 * ms}, {800, 200, 200 * ms}}},
		{"spread", NewSpreadPacer(time.Second, 250), 1000, []Chunk{{0, 250, 250 * ms}, {250, 250, 500 * ms}, {500, 250, 750 * ms}, {750, 250, time.Second}}},
		{"spread, automatic chunks", NewSpreadPacer(30*ms, 0), 9, []Chunk{{0, 3, 10 * ms}, {3, 3, 20 * ms}, {6, 3, 30 * ms}}},
		{"throttle, 100 B/s in 1-byte chunks", NewThrottlePacer(100), 3, []Chunk{{0, 1, 10 * ms}, {1, 1, 20 * ms}, {2, 1, 30 * ms}}},
		{"throttle, small body", NewThrottlePacer(1 << 20), 100, []Chunk{{0, 100, 95367}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tt.p.Schedule(tt.total)
			var got []Chunk
			for c, ok := s.Next(); ok; c, ok = s.Next() {
				got = append(got, c)
			}
			if len(got) != len(tt.want) || int64(len(got)) != s.Len() {
				t.Fatalf("chunks %v (Len %d), want %v", got, s.Len(), tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("chunk %d = %+v, want %+v", i, got[i], tt.want[i])
				}
				if at := s.At(int64(i)); at != got[i] {
					t.Errorf("At(%d) = %+v, Next gave %+v", i, at, got[i])
				}
			}
		})
	}
}

func TestScheduleSaturates(t *testing.T) {
	t.Parallel()
	s := NewThrottlePacer(1).Schedule(1 << 50)
	if d := s.Duration(); d != math.MaxInt64 {
		t.Errorf("1 PiB at 1 B/s ends at %v, want the longest Duration", d)
	}
	s = NewDribblePacer(1, time.Hour).Schedule(1 << 50)
	if d := s.Duration(); d != math.MaxInt64 {
		t.Errorf("1 PiB a byte an hour ends at %v, want the longest Duration", d)
	}
}

// writeLog records when (on a fake clock) each write happened.
type writeLog struct {
	clk    *fakeClock
	start  time.Time
	writes []timedWrite
	fail   int // fail the n-th write (1-based); 0 never
}

type timedWrite struct {
	at time.Duration
	n  int
}

func (w *writeLog) Write(p []byte) (int, error) {
	if w.fail > 0 && len(w.writes)+1 == w.fail {
		return 0, errors.New("broken pipe")
	}
	w.writes = append(w.writes, timedWrite{w.clk.Now().Sub(w.start), len(p)})
	return len(p), nil
}

func TestSend(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	body := bytes.Repeat([]byte("x"), 10_000_000)
	log := &writeLog{clk: clk, start: clk.Now()}
	n, err := NewThrottlePacer(1<<20).Send(context.Background(), log, body, clk)
	if err != nil || n != int64(len(body)) {
		t.Fatalf("Send = %d, %v", n, err)
	}
	last := log.writes[len(log.writes)-1].at
	if want := 9536743164 * time.Nanosecond; (last - want).Abs() > time.Millisecond {
		t.Errorf("last write at %v (fake clock), want %v", last, want)
	}
	sent := 0
	for _, w := range log.writes {
		sent += w.n
		if float64(sent) > float64(1<<20)*w.at.Seconds()+1 {
			t.Fatalf("%d bytes by %v", sent, w.at)
		}
	}
}

func TestSendFlushes(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	var out bytes.Buffer
	bw := bufio.NewWriterSize(&out, 4096)
	flushed := 0
	fw := &flushCounter{Writer: bw, n: &flushed}
	body := bytes.Repeat([]byte("ab"), 500)
	if _, err := NewDribblePacer(100, 50*ms).Send(context.Background(), fw, body, clk); err != nil {
		t.Fatal(err)
	}
	if flushed != 10 || out.String() != string(body) {
		t.Errorf("%d flushes (want 10); wrote %d of %d bytes", flushed, out.Len(), len(body))
	}
	if got := clk.Now().Sub(time.Unix(1_700_000_000, 0)); got != 450*ms {
		t.Errorf("10 chunks every 50ms took %v on the fake clock, want 450ms", got)
	}
}

type flushCounter struct {
	*bufio.Writer
	n *int
}

func (f *flushCounter) Flush() error { *f.n++; return f.Writer.Flush() }

func TestSendStops(t *testing.T) {
	t.Parallel()
	body := make([]byte, 1000)
	t.Run("write error", func(t *testing.T) {
		t.Parallel()
		clk := newFakeClock()
		log := &writeLog{clk: clk, start: clk.Now(), fail: 3}
		n, err := NewDribblePacer(100, ms).Send(context.Background(), log, body, clk)
		if err == nil || n != 200 {
			t.Errorf("Send = %d, %v; want 200 bytes and the write error", n, err)
		}
	})
	t.Run("context done", func(t *testing.T) {
		t.Parallel()
		clk := newFakeClock()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		n, err := NewDribblePacer(100, ms).Send(ctx, io.Discard, body, clk)
		if !errors.Is(err, context.Canceled) || n != 100 {
			t.Errorf("Send = %d, %v; want the first chunk, then context.Canceled", n, err)
		}
	})
}

// TestThrottledWriter: 10 MB through a 1 MiB/s writer takes 9.54 s on the
// fake clock, and no write gets ahead of the rate.
func TestThrottledWriter(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	log := &writeLog{clk: clk, start: clk.Now()}
	w := NewThrottledWriter(log, 1<<20, clk)
	chunk := make([]byte, 64<<10)
	total := 0
	for total < 10_000_000 {
		n := min(len(chunk), 10_000_000-total)
		m, err := w.Write(chunk[:n])
		if err != nil || m != n {
			t.Fatalf("Write = %d, %v", m, err)
		}
		total += n
	}
	elapsed := clk.Now().Sub(log.start)
	if want := 9536743164 * time.Nanosecond; (elapsed - want).Abs() > 10*ms {
		t.Errorf("10 MB at 1 MiB/s took %v on the fake clock, want %v", elapsed, want)
	}
	sent := 0
	for _, wr := range log.writes {
		sent += wr.n
		if wr.n > 10485 {
			t.Fatalf("a write of %d bytes, above the 10 ms quantum", wr.n)
		}
		if float64(sent) > float64(1<<20)*wr.at.Seconds()+1 {
			t.Fatalf("%d bytes by %v", sent, wr.at)
		}
	}
}

// TestThrottledWriterIdle: a pause is not repaid with a burst.
func TestThrottledWriterIdle(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	w := NewThrottledWriter(io.Discard, 1<<20, clk)
	mib := make([]byte, 1<<20)
	if _, err := w.Write(mib); err != nil {
		t.Fatal(err)
	}
	clk.advance(10 * time.Second) // idle
	before := clk.Now()
	if _, err := w.Write(mib); err != nil {
		t.Fatal(err)
	}
	if took := clk.Now().Sub(before); (took - time.Second).Abs() > 10*ms {
		t.Errorf("1 MiB after an idle pause took %v, want 1s (no burst)", took)
	}
}

func TestThrottledPassThrough(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	var out bytes.Buffer
	if n, err := NewThrottledWriter(&out, 0, clk).Write([]byte("hello")); n != 5 || err != nil || clk.sleeps != 0 {
		t.Errorf("unlimited writer: %d, %v, %d sleeps", n, err, clk.sleeps)
	}
	got, err := io.ReadAll(NewThrottledReader(bytes.NewReader([]byte("hello")), -1, clk))
	if string(got) != "hello" || err != nil || clk.sleeps != 0 {
		t.Errorf("unlimited reader: %q, %v, %d sleeps", got, err, clk.sleeps)
	}
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestThrottledWriterError(t *testing.T) {
	t.Parallel()
	n, err := NewThrottledWriter(errWriter{}, 100, newFakeClock()).Write([]byte("abc"))
	if n != 0 || !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("Write = %d, %v", n, err)
	}
}

// TestThrottledReader: an upload read at 256 KiB/s takes size/rate.
func TestThrottledReader(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	start := clk.Now()
	r := NewThrottledReader(bytes.NewReader(make([]byte, 1<<20)), 256<<10, clk)
	n, err := io.Copy(io.Discard, r)
	if err != nil || n != 1<<20 {
		t.Fatalf("Copy = %d, %v", n, err)
	}
	if took := clk.Now().Sub(start); (took - 4*time.Second).Abs() > 20*ms {
		t.Errorf("1 MiB at 256 KiB/s took %v on the fake clock, want 4s", took)
	}
}
