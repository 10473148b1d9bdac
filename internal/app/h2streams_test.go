package app_test

import (
	"testing"

	"github.com/decoy-dev/decoy/internal/config"
)

// TestH2StreamsPerConnection: the streams of each HTTP/2 connection are
// observed when it closes; HTTP/1.1 connections are not.
func TestH2StreamsPerConnection(t *testing.T) {
	t.Parallel()
	for _, eng := range []string{"decoy", "go"} {
		t.Run("http2-engine="+eng, func(t *testing.T) {
			t.Parallel()
			r := startWith(t, injectedStubs(), func(s *config.Settings) { s.HTTP2Engine = eng })
			h2, tlsh2, h1 := r.h2c(), r.tls(true), r.h1("127.0.0.1")
			for range 5 {
				do(t, h2, r.http+"/plain", false)
			}
			for range 3 {
				if resp := do(t, tlsh2, r.https+"/plain", false); resp.ProtoMajor != 2 {
					t.Fatalf("TLS client got HTTP/%d", resp.ProtoMajor)
				}
			}
			for range 4 {
				do(t, h1, r.http+"/plain", false)
			}
			h2.CloseIdleConnections()
			tlsh2.CloseIdleConnections()
			h1.CloseIdleConnections()
			// 3 connections: h2c, TLS h2, HTTP/1.1. Go's HTTP/2 client may
			// open a spare connection that carries no stream; then the
			// histogram has an extra observation of 0.
			// A client may also reopen its HTTP/1.1 connection, so the
			// spare HTTP/2 connections are counted from the histogram and
			// bounded by the connections accepted.
			f, accepted := r.settleAtLeast(t, 3)
			m := f.metric("decoy_h2_streams_per_connection", "")
			if m == nil || m.Histogram == nil {
				t.Fatal("no decoy_h2_streams_per_connection histogram")
			}
			h := m.Histogram
			spare := h.GetSampleCount() - 2
			if h.GetSampleCount() < 2 || spare > uint64(accepted-3) {
				t.Fatalf("decoy_h2_streams_per_connection: %d connections, want 2 and at most %d spare", h.GetSampleCount(), accepted-3)
			}
			if h.GetSampleSum() != 8 {
				t.Errorf("decoy_h2_streams_per_connection: count %d sum %v, want %d connections and 8 streams", h.GetSampleCount(), h.GetSampleSum(), 2+spare)
			}
			for _, b := range h.GetBucket() {
				want := spare
				switch {
				case b.GetUpperBound() >= 5:
					want += 2
				case b.GetUpperBound() >= 3:
					want++
				}
				if b.GetCumulativeCount() != want {
					t.Errorf("bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
				}
			}
			if got := f.value("decoy_requests_per_connection", ""); got != float64(accepted) {
				t.Errorf("decoy_requests_per_connection count %v, want %d", got, accepted)
			}
		})
	}
}
