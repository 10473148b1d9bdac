package config

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/behave"
)

// FuzzConfigFile reads arbitrary bytes as the config file (--config), then
// compiles the global latency against its profiles as Resolve does.
// Nothing may panic; every problem names the file, says what is wrong, and
// its line, when it has one, is a line of the file; the files it lists are
// non-empty and trimmed.
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{
		"seed: 42\nlatency: regular\nprofiles:\n  regular: {percentiles: {p50: 40ms, p90: 120ms, p99: 400ms, max: 2s}}\n  slow-3g: {lognormal: {median: 400ms, p99: 2s}, perKB: 8ms}\n",
		`{"http": ":1", "quiet": true, "journal-size": 5, "files": ["a.yaml", "/srv/b"]}`,
		"files: 'a.yaml, b'\nallow-cidr: [127.0.0.0/8, '::1/128']\ncors-origin: [https://app.example]\n",
		"http: ':1'\n---\nhttp: ':2'\nmax-body-bytes: 2MiB\n",
		"prot: 1\nquiet: maybe\njournal-size: -3\nread-timeout: soon\n",
		"latency: nope\nprofiles: {a: {profile: a}}\n",
		"profiles:\n  x: {uniform: {min: 2s, max: 1s}}\n  y: [1\n",
		"http:\n  - a\n  - b\nquiet: {a: 1}\n",
		"- http\n",
		"\xef\xbb\xbfhttp: ':1'\n",
		"",
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte(`{"http": ":1",}`), true)
	f.Fuzz(func(t *testing.T, data []byte, asJSON bool) {
		if len(data) > 8<<10 {
			return
		}
		name := filepath.Join("conf", "decoy.yaml")
		if asJSON {
			name = filepath.Join("conf", "decoy.json")
		}
		s := Defaults()
		probs := applyConfig(&s, name, data)
		if s.LatencySpec != nil {
			// Its errors are Resolve's, of "settings": only no panic here.
			_, _ = behave.CompileLatency(*s.LatencySpec, s.Profiles)
		}
		// YAML ends a line with CRLF, LF or a lone CR (YAML 1.2, 5.4).
		lines := 1 + bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) - bytes.Count(data, []byte("\r\n"))
		for _, p := range probs {
			if p.File != name || p.Msg == "" {
				t.Fatalf("problem %q: file %q, message %q", p.Error(), p.File, p.Msg)
			}
			if p.Line < 0 || p.Line > lines {
				t.Fatalf("problem %q at line %d of a file of %d lines", p.Error(), p.Line, lines)
			}
		}
		for _, fl := range s.Files {
			if fl == "" || fl != strings.TrimSpace(fl) {
				t.Fatalf("files entry %q", fl)
			}
		}
	})
}
