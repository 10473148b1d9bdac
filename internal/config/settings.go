package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/decoy-dev/decoy/internal/accesslog"
	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/listen"
	"github.com/decoy-dev/decoy/internal/openapi"
	"github.com/decoy-dev/decoy/internal/stub"
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// Settings is every setting of `decoy serve`.
type Settings struct {
	HTTP    string
	HTTPS   string
	Admin   string
	GRPC    string
	TLSCert string
	TLSKey  string
	// CADir is the directory of the persistent local CA that `decoy
	// certs` makes ("": the default, pki.DefaultDir, filled in by the CLI;
	// "off": none). serve uses it when it holds a CA.
	CADir string
	// CACert and CAKey are a CA given as files, used instead of CADir's.
	CACert string
	CAKey  string
	// ClientCA is a PEM file of the CAs client certificates are checked
	// against ("": the CA decoy signs with); ClientAuth is none, optional
	// or require.
	ClientCA   string
	ClientAuth string
	// AllowCIDR lists the client networks the data ports accept
	// connections from (nil: every client).
	AllowCIDR []netip.Prefix
	// TCPCongestion is the TCP congestion control of the listening
	// sockets: auto, system or an algorithm's name (see
	// listen.Options.Congestion).
	TCPCongestion string
	// CORS answers browsers' cross-origin requests; CORSOrigins limits
	// it to those origins (and turns it on); CORSCredentials allows
	// requests with credentials.
	CORS            bool
	CORSOrigins     []string
	CORSCredentials bool
	// CORSMaxAge is how long browsers may keep a preflight's answer.
	CORSMaxAge     time.Duration
	MaxHeaderBytes int64
	MaxBodyBytes   int64
	// MaxUploadBytes bounds an upload that a stub with upload: {discard:
	// true} reads and throws away (MaxBodyBytes does not apply to those).
	MaxUploadBytes   int64
	ReadTimeout      time.Duration
	IdleTimeout      time.Duration
	ShutdownTimeout  time.Duration
	JournalSize      int
	JournalBodyBytes int64
	// JournalBytes bounds the bytes the journal holds (URIs, headers,
	// bodies); 0: no bound beyond JournalSize.
	JournalBytes int64
	// SaturationThreshold is the share of the CPUs decoy may use above
	// which, for 5 s in a row, it reports itself saturated.
	SaturationThreshold float64
	// SaturationHeader adds Decoy-Saturated: 1 to responses while
	// saturated.
	SaturationHeader bool
	LogLevel         string
	LogFormat        string
	// AccessLog is the share of requests logged at info level (0: none,
	// 1: all), one in round(1/AccessLog), from the access-log setting.
	AccessLog float64
	Quiet     bool
	// Watch reloads the stub files and OpenAPI documents when they change.
	Watch        bool
	HTTP2Engine  string
	HTTP1Engine  string
	GRPCEngine   string
	ServerTiming bool
	// LeanIdle releases an idle HTTP/1.1 connection's buffers while it
	// waits for its next request.
	LeanIdle bool
	// Seed is the global seed of random latencies and faults.
	Seed uint64
	// Latency is the global latency as written ("250ms", "10ms..50ms", a
	// profile name); LatencySpec is it decoded (nil when empty).
	Latency     string
	LatencySpec *stub.Latency
	// DelayHeader honours X-Decoy-Delay and Prefer: delay=.
	DelayHeader bool
	// Prefer honours the Prism-style Prefer controls: code=, example=,
	// dynamic=true on OpenAPI routes and delay= everywhere.
	Prefer bool
	// Validation checks requests to OpenAPI routes: enforce, report, off.
	Validation string
	// Lenient serves the sound operations of an OpenAPI document that has
	// problems, and warns about the rest, instead of refusing it.
	Lenient bool
	// MaxRequestedDelay caps a requested delay.
	MaxRequestedDelay time.Duration
	// ConnectionRate caps the bytes per second written on each data
	// connection (0: no cap).
	ConnectionRate int64
	// Profiles are the named latency profiles of the config file's
	// profiles: key (not a flag or variable).
	Profiles stub.Profiles
	// Files are stub files and folders to serve.
	Files []string
	// Workers is how many processes serve the data ports together (1: this
	// process alone; 0: one per usable CPU). See docs/workers.md.
	Workers int
	// IdleTrim is how often decoy checks whether it is at rest, to give
	// memory and code pages back when it is (0: never).
	IdleTrim time.Duration
}

// EngineOptions are the settings stubs are compiled with.
func (s Settings) EngineOptions() []engine.Option {
	return []engine.Option{engine.WithSeed(s.Seed), engine.WithProfiles(s.Profiles), engine.WithLatency(s.LatencySpec), engine.WithCORS(s.CORSPolicy())}
}

// CORSPolicy is the CORS the settings ask for: nil when off (neither cors
// nor cors-origin).
func (s Settings) CORSPolicy() *engine.CORS {
	if !s.CORS && len(s.CORSOrigins) == 0 {
		return nil
	}
	return &engine.CORS{Origins: s.CORSOrigins, Credentials: s.CORSCredentials, MaxAge: s.CORSMaxAge}
}

// SpecOptions are the settings OpenAPI documents are loaded with.
func (s Settings) SpecOptions() openapi.Options {
	return openapi.Options{Seed: s.Seed, Validation: s.Validation, NoPrefer: !s.Prefer, Lenient: s.Lenient}
}

// Setting describes one setting: its name (the flag, the config-file key,
// and DECOY_<NAME> in the environment), its kind and default, and how to
// set it from text.
type Setting struct {
	Name    string
	Kind    string // string, bool, int, number, bytes, duration, list
	Default string
	Help    string
	set     func(*Settings, string) error
}

// Env is the environment variable of the setting.
func (s Setting) Env() string {
	return "DECOY_" + strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))
}

// Set applies the text value v to st.
func (s Setting) Set(st *Settings, v string) error {
	if err := s.set(st, v); err != nil {
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	return nil
}

func str(f func(*Settings) *string) func(*Settings, string) error {
	return func(s *Settings, v string) error { *f(s) = v; return nil }
}

// listenAddr takes an address to listen on, host:port (the host may be
// empty), or "" for off, and refuses one that cannot be listened on
// before anything starts.
func listenAddr(f func(*Settings) *string) func(*Settings, string) error {
	return func(s *Settings, v string) error {
		v = strings.TrimSpace(v)
		if v != "" {
			_, port, err := net.SplitHostPort(v)
			if err != nil {
				return fmt.Errorf("%q is not an address to listen on: want host:port, such as 127.0.0.1:8080 or :8080, or \"\" for off", v)
			}
			if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
				if _, lerr := net.LookupPort("tcp", port); err == nil || lerr != nil {
					return fmt.Errorf("%q: port %q is not a port (0-65535; 0 picks a free one)", v, port)
				}
			}
		}
		*f(s) = v
		return nil
	}
}

func bytesOf(f func(*Settings) *int64) func(*Settings, string) error {
	return func(s *Settings, v string) error {
		n, err := stub.ParseSize(v)
		if err != nil {
			return err
		}
		*f(s) = n
		return nil
	}
}

func dur(f func(*Settings) *time.Duration) func(*Settings, string) error {
	return func(s *Settings, v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < 0 {
			return fmt.Errorf("%q is not a duration (examples: 500ms, 10s, 2m)", v)
		}
		*f(s) = d
		return nil
	}
}

func boolean(f func(*Settings) *bool) func(*Settings, string) error {
	return func(s *Settings, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q: want true or false", v)
		}
		*f(s) = b
		return nil
	}
}

func oneOf(f func(*Settings) *string, allowed ...string) func(*Settings, string) error {
	return func(s *Settings, v string) error {
		v = strings.ToLower(strings.TrimSpace(v))
		for _, a := range allowed {
			if v == a {
				*f(s) = v
				return nil
			}
		}
		return fmt.Errorf("%q: want one of %s", v, strings.Join(allowed, ", "))
	}
}

// Table lists every setting, in the order --help shows them.
var Table = []Setting{
	{Name: "http", Kind: "string", Default: ":8080", Help: "address for HTTP/1.1 and h2c (empty: off)",
		set: listenAddr(func(s *Settings) *string { return &s.HTTP })},
	{Name: "https", Kind: "string", Default: ":8443", Help: "address for TLS: HTTP/2 and HTTP/1.1 by ALPN (empty: off)",
		set: listenAddr(func(s *Settings) *string { return &s.HTTPS })},
	{Name: "admin", Kind: "string", Default: "127.0.0.1:9901", Help: "address of the admin API (empty: off)",
		set: listenAddr(func(s *Settings) *string { return &s.Admin })},
	{Name: "grpc", Kind: "string", Default: ":50051", Help: "address for gRPC (cleartext HTTP/2, and TLS as on https), served when .proto files are given (empty: off)",
		set: listenAddr(func(s *Settings) *string { return &s.GRPC })},
	{Name: "tls-cert", Kind: "string", Help: "PEM certificate for the TLS listener (default: one made at start by a local CA)",
		set: str(func(s *Settings) *string { return &s.TLSCert })},
	{Name: "tls-key", Kind: "string", Help: "PEM private key for --tls-cert",
		set: str(func(s *Settings) *string { return &s.TLSKey })},
	{Name: "ca-dir", Kind: "string", Help: "directory of the local CA that 'decoy certs' makes (ca.pem, ca-key.pem), used when it holds one (default: $XDG_CONFIG_HOME/decoy; off: never)",
		set: str(func(s *Settings) *string { return &s.CADir })},
	{Name: "ca-cert", Kind: "string", Help: "PEM certificate of a CA that signs the TLS certificates decoy makes (instead of ca-dir's)",
		set: str(func(s *Settings) *string { return &s.CACert })},
	{Name: "ca-key", Kind: "string", Help: "PEM private key of --ca-cert",
		set: str(func(s *Settings) *string { return &s.CAKey })},
	{Name: "client-ca", Kind: "string", Help: "PEM file of the CAs that client certificates must chain to (default: decoy's CA)",
		set: str(func(s *Settings) *string { return &s.ClientCA })},
	{Name: "client-auth", Kind: "string", Default: "none", Help: "client certificates on the TLS port and TLS connections to the gRPC port: none, optional (checked when sent) or require",
		set: oneOf(func(s *Settings) *string { return &s.ClientAuth }, "none", "optional", "require")},
	{Name: "allow-cidr", Kind: "list", Help: "client networks the data ports accept connections from, comma-separated or repeated (127.0.0.0/8,::1/128); others are reset at accept (default: all)",
		set: func(s *Settings, v string) error {
			nets, err := listen.ParseCIDRs(v)
			if err != nil {
				return err
			}
			s.AllowCIDR = nets
			return nil
		}},
	{Name: "tcp-congestion", Kind: "string", Default: "auto", Help: "TCP congestion control of decoy's listening sockets, which their connections keep: auto (cubic, or reno, in place of a BBR kernel default, whose pacing slows loopback transfers; any other default kept), system (the kernel's default), or an algorithm the kernel has (cubic, reno, ...)",
		set: func(s *Settings, v string) error {
			cc, err := listen.ParseCongestion(v)
			if err != nil {
				return err
			}
			s.TCPCongestion = cc
			return nil
		}},
	{Name: "cors", Kind: "bool", Default: "false", Help: "answer browsers' cross-origin requests from any origin: Access-Control-Allow-Origin on every answer, preflights answered unless a stub with method OPTIONS matches (see cors-origin)",
		set: boolean(func(s *Settings) *bool { return &s.CORS })},
	{Name: "cors-origin", Kind: "list", Help: "the only origins allowed cross-origin requests, comma-separated or repeated (https://app.example,http://localhost:3000), each echoed with Vary: Origin; turns cors on (default: any origin)",
		set: func(s *Settings, v string) error {
			var origins []string
			for o := range strings.SplitSeq(v, ",") {
				if strings.TrimSpace(o) == "" {
					continue
				}
				n, err := engine.ParseOrigin(o)
				if err != nil {
					return err
				}
				if !slices.Contains(origins, n) {
					origins = append(origins, n)
				}
			}
			s.CORSOrigins = origins
			return nil
		}},
	{Name: "cors-credentials", Kind: "bool", Default: "false", Help: "allow cross-origin requests with cookies or Authorization: Access-Control-Allow-Credentials: true, and the Origin echoed instead of *",
		set: boolean(func(s *Settings) *bool { return &s.CORSCredentials })},
	{Name: "cors-max-age", Kind: "duration", Default: "10m", Help: "how long browsers may keep the answer to a preflight (Access-Control-Max-Age, whole seconds; 0: not at all; browsers cap it, Chromium at 2h)",
		set: dur(func(s *Settings) *time.Duration { return &s.CORSMaxAge })},
	{Name: "max-header-bytes", Kind: "bytes", Default: "8KiB", Help: "largest request line + headers (431 beyond)",
		set: bytesOf(func(s *Settings) *int64 { return &s.MaxHeaderBytes })},
	{Name: "max-body-bytes", Kind: "bytes", Default: "64MiB", Help: "largest request body (413 beyond)",
		set: bytesOf(func(s *Settings) *int64 { return &s.MaxBodyBytes })},
	{Name: "max-upload-bytes", Kind: "bytes", Default: "1TiB", Help: "largest upload a stub with upload: {discard: true} reads and throws away (413 beyond)",
		set: bytesOf(func(s *Settings) *int64 { return &s.MaxUploadBytes })},
	{Name: "read-timeout", Kind: "duration", Default: "60s", Help: "time allowed to receive one request",
		set: dur(func(s *Settings) *time.Duration { return &s.ReadTimeout })},
	{Name: "idle-timeout", Kind: "duration", Default: "120s", Help: "how long a kept-alive connection may wait for its next request",
		set: dur(func(s *Settings) *time.Duration { return &s.IdleTimeout })},
	{Name: "shutdown-timeout", Kind: "duration", Default: "10s", Help: "on SIGTERM/SIGINT/SIGHUP, how long requests in flight may take to finish",
		set: dur(func(s *Settings) *time.Duration { return &s.ShutdownTimeout })},
	{Name: "idle-trim", Kind: "duration", Default: "60s", Help: "every this long, if decoy was at rest, give back the memory and code pages that serving brought in since (0: never)",
		set: dur(func(s *Settings) *time.Duration { return &s.IdleTrim })},
	{Name: "journal-size", Kind: "int", Default: "10000", Help: "requests kept in the journal (0: off)",
		set: func(s *Settings, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 {
				return fmt.Errorf("%q is not a count (0 or more)", v)
			}
			s.JournalSize = n
			return nil
		}},
	{Name: "journal-body-bytes", Kind: "bytes", Default: "1KiB", Help: "bytes of each request body kept in the journal",
		set: bytesOf(func(s *Settings) *int64 { return &s.JournalBodyBytes })},
	{Name: "journal-bytes", Kind: "bytes", Default: "64MiB", Help: "bytes of URIs, headers and bodies the journal holds; the oldest requests are dropped beyond it (0: no bound)",
		set: bytesOf(func(s *Settings) *int64 { return &s.JournalBytes })},
	{Name: "saturation-threshold", Kind: "number", Default: "0.9", Help: "share of its CPUs (0-1) above which decoy, after 5 s, warns that it is saturated",
		set: func(s *Settings, v string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || !(f > 0 && f <= 1) {
				return fmt.Errorf("%q is not a share of the CPUs (a number above 0, at most 1, such as 0.9)", v)
			}
			s.SaturationThreshold = f
			return nil
		}},
	{Name: "saturation-header", Kind: "bool", Default: "false", Help: "add Decoy-Saturated: 1 to responses while decoy is saturated",
		set: boolean(func(s *Settings) *bool { return &s.SaturationHeader })},
	{Name: "log-level", Kind: "string", Default: "info", Help: "debug, info, warn or error",
		set: oneOf(func(s *Settings) *string { return &s.LogLevel }, "debug", "info", "warn", "error")},
	{Name: "log-format", Kind: "string", Default: "text", Help: "text or json",
		set: oneOf(func(s *Settings) *string { return &s.LogFormat }, "text", "json")},
	{Name: "access-log", Kind: "string", Default: "off", Help: "log requests at info level: off, all, or a sampling fraction such as 0.01 (one request in 100)",
		set: func(s *Settings, v string) error {
			f, err := accesslog.ParseSampling(v)
			if err != nil {
				return err
			}
			s.AccessLog = f
			return nil
		}},
	{Name: "quiet", Kind: "bool", Default: "false", Help: "do not print the table of routes at start",
		set: boolean(func(s *Settings) *bool { return &s.Quiet })},
	{Name: "watch", Kind: "bool", Default: "true", Help: "reload the stub files and OpenAPI documents when they change; files that do not load leave the running stubs as they are (.proto files are read at start only)",
		set: boolean(func(s *Settings) *bool { return &s.Watch })},
	{Name: "http1-engine", Kind: "string", Default: "loop", Help: "plaintext HTTP/1.1 server: loop (decoy's epoll loops for answers sent whole, at once or after a delay; fasthttp for the rest; fastest) or fasthttp (every connection)",
		set: oneOf(func(s *Settings) *string { return &s.HTTP1Engine }, "loop", "fasthttp")},
	{Name: "http2-engine", Kind: "string", Default: "decoy", Help: "HTTP/2 server: decoy (its own connection loop, fastest) or go (Go's net/http)",
		set: oneOf(func(s *Settings) *string { return &s.HTTP2Engine }, "decoy", "go")},
	{Name: "grpc-engine", Kind: "string", Default: "decoy", Help: "gRPC transport: decoy (its own HTTP/2 loop, on the gRPC port and for native calls on the HTTP ports; fastest) or go (grpc-go's own)",
		set: oneOf(func(s *Settings) *string { return &s.GRPCEngine }, "decoy", "go")},
	{Name: "connection-rate", Kind: "rate", Default: "0", Help: "most bytes per second written on each data connection, HTTP/1.1 and HTTP/2 (256KiB/s, 8Mbps; 0: no cap)",
		set: func(s *Settings, v string) error {
			if t := strings.TrimSpace(v); t == "0" || t == "" {
				s.ConnectionRate = 0
				return nil
			}
			r, err := stub.ParseRate(v)
			if err != nil {
				return err
			}
			s.ConnectionRate = int64(r)
			return nil
		}},
	{Name: "lean-idle", Kind: "bool", Default: "false", Help: "release the read and write buffers of an idle HTTP/1.1 connection while it waits (about 11 KiB less per held connection, about 15% more CPU per request)",
		set: boolean(func(s *Settings) *bool { return &s.LeanIdle })},
	{Name: "server-timing", Kind: "bool", Default: "false", Help: "add Server-Timing: decoy;dur=<ms> (decoy's own time) to every response",
		set: boolean(func(s *Settings) *bool { return &s.ServerTiming })},
	{Name: "seed", Kind: "int", Default: "1", Help: "seed of random latencies and faults and of data generated from OpenAPI schemas: the same seed replays the same sequence and bytes",
		set: func(s *Settings, v string) error {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 0, 64)
			if err != nil {
				return fmt.Errorf("%q is not a seed (a whole number, 0 or more)", v)
			}
			s.Seed = n
			return nil
		}},
	{Name: "latency", Kind: "string", Help: "latency of stubs that set none, and of generated gRPC answers: 250ms, 10ms..50ms, or a profile name",
		set: func(s *Settings, v string) error {
			v = strings.TrimSpace(v)
			s.Latency, s.LatencySpec = v, nil
			if v == "" {
				return nil
			}
			var l stub.Latency
			if err := json.Unmarshal([]byte(strconv.Quote(v)), &l); err != nil {
				return err
			}
			s.LatencySpec = &l
			return nil
		}},
	{Name: "delay-header", Kind: "bool", Default: "true", Help: "honour a delay the client asks for: X-Decoy-Delay: 500ms or Prefer: delay=500",
		set: boolean(func(s *Settings) *bool { return &s.DelayHeader })},
	{Name: "prefer", Kind: "bool", Default: "true", Help: "honour Prism-style Prefer controls: code=, example=, dynamic=true on OpenAPI routes, and delay=",
		set: boolean(func(s *Settings) *bool { return &s.Prefer })},
	{Name: "validation", Kind: "string", Default: "enforce", Help: "check requests to OpenAPI routes: enforce (400/401/405/415/422 problem), report (answer, add Decoy-Validation), off",
		set: oneOf(func(s *Settings) *string { return &s.Validation }, "enforce", "report", "off")},
	{Name: "lenient", Kind: "bool", Default: "false", Help: "serve the sound operations of an OpenAPI document that has problems and warn about the others (without it such a document is refused, exit 2)",
		set: boolean(func(s *Settings) *bool { return &s.Lenient })},
	{Name: "max-requested-delay", Kind: "duration", Default: "60s", Help: "cap on a requested delay (clamped, and reported in Decoy-Delay-Clamped)",
		set: dur(func(s *Settings) *time.Duration { return &s.MaxRequestedDelay })},
	{Name: "workers", Kind: "string", Default: "1", Help: "processes serving the data ports together with SO_REUSEPORT, under one supervisor and one admin API: 1 (this process alone), N, or auto (one per usable CPU)",
		set: func(s *Settings, v string) error {
			v = strings.ToLower(strings.TrimSpace(v))
			if v == "auto" || v == "0" {
				s.Workers = 0
				return nil
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1024 {
				return fmt.Errorf("%q: want a number of processes from 1 to 1024, or auto", v)
			}
			s.Workers = n
			return nil
		}},
	{Name: "files", Kind: "list", Help: "stub files and folders (comma-separated in the environment; arguments replace it)",
		set: func(s *Settings, v string) error {
			s.Files = nil
			for _, f := range strings.Split(v, ",") {
				if f = strings.TrimSpace(f); f != "" {
					s.Files = append(s.Files, f)
				}
			}
			return nil
		}},
}

// unknownSetting words a config file key that names no setting: the
// setting it most likely misspells, or where the settings are listed.
func unknownSetting(key string) string {
	if s := SuggestSetting(key, "profiles"); s != "" {
		return fmt.Sprintf("unknown setting; did you mean %q? (see `decoy serve --help`)", s)
	}
	return "unknown setting; see `decoy serve --help`"
}

// SuggestSetting is the setting (or one of more, other names taken where
// name was given) that name most likely misspells, "" when none is close.
func SuggestSetting(name string, more ...string) string {
	names := make([]string, 0, len(Table)+len(more))
	for _, t := range Table {
		names = append(names, t.Name)
	}
	return stub.Suggest(name, append(names, more...))
}

// Lookup finds a setting by name.
func Lookup(name string) (Setting, bool) {
	for _, s := range Table {
		if s.Name == name {
			return s, true
		}
	}
	return Setting{}, false
}

// Defaults returns the settings with every default applied.
func Defaults() Settings {
	var s Settings
	for _, t := range Table {
		_ = t.set(&s, t.Default)
	}
	return s
}

// Resolve builds settings from defaults, then the config file (when
// configFile is not empty), then DECOY_* variables from getenv, then flags
// (name → text, only those given on the command line). Every problem is
// reported.
func Resolve(configFile string, getenv func(string) string, flags map[string]string) (Settings, error) {
	s := Defaults()
	var probs Problems
	if configFile != "" {
		probs = append(probs, applyFile(&s, configFile)...)
	}
	for _, t := range Table {
		if v := getenv(t.Env()); v != "" {
			if err := t.Set(&s, v); err != nil {
				probs = append(probs, Problem{File: "environment " + t.Env(), Msg: err.Error()})
			}
		}
	}
	names := make([]string, 0, len(flags))
	for n := range flags {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t, ok := Lookup(n)
		if !ok {
			probs = append(probs, Problem{File: "flag --" + n, Msg: "unknown setting"})
			continue
		}
		if err := t.Set(&s, flags[n]); err != nil {
			probs = append(probs, Problem{File: "flag --" + n, Msg: err.Error()})
		}
	}
	if s.LatencySpec != nil {
		if _, fe := behave.CompileLatency(*s.LatencySpec, s.Profiles); fe != nil {
			for _, e := range fe {
				probs = append(probs, Problem{File: "settings", Field: stub.Join("latency", e.Field), Msg: e.Msg})
			}
		}
	}
	probs = append(probs, Combined(s, "give https an address")...)
	if len(probs) > 0 {
		return s, probs
	}
	return s, nil
}

// Combined checks the settings that must agree with one another (both
// halves of a key pair, client-auth with a TLS port, ...): what Resolve
// checks once every source is applied, for settings put together
// otherwise (the Go package's Options). openTLS says how to open the TLS
// port where the settings come from ("give https an address").
func Combined(s Settings, openTLS string) Problems {
	var probs Problems
	if (s.TLSCert == "") != (s.TLSKey == "") {
		probs = append(probs, Problem{File: "settings", Msg: "tls-cert and tls-key go together: give both or neither"})
	}
	if (s.CACert == "") != (s.CAKey == "") {
		probs = append(probs, Problem{File: "settings", Msg: "ca-cert and ca-key go together: give both or neither"})
	}
	if s.TLSCert != "" && s.CACert != "" {
		probs = append(probs, Problem{File: "settings", Msg: "tls-cert and ca-cert exclude each other: with tls-cert decoy serves that certificate and signs none, so ca-cert would go unused; give one of them"})
	}
	if s.HTTPS == "" && s.ClientAuth != "none" {
		probs = append(probs, Problem{File: "settings", Msg: "client-auth is " + s.ClientAuth + " but the TLS port is off (https is empty): " + openTLS + ", or leave client-auth none"})
	}
	if s.ClientCA != "" && s.ClientAuth == "none" {
		probs = append(probs, Problem{File: "settings", Msg: "client-ca is given but client-auth is none: set client-auth to optional or require"})
	}
	if s.CORSCredentials && !s.CORS && len(s.CORSOrigins) == 0 {
		probs = append(probs, Problem{File: "settings", Msg: "cors-credentials is set but CORS is off: turn on cors (any origin) or give cors-origin"})
	}
	return probs
}

// applyFile reads a YAML or JSON config file: a mapping of setting names to
// values; "files" may be a list, resolved relative to the config file.
func applyFile(s *Settings, name string) Problems {
	data, err := os.ReadFile(name)
	if err != nil {
		return Problems{{File: name, Msg: "the config file (--config, DECOY_CONFIG): " + DescribeOpenErr(err)}}
	}
	return applyConfig(s, name, data)
}

// applyConfig applies the config file name, whose content is data.
func applyConfig(s *Settings, name string, data []byte) Problems {
	data = trimBOM(data)
	if p := jsonSyntax(name, data); p != nil {
		return Problems{*p}
	}
	f, err := stub.ParseYAML(data)
	if err != nil {
		return Problems{yamlProblem(name, err)}
	}
	var probs Problems
	dir := filepath.Dir(name)
	for _, doc := range f.Docs {
		body := unwrap(doc.Body)
		if body == nil {
			continue
		}
		m, ok := body.(*ast.MappingNode)
		if !ok {
			return Problems{{File: name, Line: line(body), Msg: "a config file is a mapping of setting names to values"}}
		}
		for _, mv := range m.Values {
			key := stub.MappingKey(mv)
			if key == "profiles" {
				probs = append(probs, readProfiles(s, name, mv)...)
				continue
			}
			t, ok := Lookup(key)
			if !ok {
				probs = append(probs, Problem{File: name, Line: line(mv.Key), Field: key, Msg: unknownSetting(key)})
				continue
			}
			val := unwrap(mv.Value)
			if seq, ok := val.(*ast.SequenceNode); ok && key != "files" && t.Kind == "list" {
				var items []string
				for _, e := range seq.Values {
					items = append(items, scalarText(e))
				}
				if err := t.set(s, strings.Join(items, ",")); err != nil {
					probs = append(probs, Problem{File: name, Line: line(mv.Value), Field: key, Msg: err.Error()})
				}
				continue
			}
			if key == "files" {
				var files []string
				switch v := val.(type) {
				case *ast.SequenceNode:
					for _, e := range v.Values {
						files = append(files, scalarText(e))
					}
				default:
					files = strings.Split(scalarText(val), ",")
				}
				s.Files = nil
				for _, fl := range files {
					if fl = strings.TrimSpace(fl); fl != "" {
						if !filepath.IsAbs(fl) {
							fl = filepath.Join(dir, fl)
						}
						s.Files = append(s.Files, fl)
					}
				}
				continue
			}
			if _, isScalar := val.(ast.ScalarNode); !isScalar && val != nil {
				probs = append(probs, Problem{File: name, Line: line(mv.Value), Field: key, Msg: "must be a single value"})
				continue
			}
			if err := t.set(s, scalarText(val)); err != nil {
				probs = append(probs, Problem{File: name, Line: line(mv.Value), Field: key, Msg: err.Error()})
			}
		}
	}
	return probs
}

func scalarText(n ast.Node) string {
	if n == nil {
		return ""
	}
	if sc, ok := n.(ast.ScalarNode); ok {
		v := sc.GetValue()
		if v == nil {
			return ""
		}
		return fmt.Sprint(v)
	}
	return n.String()
}

// readProfiles reads the config file's profiles: a mapping of names to
// latency specs. Problems carry the line of the value, or of the profile.
func readProfiles(s *Settings, file string, mv *ast.MappingValueNode) Problems {
	var p stub.Profiles
	if err := yaml.NodeToValue(mv.Value, &p, yaml.DisallowUnknownField()); err != nil {
		var pe *stub.PosError
		if errors.As(err, &pe) {
			return Problems{{File: file, Line: pe.Line, Field: "profiles", Msg: pe.Err.Error()}}
		}
		return Problems{yamlProblem(file, err)}
	}
	var probs Problems
	for _, e := range behave.CheckProfiles(p) {
		at := line(mv.Value)
		name, _, _ := strings.Cut(e.Field, ".")
		if m, ok := unwrap(mv.Value).(*ast.MappingNode); ok {
			for _, v := range m.Values {
				if stub.MappingKey(v) == name {
					at = line(v.Key)
				}
			}
		}
		probs = append(probs, Problem{File: file, Line: at, Field: stub.Join("profiles", e.Field), Msg: e.Msg})
	}
	s.Profiles = p
	return probs
}
