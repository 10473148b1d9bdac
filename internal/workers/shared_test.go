package workers_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/pki"
)

// serving waits for the supervisor's "decoy serving" line.
func serving(r *running) logLine {
	l, _ := r.waitLine(0, "the supervisor serving", func(l logLine) bool {
		return l.str("msg") == "decoy serving" && l["workers"] != nil
	})
	return l
}

// leaves are the SHA-256 fingerprints of the certificates presented for
// server name sni over n new connections.
func leaves(t *testing.T, addr, sni string, n int) map[[32]byte]bool {
	t.Helper()
	out := map[[32]byte]bool{}
	for range n {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: sni})
		if err != nil {
			t.Fatal(err)
		}
		out[sha256.Sum256(c.ConnectionState().PeerCertificates[0].Raw)] = true
		_ = c.Close()
	}
	return out
}

// privateKeys lists the files under dir that hold a PEM private key.
func privateKeys(dir string) []string {
	var found []string
	_ = filepath.WalkDir(dir, func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := os.ReadFile(name); err == nil && bytes.Contains(b, []byte("PRIVATE KEY")) {
				found = append(found, name)
			}
		}
		return nil
	})
	return found
}

// Workers present one server's TLS: the same certificate for a server name
// whichever worker a connection reaches, in every certificate mode, and
// session tickets every worker takes. No key is written to disk for them,
// so none is left behind when the supervisor is killed outright.
func TestServeWorkersOneTLSServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds decoy and runs it as several processes")
	}
	t.Parallel()
	bin := buildDecoy(t)
	files := t.TempDir()
	caDir := filepath.Join(files, "ca")
	if _, _, err := pki.LoadOrCreate(caDir); err != nil {
		t.Fatal(err)
	}
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	caCert, caKey := filepath.Join(files, "ca-cert.pem"), filepath.Join(files, "ca-key.pem")
	_ = os.WriteFile(caCert, ca.CertPEM, 0o600)
	_ = os.WriteFile(caKey, ca.KeyPEM, 0o600)
	leaf, err := ca.Issue([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tlsCert, tlsKey := filepath.Join(files, "cert.pem"), filepath.Join(files, "key.pem")
	if err := pki.WriteKeyPair(leaf, tlsCert, tlsKey); err != nil {
		t.Fatal(err)
	}
	modes := []struct {
		name string
		args []string
	}{
		{"a CA made at start", []string{"--ca-dir", "off"}},
		{"ca-dir", []string{"--ca-dir", caDir}},
		{"ca-cert", []string{"--ca-dir", "off", "--ca-cert", caCert, "--ca-key", caKey}},
		{"tls-cert", []string{"--ca-dir", "off", "--tls-cert", tlsCert, "--tls-key", tlsKey}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			args := append([]string{"serve", "--workers", "3", "--quiet", "--http", "", "--https", "127.0.0.1:0",
				"--admin", "127.0.0.1:0", "--grpc", ""}, m.args...)
			r := startDecoyEnv(t, bin, []string{"TMPDIR=" + tmp}, args...)
			sup := serving(r)
			addr := sup.str("https")
			for _, sni := range []string{"localhost", "api.example.com", ""} {
				if got := leaves(t, addr, sni, 15); len(got) != 1 {
					t.Errorf("server name %q: %d different certificates over 15 connections, want 1", sni, len(got))
				}
			}

			// A session resumes whichever worker the new connection reaches.
			cache := tls.NewLRUClientSessionCache(4)
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "localhost", ClientSessionCache: cache}}}
			resumed := 0
			const n = 12
			for i := range n + 1 {
				resp, err := c.Get("https://" + addr + "/")
				if err != nil {
					t.Fatal(err)
				}
				_ = resp.Body.Close()
				if i > 0 && resp.TLS.DidResume {
					resumed++
				}
			}
			if resumed != n {
				t.Errorf("%d of %d new connections resumed the session, want all", resumed, n)
			}

			if ks := privateKeys(tmp); len(ks) > 0 {
				t.Errorf("private keys written to disk: %v", ks)
			}
			pids := workerPIDs(t, sup, 3)
			for _, p := range pids {
				if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p)); err == nil && bytes.Contains(env, []byte("PRIVATE KEY")) {
					t.Errorf("worker %d has a private key in its environment", p)
				}
			}
			_ = r.cmd.Process.Kill()
			<-r.done
			if ks := privateKeys(tmp); len(ks) > 0 {
				t.Errorf("private keys left on disk after the supervisor was killed: %v", ks)
			}
		})
	}
}

// A worker started again while a stub file does not load (saved broken
// after start, which the running workers shrug off) serves what the others
// serve: the files as they last loaded well.
func TestServeWorkersRestartWithBrokenFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds decoy and runs it as several processes")
	}
	t.Parallel()
	bin := buildDecoy(t)
	dir := filepath.Join(t.TempDir(), "stubs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("hello.yaml", "- request: {method: GET, path: /hello}\n  response: {status: 200, body: hi}\n")
	write("extra.yaml", "- id: extra\n  request: {method: GET, path: /extra}\n  response: {status: 200, body: v1}\n")
	tmp := t.TempDir()
	r := startDecoyEnv(t, bin, []string{"TMPDIR=" + tmp}, "serve", "--workers", "2", "--quiet", "--http", "127.0.0.1:0",
		"--https", "", "--admin", "127.0.0.1:0", "--grpc", "", dir)
	sup := serving(r)
	httpAddr, admin := sup.str("http"), sup.str("admin")
	pids := workerPIDs(t, sup, 2)

	// Changed well (v2), which every worker serves, then saved broken. A
	// worker watches the files once it serves: the change is written again
	// (each second, past the watch's settling time) until every worker has
	// it.
	v2 := "- id: extra\n  request: {method: GET, path: /extra}\n  response: {status: 200, body: v2}\n"
	write("extra.yaml", v2)
	written := time.Now()
	fresh := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(30 * time.Second)
	for ok := 0; ok < 20; {
		if _, body := get(t, fresh, "http://"+httpAddr+"/extra"); body == "v2" {
			ok++
			continue
		} else if time.Now().After(deadline) {
			t.Fatalf("the workers do not serve the changed file: %q", body)
		}
		ok = 0
		if time.Since(written) > time.Second {
			write("extra.yaml", v2)
			written = time.Now()
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The supervisor's copy follows the files: wait until it holds v2.
	for {
		copies, _ := filepath.Glob(filepath.Join(tmp, "decoy-stubs-*", "0", "stubs", "extra.yaml"))
		has := false
		for _, c := range copies {
			if b, err := os.ReadFile(c); err == nil && strings.Contains(string(b), "v2") {
				has = true
			}
		}
		if has {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the supervisor's copy never held the change (copies %v)", copies)
		}
		time.Sleep(20 * time.Millisecond)
	}
	f, err := os.OpenFile(filepath.Join(dir, "extra.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("  garbage: [\n")
	_ = f.Close()

	_, mark := r.waitLine(0, "now", func(logLine) bool { return true })
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	again, _ := r.waitLine(mark, "worker 0 serving again", func(l logLine) bool { return l.str("msg") == "worker serving again" })
	restarted, _ := again["worker"].(float64)
	if code, body := get(t, http.DefaultClient, "http://"+admin+"/ready"); code != http.StatusOK {
		t.Fatalf("GET /ready after the restart: %d %s", code, body)
	}
	for range 30 {
		if code, body := get(t, fresh, "http://"+httpAddr+"/extra"); code != 200 || body != "v2" {
			t.Fatalf("GET /extra after the restart: %d %q, want v2 from every worker", code, body)
		}
	}
	// Served as from the files: the origin names them, not the copy.
	var workerAdmin string
	r.mu.Lock()
	for _, l := range r.lines {
		if w, ok := l["worker"].(float64); ok && w == restarted && l.str("msg") == "decoy serving" && l["workers"] == nil {
			workerAdmin = l.str("admin") // the last: the worker started again
		}
	}
	r.mu.Unlock()
	_, body := get(t, http.DefaultClient, "http://"+workerAdmin+"/stubs/extra")
	var st struct {
		Origin string `json:"origin"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil || !strings.HasPrefix(st.Origin, filepath.Join(dir, "extra.yaml")+":") {
		t.Errorf("the restarted worker's stub: origin %q (%v), want %s:line", st.Origin, err, filepath.Join(dir, "extra.yaml"))
	}
}
