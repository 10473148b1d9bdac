package workers_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/metrics"
)

// logLine is one JSON log line of decoy.
type logLine map[string]any

func (l logLine) str(k string) string { s, _ := l[k].(string); return s }

// running is a `decoy serve --workers N` under test.
type running struct {
	t     *testing.T
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []logLine
	more  chan struct{} // a line arrived
	done  chan struct{} // the process exited
}

// waitLine waits for a log line for which ok holds, from index from on,
// and returns it and its index.
func (r *running) waitLine(from int, what string, ok func(logLine) bool) (logLine, int) {
	r.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		r.mu.Lock()
		for i := from; i < len(r.lines); i++ {
			if ok(r.lines[i]) {
				l := r.lines[i]
				r.mu.Unlock()
				return l, i
			}
		}
		from = len(r.lines)
		r.mu.Unlock()
		select {
		case <-r.more:
		case <-r.done:
			r.t.Fatalf("decoy exited while waiting for %s", what)
		case <-deadline:
			r.t.Fatalf("no log line for %s within 60 s", what)
		}
	}
}

func startDecoy(t *testing.T, bin string, args ...string) *running {
	t.Helper()
	return startDecoyEnv(t, bin, nil, args...)
}

// startDecoyEnv is startDecoy with more environment variables.
func startDecoyEnv(t *testing.T, bin string, env []string, args ...string) *running {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "DECOY_LOG_FORMAT=json"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &running{t: t, cmd: cmd, more: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var l logLine
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				l = logLine{"msg": sc.Text()}
			}
			r.mu.Lock()
			r.lines = append(r.lines, l)
			r.mu.Unlock()
			select {
			case r.more <- struct{}{}:
			default:
			}
		}
		_ = cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// built is decoy built once for the tests of this package.
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

func buildDecoy(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "decoy-workers-test-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "decoy")
		cmd := exec.Command("go", "build", "-o", built.bin, "github.com/decoy-dev/decoy/cmd/decoy")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func send(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// accepted is a worker's decoy_connections_accepted_total, from its own
// admin API.
func accepted(t *testing.T, admin string) int {
	t.Helper()
	_, body := get(t, http.DefaultClient, "http://"+admin+"/metrics")
	for line := range strings.SplitSeq(body, "\n") {
		if v, ok := strings.CutPrefix(line, "decoy_connections_accepted_total "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return int(f)
		}
	}
	t.Fatalf("no decoy_connections_accepted_total in worker metrics")
	return 0
}

// alive reports whether pid runs (a zombie, exited but not yet reaped by
// whoever adopted it, does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// workerPIDs reads the "pids" of the supervisor's "decoy serving" line.
func workerPIDs(t *testing.T, sup logLine, n int) []int {
	t.Helper()
	var pids []int
	for f := range strings.FieldsSeq(strings.Trim(sup.str("pids"), "[]")) {
		p, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("pids %q: %v", sup.str("pids"), err)
		}
		pids = append(pids, p)
	}
	if len(pids) != n {
		t.Fatalf("pids %q, want %d", sup.str("pids"), n)
	}
	return pids
}

// Workers do not outlive a supervisor killed outright.
func TestServeWorkersOrphans(t *testing.T) {
	if testing.Short() {
		t.Skip("builds decoy and runs it as several processes")
	}
	t.Parallel()
	bin := buildDecoy(t)
	r := startDecoy(t, bin, "serve", "--workers", "2", "--quiet",
		"--http", "127.0.0.1:0", "--https", "", "--admin", "127.0.0.1:0")
	sup, _ := r.waitLine(0, "the supervisor serving", func(l logLine) bool {
		return l.str("msg") == "decoy serving" && l["workers"] != nil
	})
	pids := workerPIDs(t, sup, 2)
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-r.done
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range pids {
		for alive(p) {
			if time.Now().After(deadline) {
				t.Fatalf("worker pid %d still runs 30 s after its supervisor was killed", p)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func TestServeWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds decoy and runs it as several processes")
	}
	t.Parallel()
	bin := buildDecoy(t)
	dir := t.TempDir()
	stubs := filepath.Join(dir, "stubs.yaml")
	if err := os.WriteFile(stubs, []byte("- request: {method: GET, path: /hello}\n  response: {status: 200, body: hi}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const n = 2
	r := startDecoy(t, bin, "serve", "--workers", strconv.Itoa(n), "--quiet",
		"--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0", stubs)
	sup, _ := r.waitLine(0, "the supervisor serving", func(l logLine) bool {
		return l.str("msg") == "decoy serving" && l["workers"] != nil
	})
	httpAddr, httpsAddr, admin := sup.str("http"), sup.str("https"), sup.str("admin")
	workerAdmin := map[string]string{} // worker id → its admin API
	workerPID := map[string]int{}
	for id := range n {
		l, _ := r.waitLine(0, fmt.Sprintf("worker %d serving", id), func(l logLine) bool {
			w, _ := l["worker"].(float64)
			return l.str("msg") == "decoy serving" && l["worker"] != nil && int(w) == id
		})
		workerAdmin[strconv.Itoa(id)] = l.str("admin")
		if l.str("http") != httpAddr {
			t.Errorf("worker %d serves http on %s, the supervisor says %s", id, l.str("http"), httpAddr)
		}
	}
	pids := workerPIDs(t, sup, n)
	for i, p := range pids {
		workerPID[strconv.Itoa(i)] = p
	}

	// Every new connection is a fresh draw of the kernel's spread.
	fresh := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	sent := 0
	for range 60 {
		if code, body := get(t, fresh, "http://"+httpAddr+"/hello"); code != 200 || body != "hi" {
			t.Fatalf("GET /hello: %d %q", code, body)
		}
		sent++
	}
	for id, a := range workerAdmin {
		if got := accepted(t, a); got == 0 {
			t.Errorf("worker %s accepted no connection of 60", id)
		}
	}
	// The client is one client of the node: its findings are judged on
	// the merged counts, with the node's figures in the text, and the
	// gauges that count clients agree with /clients.
	_, clients := get(t, http.DefaultClient, "http://"+admin+"/clients")
	var cl metrics.Report
	if err := json.Unmarshal([]byte(clients), &cl); err != nil || cl.Tracked != 1 || len(cl.Clients) != 1 {
		t.Fatalf("GET /clients: %v %s", err, clients)
	}
	if fs := cl.Clients[0].Findings; len(fs) != 1 || !strings.Contains(fs[0].Message, "opened 60 connections for 60 requests, and 60 of them") {
		t.Errorf("merged findings %+v, want connection-per-request over 60 connections", fs)
	}
	_, m := get(t, http.DefaultClient, "http://"+admin+"/metrics")
	for _, want := range []string{"decoy_clients_tracked 1\n", `decoy_client_findings{kind="connection-per-request"} 1` + "\n"} {
		if !strings.Contains(m, want) {
			t.Errorf("merged metrics lack %q:\n%s", want, grep(m, "decoy_client"))
		}
	}

	// Every worker presents a certificate of the same CA (each mints its
	// own for the names clients ask for).
	certs := map[[32]byte]bool{}
	for range 30 {
		c, err := tls.Dial("tcp", httpsAddr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		chain := c.ConnectionState().PeerCertificates
		certs[sha256.Sum256(chain[len(chain)-1].Raw)] = true
		_ = c.Close()
	}
	if len(certs) != 1 {
		t.Errorf("the workers present certificates of %d different CAs, want 1", len(certs))
	}

	// A stub added through the supervisor is served by every worker.
	code, body := send(t, "POST", "http://"+admin+"/stubs", `{"id":"added","request":{"method":"GET","path":"/added"},"response":{"status":201,"body":"new"}}`)
	if code != http.StatusCreated {
		t.Fatalf("POST /stubs: %d %s", code, body)
	}
	for id, a := range workerAdmin {
		if code, _ := get(t, http.DefaultClient, "http://"+a+"/stubs/added"); code != 200 {
			t.Errorf("worker %s does not have the stub added: %d", id, code)
		}
	}
	for range 20 {
		if code, body := get(t, fresh, "http://"+httpAddr+"/added"); code != 201 || body != "new" {
			t.Fatalf("GET /added: %d %q", code, body)
		}
		sent++
	}
	// A bad stub is refused as it would be by one decoy, and applied nowhere.
	if code, body := send(t, "POST", "http://"+admin+"/stubs", `{"request":{"method":"GET","path":"/bad"},"response":{"status":99}}`); code != http.StatusBadRequest {
		t.Errorf("POST /stubs with a bad stub: %d %s", code, body)
	}
	// It used up no id on the worker that refused it: the next id decoy
	// gives is the same on every worker, so changes to it reach them all.
	code, body = send(t, "POST", "http://"+admin+"/stubs", `{"request":{"method":"GET","path":"/auto"},"response":{"body":"auto"}}`)
	var created struct{ ID string }
	if err := json.Unmarshal(body, &created); err != nil || code != http.StatusCreated || created.ID != "api-1" {
		t.Errorf("POST /stubs without an id after a refused one: %d %s, want id api-1", code, body)
	}
	if code, body := send(t, "PUT", "http://"+admin+"/stubs/"+created.ID, `{"request":{"method":"GET","path":"/auto"},"response":{"body":"changed"}}`); code != http.StatusOK {
		t.Errorf("PUT /stubs/%s: %d %s", created.ID, code, body)
	}
	for id, a := range workerAdmin {
		if code, _ := get(t, http.DefaultClient, "http://"+a+"/stubs/"+created.ID); code != 200 {
			t.Errorf("worker %s has no stub %s: %d", id, created.ID, code)
		}
	}

	// The merged journal counts every request.
	code, body = send(t, "POST", "http://"+admin+"/requests/count", `{}`)
	var count struct{ Count int }
	if err := json.Unmarshal(body, &count); err != nil || code != 200 || count.Count != sent {
		t.Errorf("POST /requests/count: %d %s, want count %d", code, body, sent)
	}
	_, metrics := get(t, http.DefaultClient, "http://"+admin+"/metrics")
	if !strings.Contains(metrics, fmt.Sprintf("decoy_connections_accepted_total %d\n", sent+30)) {
		t.Errorf("merged metrics do not count %d connections accepted:\n%s", sent+30, grep(metrics, "decoy_connections_accepted_total"))
	}

	// A worker killed is started again, with the stub added.
	r.mu.Lock()
	mark := len(r.lines)
	r.mu.Unlock()
	if err := syscall.Kill(workerPID["0"], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	again, _ := r.waitLine(mark, "worker 0 serving again", func(l logLine) bool {
		return l.str("msg") == "worker serving again"
	})
	newPID := int(again["pid"].(float64))
	if newPID == workerPID["0"] || !alive(newPID) {
		t.Fatalf("worker 0 restarted as pid %d (was %d)", newPID, workerPID["0"])
	}
	workerPID["0"] = newPID
	if code, body := get(t, http.DefaultClient, "http://"+admin+"/stubs/added"); code != 200 {
		t.Errorf("after the restart GET /stubs/added: %d %s", code, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _ := get(t, http.DefaultClient, "http://"+admin+"/ready")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not ready 30 s after the restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for range 20 {
		if code, body := get(t, fresh, "http://"+httpAddr+"/added"); code != 201 || body != "new" {
			t.Fatalf("GET /added after the restart: %d %q", code, body)
		}
	}

	// SIGTERM stops the supervisor and every worker.
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal("decoy did not exit within 30 s of SIGTERM")
	}
	if code := r.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	for id, p := range workerPID {
		if alive(p) {
			t.Errorf("worker %s (pid %d) still runs after the supervisor exited", id, p)
		}
	}
}

// A configuration error is reported once, by the supervisor, before any
// worker starts.
func TestServeWorkersBadConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds decoy")
	}
	t.Parallel()
	bin := buildDecoy(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("- request: {method: GET, path: /x}\n  response: {status: 99}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--workers", "3", "--http", "127.0.0.1:0", "--https", "", "--admin", "", bad)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		t.Fatal("decoy did not exit on a bad config")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit %v, want 2; stderr:\n%s", err, &stderr)
	}
	if got := strings.Count(stderr.String(), "bad.yaml:2"); got != 1 {
		t.Errorf("the error with file:line appears %d times, want once:\n%s", got, &stderr)
	}
}

func grep(text, prefix string) string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestServeSIGHUP: SIGHUP, which a process gets when its terminal closes,
// is a graceful shutdown, as SIGTERM is, for one process and for the
// supervisor of workers (by default it would end decoy at once).
func TestServeSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds decoy")
	}
	t.Parallel()
	bin := buildDecoy(t)
	stubs := filepath.Join(t.TempDir(), "stubs.yaml")
	if err := os.WriteFile(stubs, []byte("- request: {path: /hello}\n  response: {body: hi}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, workers := range []string{"1", "2"} {
		t.Run("workers="+workers, func(t *testing.T) {
			r := startDecoy(t, bin, "serve", "--workers", workers, "--quiet",
				"--http", "127.0.0.1:0", "--https", "", "--grpc", "", "--admin", "", stubs)
			l, _ := r.waitLine(0, "decoy serving", func(l logLine) bool {
				return l.str("msg") == "decoy serving" && (workers == "1" || l["workers"] != nil)
			})
			if code, body := get(t, http.DefaultClient, "http://"+l.str("http")+"/hello"); code != 200 || body != "hi" {
				t.Fatalf("GET /hello: %d %q", code, body)
			}
			if err := r.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			select {
			case <-r.done:
			case <-time.After(30 * time.Second):
				t.Fatal("decoy did not exit within 30 s of SIGHUP")
			}
			if code := r.cmd.ProcessState.ExitCode(); code != 0 {
				t.Errorf("exit code %d after SIGHUP (%v), want 0", code, r.cmd.ProcessState)
			}
		})
	}
}
