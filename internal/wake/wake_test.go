package wake

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestDeadlinesHeap(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   []int64
	}{
		{"empty", nil},
		{"one", []int64{5}},
		{"sorted", []int64{1, 2, 3, 4, 5, 6, 7}},
		{"reversed", []int64{9, 8, 7, 6, 5, 4, 3, 2, 1}},
		{"duplicates", []int64{3, 1, 3, 1, 2, 2, 3}},
		{"random", func() []int64 {
			r := rand.New(rand.NewPCG(1, 2))
			out := make([]int64, 1000)
			for i := range out {
				out[i] = r.Int64N(500)
			}
			return out
		}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var h deadlines
			for _, v := range c.in {
				h.push(v)
			}
			var got []int64
			for len(h) > 0 {
				got = append(got, h[0])
				h.pop()
			}
			want := slices.Clone(c.in)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("popped %v, want %v", got, want)
			}
		})
	}
}

func TestOnGrid(t *testing.T) {
	t.Parallel()
	g := int64(Grid)
	cases := []struct{ in, want int64 }{
		{0, 0},
		{1, g},
		{g - 1, g},
		{g, g},
		{g + 1, 2 * g},
		{10*g + 7, 11 * g},
	}
	for _, c := range cases {
		if got := onGrid(c.in); got != c.want {
			t.Errorf("onGrid(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}

// TestAfterWakesAndForgets: the timerfd fires for each instant asked for
// and the instants that passed leave the heap. It waits for events, never
// for a duration, so a slow machine only makes it slower.
func TestAfterWakesAndForgets(t *testing.T) {
	if !supported() {
		t.Skip("no timerfd on this system")
	}
	// Instants another test left (a Timer's, with -count) wake first.
	for deadline := time.Now().Add(10 * time.Second); pending() > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %d instants from before still pending", pending())
		}
	}
	w0 := wakes()
	for i := range 20 {
		After(time.Duration(i+1) * time.Millisecond)
	}
	After(0)  // ignored
	After(-1) // ignored
	deadline := time.Now().Add(10 * time.Second)
	for pending() > 0 || wakes() == w0 {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %d instants pending, %d wake-ups", pending(), wakes()-w0)
		}
		time.Sleep(time.Millisecond)
	}
	if n := wakes() - w0; n > 20 {
		t.Errorf("%d wake-ups for 20 instants", n)
	}
}

func BenchmarkAfter(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		After(time.Hour + time.Duration(i%1000)*Grid)
	}
}

func TestObserve(t *testing.T) {
	before, sum0 := Lateness()
	// A wait that began long ago and was due 1 s after: 2 s late at least,
	// in the last bucket. One due in the future counts as on time.
	Observe(time.Now().Add(-3*time.Second), time.Second)
	Observe(time.Now(), time.Hour)
	after, sum1 := Lateness()
	if d := after[NumLateBuckets-1] - before[NumLateBuckets-1]; d != 1 {
		t.Errorf("last bucket grew by %d, want 1", d)
	}
	if d := after[0] - before[0]; d != 1 {
		t.Errorf("first bucket grew by %d, want 1", d)
	}
	if d := sum1 - sum0; d < 2*time.Second {
		t.Errorf("sum grew by %v, want at least 2s", d)
	}
}

// TestTimer: a Timer fires like time.Timer and Fired counts it in the
// lateness histogram.
func TestTimer(t *testing.T) {
	before, _ := Lateness()
	tm := NewTimer(time.Millisecond)
	<-tm.C
	tm.Fired()
	after, _ := Lateness()
	var n uint64
	for i := range after {
		n += after[i] - before[i]
	}
	if n != 1 {
		t.Errorf("%d lateness observations, want 1", n)
	}
}
