package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/stub"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// TestGRPCGeneratedDelay: a call no stub answers (a generated message)
// waits like a stubbed one: the global latency, or the delay asked in
// x-decoy-delay, and a malformed x-decoy-delay is INVALID_ARGUMENT. Only
// lower bounds on the time are checked, so a slow machine cannot fail it.
func TestGRPCGeneratedDelay(t *testing.T) {
	t.Parallel()
	const wait = 300 * time.Millisecond
	tests := []struct {
		name    string
		latency time.Duration // the global latency; 0: none
		delay   string        // x-decoy-delay; "": not sent
		code    codes.Code
		atLeast time.Duration
	}{
		{name: "no delay", code: codes.OK},
		{name: "delay header", delay: "300ms", code: codes.OK, atLeast: wait},
		{name: "delay header in ms", delay: "300", code: codes.OK, atLeast: wait},
		{name: "malformed delay header", delay: "banana", code: codes.InvalidArgument},
		{name: "global latency", latency: wait, code: codes.OK, atLeast: wait},
		{name: "delay header replaces the global latency", latency: time.Hour, delay: "1ms", code: codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var opts []engine.Option
			if tt.latency > 0 {
				d := stub.Duration(tt.latency)
				opts = append(opts, engine.WithLatency(&stub.Latency{Fixed: &d}))
			}
			addr := startGRPC(t, func(s *config.Settings) { s.HTTP, s.HTTPS, s.Admin, s.GRPC = "", "", "", "127.0.0.1:0" }, opts...).GRPCAddr.String()
			cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if tt.delay != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "x-decoy-delay", tt.delay)
			}
			start := time.Now()
			// No stub: an empty GetUserRequest gets a generated user.
			err = cc.Invoke(ctx, "/decoy.demo.v1.Users/GetUser", &emptypb.Empty{}, &emptypb.Empty{})
			elapsed := time.Since(start)
			if got := status.Code(err); got != tt.code {
				t.Fatalf("status %v (%v), want %v", got, err, tt.code)
			}
			if elapsed < tt.atLeast {
				t.Errorf("answered in %v, want at least %v", elapsed, tt.atLeast)
			}
		})
	}
}
