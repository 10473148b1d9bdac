package cli_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/app"
	"github.com/decoy-dev/decoy/internal/cli"
	"github.com/decoy-dev/decoy/internal/external"
	"github.com/decoy-dev/decoy/internal/pki"
)

// run runs the CLI with args to its end and returns the exit code and
// what it printed.
func run(t *testing.T, vars map[string]string, args ...string) (int, string) {
	t.Helper()
	e, out, errOut := env(vars)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := cli.Main(ctx, args, e)
	return code, out.String() + errOut.String()
}

// newCA runs `decoy certs --dir` in a temporary folder and returns it.
func newCA(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ca")
	if code, out := run(t, nil, "certs", "--dir", dir); code != 0 {
		t.Fatalf("decoy certs: exit %d\n%s", code, out)
	}
	return dir
}

func TestCerts(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ca")
	code, out := run(t, map[string]string{"DECOY_CA_DIR": dir}, "certs")
	if code != 0 || !strings.Contains(out, "Created decoy's local CA") || !strings.Contains(out, "curl --cacert "+dir+"/ca.pem") ||
		!strings.Contains(out, "update-ca-certificates") || !strings.Contains(out, "NODE_EXTRA_CA_CERTS") || !strings.Contains(out, "SSL_CERT_FILE") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	fp := out[strings.Index(out, "SHA-256"):][:60]
	code, out = run(t, nil, "certs", "--dir", dir)
	if code != 0 || strings.Contains(out, "Created") || !strings.Contains(out, fp) {
		t.Errorf("second run: exit %d, want the same CA (%s)\n%s", code, fp, out)
	}
	if fi, err := os.Stat(filepath.Join(dir, "ca-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key: %v %v", fi, err)
	}

	work := t.TempDir()
	srv, srvKey := filepath.Join(work, "srv.pem"), filepath.Join(work, "srv-key.pem")
	code, out = run(t, nil, "certs", "issue", "--dir", dir, "--cert", srv, "--key", srvKey, "api.example.com", "10.0.0.5")
	if code != 0 || !strings.Contains(out, "server certificate for api.example.com, 10.0.0.5") {
		t.Fatalf("issue: exit %d\n%s", code, out)
	}
	pair, err := pki.LoadKeyPair(srv, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := pair.Leaf.Verify(x509.VerifyOptions{DNSName: "api.example.com", Roots: roots}); err != nil {
		t.Errorf("issued certificate: %v", err)
	}
	code, out = run(t, nil, "certs", "client", "--dir", dir, "--cert", filepath.Join(work, "c.pem"), "--key", filepath.Join(work, "c-key.pem"), "alice", "spiffe://test/alice")
	if code != 0 || !strings.Contains(out, "client certificate for CN=alice (SANs spiffe://test/alice)") || !strings.Contains(out, "curl --cert") {
		t.Fatalf("client: exit %d\n%s", code, out)
	}
	// A wildcard label, and --force to replace what exists.
	code, out = run(t, nil, "certs", "issue", "--dir", dir, "--cert", srv, "--key", srvKey, "*.example.com")
	if code != 2 || !strings.Contains(out, "exists: give --force") {
		t.Fatalf("issue over existing files: exit %d\n%s", code, out)
	}
	if code, out = run(t, nil, "certs", "issue", "--force", "--dir", dir, "--cert", srv, "--key", srvKey, "*.example.com"); code != 0 {
		t.Fatalf("issue --force: exit %d\n%s", code, out)
	}
	if pair, err := pki.LoadKeyPair(srv, srvKey); err != nil || pair.Leaf.VerifyHostname("api.example.com") != nil {
		t.Errorf("the wildcard certificate: %v", err)
	}
}

func TestCertsBadInput(t *testing.T) {
	t.Parallel()
	file := write(t, t.TempDir(), "f", "x")
	broken := t.TempDir()
	write(t, broken, "ca.pem", "not a certificate")
	write(t, broken, "ca-key.pem", "not a key")
	ca := newCA(t)
	work := t.TempDir()
	out := func(name string) string { return filepath.Join(work, name) }
	existing := write(t, work, "existing.pem", "keep me")
	cases := []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"no folder at all", nil, []string{"certs"}, "give one with --dir"},
		{"a file as the folder", nil, []string{"certs", "--dir", file}, file},
		{"a broken CA", nil, []string{"certs", "--dir", broken}, "ca.pem: no PEM certificate found"},
		{"issue without hosts", nil, []string{"certs", "issue", "--dir", ca}, "decoy certs issue needs the host names and IP addresses to certify"},
		{"bad days", nil, []string{"certs", "client", "--dir", ca, "--days", "0", "x"}, "--days 0"},
		{"unwritable output", nil, []string{"certs", "issue", "--dir", ca, "--cert", "/nonexistent/x.pem", "--key", out("u-key.pem"), "a.test"}, "/nonexistent/"},
		{"a host name with a space", nil, []string{"certs", "issue", "--dir", ca, "--cert", out("s.pem"), "--key", out("s-key.pem"), "bad host"}, `"bad host" is not a host name`},
		{"an empty label", nil, []string{"certs", "issue", "--dir", ca, "--cert", out("e.pem"), "--key", out("e-key.pem"), "a..b"}, `"a..b" is not a host name`},
		{"a lone wildcard", nil, []string{"certs", "issue", "--dir", ca, "--cert", out("w.pem"), "--key", out("w-key.pem"), "*"}, `"*" is not a host name`},
		{"a client SAN with a space", nil, []string{"certs", "client", "--dir", ca, "--cert", out("c.pem"), "--key", out("c-key.pem"), "alice", "not a san"}, `"not a san" is not a host name`},
		{"an existing certificate", nil, []string{"certs", "issue", "--dir", ca, "--cert", existing, "--key", out("x-key.pem"), "a.test"}, existing + " exists: give --force"},
		// The name is what to fix first: --force would not help.
		{"a bad name and an existing certificate", nil, []string{"certs", "issue", "--dir", ca, "--cert", existing, "--key", out("x-key.pem"), "bad host"}, `"bad host" is not a host name`},
		{"a bad client SAN and an existing certificate", nil, []string{"certs", "client", "--dir", ca, "--cert", existing, "--key", out("x-key.pem"), "alice", "a..b"}, `"a..b" is not a host name`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, out := run(t, c.vars, c.args...)
			if code != 2 || !strings.Contains(out, c.want) {
				t.Errorf("exit %d, want 2 with %q\n%s", code, c.want, out)
			}
		})
	}
	// A refused name makes no CA.
	fresh := filepath.Join(t.TempDir(), "ca")
	if code, out := run(t, nil, "certs", "issue", "--dir", fresh, "--cert", out("n.pem"), "--key", out("n-key.pem"), "bad host"); code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, out)
	}
	if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused name made the CA folder %s: %v", fresh, err)
	}
}

// tlsGet makes a request over TLS to addr as a client that trusts roots
// and asks for serverName, presenting cert when given; it returns the
// server's leaf certificate and the body.
func tlsGet(t *testing.T, addr, serverName, path string, roots *x509.CertPool, cert *tls.Certificate) (*x509.Certificate, string, error) {
	t.Helper()
	conf := &tls.Config{RootCAs: roots, ServerName: serverName}
	if cert != nil {
		// Sent whatever CAs the server names (a client's own choice
		// would leave out one the server does not name).
		conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	var leaf *x509.Certificate
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   conf,
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	host := serverName
	if host == "" {
		host = addr
	}
	resp, err := c.Get("https://" + net.JoinHostPort(strings.Trim(host, "[]"), "443") + path)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		leaf = resp.TLS.PeerCertificates[0]
	}
	b, _ := io.ReadAll(resp.Body)
	return leaf, string(b), nil
}

const certStubs = `
- request: {path: /who, clientCert: {commonName: alice}}
  response: {body: "hello alice"}
- request: {path: /who, clientCert: {san: {regex: "^spiffe://test/"}}}
  response: {body: "hello workload"}
- request: {path: /who, clientCert: {absent: true}}
  response: {body: "hello stranger"}
`

// TestServeWithCA: with the CA of `decoy certs`, serve mints a certificate
// for whatever name a client asks for, which a client trusting the CA
// accepts; without SNI it certifies the address; with client-auth
// optional, stubs tell clients apart by their certificates.
func TestServeWithCA(t *testing.T) {
	t.Parallel()
	dir := newCA(t)
	stubs := write(t, t.TempDir(), "s.yaml", certStubs)
	a, banner := serve(t, map[string]string{"DECOY_CA_DIR": dir}, "--quiet=false", "--client-auth", "optional", stubs)
	if !strings.Contains(banner.String(), "from the CA "+dir+"/ca.pem") {
		t.Errorf("banner does not name the CA:\n%s", banner)
	}
	ca, err := pki.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	addr := a.HTTPSAddr.String()
	for _, name := range []string{"api.example.com", "payments.internal.test", "localhost"} {
		leaf, body, err := tlsGet(t, addr, name, "/who", roots, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if body != "hello stranger" || leaf.VerifyHostname(name) != nil {
			t.Errorf("%s: body %q, certificate for %v", name, body, leaf.DNSNames)
		}
	}
	// No SNI: Go sends none for an IP address; the certificate holds it.
	if leaf, _, err := tlsGet(t, addr, "127.0.0.1", "/who", roots, nil); err != nil || leaf.VerifyHostname("127.0.0.1") != nil {
		t.Errorf("by IP: %v", err)
	}
	for _, c := range []struct {
		cn   string
		sans []string
		want string
	}{{"alice", nil, "hello alice"}, {"svc", []string{"spiffe://test/svc"}, "hello workload"}} {
		cert, err := ca.IssueClient(c.cn, c.sans, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, body, err := tlsGet(t, addr, "api.example.com", "/who", roots, &cert); err != nil || body != c.want {
			t.Errorf("as %s: %q, %v; want %q", c.cn, body, err, c.want)
		}
	}
	// A certificate of another CA fails the handshake.
	other, _ := pki.NewCA("other")
	stranger, _ := other.IssueClient("mallory", nil, time.Hour)
	if _, body, err := tlsGet(t, addr, "api.example.com", "/who", roots, &stranger); err == nil {
		t.Errorf("a certificate of another CA was accepted: %q", body)
	}
	// The journal has the subject.
	_, j := fetch(t, "http://"+a.AdminAddr.String()+"/requests?limit=20")
	if !strings.Contains(j, `"clientCert":"CN=alice,O=decoy"`) {
		t.Errorf("journal lacks the client certificate:\n%.400s", j)
	}
}

func TestServeClientAuthRequire(t *testing.T) {
	t.Parallel()
	dir := newCA(t)
	a, _ := serve(t, nil, "--ca-dir", dir, "--client-auth", "require", write(t, t.TempDir(), "s.yaml", certStubs))
	ca, _ := pki.LoadDir(dir)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, body, err := tlsGet(t, a.HTTPSAddr.String(), "localhost", "/who", roots, nil); err == nil {
		t.Errorf("served without a client certificate: %q", body)
	}
	alice, _ := ca.IssueClient("alice", nil, time.Hour)
	if _, body, err := tlsGet(t, a.HTTPSAddr.String(), "localhost", "/who", roots, &alice); err != nil || body != "hello alice" {
		t.Errorf("with one: %q %v", body, err)
	}
}

// TestServeWithoutCA keeps today's behaviour: a CA made at start, said so.
func TestServeWithoutCA(t *testing.T) {
	t.Parallel()
	a, banner := serve(t, nil, "--quiet=false")
	if !strings.Contains(banner.String(), "a CA made at start") || !strings.Contains(banner.String(), "curl -sk --http2") {
		t.Errorf("banner:\n%s", banner)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(a.CAPEM)
	if leaf, _, err := tlsGet(t, a.HTTPSAddr.String(), "anything.test", "/users", roots, nil); err != nil || leaf.VerifyHostname("anything.test") != nil {
		t.Errorf("SNI with the fresh CA: %v", err)
	}
}

// TestServeTLSBadInput: bad certificates, keys and CAs stop serve with
// exit 2 and a message naming the file or setting.
func TestServeTLSBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	caDir := newCA(t)
	ca, _ := pki.LoadDir(caDir)
	other, _ := pki.NewCA("other")
	mismatch := write(t, dir, "other-key.pem", string(other.KeyPEM))
	garbage := write(t, dir, "garbage.pem", "hello")
	leaf, _ := ca.Issue([]string{"x.test"}, time.Hour)
	leafCert, leafKey := filepath.Join(dir, "leaf.pem"), filepath.Join(dir, "leaf-key.pem")
	if err := pki.WriteKeyPair(leaf, leafCert, leafKey); err != nil {
		t.Fatal(err)
	}
	caCert := filepath.Join(caDir, "ca.pem")
	brokenDir := t.TempDir()
	write(t, brokenDir, "ca.pem", string(ca.CertPEM))
	keyOnlyDir := t.TempDir()
	emptyDir := t.TempDir()
	write(t, keyOnlyDir, "ca-key.pem", string(ca.KeyPEM))
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"unreadable CA", []string{"--ca-cert", "/nonexistent/ca.pem", "--ca-key", mismatch}, []string{"ca-cert", "/nonexistent/ca.pem", "no such file"}},
		{"CA key that does not fit", []string{"--ca-cert", caCert, "--ca-key", mismatch}, []string{"ca-cert", caCert, mismatch, "does not match"}},
		{"a leaf as CA", []string{"--ca-cert", leafCert, "--ca-key", leafKey}, []string{leafCert, "not a CA certificate"}},
		{"ca-dir without its key", []string{"--ca-dir", brokenDir}, []string{"ca-dir " + brokenDir, "ca-key.pem", "no such file"}},
		{"ca-dir with only its key", []string{"--ca-dir", keyOnlyDir}, []string{"ca-dir " + keyOnlyDir, "ca-key.pem exists without its certificate", "restore the certificate"}},
		{"tls key that does not fit", []string{"--tls-cert", leafCert, "--tls-key", mismatch}, []string{"tls-key " + mismatch + " does not fit tls-cert " + leafCert}},
		{"garbage client-ca", []string{"--client-auth", "require", "--client-ca", garbage}, []string{"client-ca " + garbage + ": no PEM certificate found"}},
		{"client-auth with tls-cert and no client-ca", []string{"--ca-dir", "off", "--tls-cert", leafCert, "--tls-key", leafKey, "--client-auth", "optional"}, []string{"client-auth optional needs", "client-ca"}},
		// A CA made at start keeps its key in memory: no client can hold a
		// certificate of it.
		{"client-auth with ca-dir off", []string{"--ca-dir", "off", "--client-auth", "require"}, []string{"client-auth require needs a CA", "ca-dir is off", "run `decoy certs`", "--client-ca FILE"}},
		{"client-auth with no CA in ca-dir", []string{"--ca-dir", emptyDir, "--client-auth", "optional"}, []string{"client-auth optional needs a CA", "no CA in ca-dir " + emptyDir, "run `decoy certs`", "--client-ca FILE"}},
		{"client-auth with no CA, workers", []string{"--ca-dir", "off", "--client-auth", "require", "--workers", "2"}, []string{"client-auth require needs a CA"}},
		{"tls-cert and ca-cert", []string{"--tls-cert", leafCert, "--tls-key", leafKey, "--ca-cert", caCert, "--ca-key", filepath.Join(caDir, "ca-key.pem")}, []string{"tls-cert and ca-cert exclude each other"}},
		{"bad CIDR", []string{"--allow-cidr", "127.0.0.0/8", "--allow-cidr", "10.0.0.0/40"}, []string{"flag --allow-cidr", `"10.0.0.0/40" is not a network`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"serve", "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "", "--grpc", ""}, c.args...)
			code, out := run(t, nil, args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2\n%s", code, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestCurlTLS talks to serve with the real curl, as docs/tls.md does:
// --cacert and --resolve for a production host name, --cert and --key
// for mutual TLS.
func TestCurlTLS(t *testing.T) {
	t.Parallel()
	curl := external.Program(t, "curl")
	dir := newCA(t)
	work := t.TempDir()
	cert, key := filepath.Join(work, "alice.pem"), filepath.Join(work, "alice-key.pem")
	if code, out := run(t, nil, "certs", "client", "--dir", dir, "--cert", cert, "--key", key, "alice"); code != 0 {
		t.Fatal(out)
	}
	a, _ := serve(t, nil, "--ca-dir", dir, "--client-auth", "optional", write(t, work, "s.yaml", certStubs))
	_, port, _ := net.SplitHostPort(a.HTTPSAddr.String())
	caFile := filepath.Join(dir, "ca.pem")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"SNI name, HTTP/2", []string{"--http2", "--resolve", "api.example.com:" + port + ":127.0.0.1", "https://api.example.com:" + port + "/who"}, "hello stranger"},
		{"SNI name, HTTP/1.1", []string{"--http1.1", "--resolve", "api.example.com:" + port + ":127.0.0.1", "https://api.example.com:" + port + "/who"}, "hello stranger"},
		{"mTLS, HTTP/2", []string{"--http2", "--cert", cert, "--key", key, "https://localhost:" + port + "/who"}, "hello alice"},
		{"mTLS, HTTP/1.1, by IP", []string{"--http1.1", "--cert", cert, "--key", key, "https://127.0.0.1:" + port + "/who"}, "hello alice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := exec.Command(curl, append([]string{"-sS", "--max-time", "10", "--cacert", caFile}, c.args...)...).CombinedOutput()
			if err != nil || string(out) != c.want {
				t.Errorf("curl: %v: %s (want %q)", err, out, c.want)
			}
		})
	}
}

// TestServeBannerTLS: the banner's curl line for the TLS port trusts what
// the served certificates chain to, and presents a client certificate
// when client-auth requires one.
func TestServeBannerTLS(t *testing.T) {
	t.Parallel()
	dir := newCA(t)
	ca, _ := pki.LoadDir(dir)
	work := t.TempDir()
	other, _ := pki.NewCA("other")
	leaf, _ := other.Issue([]string{"localhost"}, time.Hour)
	leafCert, leafKey := filepath.Join(work, "leaf.pem"), filepath.Join(work, "leaf-key.pem")
	if err := pki.WriteKeyPair(leaf, leafCert, leafKey); err != nil {
		t.Fatal(err)
	}
	clientCA := write(t, work, "clients.pem", string(ca.CertPEM))
	for _, c := range []struct {
		name        string
		args        []string
		want, avoid []string
	}{
		{"decoy certs CA", nil, []string{"-s --cacert " + dir + "/ca.pem --http2 'https://127.0.0.1:"}, []string{"--cert "}},
		// ca-dir holds a CA, but decoy serves the certificate of another.
		{"tls-cert beside a CA folder", []string{"--tls-cert", leafCert, "--tls-key", leafKey},
			[]string{"curl -s --http2 'https://127.0.0.1:", "# your certificate (--tls-cert): add --cacert with its issuer's"}, []string{"--cacert /", "-sk"}},
		{"client-auth require", []string{"--client-auth", "require"},
			[]string{"--cacert " + dir + "/ca.pem --cert decoy-client.pem --key decoy-client-key.pem --http2", "`decoy certs client NAME` writes these"}, nil},
		{"client-auth require, client-ca", []string{"--client-auth", "require", "--client-ca", clientCA},
			[]string{"--cert decoy-client.pem --key decoy-client-key.pem --http2", "a certificate and key of a CA in " + clientCA}, nil},
		{"client-auth optional", []string{"--client-auth", "optional"}, []string{"--cacert " + dir + "/ca.pem --http2"}, []string{"--cert "}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a, out := serve(t, nil, append([]string{"--quiet=false", "--ca-dir", dir}, c.args...)...)
			banner := out.String()
			for _, w := range c.want {
				if !strings.Contains(banner, w) {
					t.Errorf("banner lacks %q:\n%s", w, banner)
				}
			}
			for _, w := range c.avoid {
				if strings.Contains(banner, w) {
					t.Errorf("banner has %q:\n%s", w, banner)
				}
			}
			if c.name == "tls-cert beside a CA folder" && (a.CAPEM != nil || a.CAFile != "") {
				t.Errorf("with tls-cert, CAFile %q and CAPEM %d bytes: decoy signs nothing", a.CAFile, len(a.CAPEM))
			}
		})
	}
}

// TestClientCertWithoutClientAuth: a stub that needs a client certificate
// while decoy asks for none can never match; check and serve say so, and
// which setting to turn on.
func TestClientCertWithoutClientAuth(t *testing.T) {
	t.Parallel()
	stubs := write(t, t.TempDir(), "s.yaml", `- id: alice
  request: {path: /who, clientCert: {commonName: alice}}
  response: {body: hi alice}
- request: {path: /who, clientCert: {absent: true}}
  response: {body: hi}
`)
	const want = "s.yaml:1: stub alice matches on clientCert but can never match: client-auth is none"
	code, out := run(t, nil, "check", stubs)
	if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "--client-auth optional") || strings.Count(out, "can never match") != 1 {
		t.Errorf("check: exit %d\n%s", code, out)
	}
	if code, out := run(t, map[string]string{"DECOY_CLIENT_AUTH": "optional"}, "check", stubs); code != 0 || strings.Contains(out, "never match") {
		t.Errorf("check with client-auth optional: exit %d\n%s", code, out)
	}

	e, _, errOut := env(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e.OnReady = func(*app.App) { cancel() }
	if code := cli.Main(ctx, []string{"serve", "--http", "127.0.0.1:0", "--https", "", "--admin", "", "--grpc", "", stubs}, e); code != 0 || !strings.Contains(errOut.String(), want) {
		t.Errorf("serve: exit %d\n%s", code, errOut)
	}
}
