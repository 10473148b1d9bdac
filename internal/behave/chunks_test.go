package behave

import (
	"testing"
	"time"
)

func TestChunkPacer(t *testing.T) {
	t.Parallel()
	p := NewChunkPacer([]int64{3, 5}, 5, time.Second)
	if !p.Streams() {
		t.Fatal("a chunk pacer does not stream")
	}
	for _, tt := range []struct {
		name  string
		total int64
		want  []Chunk
	}{
		{"whole", 19, []Chunk{{0, 3, 0}, {3, 5, time.Second}, {8, 3, 2 * time.Second}, {11, 5, 3 * time.Second}, {16, 3, 4 * time.Second}}},
		{"cut mid-chunk", 10, []Chunk{{0, 3, 0}, {3, 5, time.Second}, {8, 2, 2 * time.Second}}},
		{"cut at a chunk's end", 8, []Chunk{{0, 3, 0}, {3, 5, time.Second}}},
		{"longer body: count bounds it", 100, []Chunk{{0, 3, 0}, {3, 5, time.Second}, {8, 3, 2 * time.Second}, {11, 5, 3 * time.Second}, {16, 3, 4 * time.Second}}},
		{"empty", 0, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := p.Schedule(tt.total)
			var got []Chunk
			for c, ok := s.Next(); ok; c, ok = s.Next() {
				got = append(got, c)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d chunks %v, want %v", len(got), got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("chunk %d: %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
	if NewChunkPacer(nil, 3, 0) != nil || NewChunkPacer([]int64{1}, 0, 0) != nil {
		t.Error("a pacer without chunks")
	}
	if (*Pacer)(nil).Streams() || NewThrottlePacer(10).Streams() {
		t.Error("only chunk pacers stream")
	}
}
