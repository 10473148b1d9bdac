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
	"time"

	"github.com/decoy-dev/decoy/internal/app"
	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/engine"
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
	var cert tls.Certificate
	if s.HTTPS != "" && s.TLSCert == "" && s.CACert == "" && !pki.Exists(caDir(s)) {
		// One CA for every worker, so that clients see certificates of
		// the same CA whichever worker accepts them.
		ca, err := pki.NewCA("decoy local CA (made at start)")
		if err != nil {
			return fail(ExitRuntime, fmt.Errorf("making a TLS certificate: %w", err))
		}
		cert = tls.Certificate{Certificate: [][]byte{ca.Cert.Raw}, PrivateKey: ca.Key}
	}
	out := env.Stdout
	if out == nil {
		out = io.Discard
	}
	sup, err := workers.Start(workers.Options{
		N: n, Exe: exe, Args: os.Args[1:], Env: os.Environ(),
		HTTP: s.HTTP, HTTPS: s.HTTPS, GRPC: grpcAddr, Admin: s.Admin, Congestion: s.TCPCongestion,
		Cert: cert, CA: true, ShutdownTimeout: s.ShutdownTimeout, Version: app.Version,
		Log: log, Stdout: out, Stderr: env.Stderr,
	})
	if err != nil {
		return fail(ExitRuntime, err)
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
