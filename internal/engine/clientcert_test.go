package engine

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/stub"
)

func TestNewClientCert(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("spiffe://decoy/alice")
	c := NewClientCert(&x509.Certificate{
		Subject:        pkix.Name{CommonName: "alice", Organization: []string{"Example"}},
		Issuer:         pkix.Name{CommonName: "decoy local CA"},
		DNSNames:       []string{"alice.test"},
		IPAddresses:    []net.IP{net.ParseIP("10.0.0.1")},
		EmailAddresses: []string{"alice@example.com"},
		URIs:           []*url.URL{u},
	})
	if c.Subject != "CN=alice,O=Example" || c.CommonName != "alice" || c.Issuer != "CN=decoy local CA" ||
		strings.Join(c.SANs, " ") != "alice.test 10.0.0.1 alice@example.com spiffe://decoy/alice" {
		t.Errorf("got %+v", c)
	}
}

func TestClientCertMatch(t *testing.T) {
	t.Parallel()
	alice := &ClientCert{Subject: "CN=alice,O=Example", CommonName: "alice", Issuer: "CN=decoy local CA", SANs: []string{"alice.test", "spiffe://decoy/alice"}}
	bob := &ClientCert{Subject: "CN=bob", CommonName: "bob", Issuer: "CN=other CA"}
	eq := func(s string) *stub.StringMatcher { m := stub.Eq(s); return &m }
	tests := []struct {
		name    string
		m       stub.ClientCertMatcher
		cert    *ClientCert
		want    bool
		whyPart string
	}{
		{"present, with one", stub.ClientCertMatcher{Present: true}, alice, true, ""},
		{"present, without", stub.ClientCertMatcher{Present: true}, nil, false, "none was presented"},
		{"absent, without", stub.ClientCertMatcher{Absent: true}, nil, true, ""},
		{"absent, with one", stub.ClientCertMatcher{Absent: true}, bob, false, "CN=bob was presented, want none"},
		{"commonName", stub.ClientCertMatcher{CommonName: eq("alice")}, alice, true, ""},
		{"commonName, other", stub.ClientCertMatcher{CommonName: eq("alice")}, bob, false, `commonName is "bob", want "alice"`},
		{"commonName implies present", stub.ClientCertMatcher{CommonName: eq("alice")}, nil, false, "none was presented"},
		{"subject contains", stub.ClientCertMatcher{Subject: &stub.StringMatcher{Contains: "O=Example"}}, alice, true, ""},
		{"san, any of them", stub.ClientCertMatcher{SAN: &stub.StringMatcher{Regex: "^spiffe://decoy/"}}, alice, true, ""},
		{"san, none", stub.ClientCertMatcher{SAN: eq("alice.test")}, bob, false, "no SAN matches (SANs: none)"},
		{"issuer", stub.ClientCertMatcher{Issuer: &stub.StringMatcher{Contains: "decoy"}}, bob, false, `issuer is "CN=other CA"`},
		{"all together", stub.ClientCertMatcher{Present: true, CommonName: eq("alice"), SAN: eq("alice.test"), Issuer: eq("CN=decoy local CA")}, alice, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, errs := CompileRequest(stub.Request{Path: "/a", ClientCert: &tt.m})
			if errs != nil {
				t.Fatal(errs)
			}
			r := rq{path: "/a"}.req()
			r.ClientCert = tt.cert
			if got := m.Match(r); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
			reasons, _ := m.Why(r)
			if tt.whyPart == "" && len(reasons) > 0 {
				t.Errorf("reasons %v for a match", reasons)
			}
			if tt.whyPart != "" && !strings.Contains(strings.Join(reasons, "; "), tt.whyPart) {
				t.Errorf("reasons %v lack %q", reasons, tt.whyPart)
			}
		})
	}
}

func TestClientCertCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    stub.ClientCertMatcher
		want string
	}{
		{"empty", stub.ClientCertMatcher{}, "clientCert: give present, absent"},
		{"absent with a part", stub.ClientCertMatcher{Absent: true, CommonName: &stub.StringMatcher{Contains: "a"}}, "clientCert: absent: true combines with nothing else"},
		{"bad regex", stub.ClientCertMatcher{SAN: &stub.StringMatcher{Regex: "("}}, "clientCert.san.regex"},
		{"absent part", stub.ClientCertMatcher{Subject: &stub.StringMatcher{Absent: true}}, "clientCert.subject: absent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, errs := CompileRequest(stub.Request{Path: "/a", ClientCert: &tt.m})
			var got []string
			for _, e := range errs {
				got = append(got, e.Field+": "+e.Msg)
			}
			if !strings.Contains(strings.Join(got, "\n"), tt.want) {
				t.Errorf("errors %q lack %q", got, tt.want)
			}
		})
	}
}
