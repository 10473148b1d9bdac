package cli

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/decoy-dev/decoy/internal/sdnotify"
)

// notifyReady tells systemd (Type=notify, NOTIFY_SOCKET) that decoy
// serves: called once every listener is open and served.
func notifyReady(env Env, log *slog.Logger, stubs int, http, https, grpc, admin net.Addr) {
	status := fmt.Sprintf("serving %d stubs: http %s, https %s, grpc %s, admin %s", stubs, addr(http), addr(https), addr(grpc), addr(admin))
	notify(env, log, sdnotify.Ready, sdnotify.Status(status))
}

// notifyStopping tells systemd that a graceful shutdown begins.
func notifyStopping(env Env, log *slog.Logger) {
	notify(env, log, sdnotify.Stopping, sdnotify.Status("shutting down"))
}

func notify(env Env, log *slog.Logger, state ...string) {
	sent, err := sdnotify.Notify(env.Getenv, state...)
	if err != nil {
		log.Warn("could not notify systemd", "err", err)
		return
	}
	if sent {
		log.Debug("notified systemd", "state", state[0])
	}
}
