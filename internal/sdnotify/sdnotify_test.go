package sdnotify_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/sdnotify"
)

func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func receive(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 4096)
	n, err := c.Read(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(b[:n])
}

func TestNotify(t *testing.T) {
	t.Parallel()
	sockets := map[string]string{"path": filepath.Join(t.TempDir(), "notify")}
	if runtime.GOOS == "linux" {
		sockets["abstract"] = fmt.Sprintf("@decoy-sdnotify-test-%d", os.Getpid())
	}
	for name, sock := range sockets {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			listenAt := sock
			if sock[0] == '@' {
				listenAt = "\x00" + sock[1:]
			}
			c := listen(t, listenAt)
			getenv := func(k string) string {
				if k == "NOTIFY_SOCKET" {
					return sock
				}
				return ""
			}
			sent, err := sdnotify.Notify(getenv, sdnotify.Ready, sdnotify.Status("serving\n3 stubs"))
			if err != nil || !sent {
				t.Fatalf("sent %v, err %v", sent, err)
			}
			if got, want := receive(t, c), "READY=1\nSTATUS=serving 3 stubs"; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestNotifyWithoutSocket(t *testing.T) {
	t.Parallel()
	none := func(string) string { return "" }
	if sent, err := sdnotify.Notify(none, sdnotify.Ready); sent || err != nil {
		t.Errorf("no NOTIFY_SOCKET: sent %v, err %v", sent, err)
	}
	for _, bad := range []string{"relative/path", "vsock:2:1234", filepath.Join(t.TempDir(), "nobody-listens")} {
		getenv := func(string) string { return bad }
		if sent, err := sdnotify.Notify(getenv, sdnotify.Ready); sent || err == nil {
			t.Errorf("NOTIFY_SOCKET=%s: sent %v, err %v", bad, sent, err)
		}
	}
}
