package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/decoy-dev/decoy/internal/app"
	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/grpcfront"
	"github.com/decoy-dev/decoy/internal/stub"
)

// printBanner shows what decoy serves, with curl lines to copy.
func printBanner(w io.Writer, a *app.App, l *config.Loaded, isDemo bool) {
	from := fmt.Sprintf("%d files", len(l.Files))
	if isDemo {
		from = "the built-in demo (give stub files or folders to serve your own)"
	}
	snap := a.Store.Engine().Snapshot()
	fmt.Fprintf(w, "decoy %s: %d stubs from %s\n\n", app.Version, snap.Len(), from)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	grpcToo := ""
	if a.Protos != nil {
		grpcToo = ", gRPC"
	}
	if a.HTTPAddr != nil {
		fmt.Fprintf(tw, "  http\thttp://%s\tHTTP/1.1, h2c%s\n", hostPort(a.HTTPAddr), grpcToo)
	}
	if a.HTTPSAddr != nil {
		fmt.Fprintf(tw, "  https\thttps://%s\tHTTP/2 and HTTP/1.1 (ALPN)%s; %s\n", hostPort(a.HTTPSAddr), grpcToo, tlsSource(a))
	}
	if a.AdminAddr != nil {
		fmt.Fprintf(tw, "  admin\thttp://%s\t/stubs /requests /health /openapi.json\n", hostPort(a.AdminAddr))
	}
	if a.GRPCAddr != nil {
		kind := "h2c"
		if a.HTTPSAddr != nil {
			kind = "h2c, and TLS as on https"
		}
		fmt.Fprintf(tw, "  grpc\t%s\tgRPC (%s): %s\n", hostPort(a.GRPCAddr), kind, grpcServices(a))
	}
	_ = tw.Flush()
	fmt.Fprintln(w)

	stubs := snap.Stubs()
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  METHOD\tPATH\tSTATUS\tSTUB")
	const maxRows = 20
	for i, s := range stubs {
		if i == maxRows {
			where := "the admin API lists them when --admin has an address"
			if a.AdminAddr != nil {
				where = "GET http://" + hostPort(a.AdminAddr) + "/stubs"
			}
			fmt.Fprintf(tw, "  ...\t%d more: %s\t\t\n", len(stubs)-maxRows, where)
			break
		}
		if isGRPC(a, s) {
			fmt.Fprintf(tw, "  gRPC\t%s\t%s\t%s\n", pathOf(s), grpcStatuses(s), s.ID)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", method(s), pathOf(s), statuses(s), s.ID)
	}
	_ = tw.Flush()

	if a.HTTPAddr == nil && a.HTTPSAddr == nil && a.GRPCAddr == nil {
		return
	}
	fmt.Fprintln(w, "\nTry:")
	base := ""
	if a.HTTPAddr != nil {
		base = "http://" + hostPort(a.HTTPAddr)
	}
	// The HTTP examples use HTTP stubs only.
	var httpStubs []*engine.Stub
	for _, s := range stubs {
		if !isGRPC(a, s) {
			httpStubs = append(httpStubs, s)
		}
	}
	n := 0
	seen := map[string]bool{}
	var get *try // a GET, for the HTTP/2 lines
	for _, s := range httpStubs {
		t, ok := tryOf(s)
		if !ok {
			continue
		}
		if get == nil && t.get() {
			get = &t
		}
		if n == 5 || base == "" {
			continue
		}
		if line := t.curl(base); !seen[line] {
			seen[line] = true
			fmt.Fprintln(w, "  "+line)
			n++
		}
	}
	if a.HTTPAddr != nil && get != nil {
		fmt.Fprintln(w, "  "+get.curlWith("-s --http2-prior-knowledge", base))
	}
	if a.HTTPSAddr != nil && get != nil {
		fmt.Fprintln(w, "  "+httpsLine(a, get))
	}
	if a.GRPCAddr != nil {
		g := hostPort(a.GRPCAddr)
		fmt.Fprintf(w, "  grpcurl -plaintext %s list\n", g)
		if a.HTTPSAddr != nil && (a.ClientAuth == "optional" || a.ClientAuth == "require") {
			fmt.Fprintln(w, "  "+grpcurlTLSLine(a, g))
		}
		n := 0
		for _, s := range stubs {
			if line := grpcurlLine(g, a, s); line != "" && n < 2 {
				fmt.Fprintln(w, "  "+line)
				n++
			}
		}
	}
	if a.AdminAddr != nil {
		fmt.Fprintf(w, "  curl -s http://%s/requests?limit=5\n", hostPort(a.AdminAddr))
	}
	fmt.Fprintln(w)
}

// httpsLine is a curl line for the TLS port: it trusts what decoy's
// certificates chain to and, when client-auth requires one, presents the
// client certificate `decoy certs client` writes.
func httpsLine(a *app.App, get *try) string {
	flags, notes := "-s", []string(nil)
	switch {
	case a.TLSMode == app.TLSUserCert:
		notes = append(notes, "your certificate (--tls-cert): add --cacert with its issuer's certificate unless the system trusts it")
	case a.CAFile != "":
		flags += " --cacert " + pathArg(a.CAFile)
	default:
		flags = "-sk"
		notes = append(notes, "-k: a CA made at start; `decoy certs` makes one to trust")
	}
	if a.ClientAuth == "require" {
		flags += " --cert decoy-client.pem --key decoy-client-key.pem"
		if a.ClientCA == "" {
			notes = append(notes, "client-auth require: `decoy certs client NAME` writes these two files")
		} else {
			notes = append(notes, "client-auth require: a certificate and key of a CA in "+a.ClientCA)
		}
	}
	line := get.curlWith(flags+" --http2", "https://"+hostPort(a.HTTPSAddr))
	if len(notes) > 0 {
		line += "    # " + strings.Join(notes, "; ")
	}
	return line
}

// grpcurlTLSLine is a grpcurl line for the gRPC port over TLS, presenting
// the client certificate `decoy certs client` writes.
func grpcurlTLSLine(a *app.App, addr string) string {
	flags, notes := "", []string(nil)
	switch {
	case a.TLSMode == app.TLSUserCert:
		notes = append(notes, "your certificate (--tls-cert): add -cacert with its issuer's certificate unless the system trusts it")
	case a.CAFile != "":
		flags = "-cacert " + pathArg(a.CAFile) + " "
	default:
		flags = "-insecure "
	}
	if a.ClientCA == "" {
		notes = append(notes, "client-auth "+a.ClientAuth+": `decoy certs client NAME` writes these two files")
	} else {
		notes = append(notes, "client-auth "+a.ClientAuth+": a certificate and key of a CA in "+a.ClientCA)
	}
	return "grpcurl " + flags + "-cert decoy-client.pem -key decoy-client-key.pem " + addr + " list    # " + strings.Join(notes, "; ")
}

// tlsSource says where the TLS port's certificates come from.
func tlsSource(a *app.App) string {
	switch a.TLSMode {
	case app.TLSUserCert:
		return "certificate from --tls-cert"
	case app.TLSCADir, app.TLSCAFiles:
		return "certificates for any name (SNI) from the CA " + a.CAFile
	}
	return "certificates for any name (SNI) from a CA made at start (untrusted: curl -k, or run `decoy certs`)"
}

// pathArg is a file name as a shell argument: quoted when it needs it.
func pathArg(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return shellQuote(s)
}

// hostPort shows a bound address the way a user types it: the wildcard
// address becomes localhost.
func hostPort(a net.Addr) string {
	if a == nil {
		return ""
	}
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func method(s *engine.Stub) string {
	m := strings.ToUpper(s.Spec.Request.Method)
	if m == "" {
		return "ANY"
	}
	return m
}

func pathOf(s *engine.Stub) string {
	r := s.Spec.Request
	switch {
	case r.Path != "":
		return r.Path
	case r.PathPrefix != "":
		return r.PathPrefix + "*"
	case r.PathRegex != "":
		return "~" + r.PathRegex
	}
	return "*"
}

func statuses(s *engine.Stub) string {
	var l []string
	for _, r := range s.Responses() {
		st := fmt.Sprint(r.Status)
		if len(l) == 0 || l[len(l)-1] != st {
			l = append(l, st)
		}
	}
	return strings.Join(l, ",")
}

// isGRPC reports whether the stub answers gRPC calls of the served .proto
// files.
func isGRPC(a *app.App, s *engine.Stub) bool {
	return a.Protos != nil && grpcfront.IsGRPC(a.Protos, s.Spec)
}

func grpcServices(a *app.App) string {
	var l []string
	for _, sd := range a.Protos.Services() {
		l = append(l, string(sd.FullName()))
	}
	if len(l) > 3 {
		l = append(l[:3], fmt.Sprintf("and %d more", len(l)-3))
	}
	return strings.Join(l, ", ")
}

func grpcStatuses(s *engine.Stub) string {
	resps := s.Spec.Responses
	if s.Spec.Response != nil {
		resps = []stub.Response{*s.Spec.Response}
	}
	var l []string
	for _, r := range resps {
		st := "OK"
		if r.GRPC != nil {
			st = r.GRPC.Status.String()
		}
		if len(l) == 0 || l[len(l)-1] != st {
			l = append(l, st)
		}
	}
	return strings.Join(l, ",")
}

// grpcurlLine is a grpcurl call that the stub answers, or "" when there is
// no obvious one. The request holds the values the stub's JSONPath
// matchers of the form $.name want.
func grpcurlLine(addr string, a *app.App, s *engine.Stub) string {
	p := s.Spec.Request.Path
	if a.Protos.Method(p) == nil {
		return ""
	}
	fields := map[string]any{}
	if b := s.Spec.Request.Body; b != nil {
		for _, jp := range b.JSONPath {
			name, ok := strings.CutPrefix(jp.Path, "$.")
			if ok && jp.Equals != nil && !strings.ContainsAny(name, ".[*") {
				fields[name] = jp.Equals
			}
		}
	}
	d, err := json.Marshal(fields)
	if err != nil {
		d = []byte("{}")
	}
	var h strings.Builder
	names := make([]string, 0, len(s.Spec.Request.Headers))
	for name := range s.Spec.Request.Headers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if m := s.Spec.Request.Headers[name]; m.Equals != nil {
			fmt.Fprintf(&h, "-H '%s: %s' ", name, *m.Equals)
		}
	}
	return fmt.Sprintf("grpcurl -plaintext %s-d '%s' %s %s", h.String(), d, addr, strings.TrimPrefix(p, "/"))
}
