package metrics

import (
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for Clients.now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestClients(max int) (*Clients, *fakeClock) {
	clk := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	cs := NewClients(max)
	cs.now = clk.now
	return cs, clk
}

func addr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

// TestClientsBounded: a flood of distinct addresses keeps the map at its
// cap, evicts the least recently seen, and counts every eviction.
func TestClientsBounded(t *testing.T) {
	t.Parallel()
	cs, _ := newTestClients(100)
	keep := netip.MustParseAddr("192.0.2.1")
	for i := range 10000 {
		var c Conn
		cs.Open(&c, addr(i))
		cs.Close(&c, true)
		// A client seen over and over stays.
		var k Conn
		cs.Open(&k, keep)
		cs.Close(&k, true)
	}
	if n := cs.Len(); n != 100 {
		t.Fatalf("%d addresses tracked, want 100", n)
	}
	// 10,000 flood addresses plus keep, minus the 100 kept.
	if n := cs.Evicted(); n != 10001-100 {
		t.Errorf("%d evictions, want %d", n, 10001-100)
	}
	r := cs.Report()
	if len(r.Clients) != 100 || r.Tracked != 100 || r.Capacity != 100 || r.Evicted != 9901 {
		t.Fatalf("report: %d clients, tracked %d, capacity %d, evicted %d", len(r.Clients), r.Tracked, r.Capacity, r.Evicted)
	}
	if r.Clients[0].Address != keep.String() || r.Clients[0].Connections != 10000 {
		t.Errorf("first client %s with %d connections, want %s with 10000", r.Clients[0].Address, r.Clients[0].Connections, keep)
	}
	found := map[string]bool{}
	for _, c := range r.Clients {
		found[c.Address] = true
	}
	// The newest 99 flood addresses are the ones left.
	for i := 10000 - 99; i < 10000; i++ {
		if !found[addr(i).String()] {
			t.Fatalf("recent address %s was evicted", addr(i))
		}
	}
}

// TestClientsEvictedWhileOpen: a connection whose address was evicted can
// still close, and does not bring the address back.
func TestClientsEvictedWhileOpen(t *testing.T) {
	t.Parallel()
	cs, _ := newTestClients(1)
	var a, b Conn
	cs.Open(&a, addr(1))
	cs.Open(&b, addr(2)) // evicts addr(1)
	a.Requests[HTTP11].Add(3)
	cs.Close(&a, true)
	r := cs.Report()
	if len(r.Clients) != 1 || r.Clients[0].Address != addr(2).String() || r.Evicted != 1 {
		t.Fatalf("report %+v", r)
	}
}

// conns simulates n connections from one address, each carrying perConn
// requests of HTTP version v; asked says each request asked to close.
type traffic struct {
	conns, perConn int
	version        int
	asked          bool
	tls, resumed   bool
	parallel       bool // all open at once before any closes
}

func (tr traffic) run(cs *Clients, a netip.Addr) {
	open := make([]*Conn, 0, tr.conns)
	for range tr.conns {
		c := new(Conn)
		cs.Open(c, a)
		if tr.tls {
			cs.Handshake(c, true, tr.resumed)
		}
		for range tr.perConn {
			c.Requests[tr.version].Add(1)
			if tr.asked {
				c.AskedClose.Add(1)
				if tr.version == HTTP10 {
					c.HTTP10Close.Add(1)
				}
			}
		}
		if tr.parallel {
			open = append(open, c)
			continue
		}
		cs.Close(c, tr.asked)
	}
	for _, c := range open {
		cs.Close(c, true)
	}
}

func TestFindings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		traffic traffic
		want    []string // finding kinds, in order
		inMsg   []string // substrings of the messages
	}{
		{"keep-alive reuse", traffic{conns: 1, perConn: 500, version: HTTP11}, nil, nil},
		{"a few single requests", traffic{conns: MinEvidence - 1, perConn: 1, version: HTTP11, asked: true}, nil, nil},
		{"connection per request", traffic{conns: 20, perConn: 1, version: HTTP11, asked: true},
			[]string{FindingConnPerRequest}, []string{"opened 20 connections for 20 requests", "keep-alive", "20 requests asked for Connection: close"}},
		{"TLS handshake per request", traffic{conns: 12, perConn: 1, version: HTTP11, tls: true},
			[]string{FindingConnPerRequest, FindingTLSPerRequest}, []string{"12 TLS handshakes for 12 requests", "none resumed"}},
		{"TLS resumed but still per request", traffic{conns: 12, perConn: 1, version: HTTP2, tls: true, resumed: true},
			[]string{FindingConnPerRequest, FindingTLSPerRequest}, []string{"12 of them resumed"}},
		{"TLS with reuse", traffic{conns: 12, perConn: 10, version: HTTP2, tls: true}, nil, nil},
		{"HTTP/1.0 without keep-alive", traffic{conns: 15, perConn: 1, version: HTTP10, asked: true},
			[]string{FindingConnPerRequest, FindingHTTP10}, []string{"15 HTTP/1.0 requests without keep-alive"}},
		{"seven parallel connections", traffic{conns: 7, perConn: 100, version: HTTP11, parallel: true},
			[]string{FindingParallel}, []string{"up to 7 connections open at once"}},
		{"six parallel connections", traffic{conns: 6, perConn: 100, version: HTTP11, parallel: true}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cs, _ := newTestClients(0)
			a := netip.MustParseAddr("192.0.2.7")
			tt.traffic.run(cs, a)
			r := cs.Report()
			if len(r.Clients) != 1 {
				t.Fatalf("%d clients", len(r.Clients))
			}
			c := r.Clients[0]
			var kinds []string
			var msgs strings.Builder
			for _, f := range c.Findings {
				kinds = append(kinds, f.Kind)
				msgs.WriteString(f.Message + "\n")
				if f.Fix == "" || !strings.HasPrefix(f.Message, "192.0.2.7 ") {
					t.Errorf("finding %+v: want a fix, and a message naming the address", f)
				}
			}
			if strings.Join(kinds, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("findings %v, want %v\n%s", kinds, tt.want, msgs.String())
			}
			for _, s := range tt.inMsg {
				if !strings.Contains(msgs.String(), s) {
					t.Errorf("messages lack %q:\n%s", s, msgs.String())
				}
			}
			wantReqs := uint64(tt.traffic.conns * tt.traffic.perConn)
			if c.Requests != wantReqs || c.Connections != uint64(tt.traffic.conns) {
				t.Errorf("%d requests on %d connections, want %d on %d", c.Requests, c.Connections, wantReqs, tt.traffic.conns)
			}
			if want := float64(tt.traffic.perConn); c.ReuseRatio != want {
				t.Errorf("reuse ratio %v, want %v", c.ReuseRatio, want)
			}
		})
	}
}

// TestReportLive: requests on connections still open are reported, and the
// rate runs to now while a connection is open.
func TestReportLive(t *testing.T) {
	t.Parallel()
	cs, clk := newTestClients(0)
	a := netip.MustParseAddr("::ffff:127.0.0.9") // reported unmapped
	var c Conn
	cs.Open(&c, a)
	c.Requests[HTTP11].Add(40)
	clk.add(4 * time.Second)
	r := cs.Report().Clients[0]
	if r.Address != "127.0.0.9" || r.Requests != 40 || r.OpenConnections != 1 || r.RequestsPerSecond != 10 || r.HTTPVersions.HTTP11 != 40 {
		t.Fatalf("live report %+v", r)
	}
	cs.Close(&c, false)
	clk.add(time.Hour)
	r = cs.Report().Clients[0]
	if r.Requests != 40 || r.OpenConnections != 0 || r.ClosedByServer != 1 || r.RequestsPerSecond != 10 {
		t.Fatalf("after close %+v", r)
	}
}

func TestNilClients(t *testing.T) {
	t.Parallel()
	var cs *Clients
	var c Conn
	cs.Open(&c, addr(1))
	cs.Handshake(&c, true, false)
	cs.Close(&c, true)
	if r := cs.Report(); r.Clients == nil || len(r.Clients) != 0 || cs.Len() != 0 || cs.Evicted() != 0 {
		t.Fatalf("nil Clients report %+v", r)
	}
}
