package cli_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/external"
	"github.com/decoy-dev/decoy/internal/pki"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

const whoProto = `syntax = "proto3";
package who.v1;
service Who { rpc WhoAmI(WhoRequest) returns (WhoReply); }
message WhoRequest {}
message WhoReply { string user = 1; }
`

const whoStubs = `- id: alice
  request: {path: /who.v1.Who/WhoAmI, clientCert: {commonName: alice}}
  response: {body: {user: alice}}
- id: no-cert
  request: {path: /who.v1.Who/WhoAmI, clientCert: {absent: true}}
  response:
    grpc: {status: UNAUTHENTICATED, message: a client certificate is needed}
`

// rawCodec sends and receives messages as the bytes they are.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(b []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), b...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// whoAmI calls who.v1.Who/WhoAmI over TLS with grpc-go, presenting cert
// when given, and returns the answer's user.
func whoAmI(t *testing.T, addr string, roots *x509.CertPool, cert *tls.Certificate) (string, error) {
	t.Helper()
	conf := &tls.Config{RootCAs: roots, ServerName: "localhost"}
	if cert != nil {
		conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(credentials.NewTLS(conf)),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in, out := []byte{}, []byte(nil)
	if err := conn.Invoke(ctx, "/who.v1.Who/WhoAmI", &in, &out); err != nil {
		return "", err
	}
	num, typ, n := protowire.ConsumeTag(out)
	if num != 1 || typ != protowire.BytesType {
		return "", fmt.Errorf("unexpected answer % x", out)
	}
	user, m := protowire.ConsumeBytes(out[n:])
	if m < 0 || n+m != len(out) {
		return "", fmt.Errorf("unexpected answer % x", out)
	}
	return string(user), nil
}

// outcome is what a client gets: the user answered, or the status code,
// or a failed handshake.
type outcome struct {
	user      string // "": any (a generated answer)
	code      codes.Code
	handshake bool // refused at the handshake
}

// TestGRPCClientCert: gRPC calls over TLS are asked for client
// certificates as HTTP requests are, match stubs on them, and show them in
// the journal; with grpc-go and grpcurl, the certificates made by
// `decoy certs client`.
func TestGRPCClientCert(t *testing.T) {
	t.Parallel()
	xdg := t.TempDir()
	vars := map[string]string{"XDG_CONFIG_HOME": xdg}
	if code, out := run(t, vars, "certs"); code != 0 {
		t.Fatalf("decoy certs: exit %d\n%s", code, out)
	}
	work := t.TempDir()
	files := map[string][2]string{}
	for _, name := range []string{"alice", "bob"} {
		pair := [2]string{filepath.Join(work, name+".pem"), filepath.Join(work, name+"-key.pem")}
		if code, out := run(t, vars, "certs", "client", "--cert", pair[0], "--key", pair[1], name); code != 0 {
			t.Fatalf("decoy certs client %s: exit %d\n%s", name, code, out)
		}
		files[name] = pair
	}
	caFile := filepath.Join(xdg, "decoy", pki.CACertFile)
	ca, err := pki.LoadDir(filepath.Join(xdg, "decoy"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	certs := map[string]*tls.Certificate{}
	for name, f := range files {
		pair, err := pki.LoadKeyPair(f[0], f[1])
		if err != nil {
			t.Fatal(err)
		}
		certs[name] = &pair
	}
	other, _ := pki.NewCA("other")
	mallory, _ := other.IssueClient("mallory", nil, time.Hour)
	certs["mallory"] = &mallory
	dir := t.TempDir()
	proto := write(t, dir, "who.proto", whoProto)
	stubs := write(t, dir, "stubs.yaml", whoStubs)

	ok := func(user string) outcome { return outcome{user: user} }
	fail := func(c codes.Code) outcome { return outcome{code: c} }
	refused := outcome{code: codes.Unavailable, handshake: true}
	modes := []struct {
		mode    string
		clients map[string]outcome // "": no certificate
	}{
		{"optional", map[string]outcome{"alice": ok("alice"), "bob": ok(""), "": fail(codes.Unauthenticated), "mallory": refused}},
		{"require", map[string]outcome{"alice": ok("alice"), "bob": ok(""), "": refused, "mallory": refused}},
		{"none", map[string]outcome{"alice": fail(codes.Unauthenticated), "": fail(codes.Unauthenticated)}},
	}
	// gRPC-Web on the TLS port, over HTTP/1.1 (fasthttp) and h2 (decoy's
	// loop): the certificate reaches the stubs there too.
	t.Run("grpc-web", func(t *testing.T) {
		t.Parallel()
		a, _ := serve(t, vars, "--client-auth", "optional", proto, stubs)
		for _, h2 := range []bool{false, true} {
			for client, want := range map[string]string{"alice": "\x0a\x05alice", "": "grpc-status:16"} {
				conf := &tls.Config{RootCAs: roots, ServerName: "localhost"}
				if c := certs[client]; c != nil {
					conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c, nil }
				}
				tr := &http.Transport{TLSClientConfig: conf, ForceAttemptHTTP2: h2}
				if !h2 {
					tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
				}
				resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Post("https://"+a.HTTPSAddr.String()+"/who.v1.Who/WhoAmI",
					"application/grpc-web+proto", bytes.NewReader([]byte{0, 0, 0, 0, 0}))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.ProtoMajor != map[bool]int{false: 1, true: 2}[h2] || !strings.Contains(string(b), want) {
					t.Errorf("%s as %q: %s %q, want %q in the body", resp.Proto, client, resp.Status, b, want)
				}
			}
		}
	})
	grpcurl, _ := exec.LookPath("grpcurl")
	for _, m := range modes {
		t.Run(m.mode, func(t *testing.T) {
			t.Parallel()
			a, banner := serve(t, vars, "--quiet=false", "--client-auth", m.mode, proto, stubs)
			// The TLS port, and the gRPC port's own TLS.
			for _, addr := range []string{a.HTTPSAddr.String(), a.GRPCAddr.String()} {
				for client, want := range m.clients {
					user, err := whoAmI(t, addr, roots, certs[client])
					switch {
					case status.Code(err) != want.code:
						t.Errorf("%s: grpc-go as %q: %q, %v; want %v", addr, client, user, err, want.code)
					case want.handshake && !strings.Contains(err.Error(), "certificate") && !strings.Contains(err.Error(), "broken pipe") && !strings.Contains(err.Error(), "reset"):
						t.Errorf("%s: grpc-go as %q: %v; want a failed handshake", addr, client, err)
					case err == nil && want.user != "" && user != want.user, err == nil && want.user == "" && user == "alice":
						t.Errorf("%s: grpc-go as %q: user %q, want %q", addr, client, user, want.user)
					}
				}
			}
			wantLine := "grpcurl -cacert " + caFile + " -cert decoy-client.pem -key decoy-client-key.pem " + a.GRPCAddr.String() + " list"
			if strings.Contains(banner.String(), wantLine) != (m.mode != "none") {
				t.Errorf("banner (a grpcurl line over TLS: %v):\n%s", m.mode != "none", banner)
			}
			// The journal shows the certificate's subject; a client
			// refused at the handshake is not there.
			_, j := fetch(t, "http://"+a.AdminAddr.String()+"/requests?limit=50")
			wantAlice := m.mode != "none"
			want := 0
			if wantAlice {
				want = 2 // on each port
			}
			if n := strings.Count(j, `"clientCert":"CN=alice,O=decoy"`); n != want || strings.Contains(j, "mallory") {
				t.Errorf("journal: alice's certificate %d times, want %d:\n%.600s", n, want, j)
			}
			if wantAlice && !strings.Contains(j, `"stub":"alice"`) {
				t.Errorf("journal lacks the call alice's stub answered:\n%.600s", j)
			}
		})
		t.Run(m.mode+"/grpcurl", func(t *testing.T) {
			t.Parallel()
			if grpcurl == "" {
				external.Program(t, "grpcurl")
			}
			a, _ := serve(t, vars, "--client-auth", m.mode, proto, stubs)
			for _, addr := range []string{a.HTTPSAddr.String(), a.GRPCAddr.String()} {
				addr = strings.Replace(addr, "127.0.0.1", "localhost", 1)
				grpcurlAs(t, grpcurl, caFile, files, addr, m.mode, m.clients)
			}
			// Cleartext on the gRPC port: client-auth is the TLS
			// connections', as on the HTTP port.
			out, err := exec.Command(grpcurl, "-plaintext", "-max-time", "10", "-d", "{}", a.GRPCAddr.String(), "who.v1.Who/WhoAmI").CombinedOutput()
			if err == nil || !strings.Contains(string(out), "a client certificate is needed") {
				t.Errorf("grpcurl -plaintext: %v\n%s\nwant UNAUTHENTICATED from the no-cert stub", err, out)
			}
		})
	}
}

// grpcurlAs calls who.v1.Who/WhoAmI at addr with grpcurl as each client
// (its certificate files; "": none) and checks the outcome.
func grpcurlAs(t *testing.T, grpcurl, caFile string, files map[string][2]string, addr, mode string, clients map[string]outcome) {
	t.Helper()
	for client, want := range clients {
		if client == "mallory" {
			continue // grpcurl presents no certificate the server does not name
		}
		args := []string{"-cacert", caFile, "-max-time", "10"}
		if client != "" {
			args = append(args, "-cert", files[client][0], "-key", files[client][1])
		}
		out, err := exec.Command(grpcurl, append(args, "-d", "{}", addr, "who.v1.Who/WhoAmI")...).CombinedOutput()
		got := string(out)
		switch {
		case want.handshake:
			if err == nil || !strings.Contains(got, "certificate required") {
				t.Errorf("%s: grpcurl as %q: %v\n%s\nwant a failed handshake", addr, client, err, got)
			}
		case want.code != codes.OK:
			if err == nil || !strings.Contains(got, "Code: Unauthenticated") || !strings.Contains(got, "a client certificate is needed") {
				t.Errorf("%s: grpcurl as %q: %v\n%s\nwant UNAUTHENTICATED", addr, client, err, got)
			}
		case err != nil || !strings.Contains(got, `"user": "`+want.user):
			t.Errorf("%s: grpcurl as %q: %v\n%s\nwant user %q", addr, client, err, got, want.user)
		}
	}
	if mode == "require" {
		out, err := exec.Command(grpcurl, "-cacert", caFile, "-cert", files["alice"][0], "-key", files["alice"][1], addr, "list").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "who.v1.Who") {
			t.Errorf("%s: grpcurl list: %v\n%s", addr, err, out)
		}
	}
}

// TestGRPCClientCertWarning: a gRPC stub that needs a client certificate
// while decoy asks for none is warned about, as an HTTP stub is.
func TestGRPCClientCertWarning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	proto := write(t, dir, "who.proto", whoProto)
	stubs := write(t, dir, "stubs.yaml", whoStubs)
	code, out := run(t, nil, "check", proto, stubs)
	if code != 0 || !strings.Contains(out, "stubs.yaml:1: stub alice matches on clientCert but can never match: client-auth is none") ||
		strings.Count(out, "can never match") != 1 {
		t.Errorf("check: exit %d\n%s", code, out)
	}
}
