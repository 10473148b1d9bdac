package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDefaultDir(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("the table is Linux's")
	}
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"XDG_CONFIG_HOME", map[string]string{"XDG_CONFIG_HOME": "/x/conf", "HOME": "/home/a"}, "/x/conf/decoy"},
		{"HOME", map[string]string{"HOME": "/home/a"}, "/home/a/.config/decoy"},
		{"relative XDG_CONFIG_HOME is ignored", map[string]string{"XDG_CONFIG_HOME": "conf", "HOME": "/home/a"}, "/home/a/.config/decoy"},
		{"nothing", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := DefaultDir(func(k string) string { return c.env[k] }); got != c.want {
				t.Errorf("DefaultDir = %q, want %q", got, c.want)
			}
		})
	}
}

func TestLoadOrCreate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a", "decoy")
	if Exists(dir) {
		t.Fatal("Exists before creation")
	}
	ca, created, err := LoadOrCreate(dir)
	if err != nil || !created {
		t.Fatalf("LoadOrCreate: created=%v err=%v", created, err)
	}
	if !Exists(dir) {
		t.Error("Exists after creation is false")
	}
	for name, want := range map[string]os.FileMode{CAKeyFile: 0o600, CACertFile: 0o644, ".": 0o700} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %v, want %v", name, got, want)
		}
	}
	again, created, err := LoadOrCreate(dir)
	if err != nil || created {
		t.Fatalf("second LoadOrCreate: created=%v err=%v", created, err)
	}
	if !again.Cert.Equal(ca.Cert) {
		t.Error("the second call made another CA")
	}
	if again.Cert.Subject.CommonName != CACommonName {
		t.Errorf("CommonName %q", again.Cert.Subject.CommonName)
	}
}

func TestLoadOrCreateErrors(t *testing.T) {
	t.Parallel()
	other := newCA(t)
	cases := []struct {
		name  string
		setup func(dir string)
		want  []string
	}{
		{"key without certificate", func(dir string) { mustWrite(t, filepath.Join(dir, CAKeyFile), other.KeyPEM) },
			[]string{"ca-key.pem exists without its certificate"}},
		{"certificate without key", func(dir string) { mustWrite(t, filepath.Join(dir, CACertFile), other.CertPEM) },
			[]string{"CA key " + "", "ca-key.pem", "no such file"}},
		{"key that does not fit", func(dir string) {
			mustWrite(t, filepath.Join(dir, CACertFile), other.CertPEM)
			mustWrite(t, filepath.Join(dir, CAKeyFile), newCA(t).KeyPEM)
		}, []string{"ca.pem with key", "private key does not match public key"}},
		{"garbage certificate", func(dir string) {
			mustWrite(t, filepath.Join(dir, CACertFile), []byte("hello"))
			mustWrite(t, filepath.Join(dir, CAKeyFile), other.KeyPEM)
		}, []string{"ca.pem: no PEM certificate found"}},
		{"garbage key", func(dir string) {
			mustWrite(t, filepath.Join(dir, CACertFile), other.CertPEM)
			mustWrite(t, filepath.Join(dir, CAKeyFile), other.CertPEM)
		}, []string{"ca-key.pem: no PEM private key found"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			c.setup(dir)
			_, _, err := LoadOrCreate(dir)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLoadCAFilesNotACA(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	leaf, err := ca.Issue([]string{"x.test"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := WriteKeyPair(leaf, cert, key); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCAFiles(cert, key); err == nil || !strings.Contains(err.Error(), "not a CA certificate") || !strings.Contains(err.Error(), cert) {
		t.Errorf("err = %v, want one naming %s as not a CA", err, cert)
	}
}

func mustWrite(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestIssueClientAndWrite(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	c, err := ca.IssueClient("alice", []string{"alice@example.com", "spiffe://decoy/alice", "alice.test", "10.0.0.1"}, LeafValidity)
	if err != nil {
		t.Fatal(err)
	}
	l := c.Leaf
	if l.Subject.CommonName != "alice" || len(l.EmailAddresses) != 1 || len(l.URIs) != 1 || len(l.DNSNames) != 1 || len(l.IPAddresses) != 1 {
		t.Errorf("subject %v, SANs %v %v %v %v", l.Subject, l.EmailAddresses, l.URIs, l.DNSNames, l.IPAddresses)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	if _, err := l.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate does not verify for client auth: %v", err)
	}
	if _, err := l.Verify(x509.VerifyOptions{Roots: pool}); err == nil {
		t.Error("client certificate verifies for server auth")
	}
	if _, err := ca.IssueClient(" ", nil, time.Hour); err == nil {
		t.Error("IssueClient without a name: no error")
	}
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "alice.pem"), filepath.Join(dir, "alice-key.pem")
	mustWrite(t, key, []byte("old"))
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteKeyPair(c, cert, key); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(key); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := LoadKeyPair(cert, key); err != nil {
		t.Errorf("written pair does not load: %v", err)
	}
	// A certificate that cannot be written leaves no key behind.
	stray := filepath.Join(dir, "stray-key.pem")
	if err := WriteKeyPair(c, filepath.Join(dir, "missing", "c.pem"), stray); err == nil {
		t.Error("certificate in a missing folder: no error")
	}
	if _, err := os.Stat(stray); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("key file after a failed write: %v, want none", err)
	}
}

func TestMinter(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	m, err := NewMinter(ca, []string{"localhost", "127.0.0.1"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	local := func(ip string) net.Conn { return fakeConn{local: &net.TCPAddr{IP: net.ParseIP(ip), Port: 443}} }
	cases := []struct {
		name    string
		sni     string
		conn    net.Conn
		wantDNS string
		wantIP  string
		dflt    bool
	}{
		{"a name", "api.example.com", nil, "api.example.com", "", false},
		{"upper case and a trailing dot", "API.Example.COM.", nil, "api.example.com", "", false},
		{"default host", "localhost", nil, "", "", true},
		{"no SNI on a default address", "", local("127.0.0.1"), "", "", true},
		{"no SNI on another address", "", local("10.1.2.3"), "", "10.1.2.3", false},
		{"no SNI, v4-mapped", "", local("::ffff:10.1.2.4"), "", "10.1.2.4", false},
		{"an IP as SNI", "192.0.2.7", nil, "", "192.0.2.7", false},
		{"a name no certificate can hold", "bad name!", local("127.0.0.1"), "", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: c.sni, Conn: c.conn})
			if err != nil {
				t.Fatal(err)
			}
			if c.dflt {
				if got != m.Default() {
					t.Errorf("got %v, want the default certificate", got.Leaf.DNSNames)
				}
				return
			}
			if c.wantDNS != "" && (len(got.Leaf.DNSNames) != 1 || got.Leaf.DNSNames[0] != c.wantDNS) {
				t.Errorf("DNS SANs %v, want %s", got.Leaf.DNSNames, c.wantDNS)
			}
			if c.wantIP != "" && (len(got.Leaf.IPAddresses) != 1 || got.Leaf.IPAddresses[0].String() != c.wantIP) {
				t.Errorf("IP SANs %v, want %s", got.Leaf.IPAddresses, c.wantIP)
			}
			if err := got.Leaf.CheckSignatureFrom(ca.Cert); err != nil {
				t.Errorf("not signed by the CA: %v", err)
			}
		})
	}
	if n := m.Len(); n != 2 {
		t.Errorf("cache holds %d, want its bound 2", n)
	}
}

func TestMinterCacheAndBurst(t *testing.T) {
	t.Parallel()
	m, err := NewMinter(newCA(t), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	a1, _ := m.Get("a.test")
	b1, _ := m.Get("b.test")
	if a2, _ := m.Get("a.test"); a2 != a1 {
		t.Error("a.test minted twice")
	}
	m.Get("c.test") // drops b.test, the least recently used
	if a3, _ := m.Get("a.test"); a3 != a1 {
		t.Error("a.test was dropped instead of b.test")
	}
	if b2, _ := m.Get("b.test"); b2 == b1 {
		t.Error("b.test was kept past the bound")
	}
	if n := m.Minted(); n != 4 {
		t.Errorf("minted %d, want 4", n)
	}

	// A burst of handshakes for a new name mints it once.
	const n = 64
	var wg sync.WaitGroup
	certs := make([]*tls.Certificate, n)
	for i := range n {
		wg.Go(func() {
			c, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: "burst.test"})
			if err != nil {
				t.Error(err)
			}
			certs[i] = c
		})
	}
	wg.Wait()
	for _, c := range certs[1:] {
		if c != certs[0] {
			t.Fatal("the burst got different certificates")
		}
	}
	if got := m.Minted(); got != 5 {
		t.Errorf("minted %d after the burst, want 5 (one for the burst)", got)
	}
}

func TestValidDNSName(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"example.com": true, "a-b.c_d.test": true, "*.example.com": true, "10.0.0.1": true, "::1": true,
		"": false, "-a.com": false, "a..com": false, "a b": false, "é.com": false, strings.Repeat("a", 64) + ".com": false,
	} {
		if got := validDNSName(s); got != want {
			t.Errorf("validDNSName(%q) = %v, want %v", s, got, want)
		}
	}
}

type fakeConn struct {
	net.Conn
	local net.Addr
}

func (f fakeConn) LocalAddr() net.Addr { return f.local }
