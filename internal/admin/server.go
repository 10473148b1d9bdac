package admin

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server serves the admin API. It is net/http's server, except that
// Shutdown also closes the connections that have not sent a request yet:
// net/http waits up to five seconds for such a connection (a client's
// spare dial, or one that connected and said nothing), which would hold
// decoy's shutdown for as long.
type Server struct {
	http.Server

	mu    sync.Mutex
	fresh map[net.Conn]struct{} // connections with no request yet
}

// NewServer returns a server for h that logs its own errors to log at
// debug level.
func NewServer(h http.Handler, log *slog.Logger) *Server {
	s := &Server{fresh: map[net.Conn]struct{}{}}
	s.Server = http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		ConnState:         s.track,
	}
	return s
}

func (s *Server) track(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st == http.StateNew {
		s.fresh[c] = struct{}{}
	} else {
		delete(s.fresh, c)
	}
}

// closeFresh closes the connections that have sent no request.
func (s *Server) closeFresh() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.fresh {
		_ = c.Close()
		delete(s.fresh, c)
	}
}

// Shutdown stops accepting, lets requests in flight finish until ctx is
// done, and closes idle connections and those that have sent nothing.
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.Server.Shutdown(ctx) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		// Again on each tick: one accepted as the listener closed is
		// tracked a moment later.
		s.closeFresh()
		select {
		case err := <-done:
			return err
		case <-tick.C:
		}
	}
}
