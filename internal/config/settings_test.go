package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	d := Defaults()
	want := Settings{
		HTTP: ":8080", HTTPS: ":8443", Admin: "127.0.0.1:9901",
		MaxHeaderBytes: 8 << 10, MaxBodyBytes: 64 << 20,
		ReadTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, ShutdownTimeout: 10 * time.Second,
		JournalSize: 10000, JournalBodyBytes: 1 << 10,
		LogLevel: "info", LogFormat: "text",
	}
	if d.HTTP != want.HTTP || d.HTTPS != want.HTTPS || d.Admin != want.Admin || d.TLSCert != "" || d.TLSKey != "" ||
		d.MaxHeaderBytes != want.MaxHeaderBytes || d.MaxBodyBytes != want.MaxBodyBytes ||
		d.ReadTimeout != want.ReadTimeout || d.IdleTimeout != want.IdleTimeout || d.ShutdownTimeout != want.ShutdownTimeout ||
		d.JournalSize != want.JournalSize || d.JournalBodyBytes != want.JournalBodyBytes ||
		d.LogLevel != want.LogLevel || d.LogFormat != want.LogFormat || d.Quiet || d.Files != nil ||
		d.IdleTrim != time.Minute {
		t.Errorf("Defaults() = %+v\nwant %+v", d, want)
	}
	// Every default is valid for its own setting.
	for _, s := range Table {
		var st Settings
		if err := s.Set(&st, s.Default); err != nil {
			t.Errorf("%s: default %q: %v", s.Name, s.Default, err)
		}
	}
	s, err := Resolve("", envOf(nil), nil)
	if err != nil {
		t.Fatalf("Resolve with nothing: %v", err)
	}
	if s.HTTP != ":8080" || s.ReadTimeout != time.Minute {
		t.Errorf("Resolve with nothing = %+v", s)
	}
}

func TestTable(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, s := range Table {
		if seen[s.Name] {
			t.Errorf("setting %s listed twice", s.Name)
		}
		seen[s.Name] = true
		if s.Help == "" {
			t.Errorf("setting %s has no help", s.Name)
		}
		if got, ok := Lookup(s.Name); !ok || got.Name != s.Name {
			t.Errorf("Lookup(%s) = %v, %v", s.Name, got.Name, ok)
		}
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("Lookup(nope) found a setting")
	}
	envs := []struct{ name, env string }{
		{"http", "DECOY_HTTP"},
		{"max-body-bytes", "DECOY_MAX_BODY_BYTES"},
		{"tls-cert", "DECOY_TLS_CERT"},
		{"journal-body-bytes", "DECOY_JOURNAL_BODY_BYTES"},
	}
	for _, e := range envs {
		s, _ := Lookup(e.name)
		if got := s.Env(); got != e.env {
			t.Errorf("%s: Env() = %q, want %q", e.name, got, e.env)
		}
	}
}

func TestSettingSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value string
		check       func(Settings) bool
		wantErr     string // part of the error; "" when it must succeed
	}{
		{"http", "", func(s Settings) bool { return s.HTTP == "" }, ""},
		{"http", "127.0.0.1:1", func(s Settings) bool { return s.HTTP == "127.0.0.1:1" }, ""},
		{"http", ":http", func(s Settings) bool { return s.HTTP == ":http" }, ""},
		{"https", "[::1]:0", func(s Settings) bool { return s.HTTPS == "[::1]:0" }, ""},
		{"http", "127.0.0.1:99999", nil, `port "99999" is not a port`},
		{"grpc", "localhost", nil, "not an address to listen on"},
		{"admin", "127.0.0.1:nope", nil, `port "nope" is not a port`},
		{"max-body-bytes", "1MiB", func(s Settings) bool { return s.MaxBodyBytes == 1<<20 }, ""},
		{"max-body-bytes", "100", func(s Settings) bool { return s.MaxBodyBytes == 100 }, ""},
		{"max-body-bytes", "lots", nil, "max-body-bytes: \"lots\" is not a size"},
		{"max-body-bytes", "-1", nil, "cannot be negative"},
		{"max-upload-bytes", "2GiB", func(s Settings) bool { return s.MaxUploadBytes == 2<<30 }, ""},
		{"max-upload-bytes", "lots", nil, "max-upload-bytes: \"lots\" is not a size"},
		{"max-header-bytes", "NaN", nil, "not a size"},
		{"read-timeout", "30s", func(s Settings) bool { return s.ReadTimeout == 30*time.Second }, ""},
		{"read-timeout", " 1m ", func(s Settings) bool { return s.ReadTimeout == time.Minute }, ""},
		{"read-timeout", "0s", func(s Settings) bool { return s.ReadTimeout == 0 }, ""},
		{"read-timeout", "-1s", nil, "not a duration"},
		{"read-timeout", "soon", nil, "read-timeout: \"soon\" is not a duration"},
		{"idle-trim", "0", func(s Settings) bool { return s.IdleTrim == 0 }, ""},
		{"idle-trim", "5s", func(s Settings) bool { return s.IdleTrim == 5*time.Second }, ""},
		{"idle-trim", "-1s", nil, "idle-trim: \"-1s\" is not a duration"},
		{"journal-size", "0", func(s Settings) bool { return s.JournalSize == 0 }, ""},
		{"journal-size", " 42 ", func(s Settings) bool { return s.JournalSize == 42 }, ""},
		{"journal-size", "-1", nil, "not a count"},
		{"journal-size", "1e3", nil, "not a count"},
		{"log-level", "DEBUG", func(s Settings) bool { return s.LogLevel == "debug" }, ""},
		{"log-level", " warn ", func(s Settings) bool { return s.LogLevel == "warn" }, ""},
		{"log-level", "loud", nil, `"loud": want one of debug, info, warn, error`},
		{"log-format", "JSON", func(s Settings) bool { return s.LogFormat == "json" }, ""},
		{"log-format", "xml", nil, "want one of text, json"},
		{"http1-engine", "fasthttp", func(s Settings) bool { return s.HTTP1Engine == "fasthttp" }, ""},
		{"http1-engine", " LOOP ", func(s Settings) bool { return s.HTTP1Engine == "loop" }, ""},
		{"http1-engine", "nginx", nil, `"nginx": want one of loop, fasthttp`},
		{"quiet", "true", func(s Settings) bool { return s.Quiet }, ""},
		{"quiet", "1", func(s Settings) bool { return s.Quiet }, ""},
		{"quiet", "False", func(s Settings) bool { return !s.Quiet }, ""},
		{"quiet", "yes", nil, "want true or false"},
		{"files", "a, b ,,c", func(s Settings) bool { return slices.Equal(s.Files, []string{"a", "b", "c"}) }, ""},
		{"files", "", func(s Settings) bool { return s.Files == nil }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			t.Parallel()
			s, ok := Lookup(tt.name)
			if !ok {
				t.Fatalf("no setting %s", tt.name)
			}
			st := Defaults()
			st.Files = []string{"old"}
			err := s.Set(&st, tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Set(%q) = %v, want an error containing %q", tt.value, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Set(%q): %v", tt.value, err)
			}
			if !tt.check(st) {
				t.Errorf("Set(%q) gave %+v", tt.value, st)
			}
		})
	}
}

// Defaults < config file < DECOY_* environment < flags, setting by
// setting.
func TestResolvePrecedence(t *testing.T) {
	t.Parallel()
	file := writeTree(t, map[string]string{"decoy.yaml": "http: ':1'\nread-timeout: 11s\nlog-level: warn\n"})
	cfg := filepath.Join(file, "decoy.yaml")
	tests := []struct {
		name        string
		cfg         string
		env         map[string]string
		flags       map[string]string
		http        string
		readTimeout time.Duration
		logLevel    string
	}{
		{"defaults", "", nil, nil, ":8080", 60 * time.Second, "info"},
		{"file", cfg, nil, nil, ":1", 11 * time.Second, "warn"},
		{"env over default", "", map[string]string{"DECOY_HTTP": ":2"}, nil, ":2", 60 * time.Second, "info"},
		{"env over file", cfg, map[string]string{"DECOY_HTTP": ":2", "DECOY_READ_TIMEOUT": "22s"}, nil, ":2", 22 * time.Second, "warn"},
		{"flag over default", "", nil, map[string]string{"http": ":3"}, ":3", 60 * time.Second, "info"},
		{"flag over file", cfg, nil, map[string]string{"log-level": "error"}, ":1", 11 * time.Second, "error"},
		{"flag over env over file", cfg, map[string]string{"DECOY_HTTP": ":2", "DECOY_LOG_LEVEL": "debug"}, map[string]string{"http": ":3"}, ":3", 11 * time.Second, "debug"},
		{"all three on one setting", cfg, map[string]string{"DECOY_READ_TIMEOUT": "22s"}, map[string]string{"read-timeout": "33s"}, ":1", 33 * time.Second, "warn"},
		{"empty env is unset", cfg, map[string]string{"DECOY_HTTP": ""}, nil, ":1", 11 * time.Second, "warn"},
		{"flag may empty a setting", cfg, nil, map[string]string{"http": ""}, "", 11 * time.Second, "warn"},
		{"unrelated env ignored", "", map[string]string{"HTTP": ":9", "DECOY_NOPE": "x"}, nil, ":8080", 60 * time.Second, "info"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Resolve(tt.cfg, envOf(tt.env), tt.flags)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if s.HTTP != tt.http || s.ReadTimeout != tt.readTimeout || s.LogLevel != tt.logLevel {
				t.Errorf("http %q, read-timeout %v, log-level %q; want %q, %v, %q",
					s.HTTP, s.ReadTimeout, s.LogLevel, tt.http, tt.readTimeout, tt.logLevel)
			}
		})
	}
}

// Every problem is reported: the config file's with their line, then the
// environment's, then the flags'.
func TestResolveProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   string // config file content; "" for no file
		env   map[string]string
		flags map[string]string
		want  []Problem // File "CFG" stands for the config file
	}{
		{"unknown setting", "http: ':1'\nprot: 9\n", nil, nil,
			[]Problem{{File: "CFG", Line: 2, Field: "prot", Msg: "unknown setting; see `decoy serve --help`"}}},
		{"misspelt setting", "htp: ':1'\n", nil, nil,
			[]Problem{{File: "CFG", Line: 1, Field: "htp", Msg: "unknown setting; did you mean \"http\"? (see `decoy serve --help`)"}}},
		{"misspelt setting with a dash missing", "journalsize: 0\n", nil, nil,
			[]Problem{{File: "CFG", Line: 1, Field: "journalsize", Msg: `did you mean "journal-size"?`}}},
		{"bad value", "http: ':1'\n\nread-timeout: soon\n", nil, nil,
			[]Problem{{File: "CFG", Line: 3, Field: "read-timeout", Msg: `"soon" is not a duration`}}},
		{"bad level", "log-level: loud\n", nil, nil,
			[]Problem{{File: "CFG", Line: 1, Field: "log-level", Msg: `"loud": want one of`}}},
		{"list where a value goes", "http:\n  - a\n  - b\n", nil, nil,
			[]Problem{{File: "CFG", Line: 2, Field: "http", Msg: "must be a single value"}}},
		{"mapping where a value goes", "quiet: {a: 1}\n", nil, nil,
			[]Problem{{File: "CFG", Line: 1, Field: "quiet", Msg: "must be a single value"}}},
		{"not a mapping", "- http\n", nil, nil,
			[]Problem{{File: "CFG", Line: 1, Msg: "a config file is a mapping"}}},
		{"syntax error", "http: [\n", nil, nil,
			[]Problem{{File: "CFG", Line: 1, Msg: ""}}},
		{"several in the file", "prot: 1\nquiet: maybe\njournal-size: -3\n", nil, nil,
			[]Problem{
				{File: "CFG", Line: 1, Field: "prot", Msg: "unknown setting"},
				{File: "CFG", Line: 2, Field: "quiet", Msg: "want true or false"},
				{File: "CFG", Line: 3, Field: "journal-size", Msg: "not a count"},
			}},
		{"environment", "", map[string]string{"DECOY_READ_TIMEOUT": "later"}, nil,
			[]Problem{{File: "environment DECOY_READ_TIMEOUT", Msg: `read-timeout: "later" is not a duration`}}},
		{"flag", "", nil, map[string]string{"max-body-bytes": "big"},
			[]Problem{{File: "flag --max-body-bytes", Msg: "not a size"}}},
		{"unknown flag", "", nil, map[string]string{"nope": "1"},
			[]Problem{{File: "flag --nope", Msg: "unknown setting"}}},
		{"tls cert without key", "", nil, map[string]string{"tls-cert": "c.pem"},
			[]Problem{{File: "settings", Msg: "tls-cert and tls-key go together"}}},
		{"tls key without cert", "tls-key: k.pem\n", nil, nil,
			[]Problem{{File: "settings", Msg: "tls-cert and tls-key go together"}}},
		{"ca cert without key", "", map[string]string{"DECOY_CA_CERT": "ca.pem"}, nil,
			[]Problem{{File: "settings", Msg: "ca-cert and ca-key go together"}}},
		{"client-ca without client-auth", "client-ca: cas.pem\n", nil, nil,
			[]Problem{{File: "settings", Msg: "client-auth is none"}}},
		{"bad client-auth", "", nil, map[string]string{"client-auth": "always"},
			[]Problem{{File: "flag --client-auth", Msg: "want one of none, optional, require"}}},
		{"bad CIDR in a flag", "", nil, map[string]string{"allow-cidr": "127.0.0.0/8,10.0.0.0/33"},
			[]Problem{{File: "flag --allow-cidr", Msg: `allow-cidr: "10.0.0.0/33" is not a network`}}},
		{"bad CIDR in the environment", "", map[string]string{"DECOY_ALLOW_CIDR": "localhost"}, nil,
			[]Problem{{File: "environment DECOY_ALLOW_CIDR", Msg: `"localhost" is not a network`}}},
		{"bad CIDR in a file list", "allow-cidr:\n  - 10.0.0.0/8\n  - 300.1.1.1\n", nil, nil,
			[]Problem{{File: "CFG", Line: 2, Field: "allow-cidr", Msg: `"300.1.1.1" is not a network`}}},
		{"bad origin in a flag", "", nil, map[string]string{"cors-origin": "https://app.example,app.example"},
			[]Problem{{File: "flag --cors-origin", Msg: `cors-origin: "app.example" is not an origin: want scheme://host[:port]`}}},
		{"origin with a path in the environment", "", map[string]string{"DECOY_CORS_ORIGIN": "https://app.example/app"}, nil,
			[]Problem{{File: "environment DECOY_CORS_ORIGIN", Msg: "no path, query or fragment"}}},
		{"bad origin in a file list", "cors: true\ncors-origin:\n  - http://localhost:3000\n  - '*'\n", nil, nil,
			[]Problem{{File: "CFG", Line: 3, Field: "cors-origin", Msg: "to allow any origin, turn cors on and give no cors-origin"}}},
		{"cors-credentials without cors", "cors-credentials: true\n", nil, nil,
			[]Problem{{File: "settings", Msg: "cors-credentials is set but CORS is off"}}},
		{"file, env and flag together, in that order", "prot: 1\n", map[string]string{"DECOY_QUIET": "perhaps"}, map[string]string{"log-format": "xml"},
			[]Problem{
				{File: "CFG", Line: 1, Field: "prot", Msg: "unknown setting"},
				{File: "environment DECOY_QUIET", Msg: "want true or false"},
				{File: "flag --log-format", Msg: "want one of text, json"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := ""
			if tt.cfg != "" {
				cfg = filepath.Join(writeTree(t, map[string]string{"decoy.yaml": tt.cfg}), "decoy.yaml")
			}
			_, err := Resolve(cfg, envOf(tt.env), tt.flags)
			if err == nil {
				t.Fatal("Resolve succeeded")
			}
			ps := problemsOf(t, err)
			if len(ps) != len(tt.want) {
				t.Fatalf("problems:\n%v\nwant %d", ps, len(tt.want))
			}
			for i, w := range tt.want {
				if w.File == "CFG" {
					w.File = cfg
				}
				p := ps[i]
				if p.File != w.File || p.Line != w.Line || p.Field != w.Field || !strings.Contains(p.Msg, w.Msg) {
					t.Errorf("problem %d = %+v\n          want %+v", i, p, w)
				}
			}
		})
	}
}

func TestResolveMissingConfigFile(t *testing.T) {
	t.Parallel()
	name := filepath.Join(t.TempDir(), "none.yaml")
	_, err := Resolve(name, envOf(nil), nil)
	ps := problemsOf(t, err)
	if len(ps) != 1 || ps[0].File != name || ps[0].Msg != "the config file (--config, DECOY_CONFIG): no such file or folder" {
		t.Errorf("problems = %v", ps)
	}
}

// The config file may be JSON too, and takes every kind of value: numbers
// for sizes, null for an empty setting, a bool.
func TestResolveConfigValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		file  string
		check func(Settings) bool
	}{
		{"json", `{"http": ":1", "quiet": true, "journal-size": 5}`, func(s Settings) bool { return s.HTTP == ":1" && s.Quiet && s.JournalSize == 5 }},
		{"size as a number", "max-body-bytes: 1048576\n", func(s Settings) bool { return s.MaxBodyBytes == 1<<20 }},
		{"size with unit", "max-body-bytes: 2MiB\n", func(s Settings) bool { return s.MaxBodyBytes == 2<<20 }},
		{"null empties", "https:\n", func(s Settings) bool { return s.HTTPS == "" }},
		{"empty string empties", "admin: ''\n", func(s Settings) bool { return s.Admin == "" }},
		{"tls pair", "tls-cert: c.pem\ntls-key: k.pem\n", func(s Settings) bool { return s.TLSCert == "c.pem" && s.TLSKey == "k.pem" }},
		{"several documents", "http: ':1'\n---\nhttp: ':2'\n", func(s Settings) bool { return s.HTTP == ":2" }},
		{"allow-cidr as a list", "allow-cidr: [127.0.0.0/8, '::1/128', 10.0.0.7]\n", func(s Settings) bool {
			return fmt.Sprint(s.AllowCIDR) == "[127.0.0.0/8 ::1/128 10.0.0.7/32]"
		}},
		{"allow-cidr as text", "allow-cidr: 127.0.0.0/8, ::ffff:10.0.0.0/104\n", func(s Settings) bool {
			return fmt.Sprint(s.AllowCIDR) == "[127.0.0.0/8 10.0.0.0/8]"
		}},
		{"mTLS", "client-auth: require\nclient-ca: c.pem\nca-dir: 'off'\n", func(s Settings) bool {
			return s.ClientAuth == "require" && s.ClientCA == "c.pem" && s.CADir == "off"
		}},
		{"cors off by default", "", func(s Settings) bool { return s.CORSPolicy() == nil }},
		{"cors for any origin", "cors: true\n", func(s Settings) bool {
			p := s.CORSPolicy()
			return p != nil && len(p.Origins) == 0 && !p.Credentials
		}},
		{"cors-origin turns cors on, origins as browsers send them", "cors-origin: [HTTPS://App.Example:443/, 'http://localhost:3000', https://app.example]\ncors-credentials: true\n", func(s Settings) bool {
			p := s.CORSPolicy()
			return p != nil && fmt.Sprint(p.Origins) == "[https://app.example http://localhost:3000]" && p.Credentials
		}},
		{"empty file", "", func(s Settings) bool { return s.HTTP == ":8080" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := filepath.Join(writeTree(t, map[string]string{"decoy.yaml": tt.file}), "decoy.yaml")
			s, err := Resolve(cfg, envOf(nil), nil)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if !tt.check(s) {
				t.Errorf("settings = %+v", s)
			}
		})
	}
}

// files in a config file are relative to the config file; in the
// environment and flags they are taken as given.
func TestResolveFiles(t *testing.T) {
	t.Parallel()
	abs := filepath.Join(string(filepath.Separator), "srv", "stubs.yaml")
	tests := []struct {
		name  string
		file  string
		env   map[string]string
		flags map[string]string
		want  []string // relative ones are joined to the temp root
	}{
		{"list", "files:\n  - stubs\n  - ../shared/x.yaml\n  - " + abs + "\n", nil, nil,
			[]string{"conf/stubs", "shared/x.yaml", abs}},
		{"comma-separated", "files: 'a.yaml, b'\n", nil, nil, []string{"conf/a.yaml", "conf/b"}},
		{"single", "files: stubs/\n", nil, nil, []string{"conf/stubs"}},
		{"empty entries dropped", "files: [a, '', ' ']\n", nil, nil, []string{"conf/a"}},
		{"flow list", "files: [a, b]\n", nil, nil, []string{"conf/a", "conf/b"}},
		{"env replaces, as given", "files: [a]\n", map[string]string{"DECOY_FILES": "x.yaml,y"}, nil, []string{"=x.yaml", "=y"}},
		{"flag replaces, as given", "files: [a]\n", map[string]string{"DECOY_FILES": "x"}, map[string]string{"files": "z"}, []string{"=z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := writeTree(t, map[string]string{"conf/decoy.yaml": tt.file})
			s, err := Resolve(filepath.Join(root, "conf", "decoy.yaml"), envOf(tt.env), tt.flags)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			var want []string
			for _, w := range tt.want {
				switch {
				case strings.HasPrefix(w, "="):
					want = append(want, w[1:])
				case filepath.IsAbs(w):
					want = append(want, w)
				default:
					want = append(want, filepath.Join(root, filepath.FromSlash(w)))
				}
			}
			if !slices.Equal(s.Files, want) {
				t.Errorf("Files = %v, want %v", s.Files, want)
			}
		})
	}
}

// tcp-congestion from a flag, the environment or the config file: the
// keywords in any case, an algorithm's name as given, and a name of the
// wrong shape refused where it was given (the kernel judges the rest when
// decoy listens).
func TestTCPCongestion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, from, value string
		want              string // the setting; "" when it must be refused
		err               string // part of the problem
	}{
		{"default", "", "", "auto", ""},
		{"flag auto", "flag", "AUTO", "auto", ""},
		{"flag system", "flag", "system", "system", ""},
		{"flag name", "flag", "reno", "reno", ""},
		{"env name", "env", " cubic ", "cubic", ""},
		{"file name", "file", "bbr", "bbr", ""},
		{"file keyword", "file", "System", "system", ""},
		{"flag empty", "flag", "", "", `"": want auto, system, or the name of a TCP congestion control algorithm`},
		{"flag space", "flag", "new reno", "", `"new reno" is not a TCP congestion control algorithm: a name has no spaces`},
		{"env too long", "env", "averyveryverylongname", "", "at most 15 bytes"},
		{"file empty", "file", "''", "", `want auto, system`},
		{"file null", "file", "", "", `want auto, system`},
		{"file space", "file", "'cu bic'", "", "no spaces"},
		{"file list", "file", "[cubic, reno]", "", "must be a single value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var cfg string
			env, flags := map[string]string{}, map[string]string{}
			where := Problem{File: "settings"}
			switch tt.from {
			case "flag":
				flags["tcp-congestion"] = tt.value
				where = Problem{File: "flag --tcp-congestion"}
			case "env":
				env["DECOY_TCP_CONGESTION"] = tt.value
				where = Problem{File: "environment DECOY_TCP_CONGESTION"}
			case "file":
				cfg = filepath.Join(writeTree(t, map[string]string{"decoy.yaml": "quiet: true\ntcp-congestion: " + tt.value + "\n"}), "decoy.yaml")
				where = Problem{File: cfg, Line: 2, Field: "tcp-congestion"}
			}
			s, err := Resolve(cfg, envOf(env), flags)
			if tt.want != "" {
				if err != nil || s.TCPCongestion != tt.want {
					t.Fatalf("TCPCongestion = %q, %v; want %q", s.TCPCongestion, err, tt.want)
				}
				return
			}
			ps := problemsOf(t, err)
			if len(ps) != 1 || ps[0].File != where.File || ps[0].Line != where.Line || ps[0].Field != where.Field || !strings.Contains(ps[0].Msg, tt.err) {
				t.Fatalf("problems %+v, want one at %+v with %q", ps, where, tt.err)
			}
		})
	}
}
