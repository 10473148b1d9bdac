// Package loopback holds what the load generators under bench/ share about
// the loopback addresses they connect from.
package loopback

import (
	"fmt"
	"net"
	"strings"
)

// ParseSources reads a comma-separated list of source addresses. Every
// one must be a loopback address (the bench scripts bind nothing else); an
// empty list gives none.
func ParseSources(s string) ([]net.IP, error) {
	var out []net.IP
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		ip := net.ParseIP(f)
		if ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("source address %q is not a loopback address", f)
		}
		out = append(out, ip)
	}
	return out, nil
}
