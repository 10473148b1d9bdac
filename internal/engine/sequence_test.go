package engine

import (
	"sync"
	"testing"

	"github.com/decoy-dev/decoy/internal/stub"
)

func seqStub(id, mode string, statuses ...int) stub.Stub {
	s := stub.Stub{ID: id, Request: stub.Request{Path: "/seq"}, Sequence: mode}
	for _, c := range statuses {
		s.Responses = append(s.Responses, stub.Response{Status: c})
	}
	return s
}

func TestSequence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    stub.Stub
		want []int
	}{
		{"single response", stub.Stub{ID: "x", Response: status(204)}, []int{204, 204, 204}},
		{"one-element sequence", seqStub("x", "", 201), []int{201, 201, 201}},
		{"stick by default", seqStub("x", "", 201, 202, 203), []int{201, 202, 203, 203, 203, 203}},
		{"stick", seqStub("x", stub.SequenceStick, 201, 202), []int{201, 202, 202, 202}},
		{"repeat", seqStub("x", stub.SequenceRepeat, 201, 202, 203), []int{201, 202, 203, 201, 202, 203, 201}},
		{"repeat of two", seqStub("x", stub.SequenceRepeat, 500, 200), []int{500, 200, 500, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := mustCompile(t, []Source{{Stub: tt.s}})
			s := snap.Get("x")
			var got []int
			for range tt.want {
				got = append(got, s.Next().Status)
			}
			for i := range tt.want {
				if got[i] != tt.want[i] {
					t.Fatalf("statuses = %v, want %v", got, tt.want)
				}
			}
			if n := len(s.Responses()); n != max(1, len(tt.s.Responses)) {
				t.Errorf("Responses() has %d, want %d", n, max(1, len(tt.s.Responses)))
			}
		})
	}
}

func TestSequenceCallsCount(t *testing.T) {
	t.Parallel()
	snap := mustCompile(t, []Source{{Stub: seqStub("x", "", 201, 202)}})
	s := snap.Get("x")
	if s.Calls() != 0 {
		t.Fatalf("Calls() = %d before any call", s.Calls())
	}
	for range 5 {
		s.Next()
	}
	if s.Calls() != 5 {
		t.Errorf("Calls() = %d, want 5", s.Calls())
	}
}

// Concurrent calls each take exactly one step of the sequence: with repeat,
// every response is given the same number of times; with stick, the first
// ones exactly once.
func TestSequenceConcurrent(t *testing.T) {
	t.Parallel()
	const workers, per = 16, 300 // 4800 calls: a multiple of 3 and of 4
	tests := []struct {
		name string
		s    stub.Stub
		want map[int]int
	}{
		{"repeat", seqStub("x", stub.SequenceRepeat, 201, 202, 203), map[int]int{201: 1600, 202: 1600, 203: 1600}},
		{"repeat of four", seqStub("x", stub.SequenceRepeat, 201, 202, 203, 204), map[int]int{201: 1200, 202: 1200, 203: 1200, 204: 1200}},
		{"stick", seqStub("x", stub.SequenceStick, 201, 202, 203), map[int]int{201: 1, 202: 1, 203: workers*per - 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := tt.want
			snap := mustCompile(t, []Source{{Stub: tt.s}})
			e := New(snap)
			counts := make([]map[int]int, workers)
			var wg sync.WaitGroup
			for w := range workers {
				counts[w] = map[int]int{}
				wg.Go(func() {
					r := rq{path: "/seq"}.req()
					for range per {
						st := e.Match(r)
						if st == nil {
							t.Error("no match")
							return
						}
						counts[w][st.Next().Status]++
					}
				})
			}
			wg.Wait()
			total := map[int]int{}
			for _, c := range counts {
				for k, v := range c {
					total[k] += v
				}
			}
			if len(total) != len(want) {
				t.Fatalf("counts = %v, want %v", total, want)
			}
			for k, v := range want {
				if total[k] != v {
					t.Errorf("status %d given %d times, want %d (all: %v)", k, total[k], v, total)
				}
			}
			if got := e.Snapshot().Get("x").Calls(); got != workers*per {
				t.Errorf("Calls() = %d, want %d", got, workers*per)
			}
		})
	}
}
