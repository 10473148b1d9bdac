package pki

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// The files of a CA kept in a directory (see LoadOrCreate).
const (
	CACertFile = "ca.pem"
	CAKeyFile  = "ca-key.pem"
)

// CACommonName is the subject common name of the CA `decoy certs` makes.
const CACommonName = "decoy local CA"

// DefaultDir is where `decoy certs` keeps its CA when no directory is
// given: the user's configuration directory (as os.UserConfigDir finds it,
// read through getenv) followed by "decoy". It is "" when that cannot be
// found (no HOME, for example), and then there is no default CA.
func DefaultDir(getenv func(string) string) string {
	var base string
	switch runtime.GOOS {
	case "windows":
		base = getenv("AppData")
	case "darwin", "ios":
		if h := getenv("HOME"); h != "" {
			base = filepath.Join(h, "Library", "Application Support")
		}
	default:
		base = getenv("XDG_CONFIG_HOME")
		if base == "" || !filepath.IsAbs(base) {
			base = ""
			if h := getenv("HOME"); h != "" {
				base = filepath.Join(h, ".config")
			}
		}
	}
	if base == "" {
		return ""
	}
	return filepath.Join(base, "decoy")
}

// Exists reports whether dir holds a CA certificate file or a CA key
// file: a CA, or what is left of one, which LoadDir then refuses rather
// than a caller quietly doing without it.
func Exists(dir string) bool {
	if dir == "" {
		return false
	}
	for _, f := range []string{CACertFile, CAKeyFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// LoadDir loads the CA kept in dir (ca.pem and ca-key.pem). A key without
// its certificate is refused as LoadOrCreate refuses it.
func LoadDir(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	if _, err := os.Stat(certPath); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(keyPath); err == nil {
			return nil, keyWithoutCert(keyPath, certPath)
		}
	}
	return LoadCAFiles(certPath, keyPath)
}

func keyWithoutCert(keyPath, certPath string) error {
	return fmt.Errorf("CA key %s exists without its certificate %s: move it away or restore the certificate", keyPath, certPath)
}

// LoadOrCreate loads the CA kept in dir, or, when dir holds none, makes
// one and writes it there: ca.pem (readable by all) and ca-key.pem (by
// the owner only), dir made with mode 0700 when missing. created tells
// which. A CA certificate without its key, or a key that does not fit, is
// an error naming the file; nothing is overwritten.
func LoadOrCreate(dir string) (ca *CA, created bool, err error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	_, cerr := os.Stat(certPath)
	_, kerr := os.Stat(keyPath)
	switch {
	case cerr == nil:
		ca, err := LoadCAFiles(certPath, keyPath)
		return ca, false, err
	case !errors.Is(cerr, fs.ErrNotExist):
		return nil, false, fmt.Errorf("CA certificate %s: %w", certPath, unwrapPathError(cerr))
	case kerr == nil:
		return nil, false, keyWithoutCert(keyPath, certPath)
	}
	ca, err = NewCA(CACommonName)
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("CA directory %s: %w", dir, unwrapPathError(err))
	}
	// The key first, so that a CA certificate never exists without it.
	if err := writeNew(keyPath, ca.KeyPEM, 0o600); err != nil {
		return nil, false, err
	}
	if err := writeNew(certPath, ca.CertPEM, 0o644); err != nil {
		_ = os.Remove(keyPath)
		return nil, false, err
	}
	return ca, true, nil
}

// writeNew writes a file that must not exist yet, with mode perm.
func writeNew(name string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("%s: %w", name, unwrapPathError(err))
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		_ = os.Remove(name)
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// LoadCAFiles loads a CA from a PEM certificate file and a PEM key file,
// as given with --ca-cert and --ca-key. Errors name the file and say what
// is wrong with it.
func LoadCAFiles(certFile, keyFile string) (*CA, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("CA certificate %s: %w", certFile, unwrapPathError(err))
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("CA key %s: %w", keyFile, unwrapPathError(err))
	}
	if block, _ := pem.Decode(certPEM); block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("CA certificate %s: no PEM certificate found", certFile)
	} else if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return nil, fmt.Errorf("CA certificate %s: %w", certFile, err)
	}
	if !hasPrivateKeyBlock(keyPEM) {
		return nil, fmt.Errorf("CA key %s: no PEM private key found", keyFile)
	}
	ca, err := LoadCA(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("CA %s with key %s: %w", certFile, keyFile, err)
	}
	return ca, nil
}

// WriteKeyPair writes cert's chain to certFile (PEM, readable by all) and
// its private key to keyFile (PKCS #8 PEM, readable by the owner only),
// replacing files that exist. When the certificate cannot be written, the
// key file is removed again.
func WriteKeyPair(cert tls.Certificate, certFile, keyFile string) error {
	var chain []byte
	for _, der := range cert.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	key, ok := cert.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return fmt.Errorf("pki: write key pair: key of type %T", cert.PrivateKey)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("pki: encode key: %w", err)
	}
	if err := replace(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	if err := replace(certFile, chain, 0o644); err != nil {
		// No key left behind without its certificate.
		_ = os.Remove(keyFile)
		return err
	}
	return nil
}

// replace writes name with data and mode perm, whether or not it exists.
func replace(name string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("%s: %w", name, unwrapPathError(err))
	}
	// An existing file keeps its mode through O_TRUNC: a key must not.
	if err := f.Chmod(perm); err != nil {
		_ = f.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
