package httpfront

import (
	"testing"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/stub"
)

// TestLateCount: whatever order the front door (countRequest, recorded)
// and the goroutine sending the response (answered, done) call in, the
// request is counted once, under status 0 when it went unanswered, the
// body as far as it was sent, and the journal entry agrees.
func TestLateCount(t *testing.T) {
	type step int
	const (
		count  step = iota // the front door counts the request
		record             // the front door adds the journal entry
		answer             // the answer went
		gone               // the stream closed before the answer
		sent5              // 5 bytes of the body went
	)
	for _, tt := range []struct {
		name       string
		hold, body bool
		steps      []step
		status     int
		bytesOut   uint64
	}{
		{"body cut short, recorded first", false, true, []step{record, sent5}, 200, 5},
		{"body cut short, recorded after", false, true, []step{sent5, record}, 200, 5},
		{"answered after a wait", true, false, []step{count, record, answer}, 200, 20},
		{"answered before the front door was done", true, false, []step{answer, count, record}, 200, 20},
		{"closed unanswered at shutdown", true, false, []step{count, record, gone}, 0, 0},
		{"closed unanswered before the front door was done", true, false, []step{gone, record, count}, 0, 0},
		{"waited, then the body was cut", true, true, []step{count, answer, sent5, record}, 200, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store, err := engine.NewStore([]engine.Source{{Stub: stub.Stub{ID: "s", Request: stub.Request{Path: "/"},
				Response: &stub.Response{Body: stub.Text("01234567890123456789")}}}})
			if err != nil {
				t.Fatal(err)
			}
			stats := store.Engine().Snapshot().Get("s").Stats()
			j := journal.New(4, 0)
			late := newLateCount(stats, j, 20, tt.body)
			if tt.hold {
				late.holdRequest()
			}
			for _, s := range tt.steps {
				switch s {
				case count:
					out := 20
					if tt.body {
						out = 0
					}
					late.countRequest(0, 200, 0, out, 0)
				case record:
					late.recorded(j.Add(&journal.Record{Proto: "HTTP/2", Status: 200, BytesOut: 20}))
				case answer:
					late.answered(true)
				case gone:
					late.answered(false)
				case sent5:
					late.done(5)
				}
			}
			if !tt.hold {
				stats.RecordStatus(0, 200, 0, 0, 0) // the front door counted it itself
			}
			v := stats.Read()
			if v.Requests() != 1 || v.BytesOut != tt.bytesOut {
				t.Errorf("counted %d requests, %d bytes; want 1, %d", v.Requests(), v.BytesOut, tt.bytesOut)
			}
			if tt.status == 0 && (len(v.Others) != 1 || v.Others[0].Status != 0) {
				t.Errorf("counted by status %+v; want status 0", v.Others)
			}
			es := j.Find(journal.Filter{})
			if len(es) != 1 || es[0].Status != tt.status || uint64(es[0].BytesOut) != tt.bytesOut {
				t.Errorf("journal %+v; want status %d, bytesOut %d", es, tt.status, tt.bytesOut)
			}
		})
	}
}
