package app_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/config"
)

// dialFrom connects to addr from the loopback address ip and reports
// whether the server kept the connection: it answers a request line (or,
// for TLS, finishes a handshake), where a refused one is reset at once.
func dialFrom(t *testing.T, ip, addr string, useTLS bool) bool {
	t.Helper()
	c, err := from(ip)(t.Context(), "tcp", addr)
	if errors.Is(err, syscall.ECONNRESET) {
		return false // reset before the dial returned
	}
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, ip, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if useTLS {
		err = tls.Client(c, &tls.Config{InsecureSkipVerify: true}).Handshake()
	} else {
		_, err = c.Write([]byte("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"))
		if err == nil {
			_, err = c.Read(make([]byte, 64))
		}
	}
	if err != nil && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("from %s to %s: %v (want a reset)", ip, addr, err)
	}
	return err == nil
}

// TestAllowCIDR: with allow-cidr, connections from elsewhere are reset as
// they are accepted on every data port (the HTTP/1.1 loops, fasthttp,
// TLS, gRPC) and counted by listener; the allowed client is served; the
// admin API is not filtered.
func TestAllowCIDR(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"loop", "fasthttp"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			a := startGRPC(t, func(s *config.Settings) {
				s.HTTP, s.HTTPS, s.GRPC, s.Admin = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
				s.HTTP1Engine = engine
				s.AllowCIDR = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
			})
			r := &running{App: a, admin: "http://" + a.AdminAddr.String()}
			for _, p := range []struct {
				name string
				addr net.Addr
				tls  bool
			}{{"http", a.HTTPAddr, false}, {"https", a.HTTPSAddr, true}, {"grpc", a.GRPCAddr, false}} {
				if !dialFrom(t, "127.0.0.1", p.addr.String(), p.tls) {
					t.Errorf("%s: the allowed client was refused", p.name)
				}
				for range 2 {
					if dialFrom(t, "127.0.0.2", p.addr.String(), p.tls) {
						t.Errorf("%s: a client outside allow-cidr was served", p.name)
					}
				}
			}
			f := r.scrape(t)
			for _, l := range []string{"http", "https", "grpc"} {
				if got := f.value("decoy_connections_refused_total", "listener="+l); got != 2 {
					t.Errorf("decoy_connections_refused_total{listener=%q} = %v, want 2", l, got)
				}
			}
			// The refused never count as accepted (one allowed on http
			// and https each).
			if got := f.value("decoy_connections_accepted_total", ""); got > 2 {
				t.Errorf("decoy_connections_accepted_total = %v, want at most 2", got)
			}
		})
	}
}

// Without allow-cidr every client is served and the counter reads 0.
func TestAllowCIDRUnset(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	if !dialFrom(t, "127.0.0.2", r.App.HTTPAddr.String(), false) {
		t.Error("a client was refused without allow-cidr")
	}
	if got := r.scrape(t).value("decoy_connections_refused_total", "listener=http"); got != 0 {
		t.Errorf("refused = %v", got)
	}
}
