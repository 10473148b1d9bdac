package workers

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/decoy-dev/decoy/internal/admin"
	"github.com/decoy-dev/decoy/internal/listen"
)

// Options configures a supervisor.
type Options struct {
	// N is how many workers to run (at least 1).
	N int
	// Exe, Args and Env start a worker: decoy's own executable, its
	// arguments (without the program name) and environment.
	Exe  string
	Args []string
	Env  []string
	// HTTP, HTTPS and GRPC are the data ports ("" when off); a port 0 is
	// chosen here once, so that every worker opens the same one.
	HTTP, HTTPS, GRPC string
	// Admin is the address of the admin API the supervisor serves ("":
	// none).
	Admin string
	// Congestion is the workers' tcp-congestion (listen.Options), which
	// the supervisor's own sockets take too.
	Congestion string
	// Cert is the TLS key pair every worker presents on HTTPS (the user's
	// tls-cert and tls-key, read once), or with CA set, the CA every worker
	// mints its certificates with (the one of ca-cert, of ca-dir or made
	// at start). It is handed to each worker over a pipe, never written to
	// disk, so that a worker started again has the same even when the
	// files changed. Zero: each worker reads the files the settings name.
	Cert tls.Certificate
	// CA: Cert is a CA's certificate and key rather than a certificate to
	// serve.
	CA bool
	// Reloaded, when not nil, is called after the workers took a POST
	// /reload.
	Reloaded func()
	// Fallback, when not nil, says what a worker started now falls back
	// to when the stub files do not load (Plan.Fallback): copies of them
	// as they last loaded well (see CopyPaths), nil when there are none.
	Fallback func() []string
	// ShutdownTimeout is how long workers may take to finish the requests
	// in flight after SIGTERM; they are killed 5 s after it.
	ShutdownTimeout time.Duration
	// StartTimeout bounds a worker's start (default 60 s).
	StartTimeout time.Duration
	// Version is reported by the admin API's merged answers.
	Version string
	// Log may be nil.
	Log *slog.Logger
	// Stdout and Stderr receive the workers' output (nil: discarded).
	Stdout, Stderr io.Writer
}

// Back-off of restarts: the first after minBackoff, doubling up to
// maxBackoff; a worker that served stableAfter resets it.
const (
	minBackoff  = 100 * time.Millisecond
	maxBackoff  = 10 * time.Second
	stableAfter = 30 * time.Second
)

// Supervisor runs the workers and serves the admin API over them.
type Supervisor struct {
	o   Options
	log *slog.Logger

	// The secrets handed to every worker over pipes: the certificate or CA
	// (PEM) and the session ticket keys.
	certPEM, keyPEM []byte
	ticketKeys      []byte

	// HTTPAddr, HTTPSAddr, GRPCAddr are the data ports the workers serve,
	// AdminAddr the supervisor's admin API (nil when off).
	HTTPAddr, HTTPSAddr, GRPCAddr, AdminAddr net.Addr

	mu       sync.Mutex
	procs    []*proc // by worker id; nil while one is (re)starting
	stopping bool
	stopc    chan struct{}
	wg       sync.WaitGroup

	proxy    *proxy
	adminSrv *admin.Server
	errc     chan error
}

// proc is one running worker.
type proc struct {
	id    int
	cmd   *exec.Cmd
	admin string // host:port of its admin API
	life  *os.File
	done  chan struct{} // closed when it has exited
	err   error         // its exit, once done
	start time.Time
}

// Start reserves the ports, starts every worker and waits until all serve,
// then serves the admin API. On error nothing is left running.
func Start(o Options) (_ *Supervisor, err error) {
	if o.N < 1 {
		return nil, fmt.Errorf("workers: %d workers", o.N)
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 60 * time.Second
	}
	s := &Supervisor{o: o, log: o.Log, procs: make([]*proc, o.N), stopc: make(chan struct{}), errc: make(chan error, 1)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	plan := Plan{}
	if plan.HTTP, s.HTTPAddr, err = reserve(o.HTTP, "http", o.Congestion); err != nil {
		return nil, err
	}
	if plan.HTTPS, s.HTTPSAddr, err = reserve(o.HTTPS, "https", o.Congestion); err != nil {
		return nil, err
	}
	if plan.GRPC, s.GRPCAddr, err = reserve(o.GRPC, "grpc", o.Congestion); err != nil {
		return nil, err
	}
	if plan.HTTPS != "" {
		// One session ticket key for every worker: a session resumes
		// whichever worker the client reaches.
		s.ticketKeys = make([]byte, 32)
		_, _ = rand.Read(s.ticketKeys)
		if len(o.Cert.Certificate) > 0 {
			if s.certPEM, s.keyPEM, err = encodeKeyPair(o.Cert); err != nil {
				return nil, err
			}
		}
	}
	s.proxy = newProxy(s, o.Version, s.log)
	var adminLn net.Listener
	if o.Admin != "" {
		adminLn, err = listen.OpenWith(o.Admin, listen.Options{Congestion: o.Congestion})
		if err != nil {
			return nil, listen.OpenFailed("the admin API", o.Admin, "admin", err)
		}
		s.AdminAddr = adminLn.Addr()
		// Served at once: /ready says 503 until every worker serves.
		s.adminSrv = admin.NewServer(s.proxy, s.log)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.adminSrv.Serve(adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				select {
				case s.errc <- fmt.Errorf("admin: %w", err):
				default:
				}
			}
		}()
	}

	// Start every worker; all must come up.
	type started struct {
		p   *proc
		err error
	}
	res := make(chan started, o.N)
	// No change through the admin API until every worker serves: each
	// must see every change.
	s.proxy.changes.Lock()
	defer s.proxy.changes.Unlock()
	for id := range o.N {
		go func() {
			p, err := s.spawn(id, plan)
			res <- started{p, err}
		}()
	}
	var errs []error
	for range o.N {
		r := <-res
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		s.mu.Lock()
		s.procs[r.p.id] = r.p
		s.mu.Unlock()
	}
	if len(errs) > 0 {
		s.mu.Lock()
		s.stopping = true
		close(s.stopc)
		s.mu.Unlock()
		if s.adminSrv != nil {
			_ = s.adminSrv.Close()
		}
		_ = s.stopAll(context.Background())
		s.wg.Wait()
		return nil, errors.Join(errs...)
	}
	for _, p := range s.procs {
		s.wg.Add(1)
		go s.keep(p, plan)
	}
	return s, nil
}

// Err delivers an error that stops the supervisor on its own (its admin
// API failed).
func (s *Supervisor) Err() <-chan error { return s.errc }

// PIDs are the process ids of the running workers, by worker id (0 while
// one is restarting).
func (s *Supervisor) PIDs() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int, len(s.procs))
	for i, p := range s.procs {
		if p != nil {
			out[i] = p.cmd.Process.Pid
		}
	}
	return out
}

// live returns the workers running now, by id.
func (s *Supervisor) live() []*proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*proc, 0, len(s.procs))
	for _, p := range s.procs {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// Shutdown stops the admin API, sends SIGTERM to every worker and waits for
// them until ctx is done (then kills them).
func (s *Supervisor) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return nil
	}
	s.stopping = true
	close(s.stopc)
	s.mu.Unlock()
	var err error
	if s.adminSrv != nil {
		err = s.adminSrv.Shutdown(ctx)
	}
	if e := s.stopAll(ctx); e != nil && err == nil {
		err = e
	}
	s.wg.Wait()
	return err
}

// stopAll sends SIGTERM to every worker and waits for them; when ctx ends
// first, it kills those left.
func (s *Supervisor) stopAll(ctx context.Context) error {
	ps := s.live()
	for _, p := range ps {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	var err error
	for _, p := range ps {
		select {
		case <-p.done:
		case <-ctx.Done():
			_ = p.cmd.Process.Kill()
			<-p.done
			err = fmt.Errorf("worker %d (pid %d) did not stop in time and was killed", p.id, p.cmd.Process.Pid)
		}
		_ = p.life.Close()
	}
	return err
}

// spawn starts worker id and waits for its ready report.
func (s *Supervisor) spawn(id int, plan Plan) (*proc, error) {
	plan.ID = id
	if s.o.Fallback != nil {
		plan.Fallback = s.o.Fallback()
	}
	reportR, reportW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer reportR.Close()
	lifeR, lifeW, err := os.Pipe()
	if err != nil {
		_ = reportW.Close()
		return nil, err
	}
	files := []*os.File{reportW, lifeR} // fds 3 and 4
	// The secrets, each on a pipe of its own (fds 5...), written here and
	// read once by the worker: nothing on disk, nothing in the environment.
	secret := func(data []byte) (string, error) {
		r, err := secretPipe(data)
		if err != nil {
			return "", err
		}
		files = append(files, r)
		return fmt.Sprintf("/dev/fd/%d", 3+len(files)-1), nil
	}
	if s.ticketKeys != nil {
		plan.TicketKeys, err = secret(s.ticketKeys)
	}
	if err == nil && s.certPEM != nil {
		var cert, key string
		if cert, err = secret(s.certPEM); err == nil {
			key, err = secret(s.keyPEM)
		}
		if s.o.CA {
			plan.CACert, plan.CAKey = cert, key
		} else {
			plan.TLSCert, plan.TLSKey = cert, key
		}
	}
	closeFiles := func() {
		for _, f := range files {
			_ = f.Close()
		}
	}
	if err != nil {
		closeFiles()
		_ = lifeW.Close()
		return nil, fmt.Errorf("starting worker %d: %w", id, err)
	}
	pj, _ := json.Marshal(plan)
	cmd := exec.Command(s.o.Exe, s.o.Args...)
	cmd.Env = append(append([]string(nil), s.o.Env...), PlanEnv+"="+string(pj))
	cmd.Stdout, cmd.Stderr = s.o.Stdout, s.o.Stderr
	cmd.ExtraFiles = files
	cmd.SysProcAttr = sysProcAttr()
	err = cmd.Start()
	closeFiles()
	if err != nil {
		_ = lifeW.Close()
		return nil, fmt.Errorf("starting worker %d: %w", id, err)
	}
	p := &proc{id: id, cmd: cmd, life: lifeW, done: make(chan struct{}), start: time.Now()}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	got := make(chan error, 1)
	go func() {
		rep, err := readReport(reportR)
		p.admin = rep.Admin
		got <- err
	}()
	t := time.NewTimer(s.o.StartTimeout)
	defer t.Stop()
	select {
	case err = <-got:
		if err == nil {
			s.log.Debug("worker serving", "worker", id, "pid", cmd.Process.Pid, "admin", p.admin)
			return p, nil
		}
		// The pipe ended: the worker exited before serving.
		<-p.done
		err = fmt.Errorf("worker %d (pid %d) exited before serving: %v", id, cmd.Process.Pid, p.err)
	case <-t.C:
		err = fmt.Errorf("worker %d (pid %d) did not serve within %s", id, cmd.Process.Pid, s.o.StartTimeout)
	}
	_ = cmd.Process.Kill()
	<-p.done
	_ = lifeW.Close()
	return nil, err
}

// keep waits for worker p to exit and, unless the supervisor is stopping,
// starts it again after a back-off, bringing it to the state the admin API
// gave the others.
func (s *Supervisor) keep(p *proc, plan Plan) {
	defer s.wg.Done()
	backoff := minBackoff
	for {
		select {
		case <-p.done:
		case <-s.stopc:
			return
		}
		_ = p.life.Close()
		s.mu.Lock()
		stopping := s.stopping
		if !stopping {
			s.procs[p.id] = nil
		}
		s.mu.Unlock()
		if stopping {
			return
		}
		if time.Since(p.start) > stableAfter {
			backoff = minBackoff
		}
		s.log.Error("worker exited; starting it again", "worker", p.id, "pid", p.cmd.Process.Pid, "err", exitText(p.err), "after", backoff)
		for {
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-s.stopc:
				t.Stop()
				return
			}
			backoff = min(2*backoff, maxBackoff)
			np, err := s.spawn(p.id, plan)
			if err != nil {
				s.log.Error("worker did not start again", "worker", p.id, "err", err, "retry in", backoff)
				continue
			}
			if err := s.proxy.replay(np); err != nil {
				s.log.Error("worker started again but not brought up to date; stopping it to retry", "worker", p.id, "err", err)
				_ = np.cmd.Process.Kill()
				<-np.done
				_ = np.life.Close()
				continue
			}
			s.mu.Lock()
			if s.stopping {
				s.mu.Unlock()
				_ = np.cmd.Process.Signal(syscall.SIGTERM)
				<-np.done
				_ = np.life.Close()
				return
			}
			s.procs[p.id] = np
			s.mu.Unlock()
			s.log.Info("worker serving again", "worker", np.id, "pid", np.cmd.Process.Pid)
			p = np
			break
		}
	}
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// reserve checks that addr is free and turns a port 0 in it into a
// concrete free port, so that every worker opens the same one. It opens
// the address once without SO_REUSEPORT, which fails when anything listens
// there, another decoy's workers included (they would otherwise share the
// port silently), then closes it. It opens it with the workers' congestion
// control, so that one the kernel refuses stops decoy here. It returns the
// address and, when addr is not empty, the address as bound.
func reserve(addr, flag, congestion string) (string, net.Addr, error) {
	if addr == "" {
		return "", nil, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", nil, fmt.Errorf("--%s %q: %w", flag, addr, err)
	}
	ln, err := listen.OpenWith(addr, listen.Options{Congestion: congestion})
	if err != nil {
		return "", nil, listen.OpenFailed(flag, addr, flag, err)
	}
	a := ln.Addr()
	_ = ln.Close()
	port := strconv.Itoa(a.(*net.TCPAddr).Port)
	return net.JoinHostPort(host, port), a, nil
}

// encodeKeyPair is cert's chain and private key in PEM form.
func encodeKeyPair(cert tls.Certificate) (certPEM, keyPEM []byte, err error) {
	for _, der := range cert.Certificate {
		certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return nil, nil, fmt.Errorf("workers: the TLS key: %w", err)
	}
	return certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// secretPipe returns the read end of a pipe that holds data and then ends,
// for a worker to inherit: a secret handed over this way is never on disk,
// and is gone with the processes whatever way they end.
func secretPipe(data []byte) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	go func() {
		// A worker that exits before reading ends the write (EPIPE).
		_, _ = w.Write(data)
		_ = w.Close()
	}()
	return r, nil
}
