// Package pki owns decoy's local certificate authority: creating a CA and
// keeping it in a directory (`decoy certs`), issuing server and client
// certificates, minting server certificates on the fly for the names
// clients ask for (SNI, see Minter), and loading user-supplied key pairs.
//
// All keys are ECDSA P-256: generating one takes well under a millisecond,
// so a fresh CA and server certificate can be made at every server start.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// CAValidity is how long a CA made by NewCA is valid.
const CAValidity = 10 * 365 * 24 * time.Hour

// clockSkew is how far before "now" certificates start being valid, so that a
// client whose clock is slightly behind still accepts them.
const clockSkew = time.Hour

// CA is a certificate authority: a self-signed CA certificate and its key.
type CA struct {
	// Cert is the parsed CA certificate.
	Cert *x509.Certificate
	// Key signs the certificates the CA issues.
	Key crypto.Signer
	// CertPEM is Cert in PEM form ("CERTIFICATE" block).
	CertPEM []byte
	// KeyPEM is Key in PEM form (PKCS #8, "PRIVATE KEY" block).
	KeyPEM []byte
}

// NewCA creates a self-signed certificate authority with an ECDSA P-256 key,
// valid for ten years, whose subject common name is commonName.
func NewCA(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"decoy"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(CAValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("pki: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse CA certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: encode CA key: %w", err)
	}
	return &CA{
		Cert:    cert,
		Key:     key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// LoadCA loads a CA from a PEM certificate and a PEM private key (PKCS #8,
// PKCS #1 or SEC 1). The certificate must be a CA certificate allowed to sign
// certificates, and the key must match it.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: load CA: %w", err)
	}
	cert := pair.Leaf
	if cert == nil {
		if cert, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("pki: load CA: parse certificate: %w", err)
		}
	}
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return nil, errors.New("pki: load CA: certificate is not a CA certificate (basic constraints CA:FALSE)")
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, errors.New("pki: load CA: certificate's key usage does not allow signing certificates")
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("pki: load CA: private key of type %T cannot sign", pair.PrivateKey)
	}
	return &CA{
		Cert:    cert,
		Key:     signer,
		CertPEM: append([]byte(nil), certPEM...),
		KeyPEM:  append([]byte(nil), keyPEM...),
	}, nil
}

// LeafValidity is how long the certificates decoy issues for servers and
// clients are valid: 397 days, within the 398 that Apple platforms and
// browsers accept for a server certificate.
const LeafValidity = 397 * 24 * time.Hour

// Issue creates a server certificate signed by ca, with a fresh ECDSA P-256
// key, valid from now (less an hour of clock skew) for validity. Each entry of
// hosts that parses as an IP address becomes an IP SAN, every other entry a
// DNS SAN; the first host is also the subject common name. The returned
// certificate's chain is the leaf followed by the CA certificate, and its Leaf
// field is set.
func (ca *CA) Issue(hosts []string, validity time.Duration) (tls.Certificate, error) {
	if len(hosts) == 0 {
		return tls.Certificate{}, errors.New("pki: issue: no host names or IP addresses given")
	}
	return ca.issue(hosts[0], hosts, validity, x509.ExtKeyUsageServerAuth)
}

// IssueClient creates a client certificate (for mutual TLS) signed by ca,
// with subject common name commonName and, as SANs, names (host names, IP
// addresses, e-mail addresses or URIs; none is fine). Like Issue otherwise.
func (ca *CA) IssueClient(commonName string, names []string, validity time.Duration) (tls.Certificate, error) {
	if strings.TrimSpace(commonName) == "" {
		return tls.Certificate{}, errors.New("pki: issue client certificate: no common name given")
	}
	return ca.issue(commonName, names, validity, x509.ExtKeyUsageClientAuth)
}

// CheckNames reports the first of names that Issue and IssueClient would
// refuse as a subject alternative name, before any key or file is made.
func CheckNames(names []string) error {
	return addNames(&x509.Certificate{}, names)
}

// addNames adds names to tmpl as subject alternative names: IP addresses,
// URIs, e-mail addresses and host names.
func addNames(tmpl *x509.Certificate, names []string) error {
	for _, h := range names {
		h = strings.TrimSpace(h)
		if h == "" {
			return errors.New("pki: issue: empty host name")
		}
		// Accept "[::1]" as well as "::1".
		if ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if u, err := url.Parse(h); err == nil && u.Scheme != "" && strings.Contains(h, "://") {
			tmpl.URIs = append(tmpl.URIs, u)
		} else if strings.Contains(h, "@") {
			tmpl.EmailAddresses = append(tmpl.EmailAddresses, h)
		} else if validDNSName(strings.ToLower(h)) {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		} else {
			return fmt.Errorf("pki: issue: %q is not a host name, IP address, e-mail address or URI: a host name is labels of letters, digits, '-' and '_' joined by dots, with an optional leading \"*.\" wildcard label", h)
		}
	}
	return nil
}

func (ca *CA) issue(commonName string, names []string, validity time.Duration, usage x509.ExtKeyUsage) (tls.Certificate, error) {
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return tls.Certificate{}, errors.New("pki: issue: CA has no certificate or key")
	}
	if validity <= 0 {
		return tls.Certificate{}, fmt.Errorf("pki: issue: validity %v is not positive", validity)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: generate key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	notAfter := now.Add(validity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter // a leaf outliving its CA fails anyway
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: strings.TrimSpace(commonName), Organization: []string{"decoy"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{usage},
		BasicConstraintsValid: true,
	}
	if err := addNames(tmpl, names); err != nil {
		return tls.Certificate{}, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: parse certificate: %w", err)
	}
	return tls.Certificate{
		Certificate: [][]byte{der, ca.Cert.Raw},
		PrivateKey:  key,
		Leaf:        leaf,
	}, nil
}

// LoadKeyPair loads a PEM certificate chain and its PEM private key from
// files, as given with --tls-cert and --tls-key. Errors name the offending
// file and say what is wrong with it, for example
// "tls-cert /x.pem: no PEM certificate found".
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls-cert %s: %w", certFile, unwrapPathError(err))
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls-key %s: %w", keyFile, unwrapPathError(err))
	}

	// Check each file on its own first, so that the error can name the file.
	var certDER [][]byte
	for rest := certPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			certDER = append(certDER, block.Bytes)
		}
	}
	if len(certDER) == 0 {
		return tls.Certificate{}, fmt.Errorf("tls-cert %s: no PEM certificate found", certFile)
	}
	leaf, err := x509.ParseCertificate(certDER[0])
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls-cert %s: %w", certFile, err)
	}
	if !hasPrivateKeyBlock(keyPEM) {
		return tls.Certificate{}, fmt.Errorf("tls-key %s: no PEM private key found", keyFile)
	}

	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls-key %s does not fit tls-cert %s: %w", keyFile, certFile, err)
	}
	if pair.Leaf == nil {
		pair.Leaf = leaf
	}
	return pair, nil
}

// DefaultHosts returns the names a generated server certificate covers when
// none are given: "localhost", "127.0.0.1", "::1" and, if it can be found and
// differs from those, the machine's host name.
func DefaultHosts() []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if name, err := os.Hostname(); err == nil && name != "" && name != "localhost" {
		hosts = append(hosts, name)
	}
	return hosts
}

// randomSerial returns a random positive 128-bit certificate serial number.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	n, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return nil, fmt.Errorf("pki: random serial number: %w", err)
	}
	if n.Sign() == 0 {
		n.SetInt64(1)
	}
	return n, nil
}

// hasPrivateKeyBlock reports whether data holds a PEM block that looks like a
// private key ("PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", ...).
func hasPrivateKeyBlock(data []byte) bool {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return false
		}
		if block.Type == "PRIVATE KEY" || strings.HasSuffix(block.Type, " PRIVATE KEY") {
			return true
		}
	}
}

// unwrapPathError drops the *fs.PathError wrapper (which repeats the file
// name) so that "tls-cert /x.pem: open /x.pem: no such file" reads
// "tls-cert /x.pem: no such file or directory". The underlying error is kept,
// so errors.Is(err, fs.ErrNotExist) still works.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
