// Package app wires a running decoy: it opens the listeners named by the
// settings, builds the TLS configuration (a local CA's certificate when none
// is given), and starts the HTTP front door and the admin API over one
// engine store and journal. The CLI and the embeddable package both start
// decoy through it.
package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/decoy-dev/decoy/internal/accesslog"
	"github.com/decoy-dev/decoy/internal/admin"
	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/grpcfront"
	"github.com/decoy-dev/decoy/internal/httpfront"
	"github.com/decoy-dev/decoy/internal/journal"
	ports "github.com/decoy-dev/decoy/internal/listen"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/pki"
	"github.com/decoy-dev/decoy/internal/protoload"
)

// Version is decoy's version, set at build time with
// -ldflags "-X github.com/decoy-dev/decoy/internal/app.Version=v1.2.3".
var Version = "dev"

// App is a running decoy.
type App struct {
	Store   *engine.Store
	Journal *journal.Journal
	// Addresses actually bound (nil when that listener is off).
	HTTPAddr, HTTPSAddr, AdminAddr net.Addr
	// GRPCAddr is the gRPC listener's address: nil when it is off or no
	// .proto files were given.
	GRPCAddr net.Addr
	// Protos are the .proto files served over gRPC (nil: none).
	Protos *protoload.Set
	// CAPEM is the certificate of the CA that signs the TLS port's
	// certificates (nil when the user gave one with tls-cert).
	CAPEM []byte
	// TLSMode says where the TLS port's certificates come from (TLSCADir,
	// TLSCAFiles, TLSFresh, TLSUserCert; "" with no TLS port); CAFile is
	// the CA certificate clients can trust, when it is a file.
	TLSMode, CAFile string
	// ClientAuth is the TLS port's client-auth (none, optional,
	// require); ClientCA the client-ca file, "" for decoy's CA.
	ClientAuth, ClientCA string
	// Minter makes the TLS port's certificates, one per name clients ask
	// for (nil with tls-cert).
	Minter *pki.Minter
	// Clients tracks how client addresses use their connections
	// (GET /clients on the admin API).
	Clients *metrics.Clients
	// Saturation measures decoy's CPU use against the CPUs it may use
	// (decoy_saturated, /health).
	Saturation *metrics.Saturation
	// Listeners are the data-port listeners the admin API can pause,
	// resume and slow (by name: http, https, grpc).
	Listeners *ports.Set

	log      *slog.Logger
	front    *httpfront.Server
	grpc     *grpcfront.Server
	adminSrv *admin.Server
	ready    atomic.Bool
	wg       sync.WaitGroup
	errc     chan error
	stopSat  context.CancelFunc
	shared   bool // data ports opened with SO_REUSEPORT (worker mode)
	reload   func() (int, error)
	tickets  [][32]byte // the TLS session ticket keys (nil: Go's own, rotated)
}

// Option adds to what Start serves.
type Option func(*App)

// WithProtos serves the services of set over gRPC on Settings.GRPC.
func WithProtos(set *protoload.Set) Option { return func(a *App) { a.Protos = set } }

// WithSharedPorts opens the data ports (http, https, grpc, not the admin
// API) with SO_REUSEPORT, so that several worker processes serve them
// together.
func WithSharedPorts() Option { return func(a *App) { a.shared = true } }

// WithReload gives the admin API's POST /reload what reads the files again
// (see admin.Options.Reload).
func WithReload(reload func() (int, error)) Option { return func(a *App) { a.reload = reload } }

// Start opens the listeners and serves store until Shutdown. On error
// nothing is left running.
func Start(s config.Settings, store *engine.Store, log *slog.Logger, opts ...Option) (*App, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &App{
		Store:   store,
		Journal: journal.NewBounded(s.JournalSize, int(s.JournalBodyBytes), s.JournalBytes),
		log:     log,
		errc:    make(chan error, 4),
	}
	for _, o := range opts {
		o(a)
	}
	var tlsConf *tls.Config
	if s.HTTPS != "" {
		t, err := tlsConfig(s)
		if err != nil {
			return nil, err
		}
		tlsConf, a.CAPEM, a.TLSMode, a.CAFile, a.Minter = t.conf, t.caPEM, t.mode, t.caFile, t.minter
		if len(a.tickets) > 0 {
			tlsConf.SetSessionTicketKeys(a.tickets)
		}
		a.ClientAuth, a.ClientCA = s.ClientAuth, s.ClientCA
	}
	var lns []net.Listener
	closeAll := func() {
		for _, l := range lns {
			_ = l.Close()
		}
	}
	listen := func(what, addr, flag string) (net.Listener, error) {
		if addr == "" {
			return nil, nil
		}
		ln, err := ports.OpenWith(addr, ports.Options{Shared: a.shared && flag != "admin", Congestion: s.TCPCongestion})
		if err != nil {
			closeAll()
			return nil, ports.OpenFailed(what, addr, flag, err)
		}
		log.Debug("listening", "for", what, "addr", ln.Addr().String(), "tcp-congestion", ports.CongestionOf(ln))
		lns = append(lns, ln)
		return ln, nil
	}
	httpLn, err := listen("HTTP", s.HTTP, "http")
	if err != nil {
		return nil, err
	}
	httpsLn, err := listen("HTTPS", s.HTTPS, "https")
	if err != nil {
		return nil, err
	}
	adminLn, err := listen("the admin API", s.Admin, "admin")
	if err != nil {
		return nil, err
	}
	var grpcLn net.Listener
	if a.Protos != nil {
		if grpcLn, err = listen("gRPC", s.GRPC, "grpc"); err != nil {
			return nil, err
		}
	}

	// The data ports can be paused, resumed and slowed through the admin
	// API (POST /listeners/{name}/pause, ...).
	var ctl []*ports.Listener
	wrap := func(name string, ln *net.Listener) {
		if *ln != nil {
			l := ports.NewWith(name, *ln, ports.Options{Shared: a.shared, Congestion: s.TCPCongestion})
			// Each data port has its own allow-list, counted apart.
			l.SetAllow(ports.NewAllow(s.AllowCIDR))
			ctl = append(ctl, l)
			*ln = l
		}
	}
	wrap("http", &httpLn)
	wrap("https", &httpsLn)
	wrap("grpc", &grpcLn)
	a.Listeners = ports.NewSet(ctl...)

	a.Clients = metrics.NewClients(metrics.DefaultMaxClients)
	a.Saturation = metrics.NewSaturation(metrics.SaturationOptions{Threshold: s.SaturationThreshold, Logger: log,
		Listeners: func() []metrics.Listener { return acceptSockets(ctl) }})
	reg, err := metrics.NewRegistry(metrics.Sources{
		Engine: store.Engine(),
		Conns: []func() metrics.ConnStats{
			func() metrics.ConnStats { return a.front.Stats() },
			func() metrics.ConnStats {
				if a.grpc == nil {
					return metrics.ConnStats{}
				}
				return a.grpc.ConnStats()
			},
		},
		Clients:    a.Clients,
		Saturation: a.Saturation,
		Refused: func() []metrics.Refused {
			var out []metrics.Refused
			for _, l := range a.Listeners.All() {
				out = append(out, metrics.Refused{Listener: l.Name(), N: l.Refused()})
			}
			return out
		},
	})
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("metrics: %w", err)
	}
	access := accesslog.New(log, s.AccessLog)
	if a.Protos != nil {
		// One gRPC server answers on its own port and, over TLS, on the
		// https port too.
		a.grpc = grpcfront.New(grpcfront.Options{
			Engine:         store.Engine(),
			Protos:         a.Protos,
			Journal:        a.Journal,
			Logger:         log,
			MaxRecvMsgSize: int(min(s.MaxBodyBytes, 1<<31-1)),
			AccessLog:      access,

			DelayHeader:       s.DelayHeader,
			MaxRequestedDelay: s.MaxRequestedDelay,
			HTTPAddr:          addrOf(httpLn),
			ClientCerts:       tlsConf != nil && tlsConf.ClientAuth != tls.NoClientCert,
			TLS:               tlsConf,
			WebOrigins:        s.CORSOrigins,
			Transport:         s.GRPCEngine,
		})
		if err := reg.Register(a.grpc.Collector()); err != nil {
			closeAll()
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	var grpcHandler http.Handler
	if a.grpc != nil {
		grpcHandler = a.grpc
	}
	a.front = httpfront.New(httpfront.Options{
		GRPC:           grpcHandler,
		Engine:         store.Engine(),
		Journal:        a.Journal,
		Logger:         log,
		MaxHeaderBytes: int(s.MaxHeaderBytes),
		MaxBodyBytes:   s.MaxBodyBytes,
		MaxUploadBytes: s.MaxUploadBytes,
		ReadTimeout:    s.ReadTimeout,
		IdleTimeout:    s.IdleTimeout,
		TLS:            tlsConf,
		Clients:        a.Clients,
		ServerTiming:   s.ServerTiming,
		LeanIdle:       s.LeanIdle,
		HTTP2Engine:    s.HTTP2Engine,
		HTTP1Engine:    s.HTTP1Engine,
		Saturation:     saturationHeader(s, a.Saturation),
		AccessLog:      access,

		DelayHeader:       s.DelayHeader,
		NoPrefer:          !s.Prefer,
		MaxRequestedDelay: s.MaxRequestedDelay,
		ConnectionRate:    s.ConnectionRate,
	})
	run := func(name string, f func() error) {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := f(); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				log.Error("listener stopped", "listener", name, "err", err)
				a.errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	if httpLn != nil {
		a.HTTPAddr = httpLn.Addr()
		run("http", func() error { return a.front.Serve(httpLn) })
	}
	if httpsLn != nil {
		a.HTTPSAddr = httpsLn.Addr()
		run("https", func() error { return a.front.ServeTLS(httpsLn) })
	}
	if grpcLn != nil {
		a.GRPCAddr = grpcLn.Addr()
		run("grpc", func() error { return a.grpc.Serve(grpcLn) })
	}
	// The first reading before the admin API serves: /health has every
	// field from the start.
	a.Saturation.Baseline()
	if adminLn != nil {
		a.AdminAddr = adminLn.Addr()
		a.adminSrv = admin.NewServer(admin.New(admin.Options{
			Store: store, Journal: a.Journal, Version: Version, Logger: log,
			Ready: a.ready.Load, Metrics: metrics.Handler(reg), Clients: a.Clients,
			Saturation: a.Saturation, Listeners: a.Listeners, Reload: a.reload,
		}), log)
		run("admin", func() error { return a.adminSrv.Serve(adminLn) })
	}
	satCtx, stopSat := context.WithCancel(context.Background())
	a.stopSat = stopSat
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.Saturation.Run(satCtx)
	}()
	a.ready.Store(true)
	return a, nil
}

// addrOf is ln's address, "" for none.
func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// acceptSockets is the data listeners' sockets as they are now, for the
// accept queues: Resume opens a new socket, so each reading asks again; a
// paused listener has none.
func acceptSockets(ls []*ports.Listener) []metrics.Listener {
	out := make([]metrics.Listener, 0, len(ls))
	for _, l := range ls {
		ln := l.Socket()
		if ln == nil {
			out = append(out, metrics.Listener{Name: l.Name(), Paused: l.Paused()})
			continue
		}
		sc, _ := ln.(syscall.Conn)
		out = append(out, metrics.Listener{Name: l.Name(), Socket: sc})
	}
	return out
}

// saturationHeader is the monitor the front door reads for the
// Decoy-Saturated header: nil, so that the data path does not look, unless
// saturation-header is on.
func saturationHeader(s config.Settings, sat *metrics.Saturation) *metrics.Saturation {
	if !s.SaturationHeader {
		return nil
	}
	return sat
}

// Err delivers the first error of a listener that stopped on its own.
func (a *App) Err() <-chan error { return a.errc }

// Shutdown stops accepting, lets requests in flight finish until ctx is
// done, and closes everything.
func (a *App) Shutdown(ctx context.Context) error {
	a.ready.Store(false)
	err := a.front.Shutdown(ctx)
	if a.grpc != nil {
		if e := a.grpc.Shutdown(ctx); e != nil && err == nil {
			err = e
		}
	}
	if a.adminSrv != nil {
		if e := a.adminSrv.Shutdown(ctx); e != nil && err == nil {
			err = e
		}
	}
	a.stopSat()
	a.wg.Wait()
	return err
}

// BadInput is an error of Start that comes from the settings (an
// unreadable or mismatched certificate or key): the CLI exits 2 for it,
// not 1.
type BadInput struct{ Err error }

func (e *BadInput) Error() string { return e.Err.Error() }
func (e *BadInput) Unwrap() error { return e.Err }

// TLS modes: where the certificates of the TLS port come from.
const (
	TLSUserCert = "cert"      // tls-cert, served as it is
	TLSCADir    = "ca-dir"    // minted by the CA `decoy certs` keeps
	TLSCAFiles  = "ca-files"  // minted by the CA of ca-cert and ca-key
	TLSFresh    = "ephemeral" // minted by a CA made at start
)

// tlsSetup is the TLS port's configuration and where it comes from.
type tlsSetup struct {
	conf   *tls.Config
	mode   string
	caFile string // the CA certificate clients can trust, when it is a file
	caPEM  []byte // the CA certificate, when decoy signs
	minter *pki.Minter
}

func tlsConfig(s config.Settings) (*tlsSetup, error) {
	t := &tlsSetup{}
	var ca *pki.CA
	var err error
	switch {
	case s.CACert != "":
		if ca, err = pki.LoadCAFiles(s.CACert, s.CAKey); err != nil {
			return nil, &BadInput{fmt.Errorf("ca-cert: %w", err)}
		}
		t.mode, t.caFile = TLSCAFiles, s.CACert
	case caDirOf(s) != "":
		if ca, err = pki.LoadDir(s.CADir); err != nil {
			return nil, &BadInput{fmt.Errorf("ca-dir %s: %w (run `decoy certs` to see it, or --ca-dir off to do without)", s.CADir, err)}
		}
		t.mode, t.caFile = TLSCADir, filepath.Join(s.CADir, pki.CACertFile)
	}
	conf := &tls.Config{
		NextProtos: []string{"h2", "http/1.1"},
		MinVersion: tls.VersionTLS12,
	}
	if s.TLSCert != "" {
		cert, err := pki.LoadKeyPair(s.TLSCert, s.TLSKey)
		if err != nil {
			return nil, &BadInput{err}
		}
		conf.Certificates = []tls.Certificate{cert}
		t.mode = TLSUserCert
	} else {
		if ca == nil {
			if ca, err = pki.NewCA("decoy local CA (made at start)"); err != nil {
				return nil, fmt.Errorf("making a TLS certificate: %w", err)
			}
			t.mode = TLSFresh
		}
		if t.minter, err = pki.NewMinter(ca, pki.DefaultHosts(), pki.DefaultMintCache); err != nil {
			return nil, fmt.Errorf("making a TLS certificate: %w", err)
		}
		conf.GetCertificate = t.minter.GetCertificate
	}
	if t.minter != nil {
		t.caPEM = ca.CertPEM
	} else {
		// With tls-cert decoy signs nothing: clients trust what they trust
		// for that certificate, not the CA of ca-dir (which still serves,
		// below, as the default client-ca).
		t.caFile = ""
	}
	switch s.ClientAuth {
	case "optional":
		conf.ClientAuth = tls.VerifyClientCertIfGiven
	case "require":
		conf.ClientAuth = tls.RequireAndVerifyClientCert
	}
	if conf.ClientAuth != tls.NoClientCert {
		pool := x509.NewCertPool()
		switch {
		case s.ClientCA != "":
			pem, err := os.ReadFile(s.ClientCA)
			if err != nil {
				return nil, &BadInput{fmt.Errorf("client-ca %s: %w", s.ClientCA, unwrapPath(err))}
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, &BadInput{fmt.Errorf("client-ca %s: no PEM certificate found", s.ClientCA)}
			}
		case ca != nil && t.mode != TLSFresh:
			pool.AddCert(ca.Cert)
		default:
			// A CA made at start keeps its key in this process: no client
			// can hold a certificate of it.
			return nil, noClientCA(s)
		}
		conf.ClientCAs = pool
	}
	t.conf = conf
	return t, nil
}

// CheckTLS refuses, without opening anything, the TLS settings that
// cannot work: a CA folder Start could not load, and client-auth with no
// CA whose client certificates a client can hold. The CLI calls it before
// it starts worker processes, so that it refuses them as one process
// would; Start refuses the same.
func CheckTLS(s config.Settings) error {
	if s.HTTPS == "" {
		return nil
	}
	dir := caDirOf(s)
	if s.TLSCert == "" && s.CACert == "" && dir != "" {
		if _, err := pki.LoadDir(dir); err != nil {
			return &BadInput{fmt.Errorf("ca-dir %s: %w (run `decoy certs` to see it, or --ca-dir off to do without)", dir, err)}
		}
	}
	if s.ClientAuth != "optional" && s.ClientAuth != "require" || s.ClientCA != "" {
		return nil
	}
	if s.CACert == "" && dir == "" {
		return noClientCA(s)
	}
	return nil
}

// caDirOf is the CA folder Start signs with, or whose CA is the default
// client-ca: "" when it is off or holds no CA.
func caDirOf(s config.Settings) string {
	if s.CADir == "" || s.CADir == "off" || !pki.Exists(s.CADir) {
		return ""
	}
	return s.CADir
}

// noClientCA is the error for client-auth without a CA to check client
// certificates against.
func noClientCA(s config.Settings) error {
	why := "ca-dir is off"
	if s.CADir != "off" {
		why = "no CA in ca-dir " + s.CADir
		if s.CADir == "" {
			why = "no ca-dir"
		}
	}
	return &BadInput{fmt.Errorf("client-auth %s needs a CA that client certificates chain to, and there is none whose key a client can use (%s; a CA made at start keeps its key in memory): run `decoy certs` and `decoy certs client NAME` to make one and a client certificate of it, or give --client-ca FILE", s.ClientAuth, why)}
}

// unwrapPath drops the *fs.PathError wrapper, which repeats the file name.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
