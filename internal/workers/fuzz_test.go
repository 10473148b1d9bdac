package workers

import "testing"

// The merges read what workers answer and, for POST /verify, the client's
// body: whatever they get, they return an error or a result, never panic.
func FuzzMerge(f *testing.F) {
	f.Add([]byte(`{"request":{},"count":{"exactly":2}}`), []byte(`{"expected":"exactly 2","count":1,"searched":3,"complete":true}`),
		[]byte(`{"total":1,"size":1,"capacity":9,"requests":[{"seq":1,"time":"2026-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{}`), []byte(`{"stubs":[{"id":"a","calls":1}]}`), []byte(`# TYPE x counter`+"\nx 1\n"))
	f.Add([]byte(`null`), []byte(`[]`), []byte(`{"requests":[1]}`))
	f.Fuzz(func(t *testing.T, query, a, b []byte) {
		bodies := [][]byte{a, b}
		ids := []int{0, 1}
		_, _, _ = MergeVerify(query, bodies, ids)
		_, _ = MergeRequestLists(bodies, ids, 1)
		_, _ = MergeFinds(bodies, ids)
		_, _ = MergeCounts(bodies)
		_, _ = MergeStubs(bodies)
		_, _ = MergeHealth(bodies)
		_, _ = MergeMetrics(bodies)
	})
}
