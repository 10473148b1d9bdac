package httpfront

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/stub"
)

// TestRateConnIntact: what goes through the cap arrives whole and in
// order, whatever the sizes of the writes; the connection under it is
// reachable for SO_LINGER.
func TestRateConnIntact(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer b.Close()
	var slow atomic.Uint64
	rc := newRateConn(a, 64<<20, &slow, time.Hour)
	want := make([]byte, 300_000)
	for i := range want {
		want[i] = byte(i * 7)
	}
	go func() {
		defer rc.Close()
		for off, n := 0, 1; off < len(want); off, n = off+n, n*3 {
			n = min(n, len(want)-off)
			if _, err := rc.Write(want[off : off+n]); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	got, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, not the %d written", len(got), len(want))
	}
	if rc.NetConn() != a {
		t.Error("NetConn is not the connection under the cap")
	}
	if slow.Load() != 0 {
		t.Errorf("%d slow writes under an hour's threshold", slow.Load())
	}
}

// TestConnectionRate: with connection-rate set, every protocol's bytes go
// through the cap: 1 MiB at 256 KiB/s cannot arrive in less than 2 s (4 s
// of bytes: a generous bound that cannot flake), and arrives intact.
func TestConnectionRate(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("takes 4 s")
	}
	store, err := engine.NewStore([]engine.Source{
		{Stub: stub.Stub{ID: "mib", Request: stub.Request{Path: "/mib"},
			Response: &stub.Response{Generate: &stub.Generate{Size: 1 << 20, Seed: 5}}}},
		{Stub: stub.Stub{ID: "reset", Request: stub.Request{Path: "/reset"},
			Response: &stub.Response{Faults: stub.Faults{{Kind: "reset"}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp := store.Engine().Snapshot().Get("mib").Responses()[0]
	want := sha256.Sum256(resp.Body)
	srv := New(Options{Engine: store.Engine(), ConnectionRate: 256 << 10})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	// The reset fault still finds the TCP connection under the cap.
	if _, err := (&http.Client{Transport: &http.Transport{}}).Get("http://" + ln.Addr().String() + "/reset"); err == nil || !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("reset fault under the cap: %v, want a connection reset", err)
	}
	h2 := new(http.Protocols)
	h2.SetUnencryptedHTTP2(true)
	for _, tt := range []struct {
		name string
		tr   *http.Transport
	}{{"HTTP/1.1", &http.Transport{}}, {"h2c", &http.Transport{Protocols: h2}}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &http.Client{Transport: tt.tr, Timeout: 60 * time.Second}
			defer tt.tr.CloseIdleConnections()
			start := time.Now()
			r, err := c.Get("http://" + ln.Addr().String() + "/mib")
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(r.Body)
			r.Body.Close()
			took := time.Since(start)
			if err != nil || sha256.Sum256(b) != want {
				t.Fatalf("%d bytes, %v: not the body", len(b), err)
			}
			if took < 2*time.Second {
				t.Errorf("1 MiB at 256 KiB/s took %v", took)
			}
		})
	}
}
