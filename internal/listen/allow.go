package listen

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
)

// ParseCIDRs reads a comma-separated list of client networks, as
// --allow-cidr takes them: CIDR prefixes (127.0.0.0/8, ::1/128) or single
// addresses (10.0.0.7, meaning /32 or /128). Blank entries are skipped;
// an empty list is nil.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not a network: want a CIDR prefix such as 10.0.0.0/8 or ::1/128, or an address", f)
			}
			if p.Addr().Zone() != "" {
				return nil, fmt.Errorf("%q: a network has no zone", f)
			}
			out = append(out, unmapPrefix(p).Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%q is not a network: want a CIDR prefix such as 10.0.0.0/8 or ::1/128, or an address", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// unmapPrefix turns ::ffff:a.b.c.d/n (n >= 96) into a.b.c.d/(n-96), so
// that it matches the IPv4 addresses clients of a dual-stack socket have.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// Allow is an allow-list of client networks: connections from other
// addresses are refused as they are accepted. It counts them.
type Allow struct {
	nets    []netip.Prefix
	refused atomic.Uint64
}

// NewAllow returns an allow-list of nets; nil when nets is empty (every
// client allowed, at no cost).
func NewAllow(nets []netip.Prefix) *Allow {
	if len(nets) == 0 {
		return nil
	}
	return &Allow{nets: nets}
}

// Allows reports whether a client at addr may connect; a refusal is
// counted.
func (a *Allow) Allows(addr netip.Addr) bool {
	if a == nil {
		return true
	}
	addr = addr.Unmap().WithZone("")
	for _, p := range a.nets {
		if p.Contains(addr) {
			return true
		}
	}
	a.refused.Add(1)
	return false
}

// Refused is how many connections the list refused.
func (a *Allow) Refused() uint64 {
	if a == nil {
		return 0
	}
	return a.refused.Load()
}

// admit tells whether c may stay; when it may not, c is closed at once,
// with a reset (SO_LINGER 0) so that the client learns it now and no
// socket lingers here in TIME_WAIT.
func (a *Allow) admit(c net.Conn) bool {
	if a == nil {
		return true
	}
	var addr netip.Addr
	switch ra := c.RemoteAddr().(type) {
	case *net.TCPAddr:
		addr, _ = netip.AddrFromSlice(ra.IP)
	default:
		if ap, err := netip.ParseAddrPort(ra.String()); err == nil {
			addr = ap.Addr()
		}
	}
	if a.Allows(addr) {
		return true
	}
	Reset(c)
	return false
}

// Reset closes c with a TCP reset when it is a TCP connection.
func Reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
