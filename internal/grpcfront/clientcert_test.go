package grpcfront_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/pki"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const certStubs = `
- id: alice
  request: {path: /shop.v1.Users/GetUser, clientCert: {commonName: alice}}
  response: {body: {name: Alice}}
- id: workload
  request:
    path: /shop.v1.Users/GetUser
    clientCert: {san: {regex: "^spiffe://test/"}, issuer: {contains: test CA}}
  response: {body: {name: Workload}}
- id: stranger
  request: {path: /shop.v1.Users/GetUser, clientCert: {absent: true}}
  response:
    grpc: {status: UNAUTHENTICATED, message: a client certificate is needed}
`

// tlsFront serves the front door through Go's HTTP/2 server over TLS,
// asking clients for certificates of ca, and putting the one a client
// presents in the request's context as decoy's TLS port does.
func tlsFront(t *testing.T, s *server, ca *pki.CA) string {
	t.Helper()
	serverCert, err := ca.Issue([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			cc := engine.NewClientCert(r.TLS.PeerCertificates[0])
			r = r.WithContext(context.WithValue(r.Context(), engine.ClientCertKey{}, cc))
		}
		s.front.ServeHTTP(w, r)
	}))
	hs.EnableHTTP2 = true
	hs.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes a test makes
	hs.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}
	hs.StartTLS()
	t.Cleanup(hs.Close)
	return hs.Listener.Addr().String()
}

// present makes a client send cert whatever CAs the server names (Go's
// client would leave out a certificate of a CA the server does not name).
func present(cert *tls.Certificate) func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
}

// TestClientCertMatch: gRPC calls over TLS match stubs on the client's
// certificate, as HTTP requests do, and the journal shows its subject.
func TestClientCertMatch(t *testing.T) {
	t.Parallel()
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.NewCA("other CA")
	if err != nil {
		t.Fatal(err)
	}
	issue := func(ca *pki.CA, cn string, sans ...string) *tls.Certificate {
		c, err := ca.IssueClient(cn, sans, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return &c
	}
	cases := []struct {
		name    string
		certs   bool // ClientCerts
		cert    *tls.Certificate
		code    codes.Code
		user    string // the answer's name
		stub    string // in the journal
		subject string // the journal's clientCert
	}{
		{"commonName", true, issue(ca, "alice"), codes.OK, "Alice", "alice", "CN=alice,O=decoy"},
		{"san and issuer", true, issue(ca, "svc", "spiffe://test/svc"), codes.OK, "Workload", "workload", "CN=svc,O=decoy"},
		{"absent", true, nil, codes.Unauthenticated, "", "stranger", ""},
		{"no stub matches: generated", true, issue(ca, "bob"), codes.OK, "", "", "CN=bob,O=decoy"},
		{"san that does not match", true, issue(ca, "svc2", "spiffe://prod/svc2"), codes.OK, "", "", "CN=svc2,O=decoy"},
		{"not looked for without ClientCerts", false, issue(ca, "alice"), codes.Unauthenticated, "", "stranger", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, certStubs, opts{journal: 10, certs: tc.certs})
			addr := tlsFront(t, s, ca)
			roots := x509.NewCertPool()
			roots.AddCert(ca.Cert)
			conf := &tls.Config{RootCAs: roots, ServerName: "localhost"}
			if tc.cert != nil {
				conf.GetClientCertificate = present(tc.cert)
			}
			conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(credentials.NewTLS(conf)))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			out := s.out(t, "shop.v1.User")
			err = conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 1}`), out)
			if got := status.Code(err); got != tc.code {
				t.Fatalf("status %v (%v), want %v", got, err, tc.code)
			}
			if tc.code == codes.OK {
				name := out.Get(out.Descriptor().Fields().ByName("name")).String()
				if tc.user != "" && name != tc.user || tc.user == "" && (name == "Alice" || name == "Workload") {
					t.Errorf("name %q, want %q", name, tc.user)
				}
			}
			es := s.journal.Find(journal.Filter{})
			if len(es) != 1 {
				t.Fatalf("%d journal entries, want 1", len(es))
			}
			if es[0].Stub != tc.stub || es[0].ClientCert != tc.subject {
				t.Errorf("journal: stub %q clientCert %q, want %q %q", es[0].Stub, es[0].ClientCert, tc.stub, tc.subject)
			}
		})
	}
	// gRPC-Web over TLS sees the certificate too.
	t.Run("gRPC-Web", func(t *testing.T) {
		s := start(t, certStubs, opts{journal: 10, certs: true})
		addr := tlsFront(t, s, ca)
		roots := x509.NewCertPool()
		roots.AddCert(ca.Cert)
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost", GetClientCertificate: present(issue(ca, "alice"))}}
		defer tr.CloseIdleConnections()
		b, err := proto.Marshal(s.msg(t, "shop.v1.GetUserRequest", `{"id": 1}`))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := (&http.Client{Transport: tr}).Post("https://"+addr+getUser, "application/grpc-web+proto", bytes.NewReader(webBody(b)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		msgs, trailer := webFrames(t, body)
		if len(msgs) != 1 || !bytes.Contains(msgs[0], []byte("Alice")) || !strings.Contains(trailer, "grpc-status:0\r\n") {
			t.Errorf("gRPC-Web as alice: %q, trailers %q", msgs, trailer)
		}
		if es := s.journal.Find(journal.Filter{}); len(es) != 1 || es[0].ClientCert != "CN=alice,O=decoy" {
			t.Errorf("journal: %+v", es)
		}
	})
	// A certificate of another CA fails the handshake.
	s := start(t, certStubs, opts{journal: 10, certs: true})
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	conn, err := grpc.NewClient("passthrough:///"+tlsFront(t, s, ca), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		RootCAs: roots, ServerName: "localhost", GetClientCertificate: present(issue(other, "mallory"))})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 1}`), s.out(t, "shop.v1.User"))
	if status.Code(err) != codes.Unavailable {
		t.Errorf("a certificate of another CA: %v, want UNAVAILABLE", err)
	}
	if n := len(s.journal.Find(journal.Filter{})); n != 0 {
		t.Errorf("a call with a certificate of another CA was journaled (%d entries)", n)
	}
}

// TestGRPCPortTLS: the gRPC port serves TLS to the connections that start
// with a handshake, with client-auth and clientCert matching, and keeps
// serving cleartext; faults act through TLS.
func TestGRPCPortTLS(t *testing.T) {
	t.Parallel()
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	serverCert, err := ca.Issue([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := ca.IssueClient("alice", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	const stubs = certStubs + `
- request: {path: /shop.v1.Users/ListUsers, clientCert: {commonName: alice}}
  response:
    faults: {kind: reset, h2: {rstStream: CANCEL}}
`
	for _, auth := range []tls.ClientAuthType{tls.VerifyClientCertIfGiven, tls.RequireAndVerifyClientCert} {
		t.Run(auth.String(), func(t *testing.T) {
			t.Parallel()
			conf := &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: auth, ClientCAs: roots}
			s := start(t, stubs, opts{journal: 10, certs: true, tls: conf})
			cases := []struct {
				name   string
				tls    bool
				cert   *tls.Certificate
				method string
				code   codes.Code
				user   string
			}{
				{"TLS as alice", true, &alice, getUser, codes.OK, "Alice"},
				{"TLS without a certificate", true, nil, getUser, codes.Unauthenticated, ""},
				{"cleartext", false, nil, getUser, codes.Unauthenticated, ""},
				{"a stream reset through TLS", true, &alice, "/shop.v1.Users/ListUsers", codes.Canceled, ""},
			}
			for _, tc := range cases {
				creds := insecure.NewCredentials()
				if tc.tls {
					cc := &tls.Config{RootCAs: roots, ServerName: "localhost"}
					if tc.cert != nil {
						cc.GetClientCertificate = present(tc.cert)
					}
					creds = credentials.NewTLS(cc)
				}
				conn, err := grpc.NewClient("passthrough:///"+s.addr, grpc.WithTransportCredentials(creds))
				if err != nil {
					t.Fatal(err)
				}
				want := tc.code
				if auth == tls.RequireAndVerifyClientCert && tc.tls && tc.cert == nil {
					want = codes.Unavailable // refused at the handshake
				}
				var got error
				if tc.method == getUser {
					out := s.out(t, "shop.v1.User")
					got = conn.Invoke(ctx(t), getUser, s.msg(t, "shop.v1.GetUserRequest", `{"id": 1}`), out)
					if got == nil && out.Get(out.Descriptor().Fields().ByName("name")).String() != tc.user {
						t.Errorf("%s: answer %v, want user %q", tc.name, out, tc.user)
					}
				} else {
					var st grpc.ClientStream
					if st, got = conn.NewStream(ctx(t), &grpc.StreamDesc{ServerStreams: true}, tc.method); got == nil {
						if got = st.SendMsg(s.msg(t, "shop.v1.ListUsersRequest", `{}`)); got == nil {
							_ = st.CloseSend()
							got = st.RecvMsg(s.out(t, "shop.v1.User"))
						}
					}
				}
				if status.Code(got) != want {
					t.Errorf("%s: %v, want %v", tc.name, got, want)
				}
				_ = conn.Close()
			}
			// The reset call is journaled once the server's side of it
			// ends, which may be after the client saw the reset.
			var subjects []string
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				subjects = subjects[:0]
				for _, e := range s.journal.Find(journal.Filter{}) {
					subjects = append(subjects, e.ClientCert)
				}
				if strings.Count(strings.Join(subjects, " "), "CN=alice,O=decoy") >= 2 || time.Now().After(deadline) {
					break
				}
			}
			if strings.Count(strings.Join(subjects, " "), "CN=alice,O=decoy") != 2 {
				t.Errorf("journal clientCerts %q, want alice's twice", subjects)
			}
			// decoy_tls_handshakes_total counts the port's handshakes: the
			// client without a certificate fails its own when one is
			// required (and its channel may try again).
			wantOK, wantFailed := uint64(3), false
			if auth == tls.RequireAndVerifyClientCert {
				wantOK, wantFailed = 2, true
			}
			// The server counts a failed handshake once its Handshake call
			// returns, which may be after the client saw the alert it
			// sent: wait for it (bounded).
			var ok, failed uint64
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				ok, failed = 0, 0
				for _, hs := range s.front.ConnStats().TLSHandshakes {
					ok += hs[metrics.HandshakeOK]
					failed += hs[metrics.HandshakeFailed]
				}
				if (failed > 0) == wantFailed || time.Now().After(deadline) {
					break
				}
			}
			if ok != wantOK || (failed > 0) != wantFailed {
				t.Errorf("TLS handshakes: %d ok, %d failed; want %d ok, failed %v", ok, failed, wantOK, wantFailed)
			}
		})
	}
}
