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
// Certificates are kept in a cache bounded to Max entries, the least
// recently used dropped first; concurrent handshakes for a name not yet
// cached wait for one certificate rather than each minting one. A Minter
// is safe for concurrent use.
type Minter struct {
	ca       *CA
	fallback *tls.Certificate // for DefaultHosts and names that cannot be certified
	covered  map[string]bool  // the names and addresses fallback covers
	max      int
	validity time.Duration

	mu       sync.Mutex
	lru      *list.List // of *minted, most recent first
	byName   map[string]*list.Element
	inflight map[string]*mintCall
	mints    uint64 // certificates minted (for tests and metrics)
}

type minted struct {
	name string
	cert *tls.Certificate
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
	fb, err := ca.Issue(hosts, LeafValidity)
	if err != nil {
		return nil, err
	}
	m := &Minter{
		ca: ca, fallback: &fb, covered: map[string]bool{}, max: max, validity: LeafValidity,
		lru: list.New(), byName: map[string]*list.Element{}, inflight: map[string]*mintCall{},
	}
	for _, h := range hosts {
		m.covered[normalName(h)] = true
	}
	return m, nil
}

// Default is the certificate for the hosts given to NewMinter.
func (m *Minter) Default() *tls.Certificate { return m.fallback }

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
		return m.fallback, nil
	}
	return m.Get(name)
}

// Get returns the certificate for name (a DNS name or an IP address),
// minting it unless it is cached.
func (m *Minter) Get(name string) (*tls.Certificate, error) {
	m.mu.Lock()
	if e, ok := m.byName[name]; ok {
		c := e.Value.(*minted).cert
		if time.Until(c.Leaf.NotAfter) > time.Hour {
			m.lru.MoveToFront(e)
			m.mu.Unlock()
			return c, nil
		}
		// About to expire (a decoy that ran for a year): mint it again.
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

	cert, err := m.ca.Issue([]string{name}, m.validity)
	if err != nil {
		call.err = errors.New("decoy cannot make a certificate for " + name + ": " + err.Error())
	} else {
		call.cert = &cert
	}
	m.mu.Lock()
	delete(m.inflight, name)
	if call.err == nil {
		m.byName[name] = m.lru.PushFront(&minted{name: name, cert: call.cert})
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
