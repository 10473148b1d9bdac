package memtrim

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
)

const mib = 1 << 20

func TestShouldTrim(t *testing.T) {
	t.Parallel()
	const every = time.Minute // at rest: under 300 ms of CPU in it
	base := Usage{CPU: 2 * time.Second, Resident: 15 * mib}
	tests := []struct {
		name    string
		now     Usage
		trimmed int64
		want    bool
	}{
		{"idle, nothing came back", Usage{base.CPU + 10*time.Millisecond, 16 * mib}, 15 * mib, false},
		{"idle, pages came back", Usage{base.CPU + 10*time.Millisecond, 30 * mib}, 15 * mib, true},
		{"idle, growth just at the threshold", Usage{base.CPU + 10*time.Millisecond, 15*mib + MinGrowth}, 15 * mib, true},
		{"idle, growth just under the threshold", Usage{base.CPU + 10*time.Millisecond, 15*mib + MinGrowth - 1}, 15 * mib, false},
		{"no CPU at all", Usage{base.CPU, 30 * mib}, 15 * mib, true},
		{"busy: a load test", Usage{base.CPU + 20*time.Second, 30 * mib}, 15 * mib, false},
		{"CPU just at the threshold is not rest", Usage{base.CPU + every/RestShare, 30 * mib}, 15 * mib, false},
		{"CPU just under the threshold", Usage{base.CPU + every/RestShare - 1, 30 * mib}, 15 * mib, true},
		{"smaller than after the last trim", Usage{base.CPU, 10 * mib}, 15 * mib, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ShouldTrim(every, base, tt.now, tt.trimmed); got != tt.want {
				t.Errorf("ShouldTrim(%v, %+v, %+v, %d) = %v, want %v", every, base, tt.now, tt.trimmed, got, tt.want)
			}
		})
	}
}

// fakeProcess is a CPU and memory source that the test steps by hand:
// readings come from a script, and trim drops the resident memory.
type fakeProcess struct {
	script  []Usage // one per read; the last repeats
	reads   int
	trims   int
	dropTo  int64 // resident after a trim
	trimmed bool
}

func (p *fakeProcess) read() (Usage, error) {
	u := p.script[min(p.reads, len(p.script)-1)]
	p.reads++
	if p.trimmed {
		u.Resident = p.dropTo
		p.trimmed = false
	}
	return u, nil
}

func (p *fakeProcess) trim() { p.trims++; p.trimmed = true }

func TestIdleLoop(t *testing.T) {
	t.Parallel()
	const every = 10 * time.Second // at rest: under 50 ms of CPU in it
	ms := time.Millisecond
	tests := []struct {
		name   string
		script []Usage // the read at start, then one per tick (and one after each trim)
		ticks  int
		want   int
		dropTo int64 // resident after a trim; 0: 14 MiB
	}{
		{"idle from the start: no trim", []Usage{{0, 15 * mib}, {ms, 16 * mib}, {2 * ms, 16 * mib}, {3 * ms, 17 * mib}}, 3, 0, 0},
		{"requests, then rest: one trim, then no more",
			[]Usage{{0, 15 * mib}, {5 * ms, 30 * mib}, {6 * ms, 30 * mib}, {7 * ms, 17 * mib}, {8 * ms, 18 * mib}, {9 * ms, 18 * mib}}, 4, 1, 0},
		{"a load test: no trim while it runs, one once it stops",
			[]Usage{{0, 15 * mib}, {time.Second, 40 * mib}, {2 * time.Second, 40 * mib}, {2*time.Second + ms, 40 * mib}, {2*time.Second + 2*ms, 40 * mib}, {2*time.Second + 3*ms, 17 * mib}}, 4, 1, 0},
		{"pages come back twice: two trims",
			[]Usage{{0, 15 * mib}, {ms, 30 * mib}, {2 * ms, 0}, {3 * ms, 17 * mib}, {4 * ms, 30 * mib}, {5 * ms, 0}, {6 * ms, 17 * mib}}, 4, 2, 0},
		{"growth counts from the size after the trim",
			[]Usage{{0, 15 * mib}, {ms, 30 * mib}, {2 * ms, 0}, {3 * ms, 14 * mib}, {4 * ms, 0}}, 2, 2, 3 * mib},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &fakeProcess{script: tt.script, dropTo: tt.dropTo}
			if p.dropTo == 0 {
				p.dropTo = 14 * mib
			}
			tick := make(chan time.Time)
			done := make(chan int)
			go func() { done <- idleLoop(context.Background(), tick, every, p.read, p.trim) }()
			for range tt.ticks {
				tick <- time.Time{}
			}
			close(tick)
			if n := <-done; n != tt.want || p.trims != tt.want {
				t.Errorf("trimmed %d times (loop says %d), want %d", p.trims, n, tt.want)
			}
		})
	}
}

// TestTrimWhenIdleStops: the loop ends when its context does, and at
// once when it is off.
func TestTrimWhenIdleStops(t *testing.T) {
	t.Parallel()
	for _, every := range []time.Duration{0, -time.Second, time.Millisecond, time.Hour} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			TrimWhenIdle(ctx, every, func() {})
		}()
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("TrimWhenIdle(%v) still running 10 s after its context ended", every)
		}
	}
}

func TestReadUsage(t *testing.T) {
	t.Parallel()
	u, err := ReadUsage()
	if err != nil {
		t.Skip(err)
	}
	if u.CPU <= 0 || u.Resident <= 0 {
		t.Errorf("ReadUsage = %+v, want CPU and resident memory above 0", u)
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestIdleLoopEndsWithContext: the loop returns when its context ends even
// though its ticker goes on.
func TestIdleLoopEndsWithContext(t *testing.T) {
	t.Parallel()
	p := &fakeProcess{script: []Usage{{0, 15 * mib}, {time.Millisecond, 30 * mib}}, dropTo: 14 * mib}
	ctx, cancel := context.WithCancel(context.Background())
	tick := make(chan time.Time)
	done := make(chan int)
	go func() { done <- idleLoop(ctx, tick, time.Second, p.read, p.trim) }()
	tick <- time.Time{}
	cancel()
	if n := <-done; n != 1 {
		t.Errorf("trimmed %d times, want 1", n)
	}
}
