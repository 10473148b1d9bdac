package grpcfront

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// healthServer is grpc-go's health service, except that a Watch ends at
// shutdown with UNAVAILABLE once it has sent NOT_SERVING (at once, for a
// service the server does not know, which gets no NOT_SERVING). grpc-go's
// own Watch stays open until the client leaves, so a graceful stop would
// wait for every watcher until the shutdown timeout.
type healthServer struct {
	*health.Server
	stopping context.Context // done when Shutdown begins
}

var errShuttingDown = status.Error(codes.Unavailable, "decoy is shutting down")

// healthName is what errSubtype names.
const healthName = "grpc.health.v1.Health"

// Check is grpc-go's, for protobuf calls only: decoy's codec reads and
// writes the messages of health and reflection as protobuf.
func (h healthServer) Check(ctx context.Context, in *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if kind, sub := contentSubtype(ctx); kind != subtypeProto {
		return nil, errSubtype(sub, healthName, false)
	}
	return h.Server.Check(ctx, in)
}

func (h healthServer) Watch(in *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	if kind, sub := contentSubtype(stream.Context()); kind != subtypeProto {
		return errSubtype(sub, healthName, false)
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	ws := &watchStream{Health_WatchServer: stream, ctx: ctx, cancel: cancel, stopping: h.stopping}
	if _, err := h.Check(ctx, in); err != nil {
		defer context.AfterFunc(h.stopping, ws.end)()
	}
	err := h.Server.Watch(in, ws)
	if ws.ended.Load() {
		return errShuttingDown
	}
	return err
}

// watchStream ends its Watch after NOT_SERVING is sent at shutdown.
type watchStream struct {
	healthpb.Health_WatchServer
	ctx      context.Context
	cancel   context.CancelFunc
	stopping context.Context
	ended    atomic.Bool
}

func (ws *watchStream) Context() context.Context { return ws.ctx }

func (ws *watchStream) Send(r *healthpb.HealthCheckResponse) error {
	if err := ws.Health_WatchServer.Send(r); err != nil {
		return err
	}
	if r.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING && ws.stopping.Err() != nil {
		ws.end()
	}
	return nil
}

func (ws *watchStream) end() {
	ws.ended.Store(true)
	ws.cancel()
}
