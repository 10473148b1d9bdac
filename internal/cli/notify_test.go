package cli_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/cli"
)

// TestSystemdNotify starts decoy serve as systemd would start a
// Type=notify unit, with NOTIFY_SOCKET naming a datagram socket this test
// listens on: READY=1 arrives once the HTTP port answers (the test asks it
// at once, and decoy's STATUS line says where it is), and STOPPING=1 when
// decoy shuts down.
func TestSystemdNotify(t *testing.T) {
	t.Parallel()
	sockets := map[string]string{"path": filepath.Join(t.TempDir(), "notify")}
	if runtime.GOOS == "linux" {
		sockets["abstract"] = fmt.Sprintf("@decoy-cli-notify-test-%d", os.Getpid())
	}
	for name, sock := range sockets {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			listenAt := sock
			if sock[0] == '@' {
				listenAt = "\x00" + sock[1:]
			}
			conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: listenAt, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			datagrams := make(chan string, 4)
			go func() {
				b := make([]byte, 4096)
				for {
					n, err := conn.Read(b)
					if err != nil {
						close(datagrams)
						return
					}
					datagrams <- string(b[:n])
				}
			}()

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			e, _, errOut := env(map[string]string{"NOTIFY_SOCKET": sock})
			done := make(chan int, 1)
			go func() {
				done <- cli.Main(ctx, []string{"serve", "--quiet", "--http", "127.0.0.1:0", "--https", "127.0.0.1:0",
					"--admin", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--log-level", "debug"}, e)
			}()

			var ready string
			select {
			case ready = <-datagrams:
			case code := <-done:
				t.Fatalf("serve exited %d before notifying\n%s", code, errOut.String())
			case <-time.After(15 * time.Second):
				t.Fatalf("no notification\n%s", errOut.String())
			}
			// Ask the port at once: READY=1 must not come before it answers.
			m := regexp.MustCompile(`STATUS=serving \d+ stubs: http (\S+), https (\S+), grpc (\S+), admin (\S+)`).FindStringSubmatch(ready)
			if !strings.HasPrefix(ready, "READY=1\n") || m == nil {
				t.Fatalf("first notification %q, want READY=1 and a STATUS with the addresses", ready)
			}
			for _, u := range []string{"http://" + m[1] + "/users/42", "http://" + m[4] + "/ready"} {
				resp, err := http.Get(u)
				if err != nil {
					t.Fatalf("READY=1 sent, but %s does not answer: %v", u, err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s: %d after READY=1", u, resp.StatusCode)
				}
			}
			for _, a := range m[2:4] {
				c, err := net.Dial("tcp", a)
				if err != nil {
					t.Errorf("READY=1 sent, but %s refuses connections: %v", a, err)
					continue
				}
				c.Close()
			}

			cancel()
			select {
			case stopping := <-datagrams:
				if !strings.HasPrefix(stopping, "STOPPING=1") {
					t.Errorf("second notification %q, want STOPPING=1", stopping)
				}
			case <-time.After(10 * time.Second):
				t.Error("no STOPPING=1 on shutdown")
			}
			if code := <-done; code != 0 {
				t.Errorf("serve exited %d\n%s", code, errOut.String())
			}
			if !strings.Contains(errOut.String(), "notified systemd") {
				t.Errorf("no debug line for the notification:\n%s", errOut.String())
			}
		})
	}
}

// TestSystemdNotifyUnsupported: a NOTIFY_SOCKET decoy cannot use is a
// warning, and decoy serves anyway.
func TestSystemdNotifyUnsupported(t *testing.T) {
	t.Parallel()
	a, _ := serve(t, map[string]string{"NOTIFY_SOCKET": "vsock:2:1234"}, "--quiet")
	resp, err := http.Get("http://" + a.HTTPAddr.String() + "/users/42")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d", resp.StatusCode)
	}
}
