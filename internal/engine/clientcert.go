package engine

import (
	"context"
	"crypto/x509"
	"strings"

	"github.com/decoy-dev/decoy/internal/match"
	"github.com/decoy-dev/decoy/internal/stub"
)

// ClientCert is what the engine knows of the certificate a TLS client
// presented (and the handshake verified). Front doors make one per
// connection, with NewClientCert, and hand the same one with each of its
// requests.
type ClientCert struct {
	// Subject and Issuer are distinguished names as RFC 2253 writes them
	// ("CN=alice,O=Example").
	Subject    string
	CommonName string
	Issuer     string
	// SANs are the subject alternative names: DNS names, IP addresses,
	// e-mail addresses and URIs, in that order.
	SANs []string
}

// NewClientCert reads c's facts.
func NewClientCert(c *x509.Certificate) *ClientCert {
	cc := &ClientCert{Subject: c.Subject.String(), CommonName: c.Subject.CommonName, Issuer: c.Issuer.String()}
	cc.SANs = append(cc.SANs, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		cc.SANs = append(cc.SANs, ip.String())
	}
	cc.SANs = append(cc.SANs, c.EmailAddresses...)
	for _, u := range c.URIs {
		cc.SANs = append(cc.SANs, u.String())
	}
	return cc
}

// ClientCertKey is the context key of a connection's *ClientCert, for
// front doors that reach the engine through another server's handler
// (gRPC calls served by grpc-go behind Go's HTTP/2 server or fasthttp):
// the TLS front door puts it in the connection's context, and the gRPC
// front door reads it with ClientCertFrom.
type ClientCertKey struct{}

// ClientCertFrom returns the client certificate in ctx, nil when there is
// none.
func ClientCertFrom(ctx context.Context) *ClientCert {
	cc, _ := ctx.Value(ClientCertKey{}).(*ClientCert)
	return cc
}

// certMatcher is a stub's compiled clientCert matcher.
type certMatcher struct {
	present, absent                bool
	subject, commonName, san, issr *match.String
}

func compileCert(m stub.ClientCertMatcher) (*certMatcher, []stub.FieldError) {
	var errs []stub.FieldError
	c := &certMatcher{present: m.Present, absent: m.Absent}
	one := func(field string, sm *stub.StringMatcher) *match.String {
		if sm == nil {
			return nil
		}
		out, fe := match.CompileString(*sm)
		for _, e := range fe {
			errs = append(errs, stub.FieldError{Field: stub.Join(field, e.Field), Msg: e.Msg})
		}
		if sm.Absent {
			errs = append(errs, stub.FieldError{Field: field, Msg: "absent: a certificate has every part; use clientCert: {absent: true} for no certificate"})
		}
		if out != nil {
			c.present = true // any part requires a certificate
		}
		return out
	}
	c.subject = one("subject", m.Subject)
	c.commonName = one("commonName", m.CommonName)
	c.san = one("san", m.SAN)
	c.issr = one("issuer", m.Issuer)
	if m.Absent && c.present {
		errs = append(errs, stub.FieldError{Msg: "absent: true combines with nothing else"})
	}
	if !c.present && !c.absent && len(errs) == 0 {
		errs = append(errs, stub.FieldError{Msg: "give present, absent, subject, commonName, san or issuer"})
	}
	return c, errs
}

// match reports whether cc (nil: no certificate) satisfies m.
func (m *certMatcher) match(cc *ClientCert) bool {
	if cc == nil {
		return m.absent
	}
	if m.absent {
		return false
	}
	if m.subject != nil && !m.subject.Match(cc.Subject, true) ||
		m.commonName != nil && !m.commonName.Match(cc.CommonName, true) ||
		m.issr != nil && !m.issr.Match(cc.Issuer, true) {
		return false
	}
	if m.san != nil {
		for _, s := range cc.SANs {
			if m.san.Match(s, true) {
				return true
			}
		}
		return false
	}
	return true
}

// why says why cc does not satisfy m, for the no-match report ("" when it
// does).
func (m *certMatcher) why(cc *ClientCert) string {
	switch {
	case m.match(cc):
		return ""
	case cc == nil:
		return "client certificate: none was presented, want one"
	case m.absent:
		return "client certificate: " + cc.Subject + " was presented, want none"
	}
	var l []string
	if m.subject != nil && !m.subject.Match(cc.Subject, true) {
		l = append(l, "subject "+m.subject.Why(cc.Subject, true))
	}
	if m.commonName != nil && !m.commonName.Match(cc.CommonName, true) {
		l = append(l, "commonName "+m.commonName.Why(cc.CommonName, true))
	}
	if m.issr != nil && !m.issr.Match(cc.Issuer, true) {
		l = append(l, "issuer "+m.issr.Why(cc.Issuer, true))
	}
	if m.san != nil {
		sans := strings.Join(cc.SANs, ", ")
		if sans == "" {
			sans = "none"
		}
		l = append(l, "no SAN matches (SANs: "+sans+")")
	}
	return "client certificate " + strings.Join(l, "; ")
}
