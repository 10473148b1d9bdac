package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newCA(t testing.TB) *CA {
	t.Helper()
	ca, err := NewCA("decoy test CA")
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

func TestNewCA(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	c := ca.Cert
	if !c.IsCA || !c.BasicConstraintsValid {
		t.Errorf("IsCA=%v BasicConstraintsValid=%v, want both true", c.IsCA, c.BasicConstraintsValid)
	}
	if c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("KeyUsage %v lacks CertSign", c.KeyUsage)
	}
	if c.Subject.CommonName != "decoy test CA" {
		t.Errorf("CommonName = %q", c.Subject.CommonName)
	}
	if _, ok := ca.Key.Public().(*ecdsa.PublicKey); !ok {
		t.Errorf("key is %T, want ECDSA", ca.Key.Public())
	}
	if pub, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("certificate key is not ECDSA P-256")
	}
	if life := time.Until(c.NotAfter); life < 9*365*24*time.Hour || life > 11*365*24*time.Hour {
		t.Errorf("CA valid for %v more, want about 10 years", life)
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
		t.Errorf("serial %v is not a positive 128-bit number", c.SerialNumber)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("CA is not self-signed: %v", err)
	}
	other := newCA(t)
	if other.Cert.SerialNumber.Cmp(c.SerialNumber) == 0 {
		t.Errorf("two CAs share serial %v", c.SerialNumber)
	}

	// The PEM forms round-trip through LoadCA.
	loaded, err := LoadCA(ca.CertPEM, ca.KeyPEM)
	if err != nil {
		t.Fatalf("LoadCA(NewCA output): %v", err)
	}
	if !loaded.Cert.Equal(ca.Cert) {
		t.Errorf("LoadCA certificate differs from the original")
	}
	if _, err := loaded.Issue([]string{"localhost"}, time.Hour); err != nil {
		t.Errorf("loaded CA cannot issue: %v", err)
	}
}

func TestLoadCAErrors(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	other := newCA(t)
	leaf, err := ca.Issue([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leafCertPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]})
	leafKeyDER, err := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	leafKeyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: leafKeyDER})

	tests := []struct {
		name      string
		cert, key []byte
		want      string
	}{
		{"garbage", []byte("nope"), []byte("nope"), "load CA"},
		{"key mismatch", ca.CertPEM, other.KeyPEM, "does not match"},
		{"not a CA", leafCertPEM, leafKeyPEM, "not a CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadCA(tt.cert, tt.key)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadCA error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestIssueVerifies(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	hosts := []string{"localhost", "127.0.0.1", "::1", "[::2]", "api.example.test"}
	cert, err := ca.Issue(hosts, 24*time.Hour)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if cert.Leaf == nil {
		t.Fatal("Leaf not set")
	}
	if len(cert.Certificate) != 2 {
		t.Fatalf("chain has %d certificates, want leaf + CA", len(cert.Certificate))
	}
	if string(cert.Certificate[1]) != string(ca.Cert.Raw) {
		t.Errorf("second certificate in chain is not the CA")
	}
	leaf := cert.Leaf
	if got := strings.Join(leaf.DNSNames, ","); got != "localhost,api.example.test" {
		t.Errorf("DNSNames = %q", got)
	}
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	if got := strings.Join(ips, ","); got != "127.0.0.1,::1,::2" {
		t.Errorf("IPAddresses = %q", got)
	}
	if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("ExtKeyUsage = %v, want ServerAuth", leaf.ExtKeyUsage)
	}
	if leaf.IsCA {
		t.Errorf("leaf is a CA")
	}
	if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("leaf key is not ECDSA P-256")
	}
	if life := time.Until(leaf.NotAfter); life < 23*time.Hour || life > 25*time.Hour {
		t.Errorf("leaf valid for %v more, want about 24h", life)
	}

	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, name := range []string{"localhost", "127.0.0.1", "::1", "api.example.test"} {
		_, err := leaf.Verify(x509.VerifyOptions{
			DNSName:   name,
			Roots:     roots,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		if err != nil {
			t.Errorf("Verify(%q): %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.test", Roots: roots}); err == nil {
		t.Errorf("Verify accepted a host the certificate does not name")
	}
	// A different CA must not vouch for it.
	otherRoots := x509.NewCertPool()
	otherRoots.AddCert(newCA(t).Cert)
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: otherRoots}); err == nil {
		t.Errorf("Verify accepted the certificate under an unrelated CA")
	}
}

func TestIssueErrors(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	if _, err := ca.Issue(nil, time.Hour); err == nil {
		t.Error("Issue with no hosts succeeded")
	}
	if _, err := ca.Issue([]string{"localhost", " "}, time.Hour); err == nil {
		t.Error("Issue with an empty host succeeded")
	}
	if _, err := ca.Issue([]string{"localhost"}, 0); err == nil {
		t.Error("Issue with zero validity succeeded")
	}
	var nilCA *CA
	if _, err := nilCA.Issue([]string{"localhost"}, time.Hour); err == nil {
		t.Error("Issue on a nil CA succeeded")
	}
}

// TestTLSHandshake runs a real TLS server on loopback with an issued
// certificate and connects to it with the CA as the only root.
func TestTLSHandshake(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	cert, err := ca.Issue(DefaultHosts(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	// serveOne accepts one connection, completes the handshake and writes
	// "hello"; its result arrives on serverErr.
	serverErr := make(chan error, 1)
	serveOne := func() {
		c, err := ln.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if err := c.(*tls.Conn).Handshake(); err != nil {
			serverErr <- err
			return
		}
		_, err = c.Write([]byte("hello"))
		serverErr <- err
	}

	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca.CertPEM) {
		t.Fatal("CA PEM not accepted by CertPool")
	}
	// ServerName "" verifies against the dialed IP, 127.0.0.1.
	for _, serverName := range []string{"", "localhost"} {
		go serveOne()
		dialer := &net.Dialer{Timeout: 10 * time.Second}
		conn, err := tls.DialWithDialer(dialer, "tcp", ln.Addr().String(), &tls.Config{
			RootCAs:    roots,
			ServerName: serverName,
			NextProtos: []string{"h2", "http/1.1"},
		})
		if err != nil {
			t.Fatalf("tls.Dial (ServerName %q): %v", serverName, err)
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		st := conn.ConnectionState()
		if st.NegotiatedProtocol != "h2" {
			t.Errorf("ALPN negotiated %q, want h2", st.NegotiatedProtocol)
		}
		if len(st.PeerCertificates) != 2 {
			t.Errorf("server sent %d certificates, want 2", len(st.PeerCertificates))
		}
		got, err := io.ReadAll(conn)
		conn.Close()
		if err != nil || string(got) != "hello" {
			t.Errorf("read %q, %v; want hello", got, err)
		}
		if err := <-serverErr; err != nil {
			t.Errorf("server: %v", err)
		}
	}
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadKeyPair(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newCA(t)
	cert, err := ca.Issue([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var chainPEM []byte
	for _, der := range cert.Certificate {
		chainPEM = append(chainPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	goodCert := writeFile(t, dir, "cert.pem", chainPEM)
	goodKey := writeFile(t, dir, "key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))

	// A SEC 1 ("EC PRIVATE KEY") encoding of the same key works too.
	ecDER, err := x509.MarshalECPrivateKey(cert.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	sec1Key := writeFile(t, dir, "key-sec1.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}))

	for _, keyFile := range []string{goodKey, sec1Key} {
		pair, err := LoadKeyPair(goodCert, keyFile)
		if err != nil {
			t.Fatalf("LoadKeyPair(%s): %v", keyFile, err)
		}
		if pair.Leaf == nil || pair.Leaf.Subject.CommonName != "localhost" {
			t.Errorf("Leaf not set or wrong: %v", pair.Leaf)
		}
		if len(pair.Certificate) != 2 {
			t.Errorf("chain has %d certificates, want 2", len(pair.Certificate))
		}
	}

	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherDER, err := x509.MarshalPKCS8PrivateKey(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	wrongKey := writeFile(t, dir, "wrong-key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: otherDER}))
	garbage := writeFile(t, dir, "garbage.pem", []byte("this is not PEM\n"))
	missing := filepath.Join(dir, "missing.pem")
	badDER := writeFile(t, dir, "bad-der.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}))

	tests := []struct {
		name, cert, key string
		want            []string // substrings the error must contain
		notExist        bool
	}{
		{"missing cert", missing, goodKey, []string{"tls-cert " + missing, "no such file"}, true},
		{"missing key", goodCert, missing, []string{"tls-key " + missing, "no such file"}, true},
		{"garbage cert", garbage, goodKey, []string{"tls-cert " + garbage + ": no PEM certificate found"}, false},
		{"key as cert", goodKey, goodKey, []string{"tls-cert " + goodKey + ": no PEM certificate found"}, false},
		{"bad certificate DER", badDER, goodKey, []string{"tls-cert " + badDER + ":"}, false},
		{"garbage key", goodCert, garbage, []string{"tls-key " + garbage + ": no PEM private key found"}, false},
		{"cert as key", goodCert, goodCert, []string{"tls-key " + goodCert + ": no PEM private key found"}, false},
		{"key mismatch", goodCert, wrongKey, []string{wrongKey, goodCert, "does not match"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadKeyPair(tt.cert, tt.key)
			if err == nil {
				t.Fatal("LoadKeyPair succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tt.notExist {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %v, want %v", got, tt.notExist)
			}
		})
	}
}

func TestDefaultHosts(t *testing.T) {
	t.Parallel()
	hosts := DefaultHosts()
	if len(hosts) < 3 || hosts[0] != "localhost" || hosts[1] != "127.0.0.1" || hosts[2] != "::1" {
		t.Fatalf("DefaultHosts() = %q", hosts)
	}
	if name, err := os.Hostname(); err == nil && name != "localhost" && name != "" {
		if len(hosts) != 4 || hosts[3] != name {
			t.Errorf("DefaultHosts() = %q, want the host name %q last", hosts, name)
		}
	}
}

// BenchmarkNewCAAndIssue measures what a server start without a user
// certificate pays: a new CA plus one server certificate.
func BenchmarkNewCAAndIssue(b *testing.B) {
	hosts := DefaultHosts()
	b.ReportAllocs()
	for b.Loop() {
		ca, err := NewCA("decoy bench CA")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ca.Issue(hosts, 24*time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}
