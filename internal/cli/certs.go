package cli

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/decoy-dev/decoy/internal/pki"
	"github.com/spf13/cobra"
)

// newCerts is `decoy certs`: the persistent local CA, and certificates
// issued by it.
func newCerts(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Create (or show) decoy's local CA, and say how to trust it",
		Long: `Certs creates decoy's local certificate authority in a folder (ca.pem and
ca-key.pem, the key readable by you alone), or shows it when it exists, and
prints how to make clients trust it. Once it exists, decoy serve signs the
certificates of its TLS port with it, one for whatever host name a client
asks for (SNI), so that a client that trusts the CA needs no -k.

The folder is --dir, else DECOY_CA_DIR, else decoy in your configuration
folder ($XDG_CONFIG_HOME/decoy, ~/.config/decoy).`,
		Example: `  decoy certs                                   # create or show the CA
  decoy certs issue api.example.com 10.0.0.5    # a server certificate for other servers
  decoy certs client alice                      # a client certificate for mutual TLS`,
		Args: cobra.NoArgs,
	}
	dir := cmd.PersistentFlags().String("dir", "", "folder of the CA (env DECOY_CA_DIR; default: $XDG_CONFIG_HOME/decoy)")
	caDirOf := func() (string, error) {
		d := *dir
		if d == "" {
			d = env.Getenv("DECOY_CA_DIR")
		}
		if d == "" {
			d = pki.DefaultDir(env.Getenv)
		}
		if d == "" || d == "off" {
			return "", errors.New("no folder for the CA: give one with --dir (the configuration folder could not be found: HOME is not set)")
		}
		return d, nil
	}
	load := func() (*pki.CA, string, error) {
		d, err := caDirOf()
		if err != nil {
			return nil, "", fail(ExitBadInput, err)
		}
		ca, created, err := pki.LoadOrCreate(d)
		if err != nil {
			return nil, "", fail(ExitBadInput, err)
		}
		if created {
			fmt.Fprintf(env.Stderr, "created decoy's local CA in %s\n", d)
		}
		return ca, d, nil
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		d, err := caDirOf()
		if err != nil {
			return fail(ExitBadInput, err)
		}
		ca, created, err := pki.LoadOrCreate(d)
		if err != nil {
			return fail(ExitBadInput, err)
		}
		printCA(env.Stdout, ca, d, created)
		return nil
	}

	issue := &cobra.Command{
		Use:   "issue HOST...",
		Short: "Issue a server certificate for host names and IP addresses, signed by the CA",
		Long: `Issue writes a server certificate for the given host names and IP addresses
(a name may be a wildcard, *.example.com), signed by decoy's CA (created if
it does not exist yet), and its key. decoy serve does not need one: it makes
its own for any name; this is for other servers of a test set-up.`,
		Args: needArgs("the host names and IP addresses to certify", "decoy certs issue api.example.com '*.example.com' 10.0.0.5"),
	}
	client := &cobra.Command{
		Use:   "client NAME [SAN...]",
		Short: "Issue a client certificate (mutual TLS) with common name NAME, signed by the CA",
		Long: `Client writes a client certificate with common name NAME and, as subject
alternative names, any SANs given (host names, IP addresses, e-mail
addresses, URIs such as spiffe://test/alice), signed by decoy's CA (created
if it does not exist yet), and its key. decoy serve --client-auth require
accepts it, and stubs can match on it (request.clientCert).`,
		Args: needArgs("the client's name, its certificate's common name", "decoy certs client alice"),
	}
	for _, c := range []*cobra.Command{issue, client} {
		base := "decoy-server"
		if c == client {
			base = "decoy-client"
		}
		certFile := c.Flags().String("cert", base+".pem", "file to write the certificate (and the CA's after it) to")
		keyFile := c.Flags().String("key", base+"-key.pem", "file to write the private key to (mode 0600)")
		days := c.Flags().Int("days", int(pki.LeafValidity/(24*time.Hour)), "days the certificate is valid")
		force := c.Flags().Bool("force", false, "replace the certificate and key files when they exist")
		isClient := c == client
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if *days < 1 {
				return fail(ExitBadInput, fmt.Errorf("--days %d: want 1 or more", *days))
			}
			// The names first: a bad one is refused before a file, or the
			// CA, is looked at or made.
			names := args
			if isClient {
				names = args[1:]
			}
			if err := pki.CheckNames(names); err != nil {
				return fail(ExitBadInput, err)
			}
			if !*force {
				for _, f := range []string{*certFile, *keyFile} {
					if _, err := os.Lstat(f); err == nil {
						return fail(ExitBadInput, fmt.Errorf("%s exists: give --force to replace it, or --cert and --key to write other files", f))
					}
				}
			}
			ca, _, err := load()
			if err != nil {
				return err
			}
			validity := time.Duration(*days) * 24 * time.Hour
			var cert tls.Certificate
			if isClient {
				cert, err = ca.IssueClient(args[0], args[1:], validity)
			} else {
				cert, err = ca.Issue(args, validity)
			}
			if err != nil {
				return fail(ExitBadInput, err)
			}
			if err := pki.WriteKeyPair(cert, *certFile, *keyFile); err != nil {
				return fail(ExitBadInput, err)
			}
			kind := "server"
			if isClient {
				kind = "client"
			}
			l := cert.Leaf
			fmt.Fprintf(env.Stdout, "%s certificate for %s, valid until %s, signed by %s\n", kind, describeNames(args, isClient), l.NotAfter.Format("2006-01-02"), l.Issuer.String())
			fmt.Fprintf(env.Stdout, "  certificate  %s\n  key          %s\n", *certFile, *keyFile)
			if isClient {
				fmt.Fprintf(env.Stdout, "\ncurl --cert %s --key %s --cacert %s https://localhost:8443/...\n", pathArg(*certFile), pathArg(*keyFile), pathArg(filepath.Join(mustDir(caDirOf), pki.CACertFile)))
			}
			return nil
		}
		cmd.AddCommand(c)
	}
	return cmd
}

func mustDir(f func() (string, error)) string {
	d, _ := f()
	return d
}

func describeNames(args []string, client bool) string {
	if client {
		// As the certificate's subject is printed (RFC 4514 escaping).
		s := (&pkix.Name{CommonName: args[0]}).String()
		if len(args) > 1 {
			s += " (SANs " + strings.Join(args[1:], ", ") + ")"
		}
		return s
	}
	return strings.Join(args, ", ")
}

// printCA shows where the CA is and how to trust it.
func printCA(w io.Writer, ca *pki.CA, dir string, created bool) {
	certPath, keyPath := filepath.Join(dir, pki.CACertFile), filepath.Join(dir, pki.CAKeyFile)
	p := pathArg(certPath)
	if created {
		fmt.Fprintln(w, "Created decoy's local CA:")
	} else {
		fmt.Fprintln(w, "decoy's local CA:")
	}
	sum := sha256.Sum256(ca.Cert.Raw)
	fp := make([]string, len(sum))
	for i, b := range sum {
		fp[i] = fmt.Sprintf("%02X", b)
	}
	fmt.Fprintf(w, `  certificate  %s
  key          %s   (yours alone: whoever has it can impersonate any site to clients that trust the CA)
  subject      %s, valid until %s
  SHA-256      %s

decoy serve now signs the certificates of its TLS port with it, one for any
host name a client asks for (SNI). Trust the certificate, not the key:

  curl           curl --cacert %[6]s https://localhost:8443/
  Go             SSL_CERT_FILE=%[6]s ./client      (replaces the system roots for that process)
  Node.js        NODE_EXTRA_CA_CERTS=%[6]s node client.js
  Python         REQUESTS_CA_BUNDLE=%[6]s (requests), SSL_CERT_FILE=%[6]s (ssl, httpx)
  Java           keytool -importcert -noprompt -alias decoy -cacerts -storepass changeit -file %[6]s
  Debian, Ubuntu sudo cp %[6]s /usr/local/share/ca-certificates/decoy.crt && sudo update-ca-certificates
  Fedora, RHEL   sudo cp %[6]s /etc/pki/ca-trust/source/anchors/decoy.pem && sudo update-ca-trust
  macOS          sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain %[6]s
  Android        install ca.pem as a CA certificate (Settings > Security > Encryption & credentials);
                 apps trust user CAs only when their network_security_config allows it
                 (<certificates src="user"/>, or in <debug-overrides> for debug builds)
  iOS            simulator: xcrun simctl keychain booted add-root-cert %[6]s
                 device: install ca.pem as a profile, then turn it on in Settings > General >
                 About > Certificate Trust Settings

More: decoy certs issue HOST... (server certificates), decoy certs client NAME (mutual TLS),
docs/tls.md. Remove the folder to start again with a new CA.
`, certPath, keyPath, ca.Cert.Subject.String(), ca.Cert.NotAfter.Format("2006-01-02"), strings.Join(fp, ":"), p)
}
