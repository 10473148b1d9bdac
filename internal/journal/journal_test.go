package journal

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// addURIs adds one GET record per URI, a second apart from t0.
func addURIs(j *Journal, uris ...string) {
	for i, u := range uris {
		j.Add(&Record{Start: t0.Add(time.Duration(i) * time.Second), Method: []byte("GET"), URI: []byte(u)})
	}
}

func seqs(es []Entry) []uint64 {
	out := []uint64{}
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

func uris(es []Entry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.URI)
	}
	return out
}

func TestNewestFirstAndWrapAround(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		capacity int
		adds     int
	}{
		{"empty", 3, 0},
		{"one", 3, 1},
		{"exactly full", 3, 3},
		{"one past full", 3, 4},
		{"wrapped twice and more", 3, 10},
		{"capacity one", 1, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j := New(tt.capacity, 16)
			for i := 1; i <= tt.adds; i++ {
				addURIs(j, fmt.Sprintf("/r/%d", i))
			}
			want := min(tt.capacity, tt.adds)
			if got := j.Len(); got != want {
				t.Errorf("Len() = %d, want %d", got, want)
			}
			if got := j.Total(); got != uint64(tt.adds) {
				t.Errorf("Total() = %d, want %d", got, tt.adds)
			}
			if got := j.Cap(); got != tt.capacity {
				t.Errorf("Cap() = %d, want %d", got, tt.capacity)
			}
			var wantSeqs []uint64
			var wantURIs []string
			for s := tt.adds; s > tt.adds-want; s-- {
				wantSeqs = append(wantSeqs, uint64(s))
				wantURIs = append(wantURIs, fmt.Sprintf("/r/%d", s))
			}
			es := j.Find(Filter{})
			if got := seqs(es); !slices.Equal(got, wantSeqs) {
				t.Errorf("seqs = %v, want %v", got, wantSeqs)
			}
			if got := uris(es); !slices.Equal(got, wantURIs) {
				t.Errorf("uris = %v, want %v", got, wantURIs)
			}
		})
	}
}

func ptr(n int) *int { return &n }

// A gRPC call's entry has the HTTP status 200 in status and its code in
// grpcStatus, which selects gRPC calls only (0 is OK, not "any").
func TestFindGRPCStatus(t *testing.T) {
	t.Parallel()
	j := New(10, 64)
	recs := []Record{
		{Method: []byte("GET"), URI: []byte("/users/1"), Status: 200},
		{Proto: "gRPC", Method: []byte("POST"), URI: []byte("/shop.v1.Users/GetUser"), Status: 200, GRPC: true, GRPCStatus: 0},
		{Proto: "gRPC", Method: []byte("POST"), URI: []byte("/shop.v1.Users/GetUser"), Status: 200, GRPC: true, GRPCStatus: 5},
	}
	for i := range recs {
		recs[i].Start = t0.Add(time.Duration(i) * time.Second)
		j.Add(&recs[i])
	}
	for _, tt := range []struct {
		name string
		f    Filter
		want []uint64
	}{
		{"OK", Filter{GRPCStatus: ptr(0)}, []uint64{2}},
		{"NOT_FOUND", Filter{GRPCStatus: ptr(5)}, []uint64{3}},
		{"with status", Filter{GRPCStatus: ptr(5), Status: ptr(200)}, []uint64{3}},
		{"status 200", Filter{Status: ptr(200)}, []uint64{3, 2, 1}},
		{"none", Filter{GRPCStatus: ptr(3)}, []uint64{}},
	} {
		if got := seqs(j.Find(tt.f)); !slices.Equal(got, tt.want) {
			t.Errorf("%s: seqs = %v, want %v", tt.name, got, tt.want)
		}
	}
	es := j.Find(Filter{})
	if es[0].GRPCStatus == nil || *es[0].GRPCStatus != 5 || es[1].GRPCStatus == nil || *es[1].GRPCStatus != 0 || es[2].GRPCStatus != nil {
		t.Errorf("grpcStatus of the entries: %v, %v, %v", es[0].GRPCStatus, es[1].GRPCStatus, es[2].GRPCStatus)
	}
	b, _ := json.Marshal(es[1])
	if !strings.Contains(string(b), `"status":200,"grpcStatus":0,`) {
		t.Errorf("JSON: %s", b)
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	j := New(10, 64)
	recs := []Record{
		{Method: []byte("GET"), URI: []byte("/users/1?x=1"), Stub: "a", Status: 200},
		{Method: []byte("POST"), URI: []byte("/users"), Stub: "b", Status: 201},
		{Method: []byte("get"), URI: []byte("/users/2"), Status: 404},
		{Method: []byte("DELETE"), URI: []byte("/orders/7"), Stub: "a", Status: 0}, // no answer: a fault
		{Method: []byte("GET"), URI: []byte("http://example.com/users/9?q"), Status: 404},
	}
	for i := range recs {
		recs[i].Start = t0.Add(time.Duration(i) * time.Second)
		j.Add(&recs[i])
	}
	tests := []struct {
		name string
		f    Filter
		want []uint64
	}{
		{"zero filter", Filter{}, []uint64{5, 4, 3, 2, 1}},
		{"method", Filter{Method: "GET"}, []uint64{5, 3, 1}},
		{"method case-insensitive", Filter{Method: "post"}, []uint64{2}},
		{"path exact", Filter{Path: "/users"}, []uint64{2}},
		{"path exact ignores query", Filter{Path: "/users/1"}, []uint64{1}},
		{"path prefix", Filter{Path: "/users/*"}, []uint64{5, 3, 1}},
		{"path prefix without slash", Filter{Path: "/users*"}, []uint64{5, 3, 2, 1}},
		{"path star alone", Filter{Path: "*"}, []uint64{5, 4, 3, 2, 1}},
		{"path absolute-form", Filter{Path: "/users/9"}, []uint64{5}},
		{"path no match", Filter{Path: "/nope"}, []uint64{}},
		{"stub", Filter{Stub: "a"}, []uint64{4, 1}},
		{"stub unmatched", Filter{Stub: Unmatched}, []uint64{5, 3}},
		{"status", Filter{Status: ptr(404)}, []uint64{5, 3}},
		{"since inclusive", Filter{Since: t0.Add(2 * time.Second)}, []uint64{5, 4, 3}},
		{"until exclusive", Filter{Until: t0.Add(2 * time.Second)}, []uint64{2, 1}},
		{"since and until", Filter{Since: t0.Add(time.Second), Until: t0.Add(3 * time.Second)}, []uint64{3, 2}},
		{"combined", Filter{Method: "get", Status: ptr(404), Path: "/users/*"}, []uint64{5, 3}},
		{"limit", Filter{Limit: 2}, []uint64{5, 4}},
		{"limit above count", Filter{Limit: 50}, []uint64{5, 4, 3, 2, 1}},
		{"negative limit means all", Filter{Limit: -1}, []uint64{5, 4, 3, 2, 1}},
		{"limit with filter", Filter{Stub: Unmatched, Limit: 1}, []uint64{5}},
		{"no match", Filter{Status: ptr(500)}, []uint64{}},
		{"status 0: no answer", Filter{Status: ptr(0)}, []uint64{4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			es := j.Find(tt.f)
			if es == nil {
				t.Fatal("Find returned nil, want an empty slice")
			}
			if got := seqs(es); !slices.Equal(got, tt.want) {
				t.Errorf("seqs = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClear(t *testing.T) {
	t.Parallel()
	j := New(4, 16)
	addURIs(j, "/a", "/b", "/c", "/d", "/e")
	j.Clear()
	if got := j.Len(); got != 0 {
		t.Errorf("Len() after Clear = %d, want 0", got)
	}
	if got := j.Find(Filter{}); len(got) != 0 {
		t.Errorf("Find after Clear = %v, want none", uris(got))
	}
	if got := j.Total(); got != 5 {
		t.Errorf("Total() after Clear = %d, want 5", got)
	}
	for i := range j.slots {
		if v := &j.slots[i].v; v.uri != nil || v.headers != nil || v.body != nil {
			t.Errorf("slot %d keeps its buffers after Clear", i)
		}
	}
	j.Clear() // twice is fine
	addURIs(j, "/f", "/g")
	es := j.Find(Filter{})
	if got, want := seqs(es), []uint64{7, 6}; !slices.Equal(got, want) {
		t.Errorf("seqs after Clear and Add = %v, want %v", got, want)
	}
	if got, want := uris(es), []string{"/g", "/f"}; !slices.Equal(got, want) {
		t.Errorf("uris after Clear and Add = %v, want %v", got, want)
	}
	if got := j.Len(); got != 2 {
		t.Errorf("Len() = %d, want 2", got)
	}
}

func TestDisabled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		j    *Journal
	}{
		{"capacity 0", New(0, 1024)},
		{"negative capacity", New(-5, 1024)},
		{"nil journal", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.j.Add(&Record{URI: []byte("/x")})
			tt.j.Add(nil)
			tt.j.Clear()
			if got := tt.j.Len(); got != 0 {
				t.Errorf("Len() = %d, want 0", got)
			}
			if got := tt.j.Cap(); got != 0 {
				t.Errorf("Cap() = %d, want 0", got)
			}
			if got := tt.j.Total(); got != 0 {
				t.Errorf("Total() = %d, want 0", got)
			}
			if got := tt.j.Find(Filter{}); got == nil || len(got) != 0 {
				t.Errorf("Find = %#v, want an empty non-nil slice", got)
			}
		})
	}
}

func TestBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		maxBody   int
		body      []byte
		bodySize  int64
		wantBody  string
		wantEnc   string
		wantSize  int64
		wantTrunc bool
	}{
		{"empty", 8, nil, 0, "", "", 0, false},
		{"text", 8, []byte("hello"), 0, "hello", "", 5, false},
		{"text exactly max", 8, []byte("12345678"), 0, "12345678", "", 8, false},
		{"text truncated", 8, []byte("hello world!"), 0, "hello wo", "", 12, true},
		{"binary", 8, []byte{0xff, 0, 1}, 0, "/wAB", "base64", 3, false},
		{"binary truncated", 4, []byte{0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa}, 0, base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe, 0xfd, 0xfc}), "base64", 6, true},
		{"multi-byte rune cut by truncation stays text", 8, []byte("abcdefgé"), 0, "abcdefg", "", 9, true},
		{"partial rune at the end of a full body is binary", 8, []byte("abc\xc3"), 0, base64.StdEncoding.EncodeToString([]byte("abc\xc3")), "base64", 4, false},
		{"invalid byte before the cut is binary", 8, []byte("ab\xffdefghij"), 0, base64.StdEncoding.EncodeToString([]byte("ab\xffdefgh")), "base64", 10, true},
		{"streamed body size", 8, []byte("abc"), 100, "abc", "", 100, true},
		{"body size smaller than body is ignored", 8, []byte("abcdef"), 2, "abcdef", "", 6, false},
		{"no body kept", 0, []byte("hello"), 0, "", "", 5, true},
		{"negative max body", -1, []byte("hello"), 0, "", "", 5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j := New(2, tt.maxBody)
			j.Add(&Record{URI: []byte("/"), Body: tt.body, BodySize: tt.bodySize})
			e := j.Find(Filter{})[0]
			if e.Body != tt.wantBody || e.BodyEncoding != tt.wantEnc {
				t.Errorf("body = %q (%q), want %q (%q)", e.Body, e.BodyEncoding, tt.wantBody, tt.wantEnc)
			}
			if e.BodySize != tt.wantSize {
				t.Errorf("BodySize = %d, want %d", e.BodySize, tt.wantSize)
			}
			if e.BodyTruncated != tt.wantTrunc {
				t.Errorf("BodyTruncated = %v, want %v", e.BodyTruncated, tt.wantTrunc)
			}
		})
	}
}

func TestAddCopiesBorrowedSlices(t *testing.T) {
	t.Parallel()
	j := New(2, 64)
	uri, hdr, body := []byte("/a"), []byte("A: 1\r\n"), []byte("body")
	j.Add(&Record{Method: []byte("GET"), URI: uri, Headers: hdr, Body: body})
	copy(uri, "XX")
	copy(hdr, "XXXXX")
	copy(body, "XXXX")
	e := j.Find(Filter{})[0]
	if e.URI != "/a" || e.Body != "body" || e.Headers["A"][0] != "1" {
		t.Errorf("entry changed with the caller's buffers: %+v", e)
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	line := "X-Pad: " + strings.Repeat("p", 100) + "\r\n" // 109 bytes
	big := strings.Repeat(line, 200)                      // 21800 bytes > MaxHeaders
	bigWant := map[string][]string{"X-Pad": slices.Repeat([]string{strings.Repeat("p", 100)}, MaxHeaders/len(line))}
	tests := []struct {
		name      string
		block     string
		want      map[string][]string
		wantTrunc bool
	}{
		{"none", "", nil, false},
		{"only the blank line", "\r\n", nil, false},
		{
			"multi-valued and canonical keys",
			"Host: example.com\r\nAccept: a\r\naccept: b\r\nx-request-id: 42\r\n\r\n",
			map[string][]string{"Host": {"example.com"}, "Accept": {"a", "b"}, "X-Request-Id": {"42"}},
			false,
		},
		{
			"HTTP/2 lower case and pseudo-headers",
			":authority: example.com\r\n:path: /x\r\ncontent-type: text/plain\r\n",
			map[string][]string{":authority": {"example.com"}, ":path": {"/x"}, "Content-Type": {"text/plain"}},
			false,
		},
		{"bare LF and no final newline", "A: 1\nB: 2", map[string][]string{"A": {"1"}, "B": {"2"}}, false},
		{"value whitespace trimmed, inner kept", "X-Id: \t 4 2 \t\r\n", map[string][]string{"X-Id": {"4 2"}}, false},
		{"empty value", "X-Empty:\r\n", map[string][]string{"X-Empty": {""}}, false},
		{"value with colons", "Referer: http://a/b:c\r\n", map[string][]string{"Referer": {"http://a/b:c"}}, false},
		{"line without colon skipped", "garbage\r\nA: 1\r\n", map[string][]string{"A": {"1"}}, false},
		{"empty name skipped", ": v\r\nA: 1\r\n", map[string][]string{"A": {"1"}}, false},
		{"obsolete folding", "X-Long: a\r\n  b\r\n\tc\r\n", map[string][]string{"X-Long": {"a b c"}}, false},
		{"folding with nothing before", "  b\r\nA: 1\r\n", map[string][]string{"A": {"1"}}, false},
		{"truncated at the last full line", big, bigWant, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j := New(1, 0)
			j.Add(&Record{URI: []byte("/"), Headers: []byte(tt.block)})
			e := j.Find(Filter{})[0]
			if !mapsEqual(e.Headers, tt.want) {
				t.Errorf("Headers = %q, want %q", e.Headers, tt.want)
			}
			if e.HeadersTruncated != tt.wantTrunc {
				t.Errorf("HeadersTruncated = %v, want %v", e.HeadersTruncated, tt.wantTrunc)
			}
		})
	}
}

func mapsEqual(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !slices.Equal(v, w) {
			return false
		}
	}
	return true
}

func TestURI(t *testing.T) {
	t.Parallel()
	long := "/" + strings.Repeat("a", MaxURI+10)
	tests := []struct {
		uri       string
		wantURI   string
		wantPath  string
		wantQuery string
		wantTrunc bool
	}{
		{"/users/42", "/users/42", "/users/42", "", false},
		{"/users/42?x=1&y=2", "/users/42?x=1&y=2", "/users/42", "x=1&y=2", false},
		{"/a?", "/a?", "/a", "", false},
		{"/a#frag", "/a#frag", "/a", "", false},
		{"/a?q=1#frag", "/a?q=1#frag", "/a", "q=1", false},
		{"/a%20b?c", "/a%20b?c", "/a%20b", "c", false},
		{"http://example.com/p?q", "http://example.com/p?q", "/p", "q", false},
		{"https://example.com", "https://example.com", "", "", false},
		{"http://example.com?q", "http://example.com?q", "", "q", false},
		{"*", "*", "*", "", false},
		{"example.com:443", "example.com:443", "example.com:443", "", false},
		{"", "", "", "", false},
		{long, long[:MaxURI], long[:MaxURI], "", true},
	}
	for _, tt := range tests {
		t.Run(tt.uri[:min(len(tt.uri), 40)], func(t *testing.T) {
			t.Parallel()
			j := New(1, 0)
			j.Add(&Record{URI: []byte(tt.uri)})
			e := j.Find(Filter{})[0]
			if e.URI != tt.wantURI || e.Path != tt.wantPath || e.Query != tt.wantQuery || e.URITruncated != tt.wantTrunc {
				t.Errorf("URI, Path, Query, URITruncated = %q, %q, %q, %v; want %q, %q, %q, %v",
					e.URI[:min(len(e.URI), 40)], e.Path[:min(len(e.Path), 40)], e.Query, e.URITruncated,
					tt.wantURI[:min(len(tt.wantURI), 40)], tt.wantPath[:min(len(tt.wantPath), 40)], tt.wantQuery, tt.wantTrunc)
			}
			if tt.wantPath != "" && len(j.Find(Filter{Path: tt.wantPath})) != 1 {
				t.Errorf("Filter{Path: %q} does not find its own entry", tt.wantPath)
			}
		})
	}
}

func TestEntryFieldsAndJSON(t *testing.T) {
	t.Parallel()
	j := New(1, 64)
	start := time.Now() // with a monotonic reading
	j.Add(&Record{
		Start:    start,
		Duration: 1500 * time.Microsecond,
		Proto:    "HTTP/2",
		Method:   []byte(strings.Repeat("M", MaxMethod+1)),
		URI:      []byte("/x?y=1"),
		Headers:  []byte("Host: h\r\n"),
		Body:     []byte(`{"a":1}`),
		Remote:   netip.MustParseAddrPort("[2001:db8::1]:4242"),
		Stub:     "get-x",
		Status:   201,
		BytesIn:  120,
		BytesOut: 340,
	})
	e := j.Find(Filter{})[0]
	want := Entry{
		Seq:        1,
		Time:       start.Round(0),
		DurationUS: 1500,
		End:        start.Add(1500 * time.Microsecond).Round(0),
		Proto:      "HTTP/2",
		Method:     strings.Repeat("M", MaxMethod),
		URI:        "/x?y=1",
		Path:       "/x",
		Query:      "y=1",
		Headers:    map[string][]string{"Host": {"h"}},
		Body:       `{"a":1}`,
		BodySize:   7,
		Remote:     "[2001:db8::1]:4242",
		Stub:       "get-x",
		Status:     201,
		BytesIn:    120,
		BytesOut:   340,
	}
	got, _ := json.Marshal(e)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(got, wantJSON) || e.Time != want.Time {
		t.Errorf("entry =\n%s\nwant\n%s", got, wantJSON)
	}

	// JSON names are camelCase; empty optional fields are left out.
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"seq", "time", "durationUs", "proto", "method", "uri", "path", "query", "headers", "body", "bodySize", "remote", "stub", "status", "bytesIn", "bytesOut"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, got)
		}
	}
	for _, k := range []string{"bodyEncoding", "bodyTruncated", "headersTruncated", "uriTruncated"} {
		if _, ok := m[k]; ok {
			t.Errorf("JSON has %q although it is empty: %s", k, got)
		}
	}
}

// TestConcurrent has writers Add while readers Find, Len and Total, and
// checks that no entry is ever torn and that the counts come out exact.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	const (
		capacity = 500
		writers  = 8
		perW     = 2000
		readers  = 4
	)
	j := New(capacity, 64)
	check := func(es []Entry) {
		for i, e := range es {
			if i > 0 && e.Seq >= es[i-1].Seq {
				t.Errorf("seq %d after %d: not newest first", e.Seq, es[i-1].Seq)
			}
			if e.Body != e.URI || len(e.Headers["X-Uri"]) != 1 || e.Headers["X-Uri"][0] != e.URI || e.Path != e.URI {
				t.Errorf("torn entry: %+v", e)
			}
		}
	}

	var writes, reads sync.WaitGroup
	done := make(chan struct{})
	for r := range readers {
		reads.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				check(j.Find(Filter{Limit: 50 * r}))
				check(j.Find(Filter{Path: "/w/1/*"}))
				if n := j.Len(); n < 0 || n > capacity {
					t.Errorf("Len() = %d, outside [0, %d]", n, capacity)
				}
			}
		})
	}
	for w := range writers {
		writes.Go(func() {
			var uri, hdr []byte
			for i := range perW {
				uri = fmt.Appendf(uri[:0], "/w/%d/%d", w, i)
				hdr = fmt.Appendf(hdr[:0], "X-Uri: %s\r\n", uri)
				j.Add(&Record{Method: []byte("GET"), URI: uri, Headers: hdr, Body: uri, Stub: "s", Status: 200})
			}
		})
	}
	writes.Wait()
	close(done)
	reads.Wait()

	const added = writers * perW
	if got := j.Total(); got != added {
		t.Errorf("Total() = %d, want %d", got, added)
	}
	if got := j.Len(); got != min(capacity, added) {
		t.Errorf("Len() = %d, want %d", got, min(capacity, added))
	}
	es := j.Find(Filter{})
	check(es)
	if len(es) != min(capacity, added) {
		t.Fatalf("Find returned %d entries, want %d", len(es), min(capacity, added))
	}
	if es[0].Seq != added || es[len(es)-1].Seq != added-capacity+1 {
		t.Errorf("seqs run %d..%d, want %d..%d", es[0].Seq, es[len(es)-1].Seq, added, added-capacity+1)
	}
	// Each writer's records keep their order.
	last := map[string]int{}
	for _, e := range es {
		var w, i int
		if _, err := fmt.Sscanf(e.URI, "/w/%d/%d", &w, &i); err != nil {
			t.Fatalf("entry URI %q: %v", e.URI, err)
		}
		k := fmt.Sprint(w)
		if prev, ok := last[k]; ok && i >= prev {
			t.Errorf("writer %d: record %d listed after %d", w, i, prev)
		}
		last[k] = i
	}
}

// TestConcurrentClear races Clear against Add and Find; the race detector
// does most of the checking.
func TestConcurrentClear(t *testing.T) {
	t.Parallel()
	const capacity, writers, perW = 64, 4, 2000
	j := New(capacity, 16)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range perW {
				j.Add(&Record{URI: []byte("/c"), Body: []byte("body")})
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 200 {
				j.Clear()
				for _, e := range j.Find(Filter{}) {
					if e.URI != "/c" || e.Body != "body" {
						t.Errorf("torn entry: %+v", e)
					}
				}
				if n := j.Len(); n < 0 || n > capacity {
					t.Errorf("Len() = %d, outside [0, %d]", n, capacity)
				}
			}
		})
	}
	wg.Wait()
	if got := j.Total(); got != writers*perW {
		t.Errorf("Total() = %d, want %d", got, writers*perW)
	}
	j.Clear()
	if j.Len() != 0 || len(j.Find(Filter{})) != 0 {
		t.Errorf("journal not empty after a final Clear")
	}
}

// realistic returns records like those a front door hands over: about 300
// bytes of headers and a 0-100 byte body.
func realistic() []*Record {
	hdr := []byte("Host: api.example.com\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36\r\n" +
		"Accept: application/json\r\n" +
		"Accept-Encoding: gzip, deflate, br\r\n" +
		"Accept-Language: en-US,en;q=0.9\r\n" +
		"Content-Type: application/json\r\n" +
		"X-Request-Id: 5f0c9e0e-3c2a-4b8e-9d55-2f1f6a7c1e42\r\n" +
		"Connection: keep-alive\r\n")
	remote := netip.MustParseAddrPort("10.1.2.3:54321")
	return []*Record{
		{Start: time.Now(), Duration: 180 * time.Microsecond, Proto: "HTTP/1.1", Method: []byte("GET"),
			URI: []byte("/users/42?fields=name,email"), Headers: hdr, Remote: remote, Stub: "get-user", Status: 200, BytesIn: 320, BytesOut: 512},
		{Start: time.Now(), Duration: 250 * time.Microsecond, Proto: "HTTP/1.1", Method: []byte("POST"),
			URI: []byte("/users"), Headers: hdr, Body: []byte(`{"name":"Ada Lovelace","email":"ada@example.com","roles":["admin","dev"],"active":true}`),
			Remote: remote, Stub: "create-user", Status: 201, BytesIn: 420, BytesOut: 96},
		{Start: time.Now(), Duration: 90 * time.Microsecond, Proto: "HTTP/2", Method: []byte("PUT"),
			URI: []byte("/orders/7"), Headers: hdr, Body: []byte(`{"qty":3}`), Remote: remote, Status: 404, BytesIn: 330, BytesOut: 40},
	}
}

// TestAddAllocs asserts that Add allocates nothing once the ring has filled.
// It is deliberately not parallel: AllocsPerRun counts every allocation in
// the process, and sequential tests run while parallel ones are paused.
func TestAddAllocs(t *testing.T) {
	recs := realistic()
	const capacity = 64 // not a multiple of len(recs): every slot sees every record
	j := New(capacity, 1024)
	for i := range capacity * len(recs) {
		j.Add(recs[i%len(recs)])
	}
	i := 0
	now := time.Now()
	allocs := testing.AllocsPerRun(1000, func() {
		seq := j.Add(recs[i%len(recs)])
		j.Sent(seq, now, now)
		i++
	})
	if allocs != 0 {
		t.Errorf("Add and Sent allocate %v times per call after warm-up, want 0", allocs)
	}
}

// TestWireTimestamps checks that the wire timestamps given to Add and to
// Sent come out in microseconds since the Unix epoch, that Sent touches
// only its own record and ignores zero times, and that unmeasured ones
// are left out of the JSON.
func TestWireTimestamps(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(us int64) time.Time { return base.Add(time.Duration(us) * time.Microsecond) }
	tests := []struct {
		name string
		rec  Record
		sent func(j *Journal, seq uint64)
		want [4]int64 // offsets from base in µs; -1: absent
	}{
		{"none measured", Record{Start: base}, nil, [4]int64{-1, -1, -1, -1}},
		{"all from Add", Record{Start: at(5), FirstIn: at(1), LastIn: at(4), FirstOut: at(9), LastOut: at(12)}, nil,
			[4]int64{1, 4, 9, 12}},
		{"sent later", Record{Start: at(5), FirstIn: at(1), LastIn: at(4)},
			func(j *Journal, seq uint64) { j.Sent(seq, at(7), at(30)) }, [4]int64{1, 4, 7, 30}},
		{"sent twice, zero keeps", Record{Start: at(5), LastIn: at(4)},
			func(j *Journal, seq uint64) { j.Sent(seq, at(7), at(8)); j.Sent(seq, time.Time{}, at(40)) }, [4]int64{-1, 4, 7, 40}},
		{"sent for another record", Record{Start: at(5)},
			func(j *Journal, seq uint64) { j.Sent(seq+1, at(7), at(8)); j.Sent(0, at(7), at(8)) }, [4]int64{-1, -1, -1, -1}},
	}
	names := [4]string{"requestFirstByteUs", "requestLastByteUs", "responseFirstByteUs", "responseLastByteUs"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j := New(4, 0)
			seq := j.Add(&tt.rec)
			if seq != 1 {
				t.Fatalf("Add returned %d, want 1", seq)
			}
			if tt.sent != nil {
				tt.sent(j, seq)
			}
			b, _ := json.Marshal(j.Find(Filter{})[0])
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			for i, name := range names {
				v, ok := m[name]
				switch {
				case tt.want[i] < 0 && ok:
					t.Errorf("%s = %v, want it absent: %s", name, v, b)
				case tt.want[i] >= 0 && !ok:
					t.Errorf("%s absent, want base+%dµs: %s", name, tt.want[i], b)
				case ok && int64(v.(float64)) != at(tt.want[i]).UnixMicro():
					t.Errorf("%s = %v, want %d", name, v, at(tt.want[i]).UnixMicro())
				}
			}
		})
	}
	// A disabled journal returns 0 and Sent on it is harmless.
	var off *Journal
	if seq := off.Add(&Record{}); seq != 0 {
		t.Errorf("disabled Add = %d", seq)
	}
	off.Sent(1, base, base)
	// Sent after the record was overwritten leaves the newer one alone.
	j := New(1, 0)
	old := j.Add(&Record{Start: base})
	j.Add(&Record{Start: base})
	j.Sent(old, at(1), at(2))
	if e := j.Find(Filter{})[0]; e.ResponseFirstByteUS != 0 || e.ResponseLastByteUS != 0 {
		t.Errorf("Sent for an overwritten record changed the newer one: %+v", e)
	}
}

func BenchmarkAdd(b *testing.B) {
	recs := realistic()
	j := New(10000, 1024)
	for i := range 10000 * len(recs) {
		j.Add(recs[i%len(recs)])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		j.Add(recs[i%len(recs)])
		i++
	}
}

func BenchmarkAddParallel(b *testing.B) {
	recs := realistic()
	j := New(10000, 1024)
	for i := range 10000 * len(recs) {
		j.Add(recs[i%len(recs)])
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			j.Add(recs[i%len(recs)])
			i++
		}
	})
}

func BenchmarkFind(b *testing.B) {
	recs := realistic()
	j := New(10000, 1024)
	for i := range 10000 {
		j.Add(recs[i%len(recs)])
	}
	for _, bc := range []struct {
		name string
		f    Filter
	}{
		{"limit100", Filter{Limit: 100}},
		{"all", Filter{}},
		{"filtered", Filter{Method: "post", Path: "/users*"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				j.Find(bc.f)
			}
		})
	}
}
