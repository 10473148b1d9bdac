package httpfront

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/valyala/fasthttp"
)

// nopConn is a connection whose reads and writes do nothing.
type nopConn struct{ net.Conn }

func (nopConn) Read(p []byte) (int, error)  { return len(p), nil }
func (nopConn) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkConnPerRequest measures what decoy's connection tracking adds
// to one HTTP/1.1 request's socket work (a read, a write, and the two
// state changes fasthttp reports), without the system calls: with the
// journal off, and on (wire timestamps, and the sent times given to the
// journal once the response is out).
func BenchmarkConnPerRequest(b *testing.B) {
	buf := make([]byte, 512)
	for _, c := range []struct {
		name    string
		journal int
	}{{"journal-off", 0}, {"journal-on", 10000}} {
		b.Run(c.name, func(b *testing.B) {
			s := New(Options{Journal: journal.New(c.journal, 1024)})
			var slow atomic.Uint64
			tc := &conn{Conn: nopConn{}, slow: &slow, slowWrite: time.Second}
			tc.stamp = s.o.Journal.Cap() > 0
			rec := &journal.Record{Method: []byte("GET"), URI: []byte("/users/42")}
			b.ReportAllocs()
			for b.Loop() {
				_, _ = tc.Read(buf)
				s.fastState(tc, fasthttp.StateActive)
				if tc.stamp {
					rec.FirstIn, rec.LastIn = tc.takeReceived()
					tc.sentSeq = s.o.Journal.Add(rec)
				}
				_, _ = tc.Write(buf)
				s.fastState(tc, fasthttp.StateIdle)
			}
		})
	}
}

// TestConnPerRequestAllocs holds the connection's per-request work with
// the journal on (wire timestamps, sent times) to zero allocations. Not
// parallel: AllocsPerRun counts every allocation in the process.
func TestConnPerRequestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s := New(Options{Journal: journal.New(64, 1024)})
	var slow atomic.Uint64
	tc := &conn{Conn: nopConn{}, slow: &slow, slowWrite: time.Second, stamp: true}
	rec := &journal.Record{Method: []byte("GET"), URI: []byte("/users/42")}
	buf := make([]byte, 512)
	one := func() {
		_, _ = tc.Read(buf)
		s.fastState(tc, fasthttp.StateActive)
		rec.FirstIn, rec.LastIn = tc.takeReceived()
		tc.sentSeq = s.o.Journal.Add(rec)
		_, _ = tc.Write(buf)
		s.fastState(tc, fasthttp.StateIdle)
	}
	for range 128 {
		one()
	}
	if n := testing.AllocsPerRun(1000, one); n != 0 {
		t.Errorf("%v allocations per request, want 0", n)
	}
	e := s.o.Journal.Find(journal.Filter{Limit: 1})[0]
	if e.RequestFirstByteUS == 0 || e.ResponseLastByteUS == 0 || e.ResponseFirstByteUS > e.ResponseLastByteUS {
		t.Errorf("timestamps of the last request: %+v", e)
	}
}

// TestTakeReceived: a request's first byte is the first read that
// returned bytes since the last request was taken, its last byte the last
// read; a request already read with the one before (pipelined) has the
// time of the read that brought it; writes before the request was taken
// are not its response's.
func TestTakeReceived(t *testing.T) {
	var slow atomic.Uint64
	c := &conn{Conn: nopConn{}, slow: &slow, slowWrite: time.Second, stamp: true}
	buf := make([]byte, 8)
	// Each step sleeps a millisecond so that the monotonic clock moves.
	step := func() { time.Sleep(time.Millisecond) }

	_, _ = c.Read(buf)
	first := epoch.Add(c.inFirst)
	step()
	_, _ = c.Read(buf)
	last := epoch.Add(c.inLast)
	if !first.Before(last) {
		t.Fatalf("two reads a millisecond apart at %v and %v", first, last)
	}
	_, _ = c.Write(buf) // an earlier response's write
	f, l := c.takeReceived()
	if !f.Equal(first) || !l.Equal(last) {
		t.Errorf("takeReceived = %v, %v; want %v, %v", f, l, first, last)
	}
	if c.outFirst != 0 || c.outLast != 0 {
		t.Error("writes before the request was taken count as its response's")
	}
	// Pipelined: no read since; the request came with the last read.
	if f, l := c.takeReceived(); !f.Equal(last) || !l.Equal(last) {
		t.Errorf("pipelined: %v, %v; want %v twice", f, l, last)
	}
	// Nothing read at all.
	if f, l := (&conn{stamp: true}).takeReceived(); !f.IsZero() || !l.IsZero() {
		t.Errorf("nothing read: %v, %v", f, l)
	}
	// The response's writes, then the journal gets them once.
	j := journal.New(4, 0)
	c.sentSeq = j.Add(&journal.Record{})
	step()
	_, _ = c.Write(buf)
	step()
	_, _ = c.Write(buf)
	if c.outFirst >= c.outLast {
		t.Fatalf("writes a millisecond apart: %v, %v", c.outFirst, c.outLast)
	}
	c.flushSent(j)
	e := j.Find(journal.Filter{})[0]
	if e.ResponseFirstByteUS != epoch.Add(c.outFirst).UnixMicro() || e.ResponseLastByteUS != epoch.Add(c.outLast).UnixMicro() {
		t.Errorf("sent times %d, %d", e.ResponseFirstByteUS, e.ResponseLastByteUS)
	}
	if c.sentSeq != 0 {
		t.Error("flushSent kept the record pending")
	}
}
