//go:build linux

package metrics

import (
	"net"
	"testing"
	"time"
)

// TestReadAcceptQueue fills a listener's accept queue without accepting
// and reads it back: TCP_INFO on a listening socket reports the queue in
// tcpi_unacked and the backlog in tcpi_sacked on this kernel.
func TestReadAcceptQueue(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tl := ln.(*net.TCPListener)
	n, limit, err := ReadAcceptQueue(tl)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 || limit <= 0 {
		t.Fatalf("empty listener: length %d, max %d", n, limit)
	}
	const clients = 5
	for range clients {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	// The kernel completes each handshake before the client's Dial
	// returns, so the queue already holds every connection.
	if n, _, err = ReadAcceptQueue(tl); err != nil || n != clients {
		t.Fatalf("after %d connections: length %d, %v", clients, n, err)
	}
	s := NewSaturation(SaturationOptions{CPUs: 1, Listeners: func() []Listener {
		return []Listener{{Name: "http", Socket: tl}, {Name: "none"}, {Name: "grpc", Paused: true}}
	}})
	// A paused listener has no socket: an empty queue of no size.
	if qs := s.AcceptQueues(); len(qs) != 2 || qs[0] != (AcceptQueue{"http", clients, limit}) || qs[1] != (AcceptQueue{"grpc", 0, 0}) {
		t.Errorf("AcceptQueues = %+v", qs)
	}
	// The metrics read the same queues at scrape time.
	reg, err := NewRegistry(Sources{Saturation: s})
	if err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"decoy_accept_queue_length", map[string]string{"listener": "http"}, clients},
		{"decoy_accept_queue_max", map[string]string{"listener": "http"}, float64(limit)},
		{"decoy_accept_queue_length", map[string]string{"listener": "grpc"}, 0},
		{"decoy_accept_queue_max", map[string]string{"listener": "grpc"}, 0},
		{"decoy_saturation_signal", map[string]string{"signal": "accept-queue"}, 0},
		{"decoy_saturated", nil, 0},
	} {
		if got := value(sample(t, fams, tt.name, tt.labels)); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if got := value(sample(t, fams, "decoy_sched_latency_seconds", nil)); got != 0 {
		t.Errorf("scheduling delay %v before it was measured, want 0", got)
	}
	for range clients {
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if n, _, err = ReadAcceptQueue(tl); err != nil || n != 0 {
		t.Errorf("after accepting them: length %d, %v", n, err)
	}
	// A connection is not a listening socket; a closed listener cannot
	// be read.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, _, err := ReadAcceptQueue(c.(*net.TCPConn)); err == nil {
		t.Error("a connected socket read as a listener")
	}
	ln.Close()
	if _, _, err := ReadAcceptQueue(tl); err == nil {
		t.Error("a closed listener read")
	}
}
