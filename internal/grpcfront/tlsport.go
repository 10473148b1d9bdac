package grpcfront

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/metrics"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// TLS on the gRPC port: with Options.TLS, a connection whose first byte
// starts a TLS handshake record is served over TLS (the TLS port's
// certificates and client-auth), the others in cleartext as before. The
// handshake is made here, under the faultConn, so that what the faultConn
// sees written is still HTTP/2 frames: faults slip their frames in
// between grpc-go's and TLS encrypts them with the rest. grpc-go is given
// portCreds as transport credentials, which it calls once per connection
// before it reads the preface: they sniff the first bytes and, for TLS,
// shake hands and report the client's certificate as the connection's
// AuthInfo, which calls find through peer.FromContext.

// handshakeTimeout bounds a TLS handshake on the gRPC port.
const handshakeTimeout = 10 * time.Second

// portCreds are the gRPC port's transport credentials.
type portCreds struct {
	conf *tls.Config
	log  *slog.Logger
	hs   *handshakes
}

// handshakes counts the gRPC port's TLS handshakes by version and result,
// for decoy_tls_handshakes_total.
type handshakes [metrics.NumTLSVersions][2]atomic.Uint64

// portAuth is the AuthInfo of a TLS connection on the gRPC port.
type portAuth struct {
	credentials.TLSInfo
	cert *engine.ClientCert // nil: no certificate
}

func (p portCreds) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	fc, ok := c.(*faultConn)
	if !ok {
		return c, nil, nil
	}
	kind, err := fc.peek()
	if err != nil || kind != sniffTLS {
		// Cleartext, or a connection that ended: the first read acts on
		// what was sniffed, as without TLS.
		return fc, nil, nil
	}
	cs, ok := p.handshake(fc)
	if !ok {
		// grpc-go closes the connection; io.EOF keeps it from logging
		// a handshake a client gave up as a server error.
		return nil, nil, io.EOF
	}
	auth := &portAuth{TLSInfo: credentials.TLSInfo{State: cs, CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}}
	if len(cs.PeerCertificates) > 0 {
		auth.cert = engine.NewClientCert(cs.PeerCertificates[0])
	}
	return fc, auth, nil
}

// handshake makes the TLS handshake of fc, whose first bytes (in fc.pre)
// start one, and has fc read and write through TLS after it; it counts
// the handshake, and logs a failure at debug level.
func (p portCreds) handshake(fc *faultConn) (tls.ConnectionState, bool) {
	tc := tls.Server(&replayConn{Conn: fc.Conn, pre: fc.pre}, p.conf)
	_ = tc.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := tc.Handshake(); err != nil {
		p.hs[metrics.TLSVersion(tc.ConnectionState().Version)][metrics.HandshakeFailed].Add(1)
		if p.log.Enabled(context.Background(), slog.LevelDebug) {
			p.log.Debug("gRPC port: TLS handshake failed", "remote", fc.RemoteAddr().String(), "err", err)
		}
		return tls.ConnectionState{}, false
	}
	_ = tc.SetDeadline(time.Time{})
	cs := tc.ConnectionState()
	p.hs[metrics.TLSVersion(cs.Version)][metrics.HandshakeOK].Add(1)
	fc.overTLS(tc)
	return cs, true
}

// portTLS makes the TLS handshake of a connection to the gRPC port served
// by decoy's loop: the client's certificate (nil for none), and whether
// the handshake succeeded.
func (s *Server) portTLS(fc *faultConn) (*engine.ClientCert, bool) {
	cs, ok := s.creds.handshake(fc)
	if !ok {
		return nil, false
	}
	if len(cs.PeerCertificates) > 0 {
		return engine.NewClientCert(cs.PeerCertificates[0]), true
	}
	return nil, true
}

func (portCreds) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("decoy's gRPC port credentials serve only")
}

func (portCreds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "tls"}
}

func (p portCreds) Clone() credentials.TransportCredentials { return p }

func (portCreds) OverrideServerName(string) error { return nil }

// portCert is the client certificate of a call on the gRPC port over TLS,
// nil for none.
func portCert(ctx context.Context) *engine.ClientCert {
	if pr, ok := peer.FromContext(ctx); ok {
		if a, ok := pr.AuthInfo.(*portAuth); ok {
			return a.cert
		}
	}
	return nil
}

// replayConn reads pre, the bytes the sniff took, before the connection.
type replayConn struct {
	net.Conn
	pre []byte
}

func (r *replayConn) Read(p []byte) (int, error) {
	if len(r.pre) > 0 {
		n := copy(p, r.pre)
		r.pre = r.pre[n:]
		return n, nil
	}
	return r.Conn.Read(p)
}

// NetConn returns the wrapped connection (for tcpConn).
func (r *replayConn) NetConn() net.Conn { return r.Conn }

// ConnStats are the gRPC port's connection counters that decoy's metrics
// add to the HTTP ports': its TLS handshakes.
func (s *Server) ConnStats() metrics.ConnStats {
	var st metrics.ConnStats
	for v := range s.handshakes {
		for r := range s.handshakes[v] {
			st.TLSHandshakes[v][r] = s.handshakes[v][r].Load()
		}
	}
	return st
}
