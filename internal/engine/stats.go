package engine

import (
	"sync/atomic"
	"time"

	"github.com/decoy-dev/decoy/internal/behave"
)

// OverheadBounds are the upper bounds (inclusive) of the buckets of the
// processing-time histogram: a 1-2-5 series from 1µs to 100ms, so that the
// 100µs target is a bucket bound. Times above the last bound fall in a
// final +Inf bucket.
var OverheadBounds = [...]time.Duration{
	1 * time.Microsecond, 2 * time.Microsecond, 5 * time.Microsecond,
	10 * time.Microsecond, 20 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 200 * time.Microsecond, 500 * time.Microsecond,
	1 * time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond,
}

// NumOverheadBuckets is the number of histogram buckets, +Inf included.
const NumOverheadBuckets = len(OverheadBounds) + 1

// Stats counts what one stub (or, on the Engine, the requests no stub
// matched) has served: requests by response, body bytes in and out, and a
// histogram of decoy's own processing time. Every field is a plain atomic
// counter, so Record takes no lock and allocates nothing. A compiled Stub
// refers to its Stats by pointer; a stub carried unchanged into a new
// snapshot keeps them, a stub compiled again starts from zero.
type Stats struct {
	byResp   []atomic.Uint64 // requests answered with Responses()[i]; unused with one response
	bytesIn  atomic.Uint64
	bytesOut atomic.Uint64
	sumNs    atomic.Uint64
	buckets  [NumOverheadBuckets]atomic.Uint64
	upload   uploadStats
	delayNs  atomic.Uint64                // injected delay, summed
	faults   [NumFaultKinds]atomic.Uint64 // faults injected, by behave.FaultKind

	// status is the compiled status of each response (nil: not known, as
	// for the unmatched requests). A request answered with another status
	// (a WebSocket handshake's 101 where the compiled response is the
	// 426, an error fault's 503, a refused handshake's 400) is counted in
	// others by that status instead, so that decoy_requests_total shows
	// the status the client got, as the journal does.
	status []int
	others [maxOtherStatuses]statusCount
	// unanswered counts the requests that got no status at all (a reset,
	// empty, garbage, malformed or hang fault, a connection closed
	// unanswered at shutdown): status 0.
	unanswered atomic.Uint64
}

// maxOtherStatuses bounds the distinct statuses a stub counts besides
// its responses' own. A WebSocket stub has a handful (101, 400, 426,
// 503, a fault's); beyond the bound a request counts under its response.
const maxOtherStatuses = 8

// statusCount counts requests answered with one status; code 0 is a free
// slot.
type statusCount struct {
	code atomic.Int32
	n    atomic.Uint64
}

// NumFaultKinds bounds the behave.FaultKind values: Faults in InjectedView
// is indexed by kind, index 0 unused.
const NumFaultKinds = int(behave.FaultError) + 1

// RecordInjected counts what a front door injected into one call: delay,
// the latency drawn (or requested with X-Decoy-Delay), and fault, the
// kind of fault applied (0: none). A nil Stats records nothing.
func (s *Stats) RecordInjected(delay time.Duration, fault behave.FaultKind) {
	if s == nil {
		return
	}
	if delay > 0 {
		s.delayNs.Add(uint64(delay))
	}
	if fault != 0 && int(fault) < NumFaultKinds {
		s.faults[fault].Add(1)
	}
}

// InjectedView is a copy of a stub's injected delay and fault counters.
type InjectedView struct {
	// Delay is the injected delay summed over calls.
	Delay time.Duration
	// Faults counts faults by behave.FaultKind (index 0 unused).
	Faults [NumFaultKinds]uint64
}

// ReadInjected copies the injected delay and fault counters.
func (s *Stats) ReadInjected() InjectedView {
	if s == nil {
		return InjectedView{}
	}
	v := InjectedView{Delay: time.Duration(s.delayNs.Load())}
	for i := range v.Faults {
		v.Faults[i] = s.faults[i].Load()
	}
	return v
}

// newStats returns zeroed statistics for a stub with n responses.
func newStats(n int) *Stats {
	return &Stats{byResp: make([]atomic.Uint64, max(n, 1))}
}

// RecordStatus is Record for a request answered with status, which may
// differ from the compiled status of response resp; 0 for a request that
// got no status (counted as status 0 in StatsView.Others). It costs
// Record's price plus one comparison when the status is the compiled one.
func (s *Stats) RecordStatus(resp, status, bytesIn, bytesOut int, overhead time.Duration) {
	if s == nil {
		return
	}
	if uint(resp) < uint(len(s.status)) && s.status[resp] == status {
		s.Record(resp, bytesIn, bytesOut, overhead)
		return
	}
	if status == 0 {
		s.record(bytesIn, bytesOut, overhead)
		s.unanswered.Add(1)
		return
	}
	if uint(resp) >= uint(len(s.status)) || status < 0 {
		s.Record(resp, bytesIn, bytesOut, overhead)
		return
	}
	// The histogram first, then others: Read relies on that order. When
	// every slot of others is taken, the request counts under resp.
	s.record(bytesIn, bytesOut, overhead)
	if !s.countOther(status) && len(s.byResp) > 1 {
		s.byResp[resp].Add(1)
	}
}

// countOther finds or takes the slot of status in others and counts one
// request there; false when every slot holds another status.
func (s *Stats) countOther(status int) bool {
	code := int32(status)
	for i := range s.others {
		o := &s.others[i]
		c := o.code.Load()
		if c == 0 && o.code.CompareAndSwap(0, code) {
			c = code
		} else if c == 0 {
			c = o.code.Load() // another status or this one took it meanwhile
		}
		if c == code {
			o.n.Add(1)
			return true
		}
	}
	return false
}

// Record counts one request answered with response index resp (as Pick
// returns it; 0 for unmatched requests), bytesIn body bytes received,
// bytesOut body bytes sent, and overhead spent by decoy on it (injected
// delay excluded). A nil Stats records nothing.
func (s *Stats) Record(resp, bytesIn, bytesOut int, overhead time.Duration) {
	if s == nil {
		return
	}
	// With one response, the histogram's count is the request count.
	if len(s.byResp) > 1 && uint(resp) < uint(len(s.byResp)) {
		s.byResp[resp].Add(1)
	}
	s.record(bytesIn, bytesOut, overhead)
}

// AddSent counts n more response body bytes sent, for a front door that
// counts a body as it goes out rather than when the request is recorded
// (then it passes 0 bytes out to Record). A nil Stats records nothing.
func (s *Stats) AddSent(n int) {
	if s == nil || n <= 0 {
		return
	}
	s.bytesOut.Add(uint64(n))
}

// record counts a request's body bytes and processing time.
func (s *Stats) record(bytesIn, bytesOut int, overhead time.Duration) {
	if bytesIn > 0 {
		s.bytesIn.Add(uint64(bytesIn))
	}
	if bytesOut > 0 {
		s.bytesOut.Add(uint64(bytesOut))
	}
	if overhead < 0 {
		overhead = 0
	}
	s.sumNs.Add(uint64(overhead))
	s.buckets[overheadBucket(overhead)].Add(1)
}

// Count is the number of requests counted, the sum of
// decoy_requests_total over codes, read without allocating: every request
// is in the processing-time histogram.
func (s *Stats) Count() uint64 {
	if s == nil {
		return 0
	}
	var n uint64
	for i := range s.buckets {
		n += s.buckets[i].Load()
	}
	return n
}

// overheadBucket is the index of the histogram bucket for d. Most requests
// take a few microseconds, so a scan from the smallest bound ends at once.
func overheadBucket(d time.Duration) int {
	for i, b := range OverheadBounds {
		if d <= b {
			return i
		}
	}
	return len(OverheadBounds)
}

// StatsView is a copy of Stats at one moment.
type StatsView struct {
	// Responses counts requests by response index (see Stub.Responses),
	// answered with that response's status.
	Responses []uint64
	// Others counts the requests answered with another status, by
	// status (see RecordStatus).
	Others []StatusCount
	// BytesIn and BytesOut count request and response body bytes.
	BytesIn, BytesOut uint64
	// Overhead counts requests by processing-time bucket (not cumulative):
	// Overhead[i] for times up to OverheadBounds[i], the last for larger.
	Overhead [NumOverheadBuckets]uint64
	// OverheadSum is the total processing time.
	OverheadSum time.Duration
}

// StatusCount is a number of requests answered with one status.
type StatusCount struct {
	Status int
	N      uint64
}

// Requests is the number of requests counted.
func (v *StatsView) Requests() uint64 {
	var n uint64
	for _, c := range v.Responses {
		n += c
	}
	for _, o := range v.Others {
		n += o.N
	}
	return n
}

// Read copies the counters. Requests recorded while it runs may be counted
// in some fields and not yet in others.
func (s *Stats) Read() StatsView {
	if s == nil {
		return StatsView{}
	}
	v := StatsView{
		Responses:   make([]uint64, len(s.byResp)),
		BytesIn:     s.bytesIn.Load(),
		BytesOut:    s.bytesOut.Load(),
		OverheadSum: time.Duration(s.sumNs.Load()),
	}
	// Others before the histogram: a request is in the histogram before
	// it is in others, so the histogram's count is never below theirs.
	var other uint64
	if n := s.unanswered.Load(); n > 0 {
		v.Others = append(v.Others, StatusCount{Status: 0, N: n})
		other += n
	}
	for i := range s.others {
		o := &s.others[i]
		if c := o.code.Load(); c != 0 {
			if n := o.n.Load(); n > 0 {
				v.Others = append(v.Others, StatusCount{Status: int(c), N: n})
				other += n
			}
		}
	}
	var n uint64
	for i := range s.buckets {
		v.Overhead[i] = s.buckets[i].Load()
		n += v.Overhead[i]
	}
	if len(s.byResp) == 1 {
		v.Responses[0] = n - min(other, n)
	} else {
		for i := range s.byResp {
			v.Responses[i] = s.byResp[i].Load()
		}
	}
	return v
}

// UploadRateBounds are the upper bounds (inclusive), in bytes per second,
// of the buckets of the upload throughput histogram: powers of 4 from
// 64 KiB/s to 4 GiB/s, then a final +Inf bucket.
var UploadRateBounds = [...]float64{
	64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20, 256 << 20, 1 << 30, 4 << 30,
}

// NumUploadBuckets is the number of throughput buckets, +Inf included.
const NumUploadBuckets = len(UploadRateBounds) + 1

// uploadStats count the uploads a stub discarded.
type uploadStats struct {
	bytes   atomic.Uint64
	nanos   atomic.Uint64
	sumRate atomic.Uint64 // bytes per second, summed over uploads
	buckets [NumUploadBuckets]atomic.Uint64
}

// UploadView is a copy of a stub's upload counters.
type UploadView struct {
	// Bytes is the total size of the uploads discarded; Duration the
	// time spent reading them.
	Bytes    uint64
	Duration time.Duration
	// Rates counts uploads by throughput bucket (not cumulative), as
	// UploadRateBounds; RateSum is the sum of their throughputs in B/s.
	Rates   [NumUploadBuckets]uint64
	RateSum uint64
}

// RecordUpload counts one discarded upload of n bytes read in d. A nil
// Stats records nothing.
func (s *Stats) RecordUpload(n int64, d time.Duration) {
	if s == nil || n < 0 {
		return
	}
	u := &s.upload
	u.bytes.Add(uint64(n))
	u.nanos.Add(uint64(max(d, 0)))
	rate := UploadRate(n, d)
	u.sumRate.Add(uint64(rate))
	i := 0
	for i < len(UploadRateBounds) && rate > UploadRateBounds[i] {
		i++
	}
	u.buckets[i].Add(1)
}

// UploadRate is the throughput of n bytes read in d, in bytes per second
// (d is taken as at least a microsecond).
func UploadRate(n int64, d time.Duration) float64 {
	return float64(n) / max(d, time.Microsecond).Seconds()
}

// ReadUploads copies the upload counters.
func (s *Stats) ReadUploads() UploadView {
	if s == nil {
		return UploadView{}
	}
	v := UploadView{
		Bytes:    s.upload.bytes.Load(),
		Duration: time.Duration(s.upload.nanos.Load()),
		RateSum:  s.upload.sumRate.Load(),
	}
	for i := range v.Rates {
		v.Rates[i] = s.upload.buckets[i].Load()
	}
	return v
}
