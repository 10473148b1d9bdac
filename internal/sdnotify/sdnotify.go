// Package sdnotify speaks systemd's service notification protocol
// (sd_notify(3)) for a unit of Type=notify: decoy sends READY=1 once every
// listener serves, so that systemd starts what depends on decoy only
// then, and STOPPING=1 when it begins a graceful shutdown.
//
// The protocol is one datagram of newline-separated KEY=VALUE lines on the
// unix datagram socket named by NOTIFY_SOCKET: a path, or a name in
// Linux's abstract namespace written with a leading '@'. Without
// NOTIFY_SOCKET nothing is sent. No library is needed for one write.
package sdnotify

import (
	"fmt"
	"net"
	"strings"
)

// Ready, Stopping and Status are the states decoy sends.
const (
	Ready    = "READY=1"
	Stopping = "STOPPING=1"
)

// Status is a STATUS= line, shown by `systemctl status`.
func Status(s string) string {
	return "STATUS=" + strings.ReplaceAll(s, "\n", " ")
}

// Notify sends the lines of state to the socket NOTIFY_SOCKET names in
// getenv. sent is false, and err nil, when the variable is unset.
func Notify(getenv func(string) string, state ...string) (sent bool, err error) {
	name := getenv("NOTIFY_SOCKET")
	if name == "" {
		return false, nil
	}
	if name[0] != '/' && name[0] != '@' {
		return false, fmt.Errorf("NOTIFY_SOCKET=%q: only a socket path or an abstract socket (@name) is supported", name)
	}
	addr := &net.UnixAddr{Name: name, Net: "unixgram"}
	if name[0] == '@' {
		// The abstract namespace: a leading NUL byte (Go also maps '@'
		// to it, but say so).
		addr.Name = "\x00" + name[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, addr)
	if err != nil {
		return false, fmt.Errorf("NOTIFY_SOCKET: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(strings.Join(state, "\n"))); err != nil {
		return false, fmt.Errorf("NOTIFY_SOCKET: %w", err)
	}
	return true, nil
}
