// Package deploy_test runs the deployment files shipped in deploy/ as
// they are: HAProxy and NGINX in front of two real decoy servers on
// loopback (only the addresses in the files are replaced), the Kubernetes
// manifests against decoy's flags and admin routes, and the systemd unit.
package deploy_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/app"
	"github.com/decoy-dev/decoy/internal/cli"
	"github.com/decoy-dev/decoy/internal/doctor"
	"github.com/decoy-dev/decoy/internal/external"
	"github.com/goccy/go-yaml"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// backend is a decoy serving on loopback.
type backend struct {
	http, admin string
	stop        func()
}

// startDecoy runs `decoy serve` with args (the built-in demo when there
// are no files) on ephemeral loopback ports.
func startDecoy(t *testing.T, args ...string) *backend {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errOut := &syncBuffer{}
	ready := make(chan *app.App, 1)
	e := cli.Env{Getenv: func(string) string { return "" }, Stdout: io.Discard, Stderr: errOut, OnReady: func(a *app.App) { ready <- a }}
	done := make(chan int, 1)
	if len(args) == 0 {
		args = []string{"serve", "--quiet", "--http", "127.0.0.1:0", "--https", "", "--admin", "127.0.0.1:0", "--grpc", ""}
	}
	go func() { done <- cli.Main(ctx, args, e) }()
	select {
	case a := <-ready:
		var once sync.Once
		stop := func() {
			once.Do(func() {
				cancel()
				if code := <-done; code != 0 {
					t.Errorf("decoy exited %d\n%s", code, errOut.String())
				}
			})
		}
		t.Cleanup(stop)
		return &backend{http: a.HTTPAddr.String(), admin: a.AdminAddr.String(), stop: stop}
	case code := <-done:
		cancel()
		t.Fatalf("decoy exited %d before serving\n%s", code, errOut.String())
	case <-time.After(15 * time.Second):
		cancel()
		t.Fatal("decoy did not start")
	}
	return nil
}

// served is how many GET /users/42 the backend's journal holds.
func (b *backend) served(t *testing.T) int {
	t.Helper()
	return b.journaled(t, "/users/42")
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// rewrite replaces, line by line, each match of re with repl(i, match)
// and fails unless it matched want times: the shipped file keeps the
// shape the test knows.
func rewrite(t *testing.T, text string, re *regexp.Regexp, want int, repl func(i int, m []string) string) string {
	t.Helper()
	i := 0
	out := re.ReplaceAllStringFunc(text, func(s string) string {
		r := repl(i, re.FindStringSubmatch(s))
		i++
		return r
	})
	if i != want {
		t.Fatalf("%s matched %d lines, want %d: the shipped file changed shape", re, i, want)
	}
	return out
}

// start runs a program until the test ends, its output into a buffer.
func start(t *testing.T, name string, args ...string) *syncBuffer {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(name), out.String())
		}
	})
	return out
}

// get asks the balancer for /users/42 on a new connection each time, so
// that each request is balanced.
func get(url string) (int, error) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fleetStubs is the stub file both backends serve: the demo's
// GET /users/42 and GET /boom, which resets its connection (an injected
// fault).
const fleetStubs = `- request: {method: GET, path: /users/42}
  response: {body: {id: 42, name: Ada Lovelace}}
- request: {method: GET, path: /boom}
  response: {body: never, faults: [{kind: reset, probability: 1}]}
`

// startFleet starts two decoys serving fleetStubs.
func startFleet(t *testing.T) (*backend, *backend) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "stubs.yaml")
	if err := os.WriteFile(file, []byte(fleetStubs), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"serve", "--quiet", "--watch=false", "--http", "127.0.0.1:0", "--https", "", "--admin", "127.0.0.1:0", "--grpc", "", file}
	return startDecoy(t, args...), startDecoy(t, args...)
}

// journaled is how many GET path the backend's journal holds.
func (b *backend) journaled(t *testing.T, path string) int {
	t.Helper()
	resp, err := http.Post("http://"+b.admin+"/requests/count", "application/json", strings.NewReader(`{"method":"GET","path":"`+path+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct{ Count int }
	body, _ := io.ReadAll(resp.Body)
	if err := yaml.Unmarshal(body, &r); err != nil || resp.StatusCode != 200 {
		t.Fatalf("count: %d %s %v", resp.StatusCode, body, err)
	}
	return r.Count
}

// balance checks that requests through the balancer at front reach both
// backends, and that an injected fault reaches the client once, from one
// backend, and takes neither out: every later request is answered.
func balance(t *testing.T, front string, b1, b2 *backend) {
	url := "http://" + front + "/users/42"
	waitFor(t, "the balancer to answer", 10*time.Second, func() bool {
		code, err := get(url)
		return err == nil && code == 200
	})
	const n = 40
	for i := range n {
		if code, err := get(url); err != nil || code != 200 {
			t.Fatalf("request %d: %d %v", i, code, err)
		}
	}
	s1, s2 := b1.served(t), b2.served(t)
	if s1 == 0 || s2 == 0 || s1+s2 < n {
		t.Fatalf("backends served %d and %d of %d+ requests: want both some", s1, s2, n)
	}
	t.Logf("balanced: %d and %d", s1, s2)

	// A balancer cannot pass a reset on: the client gets its 502. It must
	// not retry the request on the other backend (the fault would be
	// replayed, and journaled twice), nor count it against the backend.
	if code, err := get("http://" + front + "/boom"); err != nil || code != 502 {
		t.Errorf("GET /boom (reset): %d %v, want the balancer's 502", code, err)
	}
	if got := b1.journaled(t, "/boom") + b2.journaled(t, "/boom"); got != 1 {
		t.Errorf("/boom reached the backends %d times, want once: the balancer retried an injected fault", got)
	}
	for i := range n {
		if code, err := get(url); err != nil || code != 200 {
			t.Fatalf("request %d after an injected reset: %d %v (a backend was taken out for it)", i, code, err)
		}
	}
	if b1.served(t) == s1 || b2.served(t) == s2 {
		t.Errorf("after the reset the backends served %d and %d more: want both some", b1.served(t)-s1, b2.served(t)-s2)
	}
}

func TestHAProxy(t *testing.T) {
	t.Parallel()
	bin := external.Program(t, "haproxy", "/usr/sbin/haproxy")
	b1, b2 := startFleet(t)
	front := freePort(t)
	cfg := read(t, "haproxy/haproxy.cfg")
	cfg = rewrite(t, cfg, regexp.MustCompile(`(?m)^(\s*bind\s+):8080$`), 1, func(_ int, m []string) string { return m[1] + front })
	backs := []*backend{b1, b2}
	cfg = rewrite(t, cfg, regexp.MustCompile(`(?m)^(\s*server\s+\S+\s+)\S+(\s+port\s+)9901$`), 2, func(i int, m []string) string {
		return m[1] + backs[i].http + m[2] + port(backs[i].admin)
	})
	dir := t.TempDir()
	file := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-f", file).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	out := start(t, bin, "-db", "-f", file, "-p", filepath.Join(dir, "haproxy.pid"))
	balance(t, front, b1, b2)
	// The active check on the admin API's /ready takes a stopped decoy
	// out; until then a request sent to it is retried on the other
	// (retries, redispatch: it never reached decoy). Every request is
	// answered.
	s1 := b1.served(t)
	b2.stop()
	waitFor(t, "the stopped backend to be taken out", 10*time.Second, func() bool { return regexp.MustCompile(`decoy-2 is DOWN`).MatchString(out.String()) })
	url := "http://" + front + "/users/42"
	for i := range 20 {
		if code, err := get(url); err != nil || code != 200 {
			t.Fatalf("request %d after a backend stopped: %d %v", i, code, err)
		}
	}
	if got := b1.served(t) - s1; got != 20 {
		t.Errorf("the backend left served %d of the 20 requests after the other stopped", got)
	}
}

func TestNGINX(t *testing.T) {
	t.Parallel()
	bin := external.Program(t, "nginx", "/usr/sbin/nginx")
	b1, b2 := startFleet(t)
	front := freePort(t)
	conf := read(t, "nginx/decoy.conf")
	conf = rewrite(t, conf, regexp.MustCompile(`(?m)^(\s*listen\s+)8080( .*;)$`), 1, func(_ int, m []string) string { return m[1] + front + m[2] })
	backs := []*backend{b1, b2}
	conf = rewrite(t, conf, regexp.MustCompile(`(?m)^(\s*server\s+)\S+:8080( .*;)$`), 2, func(i int, m []string) string {
		return m[1] + backs[i].http + m[2]
	})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "decoy.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// What /etc/nginx/nginx.conf has around conf.d, with paths in dir.
	main := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/decoy.conf;
}
`, dir)
	file := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(file, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", file}
	if out, err := exec.Command(bin, append(args, "-t")...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	start(t, bin, args...)
	balance(t, front, b1, b2)
	if log := read(t, filepath.Join(dir, "error.log")); strings.Contains(log, "no live upstreams") {
		t.Errorf("NGINX marked the fleet down:\n%s", log)
	}
	// What the config gives up for that (deploy/README.md): open-source
	// NGINX neither retries nor takes out a stopped decoy, so the requests
	// least_conn sends it get NGINX's 502, and the rest are answered by
	// the other. None hangs or fails otherwise.
	s1 := b1.served(t)
	before := len(read(t, filepath.Join(dir, "error.log")))
	b2.stop()
	url := "http://" + front + "/users/42"
	ok, bad := 0, 0
	for i := range 20 {
		code, err := get(url)
		switch {
		case err == nil && code == 200:
			ok++
		case err == nil && code == 502:
			bad++
		default:
			t.Fatalf("request %d after a backend stopped: %d %v, want 200 or NGINX's 502", i, code, err)
		}
	}
	if got := b1.served(t) - s1; got != ok || ok == 0 {
		t.Errorf("after a backend stopped: %d answered 200, the backend left served %d", ok, got)
	}
	log := read(t, filepath.Join(dir, "error.log"))[before:]
	if refused := strings.Count(log, "upstream: \"http://"+b2.http+"/users/42\""); refused != bad {
		t.Errorf("%d requests got a 502, the stopped backend was tried %d times: want each 502 to be one attempt on it, not retried", bad, refused)
	}
	t.Logf("after a backend stopped: %d answered, %d got NGINX's 502", ok, bad)
}

// manifest is the part of a Kubernetes object the test reads.
type manifest struct {
	Kind     string
	Metadata struct{ Name string }
	Data     map[string]string
	Spec     struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		}
		Ports []struct {
			Name       string
			Port       int
			TargetPort string `yaml:"targetPort"`
		}
		Template struct {
			Metadata struct{ Labels map[string]string }
			Spec     struct {
				TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
				Containers                    []container
				Volumes                       []struct {
					Name      string
					ConfigMap struct{ Name string } `yaml:"configMap"`
				}
			}
		}
	}
}

type probe struct {
	HTTPGet struct {
		Path string
		Port string
	} `yaml:"httpGet"`
}

type container struct {
	Args  []string
	Ports []struct {
		Name          string
		ContainerPort int `yaml:"containerPort"`
	}
	ReadinessProbe probe `yaml:"readinessProbe"`
	LivenessProbe  probe `yaml:"livenessProbe"`
	Lifecycle      struct {
		PreStop struct {
			Sleep *struct{ Seconds int }
			Exec  any
		} `yaml:"preStop"`
	}
	VolumeMounts []struct {
		Name      string
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

func loadManifest(t *testing.T, name string) manifest {
	t.Helper()
	var m manifest
	if err := yaml.Unmarshal([]byte(read(t, name)), &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// TestKubernetes checks the manifests against decoy itself: the probes
// ask the admin API on the port the container's args give it, on an
// address the kubelet can reach, and the paths answer 200 from a decoy
// started with those args and the ConfigMap's stubs.
func TestKubernetes(t *testing.T) {
	t.Parallel()
	dep := loadManifest(t, "kubernetes/deployment.yaml")
	svc := loadManifest(t, "kubernetes/service.yaml")
	cm := loadManifest(t, "kubernetes/configmap.yaml")
	if dep.Kind != "Deployment" || svc.Kind != "Service" || cm.Kind != "ConfigMap" {
		t.Fatalf("kinds %s %s %s", dep.Kind, svc.Kind, cm.Kind)
	}
	var svcSel struct {
		Spec struct{ Selector map[string]string }
	}
	if err := yaml.Unmarshal([]byte(read(t, "kubernetes/service.yaml")), &svcSel); err != nil {
		t.Fatal(err)
	}
	for what, sel := range map[string]map[string]string{"Deployment": dep.Spec.Selector.MatchLabels, "Service": svcSel.Spec.Selector} {
		if len(sel) == 0 {
			t.Errorf("the %s selects nothing", what)
		}
		for k, v := range sel {
			if dep.Spec.Template.Metadata.Labels[k] != v {
				t.Errorf("the %s's selector %s=%s does not select decoy's pods", what, k, v)
			}
		}
	}
	cs := dep.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("%d containers", len(cs))
	}
	c := cs[0]
	// The image's ENTRYPOINT is decoy; the args are a decoy command line.
	if !strings.Contains(read(t, "docker/Dockerfile"), `ENTRYPOINT ["/usr/local/bin/decoy"]`) {
		t.Error("the Dockerfile's ENTRYPOINT is not decoy")
	}
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("args %q do not start with serve", c.Args)
	}
	flags := map[string]string{"http": ":8080", "https": ":8443", "admin": "127.0.0.1:9901"} // decoy's defaults
	var files []string
	for _, a := range c.Args[1:] {
		if k, v, ok := strings.Cut(strings.TrimPrefix(a, "--"), "="); ok && strings.HasPrefix(a, "--") {
			flags[k] = v
		} else if !strings.HasPrefix(a, "-") {
			files = append(files, a)
		}
	}
	portOf := map[string]int{}
	for _, p := range c.Ports {
		portOf[p.Name] = p.ContainerPort
	}
	for _, name := range []string{"http", "https", "admin"} {
		if got, want := fmt.Sprint(portOf[name]), port(flags[name]); got != want {
			t.Errorf("container port %s is %s, decoy listens on %s (--%s=%s)", name, got, want, name, flags[name])
		}
	}
	if host, _, _ := net.SplitHostPort(flags["admin"]); host != "" && host != "0.0.0.0" && host != "::" {
		t.Errorf("--admin=%s: the kubelet probes the pod's address, not its loopback", flags["admin"])
	}
	for _, p := range []struct {
		name string
		pr   probe
		path string
	}{{"readiness", c.ReadinessProbe, "/ready"}, {"liveness", c.LivenessProbe, "/health"}} {
		if p.pr.HTTPGet.Path != p.path {
			t.Errorf("%s probe path %q, want %s", p.name, p.pr.HTTPGet.Path, p.path)
		}
		if got := fmt.Sprint(portOf[p.pr.HTTPGet.Port]); got != port(flags["admin"]) {
			t.Errorf("%s probe port %q is %s, the admin API is on %s", p.name, p.pr.HTTPGet.Port, got, flags["admin"])
		}
	}
	// decoy refuses new connections from SIGTERM on: the kubelet waits
	// first, so that the endpoints drop the terminating pod, with the
	// native sleep action (the distroless image has no shell for exec).
	// The grace period covers the sleep and decoy's drain.
	pre := c.Lifecycle.PreStop
	if pre.Sleep == nil || pre.Sleep.Seconds < 5 || pre.Exec != nil {
		t.Errorf("preStop %+v: want the native sleep action of 5s or more, not exec", pre)
	} else {
		drain := 10 * time.Second // decoy's shutdown-timeout
		if v, ok := flags["shutdown-timeout"]; ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				t.Fatalf("--shutdown-timeout=%s: %v", v, err)
			}
			drain = d
		}
		need := time.Duration(pre.Sleep.Seconds)*time.Second + drain
		if grace := time.Duration(dep.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second; grace <= need {
			t.Errorf("terminationGracePeriodSeconds %s does not cover the preStop sleep and shutdown-timeout (%s)", grace, need)
		}
	}
	for _, sp := range svc.Spec.Ports {
		if _, ok := portOf[sp.TargetPort]; !ok || sp.TargetPort == "admin" {
			t.Errorf("Service port %s targets %q: not a data port of the container", sp.Name, sp.TargetPort)
		}
	}
	if len(files) != 1 || len(c.VolumeMounts) == 0 || c.VolumeMounts[0].MountPath != files[0] {
		t.Fatalf("the stub folder %q is not the mounted volume %+v", files, c.VolumeMounts)
	}
	vol := ""
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.Name == c.VolumeMounts[0].Name {
			vol = v.ConfigMap.Name
		}
	}
	if vol != cm.Metadata.Name || len(cm.Data) == 0 {
		t.Fatalf("the stubs volume mounts ConfigMap %q; the ConfigMap is %q with %d files", vol, cm.Metadata.Name, len(cm.Data))
	}

	// Run the container's command line on loopback with the ConfigMap's
	// files, and ask what the probes ask.
	dir := t.TempDir()
	for name, content := range cm.Data {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"serve", "--quiet", "--watch=false"}
	for _, a := range c.Args[1:] {
		switch {
		case a == files[0]:
			a = dir
		case strings.HasPrefix(a, "--http=") || strings.HasPrefix(a, "--https=") || strings.HasPrefix(a, "--admin=") || strings.HasPrefix(a, "--grpc="):
			k, _, _ := strings.Cut(a, "=")
			a = k + "=127.0.0.1:0"
		}
		args = append(args, a)
	}
	b := startDecoy(t, args...)
	for _, path := range []string{c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path} {
		if code, err := get("http://" + b.admin + path); err != nil || code != 200 {
			t.Errorf("probe GET %s: %d %v", path, code, err)
		}
	}
	if code, err := get("http://" + b.http + "/users/42"); err != nil || code != 200 {
		t.Errorf("the ConfigMap's get-user stub: %d %v", code, err)
	}
}

// TestDockerfile: the build stage's Go is the one go.mod asks for.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(read(t, "../go.mod"))
	if m == nil {
		t.Fatal("no go line in go.mod")
	}
	df := read(t, "docker/Dockerfile")
	for _, w := range []string{"FROM golang:" + m[1] + " AS build", "CGO_ENABLED=0", "USER 65532:65532", `CMD ["serve"`} {
		if !strings.Contains(df, w) {
			t.Errorf("Dockerfile lacks %q", w)
		}
	}
}

// TestSystemdUnit checks the unit's settings that decoy relies on, and has
// systemd-analyze verify it when it is installed.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	unit := read(t, "systemd/decoy.service")
	set := map[string]string{}
	for line := range strings.SplitSeq(unit, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			set[k] = v
		}
	}
	if set["Type"] != "notify" {
		t.Errorf("Type=%s, want notify", set["Type"])
	}
	if !strings.HasPrefix(set["ExecStart"], "/usr/local/bin/decoy serve") {
		t.Errorf("ExecStart=%s", set["ExecStart"])
	}
	if n := set["LimitNOFILE"]; n != fmt.Sprint(doctor.RecommendedNoFile) {
		t.Errorf("LimitNOFILE=%s, want what decoy doctor recommends, %d", n, doctor.RecommendedNoFile)
	}
	if !strings.Contains(set["RestrictAddressFamilies"], "AF_UNIX") {
		t.Error("RestrictAddressFamilies without AF_UNIX: decoy could not reach $NOTIFY_SOCKET")
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze is not installed: the unit is not verified")
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The same unit with an ExecStart that exists here.
	file := filepath.Join(t.TempDir(), "decoy.service")
	unit = strings.Replace(unit, "ExecStart=/usr/local/bin/decoy", "ExecStart="+exe, 1)
	if err := os.WriteFile(file, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", file).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
