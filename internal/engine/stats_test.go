package engine

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/stub"
)

func TestOverheadBucket(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want int
	}{
		{0, 0},
		{time.Microsecond, 0}, // bounds are inclusive
		{time.Microsecond + 1, 1},
		{99 * time.Microsecond, 6},
		{100 * time.Microsecond, 6},
		{100*time.Microsecond + 1, 7},
		{100 * time.Millisecond, len(OverheadBounds) - 1},
		{100*time.Millisecond + 1, len(OverheadBounds)},
		{time.Hour, len(OverheadBounds)},
	}
	for _, tt := range tests {
		if got := overheadBucket(tt.d); got != tt.want {
			t.Errorf("overheadBucket(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}

func TestStatsRecord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		responses int
		record    []int // response index of each request
		want      []uint64
	}{
		{"one response", 1, []int{0, 0, 0}, []uint64{3}},
		{"a sequence", 3, []int{0, 1, 2, 2, 2}, []uint64{1, 1, 3}},
		{"an index out of range is not counted by response", 2, []int{0, 5}, []uint64{1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStats(tt.responses)
			for _, i := range tt.record {
				s.Record(i, 10, 100, 3*time.Microsecond)
			}
			v := s.Read()
			if len(v.Responses) != len(tt.want) {
				t.Fatalf("Responses %v, want %v", v.Responses, tt.want)
			}
			for i := range tt.want {
				if v.Responses[i] != tt.want[i] {
					t.Fatalf("Responses %v, want %v", v.Responses, tt.want)
				}
			}
			n := uint64(len(tt.record))
			if v.BytesIn != 10*n || v.BytesOut != 100*n {
				t.Errorf("bytes in %d out %d, want %d and %d", v.BytesIn, v.BytesOut, 10*n, 100*n)
			}
			if v.Overhead[2] != n || v.OverheadSum != time.Duration(n)*3*time.Microsecond {
				t.Errorf("histogram %v sum %v", v.Overhead, v.OverheadSum)
			}
		})
	}
	// A negative time (a clock step back) counts as no time.
	s := newStats(1)
	s.Record(0, 0, 0, -time.Second)
	if v := s.Read(); v.Overhead[0] != 1 || v.OverheadSum != 0 {
		t.Errorf("negative overhead: histogram %v, sum %v", v.Overhead, v.OverheadSum)
	}
	var nilStats *Stats
	nilStats.Record(0, 1, 1, 1) // must not panic
	if v := nilStats.Read(); v.Requests() != 0 {
		t.Errorf("nil stats read %d requests", v.Requests())
	}
}

func TestPickIndex(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    stub.Stub
		want []int
	}{
		{"single", stub.Stub{ID: "x", Response: status(204)}, []int{0, 0, 0}},
		{"stick", seqStub("x", stub.SequenceStick, 201, 202), []int{0, 1, 1, 1}},
		{"repeat", seqStub("x", stub.SequenceRepeat, 201, 202, 203), []int{0, 1, 2, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := mustCompile(t, []Source{{Stub: tt.s}}).Get("x")
			for n, want := range tt.want {
				i, r, _ := s.Pick()
				if i != want || r != s.Responses()[i] {
					t.Fatalf("call %d: Pick() = %d, %p; want %d, %p", n, i, r, want, s.Responses()[want])
				}
			}
		})
	}
}

// TestStatsAcrossChanges: a stub left as it is keeps its statistics when
// another stub changes; a replaced stub starts from zero.
func TestStatsAcrossChanges(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	users := st.Engine().Snapshot().Get("users")
	users.Stats().Record(0, 0, 5, time.Microsecond)
	users.Stats().Record(0, 0, 5, time.Microsecond)
	st.Engine().Unmatched().Record(0, 0, 0, time.Microsecond)

	requests := func(id string) uint64 {
		v := st.Engine().Snapshot().Get(id).Stats().Read()
		return v.Requests()
	}
	steps := []struct {
		name  string
		do    func() error
		users uint64 // requests counted for "users" afterwards
	}{
		{"replace another stub", func() error {
			_, err := st.Replace("flaky", seqStub("flaky", stub.SequenceStick, 200), "test")
			return err
		}, 2},
		{"add a stub", func() error {
			_, err := st.Create(withID("new", path("/new")), "test")
			return err
		}, 2},
		{"delete another stub", func() error { return st.Delete("new") }, 2},
		{"replace the stub itself", func() error {
			_, err := st.Replace("users", withID("users", meth("GET", path("/users"))), "test")
			return err
		}, 0},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := requests("users"); got != s.users {
			t.Fatalf("after %s: users has %d requests, want %d", s.name, got, s.users)
		}
	}
	if v := st.Engine().Unmatched().Read(); v.Requests() != 1 {
		t.Errorf("unmatched: %d requests, want 1 (they belong to the engine)", v.Requests())
	}
}

func TestStatsRecordStatus(t *testing.T) {
	t.Parallel()
	type rec struct{ resp, status int }
	tests := []struct {
		name      string
		status    []int // compiled status of each response; nil: unknown
		record    []rec
		wantResp  []uint64
		wantOther map[int]uint64
	}{
		{"the compiled status counts by response", []int{426}, []rec{{0, 426}, {0, 426}}, []uint64{2}, map[int]uint64{}},
		{"another status counts by status", []int{426}, []rec{{0, 101}, {0, 426}, {0, 101}, {0, 503}}, []uint64{1}, map[int]uint64{101: 2, 503: 1}},
		{"a sequence", []int{503, 200}, []rec{{0, 503}, {1, 200}, {1, 404}}, []uint64{1, 1}, map[int]uint64{404: 1}},
		{"no compiled statuses: by response", nil, []rec{{0, 400}, {0, 505}}, []uint64{2}, map[int]uint64{}},
		{"no status sent: status 0", []int{200}, []rec{{0, 0}, {0, 200}}, []uint64{1}, map[int]uint64{0: 1}},
		{"no status sent in a sequence: status 0", []int{503, 200}, []rec{{0, 0}, {1, 0}, {1, 200}}, []uint64{0, 1}, map[int]uint64{0: 2}},
		{"a negative status: by response", []int{200}, []rec{{0, -1}}, []uint64{1}, map[int]uint64{}},
		{"past the slots: by response", []int{200}, []rec{
			{0, 401}, {0, 402}, {0, 403}, {0, 404}, {0, 405}, {0, 406}, {0, 407}, {0, 408}, {0, 409}, {0, 401},
		}, []uint64{1}, map[int]uint64{401: 2, 402: 1, 403: 1, 404: 1, 405: 1, 406: 1, 407: 1, 408: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStats(max(len(tt.status), 1))
			s.status = tt.status
			for _, r := range tt.record {
				s.RecordStatus(r.resp, r.status, 0, 0, time.Microsecond)
			}
			v := s.Read()
			got := map[int]uint64{}
			for _, o := range v.Others {
				got[o.Status] += o.N
			}
			if !slices.Equal(v.Responses, tt.wantResp) || !maps.Equal(got, tt.wantOther) {
				t.Errorf("by response %v, others %v; want %v, %v", v.Responses, got, tt.wantResp, tt.wantOther)
			}
			if v.Requests() != uint64(len(tt.record)) {
				t.Errorf("Requests() = %d, want %d", v.Requests(), len(tt.record))
			}
		})
	}
}
