package journal

import "testing"

// TestSentBytesAndAnswered: a front door corrects an entry added before its
// response was out; a correction for a record no longer held changes
// nothing.
func TestSentBytesAndAnswered(t *testing.T) {
	for _, tt := range []struct {
		name     string
		fix      func(j *Journal, seq uint64)
		status   int
		bytesOut int64
	}{
		{"sent bytes", func(j *Journal, seq uint64) { j.SentBytes(seq, 5) }, 200, 5},
		{"answered: closed unanswered", func(j *Journal, seq uint64) { j.Answered(seq, 0, 0) }, 0, 0},
		{"no record", func(j *Journal, _ uint64) { j.SentBytes(0, 1); j.Answered(0, 0, 0) }, 200, 20},
		{"evicted record", func(j *Journal, seq uint64) {
			j.Add(&Record{Proto: "HTTP/1.1", Status: 201, BytesOut: 7}) // takes the only slot
			j.SentBytes(seq, 1)
			j.Answered(seq, 0, 0)
		}, 201, 7},
	} {
		t.Run(tt.name, func(t *testing.T) {
			j := New(1, 0)
			seq := j.Add(&Record{Proto: "HTTP/1.1", Status: 200, BytesOut: 20})
			tt.fix(j, seq)
			es := j.Find(Filter{})
			if len(es) != 1 || es[0].Status != tt.status || es[0].BytesOut != tt.bytesOut {
				t.Fatalf("entries %+v; want one with status %d, bytesOut %d", es, tt.status, tt.bytesOut)
			}
		})
	}
	var j *Journal
	j.SentBytes(1, 1) // a disabled journal takes corrections too
	j.Answered(1, 0, 0)
}
