package grpcfront_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestWatchEndsAtShutdown: open health watches get NOT_SERVING at
// shutdown and then end with UNAVAILABLE (a watch of an unknown service
// at once), so that shutdown does not wait for them until its timeout.
func TestWatchEndsAtShutdown(t *testing.T) {
	t.Parallel()
	s := start(t, "")
	hc := healthpb.NewHealthClient(s.conn)
	type watch struct {
		svc   string
		first healthpb.HealthCheckResponse_ServingStatus
		w     healthpb.Health_WatchClient
	}
	watches := []*watch{
		{svc: "", first: healthpb.HealthCheckResponse_SERVING},
		{svc: "shop.v1.Users", first: healthpb.HealthCheckResponse_SERVING},
		{svc: "no.Such", first: healthpb.HealthCheckResponse_SERVICE_UNKNOWN},
	}
	for _, w := range watches {
		var err error
		if w.w, err = hc.Watch(ctx(t), &healthpb.HealthCheckRequest{Service: w.svc}); err != nil {
			t.Fatal(err)
		}
		if r, err := w.w.Recv(); err != nil || r.Status != w.first {
			t.Fatalf("%q: %v, %v; want %v", w.svc, r, err, w.first)
		}
	}
	done := make(chan error, 1)
	go func() {
		c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- s.front.Shutdown(c)
	}()
	for _, w := range watches {
		var got []healthpb.HealthCheckResponse_ServingStatus
		for {
			r, err := w.w.Recv()
			if err != nil {
				if status.Code(err) != codes.Unavailable {
					t.Errorf("%q: ended with %v, want UNAVAILABLE", w.svc, err)
				}
				break
			}
			got = append(got, r.Status)
		}
		if w.first == healthpb.HealthCheckResponse_SERVING && (len(got) != 1 || got[0] != healthpb.HealthCheckResponse_NOT_SERVING) {
			t.Errorf("%q: got %v after SERVING, want NOT_SERVING", w.svc, got)
		}
	}
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v (it waited for the watches)", err)
	}
}
