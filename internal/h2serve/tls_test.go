package h2serve

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestTLS serves HTTP/2 over TLS (ALPN h2), as the front door hands it a
// *tls.Conn after the handshake.
func TestTLS(t *testing.T) {
	cfg := &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}, NextProtos: []string{"h2", "http/1.1"}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				tc := tls.Server(c, cfg)
				if tc.HandshakeContext(ctx) != nil || tc.ConnectionState().NegotiatedProtocol != "h2" {
					_ = c.Close()
					return
				}
				_ = ServeConn(ctx, tc, testHandler(), Options{})
			}()
		}
	}()
	defer func() { cancel(); _ = ln.Close(); wg.Wait() }()

	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		ForceAttemptHTTP2: true,
	}}
	defer c.CloseIdleConnections()
	for _, n := range []int{10, 300_000} {
		resp, err := c.Get("https://" + ln.Addr().String() + "/big?n=" + itoa(n))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || !bytes.Equal(b, bigData[:n]) {
			t.Fatalf("%s: %d bytes", resp.Proto, len(b))
		}
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

func TestRefusedStream(t *testing.T) {
	s := startServer(t, testHandler(), Options{MaxConcurrentStreams: 2})
	rc := dialRaw(t, s.addr)
	rc.get(1, "/slow?ms=300")
	rc.get(3, "/slow?ms=300")
	rc.get(5, "/")
	if _, _, rst := rc.response(5, false); rst == nil || *rst != http2.ErrCodeRefusedStream {
		t.Fatalf("third stream: %v, want REFUSED_STREAM", rst)
	}
	// Both delayed streams end (in either order).
	ended := map[uint32]bool{}
	for len(ended) < 2 {
		if d, ok := rc.next().(*http2.DataFrame); ok && d.StreamEnded() {
			ended[d.StreamID] = true
		}
	}
	rc.get(7, "/")
	if st, _, _ := rc.response(7, false); st != "200" {
		t.Fatalf("after the others finished: %s", st)
	}
}
