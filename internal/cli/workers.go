package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/decoy-dev/decoy/internal/app"
	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/grpcfront"
	"github.com/decoy-dev/decoy/internal/openapi"
	"github.com/decoy-dev/decoy/internal/pki"
	"github.com/decoy-dev/decoy/internal/protoload"
	"github.com/decoy-dev/decoy/internal/workers"
)

// workerCount is how many processes the workers setting asks for (0: one
// per usable CPU).
func workerCount(s config.Settings) int {
	if s.Workers == 0 {
		return max(runtime.GOMAXPROCS(0), 1)
	}
	return s.Workers
}

// supervise runs decoy as n workers under this process: it starts copies
// of its own executable with the same arguments and environment, serves the
// admin API over them and prints the banner, then stops them all when ctx
// ends. The configuration has been checked already (store, l, set).
func supervise(ctx context.Context, s config.Settings, n int, store *engine.Store, l *config.Loaded, set *protoload.Set, env Env, log *slog.Logger) error {
	exe, err := os.Executable()
	if err != nil {
		return fail(ExitRuntime, fmt.Errorf("workers: cannot find decoy's own executable: %w", err))
	}
	grpcAddr := ""
	if set != nil {
		grpcAddr = s.GRPC
	}
	cert, isCA, err := sharedCert(s)
	if err != nil {
		return err
	}
	out := env.Stdout
	if out == nil {
		out = io.Discard
	}
	// The stub files as they last loaded well, for a worker started
	// while they do not load.
	var snap *stubSnapshot
	if len(s.Files) > 0 {
		snap = &stubSnapshot{files: s.Files, spec: s.SpecOptions(), opts: s.EngineOptions(), log: log}
		defer snap.remove()
		if err := snap.take(); err != nil {
			log.Info("workers: no copy of the stub files is kept; a worker started again while they do not load waits until they do", "err", err)
		}
	}
	o := workers.Options{
		N: n, Exe: exe, Args: os.Args[1:], Env: os.Environ(),
		HTTP: s.HTTP, HTTPS: s.HTTPS, GRPC: grpcAddr, Admin: s.Admin, Congestion: s.TCPCongestion,
		Cert: cert, CA: isCA, ShutdownTimeout: s.ShutdownTimeout, Version: app.Version,
		Log: log, Stdout: out, Stderr: env.Stderr,
	}
	if snap != nil {
		// After a reload, off the admin API's way.
		o.Fallback, o.Reloaded = snap.paths, func() { go snap.retake() }
	}
	sup, err := workers.Start(o)
	if err != nil {
		return fail(ExitRuntime, err)
	}
	if snap != nil && s.Watch {
		// The workers read the files again when they change; the copy
		// follows them.
		wctx, stopWatch := context.WithCancel(ctx)
		defer stopWatch()
		if err := watch(wctx, stubPaths(s.Files), func() (int, error) { snap.retake(); return 0, nil }, slog.New(slog.DiscardHandler)); err != nil {
			log.Warn("workers: the stub files are not watched for the copy a worker started again falls back to", "err", err)
		}
	}
	log.Info("decoy serving", "version", app.Version, "workers", n, "pids", fmt.Sprint(sup.PIDs()),
		"stubs", store.Engine().Snapshot().Len(), "seed", s.Seed,
		"http", addr(sup.HTTPAddr), "https", addr(sup.HTTPSAddr), "admin", addr(sup.AdminAddr), "grpc", addr(sup.GRPCAddr))
	if !s.Quiet {
		// What the workers serve, as a single process would show it.
		mode, caFile := app.TLSFresh, ""
		switch {
		case s.TLSCert != "":
			mode = app.TLSUserCert
		case s.CACert != "":
			mode, caFile = app.TLSCAFiles, s.CACert
		case pki.Exists(caDir(s)):
			mode, caFile = app.TLSCADir, filepath.Join(s.CADir, pki.CACertFile)
		}
		printBanner(out, &app.App{Store: store, Protos: set, TLSMode: mode, CAFile: caFile, ClientAuth: s.ClientAuth, ClientCA: s.ClientCA,
			HTTPAddr: sup.HTTPAddr, HTTPSAddr: sup.HTTPSAddr, AdminAddr: sup.AdminAddr, GRPCAddr: sup.GRPCAddr}, l, len(s.Files) == 0)
		fmt.Fprintf(out, "\n%d worker processes share the data ports (pids %v)\n", n, sup.PIDs())
	}
	// Every worker serves: the node is ready.
	notifyReady(env, log, store.Engine().Snapshot().Len(), sup.HTTPAddr, sup.HTTPSAddr, sup.GRPCAddr, sup.AdminAddr)
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-sup.Err():
	}
	notifyStopping(env, log)
	log.Info("decoy shutting down", "timeout", s.ShutdownTimeout, "workers", n)
	sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout+5*time.Second)
	defer cancel()
	if err := sup.Shutdown(sctx); err != nil {
		log.Warn("workers did not stop in time and were killed", "err", err)
	}
	if runErr != nil {
		return fail(ExitRuntime, runErr)
	}
	return nil
}

// sharedCert is what every worker presents on the TLS port, read or made
// once here and handed to each worker (see workers.Options.Cert): the
// user's tls-cert, or the CA that mints certificates (ca-cert, ca-dir, or
// one made now). Zero with the TLS port off.
func sharedCert(s config.Settings) (cert tls.Certificate, isCA bool, err error) {
	if s.HTTPS == "" {
		return tls.Certificate{}, false, nil
	}
	if s.TLSCert != "" {
		if cert, err = pki.LoadKeyPair(s.TLSCert, s.TLSKey); err != nil {
			return tls.Certificate{}, false, fail(ExitBadInput, err)
		}
		return cert, false, nil
	}
	var ca *pki.CA
	switch dir := caDir(s); {
	case s.CACert != "":
		if ca, err = pki.LoadCAFiles(s.CACert, s.CAKey); err != nil {
			return tls.Certificate{}, false, fail(ExitBadInput, fmt.Errorf("ca-cert: %w", err))
		}
	case pki.Exists(dir):
		if ca, err = pki.LoadDir(dir); err != nil {
			return tls.Certificate{}, false, fail(ExitBadInput, fmt.Errorf("ca-dir %s: %w", dir, err))
		}
	default:
		if ca, err = pki.NewCA("decoy local CA (made at start)"); err != nil {
			return tls.Certificate{}, false, fail(ExitRuntime, fmt.Errorf("making a TLS certificate: %w", err))
		}
	}
	return tls.Certificate{Certificate: [][]byte{ca.Cert.Raw}, PrivateKey: ca.Key}, true, nil
}

// stubSnapshot is the supervisor's copy of the stub files (and .proto
// files) as they last loaded well, in a private temporary folder: what a
// worker started while the files do not load serves (workers.Plan.Fallback),
// so that it serves what the others, which kept what they had, serve.
type stubSnapshot struct {
	files []string
	spec  openapi.Options
	opts  []engine.Option
	log   *slog.Logger

	mu     sync.Mutex
	dir    string   // the copy ("": none)
	prev   string   // the copy before, kept one change longer
	copies []string // parallel to files
	closed bool     // removed for good
}

// maxSnapshot is the most the copy of the stub files may hold: large
// payloads (hundreds of MB of body files) are not copied (and loaded
// again to check the copy) at each change for a rare restart.
const maxSnapshot = 64 << 20

// take copies the files into a new folder and, when the copy loads, keeps
// it in place of the one before. Files past maxSnapshot in all are not
// copied: there is then no copy. The copy and its check run outside the
// lock, so that a worker being started is not held up; the copy before is
// kept one change longer, for a worker that was just handed it.
func (sn *stubSnapshot) take() error {
	if n := workers.PathsSize(sn.files); n > maxSnapshot {
		sn.swap("", nil)
		return fmt.Errorf("the stub files hold %d MiB, more than the %d MiB copied for a worker started again", n>>20, maxSnapshot>>20)
	}
	dir, err := os.MkdirTemp("", "decoy-stubs-")
	if err != nil {
		return err
	}
	copies, err := workers.CopyPaths(dir, sn.files)
	if err == nil {
		// A copy that does not load is no copy: the files are broken
		// now, or they refer to files outside them by relative paths
		// (a bodyFile, a $ref), which the copy leaves behind.
		_, _, _, err = loadAll(copies, sn.spec, sn.opts...)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return err
	}
	sn.swap(dir, copies)
	return nil
}

// swap makes dir (with copies) the copy, keeping the one before until the
// next swap.
func (sn *stubSnapshot) swap(dir string, copies []string) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if sn.closed {
		if dir != "" {
			_ = os.RemoveAll(dir)
		}
		return
	}
	if sn.prev != "" {
		_ = os.RemoveAll(sn.prev)
	}
	sn.prev = sn.dir
	sn.dir, sn.copies = dir, copies
}

// retake is take, for when the files may have changed.
func (sn *stubSnapshot) retake() {
	if err := sn.take(); err != nil {
		sn.log.Debug("workers: no new copy of the stub files; a worker started again falls back to the one before, if any", "err", err)
	}
}

// paths are the copies, nil when there are none.
func (sn *stubSnapshot) paths() []string {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	return sn.copies
}

func (sn *stubSnapshot) remove() {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	sn.closed = true
	for _, d := range []string{sn.dir, sn.prev} {
		if d != "" {
			_ = os.RemoveAll(d)
		}
	}
	sn.dir, sn.prev, sn.copies = "", "", nil
}

// workerLoad is what a worker serves when the stub files do not load
// (loadErr): the supervisor's copy of them as they last loaded well, which
// is what the other workers kept serving. The stubs keep the origins of
// the files (file:line), not of the copy. Without a copy, loadErr.
func workerLoad(wk *workers.Worker, s config.Settings, loadErr error, log *slog.Logger) (*engine.Store, *config.Loaded, *protoload.Set, error) {
	fb := wk.Plan.Fallback
	if len(fb) == 0 || len(fb) != len(s.Files) {
		return nil, nil, nil, loadErr
	}
	stubs, protos := protoload.SplitPaths(fb)
	var set *protoload.Set
	if len(protos) > 0 {
		ps, err := protoload.Load(protos)
		if err != nil {
			return nil, nil, nil, loadErr
		}
		if len(ps.Sources) > 0 {
			set = ps
		}
	}
	opts := s.EngineOptions()
	if set != nil {
		opts = append(opts, grpcfront.EngineOptions(set)...)
	}
	l, err := config.LoadStubs(stubs, s.SpecOptions())
	if err != nil {
		return nil, nil, nil, loadErr
	}
	for i := range l.Sources {
		src := &l.Sources[i]
		for j, c := range fb {
			if rest, ok := strings.CutPrefix(src.Origin, c); ok {
				src.Origin = filepath.Clean(s.Files[j]) + rest
				break
			}
		}
	}
	store, err := engine.NewStore(l.Sources, opts...)
	if err != nil {
		return nil, nil, nil, loadErr
	}
	log.Warn("the stub files do not load; serving them as they last loaded well, as the other workers do, until they load again", "err", loadErr)
	return store, l, set, nil
}

// workerOptions are what a worker serves besides its settings: the data
// ports shared with the other workers, and their session ticket keys.
func workerOptions(wk *workers.Worker) ([]app.Option, error) {
	opts := []app.Option{app.WithSharedPorts()}
	keys, err := wk.SessionTicketKeys()
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	if keys != nil {
		opts = append(opts, app.WithSessionTicketKeys(keys))
	}
	return opts, nil
}
