package admin_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/admin"
)

// TestServerShutdownFresh: a connection that has sent nothing does not
// hold Shutdown. net/http's own Shutdown waits until such a connection is
// five seconds old, past this test's four-second deadline; a request in
// flight is still answered.
func TestServerShutdownFresh(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	entered := make(chan struct{})
	srv := admin.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			close(entered)
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	}), slog.New(slog.DiscardHandler))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	// A kept-alive connection with one request behind it, one that has
	// sent nothing, and one in the middle of a request.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	inflight := make(chan error, 1)
	go func() {
		resp, err := c.Get("http://" + ln.Addr().String() + "/wait")
		if err == nil {
			var b []byte
			b, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && string(b) != "ok" {
				err = errors.New("answer " + string(b))
			}
		}
		inflight <- err
	}()
	<-entered

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()
	// The silent connection is closed while the request is in flight.
	_ = silent.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := silent.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("silent connection: read %d, %v; want it closed", n, err)
	}
	close(release)
	if err := <-inflight; err != nil {
		t.Errorf("request in flight: %v", err)
	}
	if err := <-shut; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("serve: %v", err)
	}
}
