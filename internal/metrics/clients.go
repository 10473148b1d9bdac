package metrics

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// DefaultMaxClients is how many client addresses Clients tracks unless
// told otherwise.
const DefaultMaxClients = 1024

// MinEvidence is how many connections (or requests) a client needs before
// a finding about it is reported: a single curl is not an anti-pattern.
const MinEvidence = 10

// MaxParallel is the number of connections one client may hold open at
// once before it is flagged: what a browser allows per host over HTTP/1.1.
const MaxParallel = 6

// Clients tracks how each client address uses its connections: opened,
// open at once, closed by whom, requests served, TLS handshakes, HTTP
// versions. It is updated when a connection opens, finishes its TLS
// handshake and closes, never per request (per-request counts stay in the
// connection's Conn until it closes). It holds at most a fixed number of
// addresses and evicts the least recently seen beyond that, counting the
// evictions. All methods are safe for concurrent use, and do nothing on a
// nil *Clients.
type Clients struct {
	mu         sync.Mutex
	max        int
	m          map[netip.Addr]*client
	head, tail *client // most recently seen first
	evicted    uint64
	now        func() time.Time
}

// client is one address. Fields are guarded by Clients.mu.
type client struct {
	addr        netip.Addr
	prev, next  *client
	first, last time.Time

	conns, open, peak uint64
	closedBy          [2]uint64 // by client, by server
	singleUse         uint64    // connections closed after exactly one request (not upgraded)
	tlsOK, tlsResumed uint64
	tlsFailed         uint64

	// Counters of the closed connections; the open ones are in live.
	reqs                    [NumHTTPVersions]uint64
	askedClose, http10Close uint64
	live                    *Conn
}

// NewClients returns a tracker of at most max addresses (DefaultMaxClients
// when max is 0 or less).
func NewClients(max int) *Clients {
	if max <= 0 {
		max = DefaultMaxClients
	}
	return &Clients{max: max, m: make(map[netip.Addr]*client), now: time.Now}
}

// Open counts a connection opened by addr; c keeps that connection's
// counters until Close.
func (cs *Clients) Open(c *Conn, addr netip.Addr) {
	if cs == nil {
		return
	}
	addr = addr.Unmap()
	now := cs.now()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cl := cs.m[addr]
	if cl == nil {
		cl = &client{addr: addr, first: now}
		cs.m[addr] = cl
		cs.pushFront(cl)
		for len(cs.m) > cs.max {
			old := cs.tail
			cs.unlink(old)
			delete(cs.m, old.addr)
			cs.evicted++
		}
	} else {
		cs.moveToFront(cl)
	}
	cl.last = now
	cl.conns++
	cl.open++
	cl.peak = max(cl.peak, cl.open)
	c.client = cl
	c.prev, c.next = nil, cl.live
	if cl.live != nil {
		cl.live.prev = c
	}
	cl.live = c
}

// Handshake counts a TLS handshake on c: ok or failed, and whether it
// resumed an earlier session.
func (cs *Clients) Handshake(c *Conn, ok, resumed bool) {
	if cs == nil {
		return
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cl := c.client
	if cl == nil {
		return
	}
	switch {
	case !ok:
		cl.tlsFailed++
	case resumed:
		cl.tlsOK++
		cl.tlsResumed++
	default:
		cl.tlsOK++
	}
}

// Close counts the end of connection c, which Open counted; byClient
// says whether the client ended it. An address evicted meanwhile is
// updated all the same, and stays evicted.
func (cs *Clients) Close(c *Conn, byClient bool) {
	if cs == nil {
		return
	}
	now := cs.now()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cl := c.client
	if cl == nil {
		return
	}
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		cl.live = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	}
	c.client, c.prev, c.next = nil, nil, nil
	var n uint64
	for i := range c.Requests {
		v := c.Requests[i].Load()
		cl.reqs[i] += v
		n += v
	}
	if n == 1 && !c.Upgraded.Load() {
		cl.singleUse++
	}
	cl.askedClose += c.AskedClose.Load()
	cl.http10Close += c.HTTP10Close.Load()
	cl.open--
	if byClient {
		cl.closedBy[0]++
	} else {
		cl.closedBy[1]++
	}
	cl.last = now
	if cs.m[cl.addr] == cl {
		cs.moveToFront(cl)
	}
}

// Len is the number of addresses tracked.
func (cs *Clients) Len() int {
	if cs == nil {
		return 0
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.m)
}

// Cap is the largest number of addresses tracked.
func (cs *Clients) Cap() int {
	if cs == nil {
		return 0
	}
	return cs.max
}

// Evicted counts the addresses dropped to stay within Cap.
func (cs *Clients) Evicted() uint64 {
	if cs == nil {
		return 0
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.evicted
}

func (cs *Clients) pushFront(cl *client) {
	cl.prev, cl.next = nil, cs.head
	if cs.head != nil {
		cs.head.prev = cl
	}
	cs.head = cl
	if cs.tail == nil {
		cs.tail = cl
	}
}

func (cs *Clients) unlink(cl *client) {
	if cl.prev != nil {
		cl.prev.next = cl.next
	} else {
		cs.head = cl.next
	}
	if cl.next != nil {
		cl.next.prev = cl.prev
	} else {
		cs.tail = cl.prev
	}
	cl.prev, cl.next = nil, nil
}

func (cs *Clients) moveToFront(cl *client) {
	if cs.head == cl {
		return
	}
	cs.unlink(cl)
	cs.pushFront(cl)
}

// Report is what GET /clients returns: how each client address used its
// connections, with the anti-patterns found.
type Report struct {
	// Clients are sorted by connections opened, most first.
	Clients []ClientReport `json:"clients"`
	// Tracked is the number of addresses tracked, at most Capacity;
	// Evicted counts those dropped (the least recently seen) to stay
	// within it.
	Tracked  int    `json:"tracked"`
	Capacity int    `json:"capacity"`
	Evicted  uint64 `json:"evicted"`
}

// ClientReport describes one client address.
type ClientReport struct {
	Address   string    `json:"address"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
	// Connections counts connections opened; OpenConnections those open
	// now, PeakOpenConnections the most open at once.
	Connections         uint64 `json:"connections"`
	OpenConnections     uint64 `json:"openConnections"`
	PeakOpenConnections uint64 `json:"peakOpenConnections"`
	ClosedByClient      uint64 `json:"closedByClient"`
	ClosedByServer      uint64 `json:"closedByServer"`
	// SingleUseConnections counts connections closed after exactly one
	// request, not counting those it upgraded to a WebSocket.
	SingleUseConnections uint64 `json:"singleUseConnections"`
	// Requests counts requests answered, on open connections too.
	Requests uint64 `json:"requests"`
	// ReuseRatio is Requests / Connections: 1 means a connection per
	// request; a client that keeps connections alive has far more.
	ReuseRatio float64 `json:"reuseRatio"`
	// RequestsPerSecond is the average rate between first seen and last
	// seen (or now, while a connection is open); 0 under a second.
	RequestsPerSecond float64  `json:"requestsPerSecond"`
	HTTPVersions      Versions `json:"httpVersions"`
	// ConnectionCloseRequests counts requests that asked to close their
	// connection (Connection: close, or HTTP/1.0 without keep-alive);
	// HTTP10NoKeepAlive those of them that were HTTP/1.0.
	ConnectionCloseRequests uint64 `json:"connectionCloseRequests"`
	HTTP10NoKeepAlive       uint64 `json:"http10NoKeepAlive"`
	// TLSHandshakes counts completed handshakes, TLSResumed those that
	// resumed a session, TLSFailed the failed ones.
	TLSHandshakes uint64    `json:"tlsHandshakes"`
	TLSResumed    uint64    `json:"tlsResumed"`
	TLSFailed     uint64    `json:"tlsFailed"`
	Findings      []Finding `json:"findings"`
}

// Versions counts requests by HTTP version.
type Versions struct {
	HTTP10 uint64 `json:"1.0"`
	HTTP11 uint64 `json:"1.1"`
	HTTP2  uint64 `json:"2"`
}

// Finding is an anti-pattern seen in a client's use of connections: what
// was seen, in a sentence, and how to fix the client.
type Finding struct {
	// Kind is one of the Finding* constants.
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

// Kinds of findings.
const (
	FindingConnPerRequest = "connection-per-request"
	FindingTLSPerRequest  = "tls-handshake-per-request"
	FindingHTTP10         = "http10-without-keep-alive"
	FindingParallel       = "too-many-parallel-connections"
)

// Report describes every tracked address.
func (cs *Clients) Report() Report {
	if cs == nil {
		return Report{Clients: []ClientReport{}}
	}
	now := cs.now()
	cs.mu.Lock()
	out := Report{Clients: make([]ClientReport, 0, len(cs.m)), Tracked: len(cs.m), Capacity: cs.max, Evicted: cs.evicted}
	for cl := cs.head; cl != nil; cl = cl.next {
		out.Clients = append(out.Clients, cl.report(now))
	}
	cs.mu.Unlock()
	slices.SortStableFunc(out.Clients, func(a, b ClientReport) int {
		if c := cmp.Compare(b.Connections, a.Connections); c != 0 {
			return c
		}
		return cmp.Compare(a.Address, b.Address)
	})
	return out
}

// report builds the description of cl; Clients.mu is held.
func (cl *client) report(now time.Time) ClientReport {
	reqs := cl.reqs
	asked, h10 := cl.askedClose, cl.http10Close
	for c := cl.live; c != nil; c = c.next {
		for i := range c.Requests {
			reqs[i] += c.Requests[i].Load()
		}
		asked += c.AskedClose.Load()
		h10 += c.HTTP10Close.Load()
	}
	r := ClientReport{
		Address:                 cl.addr.String(),
		FirstSeen:               cl.first.UTC(),
		LastSeen:                cl.last.UTC(),
		Connections:             cl.conns,
		OpenConnections:         cl.open,
		PeakOpenConnections:     cl.peak,
		ClosedByClient:          cl.closedBy[0],
		ClosedByServer:          cl.closedBy[1],
		SingleUseConnections:    cl.singleUse,
		Requests:                reqs[HTTP10] + reqs[HTTP11] + reqs[HTTP2],
		HTTPVersions:            Versions{HTTP10: reqs[HTTP10], HTTP11: reqs[HTTP11], HTTP2: reqs[HTTP2]},
		ConnectionCloseRequests: asked,
		HTTP10NoKeepAlive:       h10,
		TLSHandshakes:           cl.tlsOK,
		TLSResumed:              cl.tlsResumed,
		TLSFailed:               cl.tlsFailed,
	}
	if r.Connections > 0 {
		r.ReuseRatio = round2(float64(r.Requests) / float64(r.Connections))
	}
	end := cl.last
	if cl.open > 0 {
		end = now
	}
	if span := end.Sub(cl.first).Seconds(); span >= 1 {
		r.RequestsPerSecond = round2(float64(r.Requests) / span)
	}
	r.Findings = findings(&r)
	return r
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// Findings lists the anti-patterns r shows, judged on its counts alone.
// Each needs MinEvidence connections or requests, so that a handful of
// requests is never flagged. The supervisor of --workers judges a client's
// merged counts with it.
func Findings(r *ClientReport) []Finding { return findings(r) }

// findings lists the anti-patterns r shows. Each needs MinEvidence
// connections or requests, so that a handful of requests is never flagged.
func findings(r *ClientReport) []Finding {
	out := []Finding{}
	closed := r.ClosedByClient + r.ClosedByServer
	if r.SingleUseConnections >= MinEvidence && 2*r.SingleUseConnections >= closed {
		msg := fmt.Sprintf("%s opened %d connections for %d requests, and %d of them carried a single request before closing: the client does not reuse connections (keep-alive); expect TIME_WAIT build-up and a TCP handshake per request",
			r.Address, r.Connections, r.Requests, r.SingleUseConnections)
		if r.ConnectionCloseRequests >= r.SingleUseConnections/2 {
			msg += fmt.Sprintf(" (%d requests asked for Connection: close)", r.ConnectionCloseRequests)
		}
		out = append(out, Finding{Kind: FindingConnPerRequest, Message: msg,
			Fix: "Keep connections alive and reuse them: one HTTP client (one connection pool) for the whole run, no Connection: close header. For example one shared http.Client in Go, one OkHttpClient on Android, a requests.Session in Python, ab with -k."})
	}
	if r.TLSHandshakes >= MinEvidence && 2*r.TLSHandshakes >= r.Requests {
		msg := fmt.Sprintf("%s made %d TLS handshakes for %d requests: a TLS handshake per request (or nearly), which costs round trips and CPU on both sides", r.Address, r.TLSHandshakes, r.Requests)
		if r.TLSResumed > 0 {
			msg += fmt.Sprintf("; %d of them resumed a session", r.TLSResumed)
		} else {
			msg += "; none resumed a session"
		}
		out = append(out, Finding{Kind: FindingTLSPerRequest, Message: msg,
			Fix: "Keep TLS connections alive and reuse them, and let the client resume TLS sessions (session tickets or a session cache, e.g. tls.Config.ClientSessionCache in Go) so that a new connection does not cost a full handshake."})
	}
	if r.HTTP10NoKeepAlive >= MinEvidence {
		out = append(out, Finding{Kind: FindingHTTP10,
			Message: fmt.Sprintf("%s sent %d HTTP/1.0 requests without keep-alive: every request opens and closes a connection", r.Address, r.HTTP10NoKeepAlive),
			Fix:     "Use HTTP/1.1 (keep-alive by default) or HTTP/2; if the tool only speaks HTTP/1.0, turn keep-alive on (Connection: keep-alive; ab -k)."})
	}
	if r.PeakOpenConnections > MaxParallel {
		out = append(out, Finding{Kind: FindingParallel,
			Message: fmt.Sprintf("%s held up to %d connections open at once, more than the %d a browser opens to one host over HTTP/1.1 (and the 1 it needs over HTTP/2)", r.Address, r.PeakOpenConnections, MaxParallel),
			Fix:     "Expected from a load generator that simulates many users. A single real client should bound its pool: at most 6 connections per host over HTTP/1.1 (MaxConnsPerHost in Go, Dispatcher.maxRequestsPerHost in OkHttp), or one multiplexed HTTP/2 connection."})
	}
	return out
}
