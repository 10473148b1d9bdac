package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// This file mints certificates that are a function of the CA, the names
// and the period they are minted for: the key, the serial number and the
// signature are derived from the CA's key, so that every process that
// holds the CA (the workers of --workers N, a decoy started again with
// the same CA) presents the very same certificate for a name, byte for
// byte. Whoever holds the CA key can issue any certificate anyway, so
// deriving the leaves' keys from it gives nothing away; the derivation is
// HKDF-SHA256, so a leaf key says nothing about the CA key.

// mintPeriod is how long minted certificates are presented before they
// are minted again: the certificate for a name is the same throughout one
// period (counted from the CA's notBefore), and valid for LeafValidity
// from its start.
const mintPeriod = 30 * 24 * time.Hour

// mintSeed is the secret minted keys are derived from: the CA key in
// PKCS #8 form.
func (ca *CA) mintSeed() ([]byte, error) {
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return nil, errors.New("pki: mint: CA has no certificate or key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: mint: the CA key: %w", err)
	}
	return der, nil
}

// mintPeriodOf is the minting period now falls in: it starts at a whole
// number of periods after the CA's notBefore (the first period when now
// is earlier).
func (ca *CA) mintPeriodOf(now time.Time) (start, end time.Time) {
	base := ca.Cert.NotBefore
	k := int64(0)
	if now.After(base) {
		k = int64(now.Sub(base) / mintPeriod)
	}
	start = base.Add(time.Duration(k) * mintPeriod)
	return start, start.Add(mintPeriod)
}

// mint makes the server certificate for hosts for the period starting at
// start, derived from seed (the CA's mintSeed): the same arguments give
// the same bytes in any process.
func (ca *CA) mint(seed []byte, hosts []string, start time.Time) (tls.Certificate, error) {
	if len(hosts) == 0 {
		return tls.Certificate{}, errors.New("pki: mint: no host names or IP addresses given")
	}
	info := "decoy minted server certificate v1\x00" + strconv.FormatInt(start.Unix(), 10) + "\x00" + strings.Join(hosts, "\x00")
	derive := func(what string, n int) ([]byte, error) {
		return hkdf.Key(sha256.New, seed, ca.Cert.Raw, info+"\x00"+what, n)
	}
	var key *ecdsa.PrivateKey
	for i := 0; key == nil; i++ {
		b, err := derive("key "+strconv.Itoa(i), 32)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("pki: mint: %w", err)
		}
		// Out of range (zero, or not below the group order) about once in
		// 2^32: the next derivation then.
		key, _ = ecdsa.ParseRawPrivateKey(elliptic.P256(), b)
		if i > 16 {
			return tls.Certificate{}, errors.New("pki: mint: no valid key derived")
		}
	}
	sb, err := derive("serial", 16)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: mint: %w", err)
	}
	sb[0] &= 0x7f
	serial := new(big.Int).SetBytes(sb)
	if serial.Sign() == 0 {
		serial.SetInt64(1)
	}
	notBefore := start.Add(-clockSkew)
	if start.Equal(ca.Cert.NotBefore) || notBefore.Before(ca.Cert.NotBefore) {
		notBefore = ca.Cert.NotBefore // the CA's notBefore has the skew already
	}
	notAfter := start.Add(LeafValidity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: strings.TrimSpace(hosts[0]), Organization: []string{"decoy"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	if err := addNames(tmpl, hosts); err != nil {
		return tls.Certificate{}, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, deterministicSigner{ca.Key})
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: parse certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// deterministicSigner signs with an ECDSA key deterministically (RFC
// 6979: the same message, the same signature); RSA PKCS #1 v1.5 and
// Ed25519 signatures, which x509 makes with other keys, are deterministic
// already.
type deterministicSigner struct{ crypto.Signer }

func (s deterministicSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if k, ok := s.Signer.(*ecdsa.PrivateKey); ok {
		return k.Sign(nil, digest, opts)
	}
	return s.Signer.Sign(r, digest, opts)
}
