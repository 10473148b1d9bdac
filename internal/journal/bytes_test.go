package journal

import (
	"strings"
	"sync"
	"testing"
)

func TestBoundInBytes(t *testing.T) {
	t.Parallel()
	rec := func(uri string, body int) *Record {
		return &Record{Method: []byte("GET"), URI: []byte(uri), Body: []byte(strings.Repeat("b", body))}
	}
	tests := []struct {
		name      string
		capacity  int
		maxBytes  int64
		adds      int
		body      int
		wantLen   int
		wantDrop  uint64
		wantBytes func(int64) bool
	}{
		{"no bound keeps all", 100, 0, 50, 100, 50, 0, func(n int64) bool { return n >= 50*100 }},
		{"bound drops the oldest", 100, 10 * 1000, 50, 1000, 9, 41, func(n int64) bool { return n <= 10*1000 }},
		{"capacity first", 5, 1 << 20, 20, 100, 5, 15, func(n int64) bool { return n <= 5*1000 }},
		{"one record over the bound stays", 10, 100, 3, 1000, 1, 2, func(n int64) bool { return n >= 1000 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j := NewBounded(tt.capacity, 4096, tt.maxBytes)
			for i := range tt.adds {
				j.Add(rec("/r/"+strings.Repeat("x", i%3), tt.body))
			}
			es := j.Find(Filter{})
			if len(es) != tt.wantLen || j.Len() != tt.wantLen {
				t.Errorf("kept %d (Len %d), want %d", len(es), j.Len(), tt.wantLen)
			}
			if got := j.Dropped(); got != tt.wantDrop {
				t.Errorf("Dropped = %d, want %d", got, tt.wantDrop)
			}
			if !tt.wantBytes(j.Bytes()) {
				t.Errorf("Bytes = %d", j.Bytes())
			}
			// The newest are kept, newest first.
			for i, e := range es {
				if want := uint64(tt.adds - i); e.Seq != want {
					t.Fatalf("entry %d has seq %d, want %d", i, e.Seq, want)
				}
			}
			j.Clear()
			if j.Bytes() != 0 || j.Dropped() != 0 || j.Len() != 0 {
				t.Errorf("after Clear: Bytes %d, Dropped %d, Len %d", j.Bytes(), j.Dropped(), j.Len())
			}
		})
	}
}

// TestBoundInBytesConcurrent checks that the bound holds, and the count of
// bytes stays true, under concurrent Adds of varied sizes.
func TestBoundInBytesConcurrent(t *testing.T) {
	t.Parallel()
	const maxBytes = 64 << 10
	j := NewBounded(1000, 8192, maxBytes)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				j.Add(&Record{Method: []byte("POST"), URI: []byte("/u"), Body: make([]byte, (g*500+i)%5000)})
			}
		})
	}
	wg.Wait()
	var held int64
	for i := range j.slots {
		held += j.slots[i].v.size()
	}
	if held != j.Bytes() {
		t.Errorf("Bytes = %d, the slots hold %d", j.Bytes(), held)
	}
	// Evictions run after each Add: once all are done the bound holds, but
	// for the newest record which is never evicted.
	if j.Bytes() > maxBytes+8192+64 {
		t.Errorf("Bytes = %d, bound %d", j.Bytes(), maxBytes)
	}
	if n := uint64(len(j.Find(Filter{}))); n+j.Dropped() != j.Total() {
		t.Errorf("kept %d + dropped %d != total %d", n, j.Dropped(), j.Total())
	}
}
