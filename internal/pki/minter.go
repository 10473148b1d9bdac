package pki

import (
	"container/list"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// DefaultMintCache is how many minted certificates a Minter keeps.
const DefaultMintCache = 1024

// Minter answers TLS handshakes with a certificate for the name the client
// asks for (SNI), signed by its CA and minted the first time that name is
// asked for: a client whose production host name is sent to decoy (an
// iptables DNAT rule, /etc/hosts) gets a certificate for that name, which
// it accepts once it trusts the CA. A handshake without a server name
// (a client connecting to an IP address) gets a certificate for the
// address it connected to.
//
// A certificate is a function of the CA, the names it holds and the
// period (30 days) it is minted in: its key, serial number and signature
// are derived from the CA key (see mint), so that every process holding
// the same CA presents the same certificate for a name, byte for byte
// (the workers of --workers N, a decoy started again). It is valid from
// the start of its period for LeafValidity, and minted again when the
// next period starts.
//
// Certificates are kept in a cache bounded to Max entries, the least
// recently used dropped first; concurrent handshakes for a name not yet
// cached wait for one certificate rather than each minting one. A Minter
// is safe for concurrent use.
type Minter struct {
	ca      *CA
	seed    []byte          // what keys are derived from (CA.mintSeed)
	hosts   []string        // the names of the default certificate
	covered map[string]bool // the names and addresses the default certificate covers
	max     int
	now     func() time.Time

	mu       sync.Mutex
	fallback *minted    // for hosts and names that cannot be certified
	lru      *list.List // of *minted, most recent first
	byName   map[string]*list.Element
	inflight map[string]*mintCall
	mints    uint64 // certificates minted (for tests and metrics)
}

type minted struct {
	name  string
	cert  *tls.Certificate
	until time.Time // the end of the period it was minted for
}

// mintCall is a certificate being minted; done is closed when it is.
type mintCall struct {
	done chan struct{}
	cert *tls.Certificate
	err  error
}

// NewMinter returns a Minter signing with ca, whose certificate for
// hosts (DefaultHosts when none) is made at once and answers handshakes
// for those names. max bounds the cache (DefaultMintCache when 0 or less).
func NewMinter(ca *CA, hosts []string, max int) (*Minter, error) {
	if len(hosts) == 0 {
		hosts = DefaultHosts()
	}
	if max <= 0 {
		max = DefaultMintCache
	}
	seed, err := ca.mintSeed()
	if err != nil {
		return nil, err
	}
	m := &Minter{
		ca: ca, seed: seed, hosts: hosts, covered: map[string]bool{}, max: max, now: time.Now,
		lru: list.New(), byName: map[string]*list.Element{}, inflight: map[string]*mintCall{},
	}
	for _, h := range hosts {
		m.covered[normalName(h)] = true
	}
	if _, err := m.defaultCert(); err != nil {
		return nil, err
	}
	return m, nil
}

// Default is the certificate for the hosts given to NewMinter.
func (m *Minter) Default() *tls.Certificate {
	c, err := m.defaultCert()
	if err != nil {
		// Minted once already by NewMinter: only a new period can fail,
		// and then the last one serves until it expires.
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.fallback.cert
	}
	return c
}

// defaultCert is the certificate for the default hosts, minted again when
// a new period starts.
func (m *Minter) defaultCert() (*tls.Certificate, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if m.fallback != nil && now.Before(m.fallback.until) {
		return m.fallback.cert, nil
	}
	start, end := m.ca.mintPeriodOf(now)
	c, err := m.ca.mint(m.seed, m.hosts, start)
	if err != nil {
		return nil, err
	}
	m.fallback = &minted{cert: &c, until: end}
	return &c, nil
}

// Minted is how many certificates m has minted since it was made (the one
// for its default hosts not counted).
func (m *Minter) Minted() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mints
}

// GetCertificate is tls.Config.GetCertificate: the certificate for
// hello's server name, or, without one, for the local address of the
// connection.
func (m *Minter) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := normalName(hello.ServerName)
	if name == "" || !validDNSName(name) {
		// No SNI (or one no certificate can hold): the address the
		// client connected to.
		name = ""
		if hello.Conn != nil {
			if ap, err := netip.ParseAddrPort(hello.Conn.LocalAddr().String()); err == nil {
				name = ap.Addr().Unmap().WithZone("").String()
			}
		}
	}
	if name == "" || m.covered[name] {
		return m.defaultCert()
	}
	return m.Get(name)
}

// Get returns the certificate for name (a DNS name or an IP address),
// minting it unless it is cached.
func (m *Minter) Get(name string) (*tls.Certificate, error) {
	m.mu.Lock()
	now := m.now()
	if e, ok := m.byName[name]; ok {
		mc := e.Value.(*minted)
		if now.Before(mc.until) {
			m.lru.MoveToFront(e)
			m.mu.Unlock()
			return mc.cert, nil
		}
		// Its period is over: mint the next period's.
		m.lru.Remove(e)
		delete(m.byName, name)
	}
	if call, ok := m.inflight[name]; ok {
		m.mu.Unlock()
		<-call.done
		return call.cert, call.err
	}
	call := &mintCall{done: make(chan struct{})}
	m.inflight[name] = call
	m.mints++
	m.mu.Unlock()

	start, end := m.ca.mintPeriodOf(now)
	cert, err := m.ca.mint(m.seed, []string{name}, start)
	if err != nil {
		call.err = errors.New("decoy cannot make a certificate for " + name + ": " + err.Error())
	} else {
		call.cert = &cert
	}
	m.mu.Lock()
	delete(m.inflight, name)
	if call.err == nil {
		m.byName[name] = m.lru.PushFront(&minted{name: name, cert: call.cert, until: end})
		for m.lru.Len() > m.max {
			old := m.lru.Remove(m.lru.Back()).(*minted)
			delete(m.byName, old.name)
		}
	}
	m.mu.Unlock()
	close(call.done)
	return call.cert, call.err
}

// Len is how many minted certificates m holds.
func (m *Minter) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lru.Len()
}

// normalName is a server name as certificates are looked up by: lower
// case, without a trailing dot, and an IP address in its canonical form.
func normalName(s string) string {
	s = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return a.Unmap().WithZone("").String()
	}
	return s
}

// validDNSName reports whether s (lower case) can be a certificate's DNS
// name: labels of letters, digits, '-' and '_' (found in the wild), at
// most 63 bytes each and 253 in all, an optional leading "*." wildcard;
// or an IP address.
func validDNSName(s string) bool {
	if net.ParseIP(s) != nil {
		return true
	}
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	s = strings.TrimPrefix(s, "*.")
	for label := range strings.SplitSeq(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
