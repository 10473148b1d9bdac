package pki

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

// rsaCA is a CA with an RSA key, as a user's --ca-cert may be.
func rsaCA(t *testing.T) *CA {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "rsa test CA"},
		NotBefore: time.Now().Add(-400 * 24 * time.Hour), NotAfter: time.Now().Add(CAValidity),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := LoadCA(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// Two processes holding the same CA (each loads it from the PEM files)
// present the same certificates, byte for byte and with the same key:
// the workers of --workers N must look like one server.
func TestMinterSameCertificateInEveryProcess(t *testing.T) {
	t.Parallel()
	ecCA := newCA(t)
	for name, ca := range map[string]*CA{"ECDSA CA": ecCA, "RSA CA": rsaCA(t)} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var ms [2]*Minter
			for i := range ms {
				again, err := LoadCA(ca.CertPEM, ca.KeyPEM) // another process
				if err != nil {
					t.Fatal(err)
				}
				if ms[i], err = NewMinter(again, nil, 0); err != nil {
					t.Fatal(err)
				}
			}
			same := func(what string, a, b *tls.Certificate) {
				t.Helper()
				if !bytes.Equal(a.Certificate[0], b.Certificate[0]) {
					t.Errorf("%s: the two processes present different certificates", what)
				}
				ka, _ := x509.MarshalPKCS8PrivateKey(a.PrivateKey)
				kb, _ := x509.MarshalPKCS8PrivateKey(b.PrivateKey)
				if !bytes.Equal(ka, kb) {
					t.Errorf("%s: different keys", what)
				}
			}
			same("the default certificate", ms[0].Default(), ms[1].Default())
			for _, host := range []string{"api.example.com", "10.1.2.3", "::2"} {
				a, err := ms[0].Get(host)
				if err != nil {
					t.Fatal(err)
				}
				b, err := ms[1].Get(host)
				if err != nil {
					t.Fatal(err)
				}
				same(host, a, b)
				if err := a.Leaf.CheckSignatureFrom(ca.Cert); err != nil {
					t.Errorf("%s: not signed by the CA: %v", host, err)
				}
				if _, err := a.Leaf.Verify(x509.VerifyOptions{Roots: pool(ca), DNSName: host}); err != nil && a.Leaf.IPAddresses == nil {
					t.Errorf("%s: does not verify: %v", host, err)
				}
			}
			if a, _ := ms[0].Get("a.test"); bytes.Equal(a.Certificate[0], ms[0].Default().Certificate[0]) {
				t.Error("a name got the default certificate")
			}
		})
	}
	// Another CA, other certificates.
	other, err := NewMinter(newCA(t), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	mine, _ := NewMinter(ecCA, nil, 0)
	a, _ := mine.Get("x.test")
	b, _ := other.Get("x.test")
	if bytes.Equal(a.Certificate[0], b.Certificate[0]) {
		t.Error("two CAs minted the same certificate")
	}
}

func pool(ca *CA) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// A certificate is the same throughout its period, valid from its start
// for LeafValidity, and minted again when the next period starts.
func TestMinterPeriods(t *testing.T) {
	t.Parallel()
	ca := rsaCA(t) // made 400 days ago: in its 14th period
	m, err := NewMinter(ca, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m.now = func() time.Time { return now }
	first, _ := m.Get("p.test")
	start, end := ca.mintPeriodOf(now)
	if leaf := first.Leaf; leaf.NotBefore.After(now) || !leaf.NotAfter.Equal(start.Add(LeafValidity)) || leaf.NotAfter.Sub(leaf.NotBefore) > 398*24*time.Hour {
		t.Errorf("valid %v to %v, want from before %v to %v, at most 398 days", leaf.NotBefore, leaf.NotAfter, now, start.Add(LeafValidity))
	}
	now = end.Add(-time.Second)
	if c, _ := m.Get("p.test"); c != first {
		t.Error("minted again within its period")
	}
	now = end
	next, _ := m.Get("p.test")
	if bytes.Equal(next.Certificate[0], first.Certificate[0]) || !next.Leaf.NotBefore.After(first.Leaf.NotBefore) {
		t.Error("not minted again when the next period started")
	}
	if d := m.Default(); !d.Leaf.NotAfter.Equal(end.Add(LeafValidity)) {
		t.Errorf("default certificate valid to %v after the period, want %v", d.Leaf.NotAfter, end.Add(LeafValidity))
	}
	// A process started in that next period mints the same.
	m2, _ := NewMinter(ca, nil, 0)
	m2.now = m.now
	if c, _ := m2.Get("p.test"); !bytes.Equal(c.Certificate[0], next.Certificate[0]) {
		t.Error("a process started later minted another certificate for the same period")
	}
}
