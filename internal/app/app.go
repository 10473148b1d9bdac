// Package app wires a running decoy: it opens the listeners named by the
// settings, builds the TLS configuration (a local CA's certificate when none
// is given), and starts the HTTP front door and the admin API over one
// engine store and journal. The CLI and the embeddable package both start
// decoy through it.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

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
	// CAPEM is the certificate of the CA that signed the TLS certificate,
	// when decoy made it (nil when the user gave one).
	CAPEM []byte
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
		var err error
		tlsConf, a.CAPEM, err = tlsConfig(s)
		if err != nil {
			return nil, err
		}
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
		ln, err := ports.Open(addr, a.shared && flag != "admin")
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("cannot listen for %s on %s: %w (choose another address with --%s, or \"\" to turn it off)", what, addr, errors.Unwrap(err), flag)
		}
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
	var sockets []metrics.Listener // for the accept queues
	wrap := func(name string, ln *net.Listener) {
		if *ln != nil {
			if sc, ok := (*ln).(syscall.Conn); ok {
				sockets = append(sockets, metrics.Listener{Name: name, Socket: sc})
			}
			l := ports.New(name, *ln)
			if a.shared {
				l = ports.NewShared(name, *ln)
			}
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
		Listeners: func() []metrics.Listener { return sockets }})
	reg, err := metrics.NewRegistry(metrics.Sources{
		Engine:     store.Engine(),
		Conns:      []func() metrics.ConnStats{func() metrics.ConnStats { return a.front.Stats() }},
		Clients:    a.Clients,
		Saturation: a.Saturation,
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

func tlsConfig(s config.Settings) (*tls.Config, []byte, error) {
	var cert tls.Certificate
	var caPEM []byte
	if s.TLSCert != "" {
		c, err := pki.LoadKeyPair(s.TLSCert, s.TLSKey)
		if err != nil {
			return nil, nil, err
		}
		cert = c
	} else {
		ca, err := pki.NewCA("decoy local CA")
		if err != nil {
			return nil, nil, fmt.Errorf("making a TLS certificate: %w", err)
		}
		c, err := ca.Issue(pki.DefaultHosts(), 365*24*time.Hour)
		if err != nil {
			return nil, nil, fmt.Errorf("making a TLS certificate: %w", err)
		}
		cert, caPEM = c, ca.CertPEM
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
		MinVersion:   tls.VersionTLS12,
	}, caPEM, nil
}
