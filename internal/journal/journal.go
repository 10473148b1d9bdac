// Package journal owns decoy's request journal: a bounded, in-memory ring of
// the most recent requests served by any front door (HTTP/1.1, HTTP/2, and
// later gRPC and WebSocket), which the admin API lists and filters.
//
// Recording is on the hot path. Add copies the few bytes it keeps into a
// slot that reuses its buffers, so once the ring has filled it allocates
// nothing, and it locks only that one slot while copying. Everything costly
// (header parsing, base64, string conversion) happens when the journal is
// read, in Find.
package journal

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
)

// Limits on what one entry keeps, so that the journal's memory stays bounded
// whatever clients send. Longer values are truncated and flagged.
const (
	// MaxHeaders is the most bytes of a raw header block an entry keeps.
	MaxHeaders = 16 << 10
	// MaxURI is the most bytes of a request URI an entry keeps.
	MaxURI = 8 << 10
	// MaxMethod is the most bytes of a request method an entry keeps.
	MaxMethod = 64
)

// Record is what a front door hands to Add. Slices are borrowed: Add copies
// what it keeps and holds on to none of them after it returns. Strings are
// kept as they are, so they should be static or long-lived (a protocol name,
// a stub id), never views over a reused buffer.
type Record struct {
	Start    time.Time     // when handling began: the request read (its body too when a stub needed it)
	Duration time.Duration // time to produce the response, as the front door measures it
	// The wire timestamps, zero when the front door does not measure them
	// (docs/metrics.md says which does what): the first and the last byte
	// of the request received, and the first and the last byte of the
	// response sent. A front door that writes the response after Add gives
	// the sent times later, through Sent.
	FirstIn, LastIn, FirstOut, LastOut time.Time
	Proto                              string // "HTTP/1.1", "HTTP/2", "gRPC", ...
	Method                             []byte
	URI                                []byte // path with query, as received, e.g. /users/42?x=1
	Headers                            []byte // raw header block, "Name: value\r\n" lines
	Body                               []byte // request body; only the first maxBody bytes are kept
	// BodySize is the full size of the body when Body holds only a prefix of
	// it (a streamed body). When it is smaller than len(Body), len(Body) is
	// used, so front doors that pass the whole body can leave it zero.
	BodySize int64
	Remote   netip.AddrPort
	// ClientCert is the certificate the client presented over TLS, nil
	// when none. It is kept as given (not copied): front doors pass the
	// one made for the connection.
	ClientCert *engine.ClientCert
	Stub       string // id of the stub that answered, "" when nothing matched
	Fault      string // kind of the fault injected (behave.FaultKind's name), "" when none
	// Status is the HTTP status of the response: 200 for a gRPC call.
	Status int
	// GRPC marks a gRPC call (native or gRPC-Web), whose status code is
	// GRPCStatus (0 OK, 5 NOT_FOUND, ...).
	GRPC       bool
	GRPCStatus int
	BytesIn    int64
	BytesOut   int64
}

// slot is one place in the ring. Its buffers keep their capacity from one
// record to the next; each is bounded by the limits above (body by maxBody).
type slot struct {
	mu sync.Mutex
	v  stored
}

// stored is what a slot holds, guarded by the slot's mutex.
type stored struct {
	seq uint64 // 0: never written
	// gone: the record seq was cleared or evicted. Its seq stays, so that
	// an Add for an older record that comes late is still dropped, but
	// readers must not see the emptied record (they check seq only).
	gone     bool
	start    time.Time
	dur      time.Duration
	wire     wire
	proto    string
	method   []byte
	uri      []byte
	headers  []byte
	body     []byte
	bodySize int64
	remote   netip.AddrPort
	cert     *engine.ClientCert
	stub     string
	fault    string
	status   int
	grpc     bool
	grpcStat int
	bytesIn  int64
	bytesOut int64
	uriCut   bool
	hdrCut   bool
}

// wire holds the wire timestamps of a record.
type wire struct {
	firstIn, lastIn, firstOut, lastOut time.Time
}

// Journal is a bounded ring of recent requests. It is safe for concurrent
// use. A nil *Journal, like one with capacity 0, is disabled: Add does
// nothing and Find returns no entries.
type Journal struct {
	slots    []slot
	maxBody  int
	maxBytes int64 // 0: no bound in bytes

	// bytes is the capacity of the buffers the slots hold (method, URI,
	// headers, body). It changes only when a buffer grows or is released,
	// so once the ring is warm Add does not touch it.
	bytes atomic.Int64
	// evictMu serialises evictions beyond maxBytes.
	evictMu sync.Mutex

	// total counts records ever added; record n (1-based) is written to
	// slots[(n-1)%len(slots)] and reported with Seq n.
	total atomic.Uint64
	// cleared is the value total had at the last Clear.
	cleared atomic.Uint64
	// low is the visibility floor: records with a sequence number at or
	// below it are no longer visible. Clear raises it to total; evicting
	// the oldest records to stay within maxBytes raises it past them.
	low atomic.Uint64
}

// New returns a journal keeping the newest capacity records, and of each at
// most maxBody bytes of its body. capacity <= 0 returns a disabled journal;
// maxBody < 0 is taken as 0 (bodies are not kept, only their size).
func New(capacity, maxBody int) *Journal {
	return NewBounded(capacity, maxBody, 0)
}

// NewBounded is New with a bound on the bytes the journal holds: the
// buffers of its records' methods, URIs, headers and bodies. Beyond
// maxBytes the oldest records are dropped. maxBytes <= 0 means no bound
// other than the capacity.
func NewBounded(capacity, maxBody int, maxBytes int64) *Journal {
	if capacity < 0 {
		capacity = 0
	}
	if maxBody < 0 {
		maxBody = 0
	}
	return &Journal{slots: make([]slot, capacity), maxBody: maxBody, maxBytes: max(maxBytes, 0)}
}

// Add records r and returns its sequence number (0 when the journal is
// disabled), which Sent takes. It copies what it keeps, never retains r or
// its slices, and allocates nothing once every slot has held a record at
// least as large. When the ring is full the oldest record is overwritten.
func (j *Journal) Add(r *Record) uint64 {
	if j == nil || len(j.slots) == 0 || r == nil {
		return 0
	}
	// Work out what to keep before taking the lock.
	method := r.Method
	if len(method) > MaxMethod {
		method = method[:MaxMethod]
	}
	uri, uriCut := r.URI, false
	if len(uri) > MaxURI {
		uri, uriCut = uri[:MaxURI], true
	}
	headers, hdrCut := r.Headers, false
	if len(headers) > MaxHeaders {
		headers, hdrCut = cutHeaders(headers[:MaxHeaders]), true
	}
	body := r.Body
	bodySize := max(r.BodySize, int64(len(body)))
	if len(body) > j.maxBody {
		body = body[:j.maxBody]
	}

	seq := j.total.Add(1)
	s := &j.slots[(seq-1)%uint64(len(j.slots))]
	s.mu.Lock()
	v := &s.v
	if v.seq > seq || seq <= j.low.Load() {
		// A later record lapped this one while it was being prepared, or
		// it was cleared or evicted before it landed. Drop it.
		s.mu.Unlock()
		return seq
	}
	before := v.size()
	v.seq, v.gone = seq, false
	v.start = r.Start
	v.dur = r.Duration
	v.wire = wire{r.FirstIn, r.LastIn, r.FirstOut, r.LastOut}
	v.proto = r.Proto
	v.method = append(v.method[:0], method...)
	v.uri = append(v.uri[:0], uri...)
	v.headers = append(v.headers[:0], headers...)
	v.body = append(v.body[:0], body...)
	v.bodySize = bodySize
	v.remote = r.Remote
	v.cert = r.ClientCert
	v.stub = r.Stub
	v.fault = r.Fault
	v.status = r.Status
	v.grpc, v.grpcStat = r.GRPC, r.GRPCStatus
	v.bytesIn = r.BytesIn
	v.bytesOut = r.BytesOut
	v.uriCut = uriCut
	v.hdrCut = hdrCut
	grown := v.size() - before
	s.mu.Unlock()
	if grown != 0 {
		if n := j.bytes.Add(grown); j.maxBytes > 0 && n > j.maxBytes {
			j.evict(seq)
		}
	}
	return seq
}

// SentBytes sets the response body bytes of record seq to n, for a front
// door that learns only once the response is out (or cut short) how much
// of it was sent. It does nothing when the record is no longer held. It
// allocates nothing.
func (j *Journal) SentBytes(seq uint64, n int64) {
	if j == nil || len(j.slots) == 0 || seq == 0 {
		return
	}
	s := &j.slots[(seq-1)%uint64(len(j.slots))]
	s.mu.Lock()
	if s.v.seq == seq {
		s.v.bytesOut = n
	}
	s.mu.Unlock()
}

// Answered sets the status and the response body bytes of record seq,
// for a front door that recorded the request before its answer was sure
// to go (status 0: closed unanswered). It does nothing when the record is
// no longer held. It allocates nothing.
func (j *Journal) Answered(seq uint64, status int, bytesOut int64) {
	if j == nil || len(j.slots) == 0 || seq == 0 {
		return
	}
	s := &j.slots[(seq-1)%uint64(len(j.slots))]
	s.mu.Lock()
	if s.v.seq == seq {
		s.v.status, s.v.bytesOut = status, bytesOut
	}
	s.mu.Unlock()
}

// Sent sets the times the first and the last byte of record seq's
// response were sent, for a front door that writes the response after
// Add. It does nothing when the record is no longer held; a zero time
// leaves that timestamp as it was. It allocates nothing.
func (j *Journal) Sent(seq uint64, first, last time.Time) {
	if j == nil || len(j.slots) == 0 || seq == 0 {
		return
	}
	s := &j.slots[(seq-1)%uint64(len(j.slots))]
	s.mu.Lock()
	if s.v.seq == seq {
		if !first.IsZero() {
			s.v.wire.firstOut = first
		}
		if !last.IsZero() {
			s.v.wire.lastOut = last
		}
	}
	s.mu.Unlock()
}

// evict drops the oldest records, releasing their buffers, until the
// journal holds at most maxBytes or only the records after newest remain
// besides it.
func (j *Journal) evict(newest uint64) {
	j.evictMu.Lock()
	defer j.evictMu.Unlock()
	n := uint64(len(j.slots))
	for j.bytes.Load() > j.maxBytes {
		seq := j.low.Load() + 1
		if top := j.total.Load(); top > n && seq <= top-n {
			seq = top - n + 1
		}
		if seq >= newest {
			return
		}
		s := &j.slots[(seq-1)%n]
		s.mu.Lock()
		if s.v.seq == seq {
			j.bytes.Add(-s.v.size())
			s.v = stored{seq: seq, gone: true}
		}
		s.mu.Unlock()
		raise(&j.low, seq)
	}
}

// raise sets a to v unless it is already at or above it.
func raise(a *atomic.Uint64, v uint64) {
	for {
		cur := a.Load()
		if cur >= v || a.CompareAndSwap(cur, v) {
			return
		}
	}
}

// size is the capacity of the buffers v holds.
func (v *stored) size() int64 {
	return int64(cap(v.method) + cap(v.uri) + cap(v.headers) + cap(v.body))
}

// cutHeaders trims a header block that has been cut short back to its last
// complete line, so that no header is reported with half a value. A block
// without a single complete line is kept as it is.
func cutHeaders(h []byte) []byte {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i] == '\n' {
			return h[:i+1]
		}
	}
	return h
}

// Find returns the entries matching f, newest first, at most f.Limit of them
// (all when f.Limit <= 0). The result is never nil, so it encodes as a JSON
// array even when empty.
func (j *Journal) Find(f Filter) []Entry {
	out := []Entry{}
	if j == nil || len(j.slots) == 0 {
		return out
	}
	m := newMatcher(&f)
	// Load low before total: total only grows, so low <= top.
	low := j.low.Load()
	top := j.total.Load()
	if n := uint64(len(j.slots)); top-low > n {
		low = top - n
	}
	var raws []raw
	for seq := top; seq > low; seq-- {
		s := &j.slots[(seq-1)%uint64(len(j.slots))]
		s.mu.Lock()
		// A slot may hold an older record (its Add for seq has not landed
		// yet) or a newer one (lapped while we scanned): skip it either way.
		if s.v.seq == seq && !s.v.gone && m.match(&s.v) {
			raws = append(raws, s.v.snapshot())
		}
		s.mu.Unlock()
		if f.Limit > 0 && len(raws) == f.Limit {
			break
		}
	}
	// The expensive part runs with no lock held.
	out = make([]Entry, len(raws))
	for i := range raws {
		out[i] = raws[i].entry()
	}
	return out
}

// Clear forgets every record added so far and releases the slots' buffers.
// Sequence numbers and Total keep counting from where they were, so a client
// polling by Seq is never confused by a Clear.
func (j *Journal) Clear() {
	if j == nil || len(j.slots) == 0 {
		return
	}
	mark := j.total.Load()
	raise(&j.cleared, mark)
	raise(&j.low, mark)
	for i := range j.slots {
		s := &j.slots[i]
		s.mu.Lock()
		if s.v.seq <= mark {
			if freed := s.v.size(); freed != 0 {
				j.bytes.Add(-freed)
			}
			s.v = stored{seq: s.v.seq, gone: true}
		}
		s.mu.Unlock()
	}
}

// Len returns the number of records the journal holds: the records added
// since the last Clear, up to its capacity. While Adds are in flight it may
// count records whose copy has not finished yet.
func (j *Journal) Len() int {
	if j == nil || len(j.slots) == 0 {
		return 0
	}
	low := j.low.Load()
	n := j.total.Load() - low
	return int(min(n, uint64(len(j.slots))))
}

// Dropped returns how many records the journal has dropped since it was
// last cleared to stay within its capacity or its bound in bytes. While it
// is 0 the journal holds every request since the last Clear, so counts over
// it are exact.
func (j *Journal) Dropped() uint64 {
	if j == nil || len(j.slots) == 0 {
		return 0
	}
	cleared := j.cleared.Load()
	low := j.low.Load()
	top := j.total.Load()
	if n := uint64(len(j.slots)); top > n {
		low = max(low, top-n)
	}
	if low <= cleared {
		return 0
	}
	return low - cleared
}

// Bytes returns the bytes the journal's records hold (the capacity of
// their buffers), which journal-bytes bounds.
func (j *Journal) Bytes() int64 {
	if j == nil {
		return 0
	}
	return j.bytes.Load()
}

// Cap returns the number of records the journal can hold; 0 when disabled.
func (j *Journal) Cap() int {
	if j == nil {
		return 0
	}
	return len(j.slots)
}

// Total returns the number of records ever added, including those since
// overwritten or cleared. Records added to a disabled journal are not
// counted.
func (j *Journal) Total() uint64 {
	if j == nil {
		return 0
	}
	return j.total.Load()
}

// raw is a slot's content copied out under its lock, waiting to become an
// Entry.
type raw struct {
	seq      uint64
	start    time.Time
	dur      time.Duration
	wire     wire
	proto    string
	method   string
	uri      string
	headers  string
	body     string
	bodySize int64
	remote   netip.AddrPort
	cert     *engine.ClientCert
	stub     string
	fault    string
	status   int
	grpc     bool
	grpcStat int
	bytesIn  int64
	bytesOut int64
	uriCut   bool
	hdrCut   bool
}

func (s *stored) snapshot() raw {
	return raw{
		seq:      s.seq,
		start:    s.start,
		dur:      s.dur,
		wire:     s.wire,
		proto:    s.proto,
		method:   string(s.method),
		uri:      string(s.uri),
		headers:  string(s.headers),
		body:     string(s.body),
		bodySize: s.bodySize,
		remote:   s.remote,
		cert:     s.cert,
		stub:     s.stub,
		fault:    s.fault,
		status:   s.status,
		grpc:     s.grpc,
		grpcStat: s.grpcStat,
		bytesIn:  s.bytesIn,
		bytesOut: s.bytesOut,
		uriCut:   s.uriCut,
		hdrCut:   s.hdrCut,
	}
}
