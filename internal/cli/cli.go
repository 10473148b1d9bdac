// Package cli is decoy's command line: `decoy serve`, `decoy check`,
// `decoy certs`, `decoy report`, `decoy doctor` and `decoy version`. Main takes its arguments, environment and output streams
// as parameters so tests drive it exactly as a user would.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/decoy-dev/decoy/internal/app"
	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/demo"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/grpcfront"
	"github.com/decoy-dev/decoy/internal/memtrim"
	"github.com/decoy-dev/decoy/internal/openapi"
	"github.com/decoy-dev/decoy/internal/pki"
	"github.com/decoy-dev/decoy/internal/protoload"
	"github.com/decoy-dev/decoy/internal/workers"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitRuntime  = 1 // could not run (a port in use, ...)
	ExitBadInput = 2 // bad flags, settings or stub files
)

// Env is how the CLI reads its environment.
type Env struct {
	Getenv func(string) string
	Stdout io.Writer
	Stderr io.Writer
	// OnReady, when set, is called once decoy serves (tests use it to learn
	// the bound addresses).
	OnReady func(*app.App)
}

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func fail(code int, err error) error { return &exitError{code, err} }

// Main runs decoy with args (without the program name) until ctx is done
// or the command ends, and returns the exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if len(args) == 0 || (strings.HasPrefix(args[0], "-") && !isHelpOrVersion(args[0])) {
		args = append([]string{"serve"}, args...)
	}
	root := newRoot(ctx, env)
	root.SetArgs(args)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		fmt.Fprintln(env.Stderr, "decoy:", indent(ee.err.Error()))
		return ee.code
	}
	// Cobra's own errors: unknown command or flag, wrong arguments.
	fmt.Fprintln(env.Stderr, "decoy:", err)
	path := "decoy"
	if cmd != nil {
		path = cmd.CommandPath()
	}
	fmt.Fprintf(env.Stderr, "Run '%s --help' for usage.\n", path)
	return ExitBadInput
}

// needArgs is cobra.MinimumNArgs(1) with an error that says what to give,
// and how (example).
func needArgs(what, example string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return fmt.Errorf("%s needs %s: %s", cmd.CommandPath(), what, example)
		}
		return nil
	}
}

func isHelpOrVersion(a string) bool {
	return a == "-h" || a == "--help" || a == "--version"
}

func indent(s string) string {
	if !strings.Contains(s, "\n") {
		return s
	}
	return "\n  " + strings.ReplaceAll(s, "\n", "\n  ")
}

func newRoot(ctx context.Context, env Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "decoy",
		Short: "decoy is a fast, deterministic mock API server for client performance tests",
		Long: `decoy stands in for the backends a client talks to, so that what a
performance test measures belongs to the client alone: it answers from stubs
rendered in memory at start, adds exactly the latency it is told to, and is
never the bottleneck.

Run with no arguments to serve the built-in demo API on :8080 (HTTP/1.1, h2c),
:8443 (TLS, HTTP/2) and the admin API on 127.0.0.1:9901.`,
		Version:       app.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(newServe(ctx, env), newCheck(env), newVersion(env), newReport(env), newDoctor(env), newCerts(env))
	return root
}

func newVersion(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print decoy's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(env.Stdout, "decoy", app.Version)
			return nil
		},
	}
}

// addSettingFlags registers one flag per setting (but files, which are
// arguments) and --config.
func addSettingFlags(fs *pflag.FlagSet) *string {
	cfg := fs.String("config", "", "config file (YAML or JSON) with any of these settings; env DECOY_CONFIG")
	for _, t := range config.Table {
		if t.Name == "files" {
			continue
		}
		help := fmt.Sprintf("%s (env %s)", t.Help, t.Env())
		if t.Kind == "bool" {
			fs.Bool(t.Name, t.Default == "true", help)
			continue
		}
		fs.Var(&textValue{v: t.Default, kind: t.Kind}, t.Name, help)
	}
	return cfg
}

// textValue is a flag kept as text and checked by the settings table, so
// that a flag, an environment variable and a config file read alike; its
// kind shows in --help. A list flag may be repeated: its values add up.
type textValue struct {
	v, kind string
	set     bool
}

func (t *textValue) String() string { return t.v }
func (t *textValue) Type() string   { return t.kind }
func (t *textValue) Set(v string) error {
	if t.kind == "list" && t.set && v != "" && t.v != "" {
		v = t.v + "," + v
	}
	t.v, t.set = v, true
	return nil
}

// resolve turns flags, environment and config file into settings.
func resolve(fs *pflag.FlagSet, cfg string, args []string, env Env) (config.Settings, error) {
	if cfg == "" {
		cfg = env.Getenv("DECOY_CONFIG")
	}
	flags := map[string]string{}
	fs.Visit(func(f *pflag.Flag) {
		if f.Name != "config" {
			flags[f.Name] = f.Value.String()
		}
	})
	s, err := config.Resolve(cfg, env.Getenv, flags)
	if err != nil {
		return s, err
	}
	if len(args) > 0 {
		s.Files = args
	}
	if s.CADir == "" {
		s.CADir = pki.DefaultDir(env.Getenv)
	}
	return s, nil
}

// caDir is the folder of the persistent CA the settings name, "" for none.
func caDir(s config.Settings) string {
	if s.CADir == "off" {
		return ""
	}
	return s.CADir
}

// loadAll reads the stub files, or the demo when there are none, and
// compiles them into a store. .proto, .protoset and .pb files among files
// are compiled too (folders are searched for both stubs and .proto files),
// and the gRPC stubs are checked against them; the set is nil when there
// are no .proto files. Problems come back with file:line.
func loadAll(files []string, spec openapi.Options, opts ...engine.Option) (*engine.Store, *config.Loaded, *protoload.Set, error) {
	if len(files) == 0 {
		return loadDemo(opts...)
	}
	stubPaths, protoPaths := protoload.SplitPaths(files)
	var probs config.Problems
	var set *protoload.Set
	protosOK := true
	if len(protoPaths) > 0 {
		s, err := protoload.Load(protoPaths)
		if err != nil {
			protosOK = false
			probs = append(probs, asProblems(err)...)
		} else if len(s.Sources) > 0 {
			set = s
		}
	}
	if set != nil {
		// gRPC stubs match requests by proto field names too.
		opts = append(opts[:len(opts):len(opts)], grpcfront.EngineOptions(set)...)
	}
	l, store, err := config.BuildSpec(stubPaths, spec, opts...)
	if err != nil {
		probs = append(probs, asProblems(err)...)
	} else if protosOK {
		if errs := grpcfront.Check(set, l.Sources); errs != nil {
			probs = append(probs, l.Locate(errs)...)
		}
	}
	if len(probs) > 0 {
		return nil, nil, nil, probs
	}
	return store, l, set, nil
}

func asProblems(err error) config.Problems {
	var ps config.Problems
	if errors.As(err, &ps) {
		return ps
	}
	return config.Problems{{File: "decoy", Msg: err.Error()}}
}

// loadDemo loads the built-in demo: the HTTP stubs and the gRPC service.
func loadDemo(opts ...engine.Option) (*engine.Store, *config.Loaded, *protoload.Set, error) {
	l, _, err := config.BuildBytes(demo.Name, demo.YAML())
	if err != nil {
		return nil, nil, nil, err
	}
	set, err := demo.Protos()
	if err != nil {
		return nil, nil, nil, err
	}
	g, err := config.LoadStubBytes(demo.GRPCName, demo.GRPCYAML())
	if err != nil {
		return nil, nil, nil, err
	}
	if errs := grpcfront.Check(set, g.Sources); errs != nil {
		return nil, nil, nil, g.Locate(errs)
	}
	opts = append(opts[:len(opts):len(opts)], grpcfront.EngineOptions(set)...)
	store, err := engine.NewStore(append(append([]engine.Source(nil), l.Sources...), g.Sources...), opts...)
	if err != nil {
		return nil, nil, nil, err
	}
	return store, l, set, nil
}

func newCheck(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check [FILE|FOLDER...]",
		Short: "Check stub files without serving them; exit 0 when valid, 2 otherwise",
		Long: `Check reads stub files and folders exactly as serve does and reports every
problem with file:line, without opening any port: .proto files are
compiled, and gRPC stubs checked against them. With no files named, it
checks the config file's files. It exits 0 when all is valid and 2
otherwise, so it fits in CI.`,
	}
	cfg := cmd.Flags().String("config", "", "config file whose files (when none are named), latency profiles, global latency and seed the stubs are checked with")
	lenient := cmd.Flags().Bool("lenient", false, "check OpenAPI documents as serve --lenient loads them: the operations it would leave out are warnings")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		name := *cfg
		if name == "" {
			name = env.Getenv("DECOY_CONFIG")
		}
		s, err := config.Resolve(name, env.Getenv, nil)
		if err != nil {
			return fail(ExitBadInput, err)
		}
		if *lenient {
			s.Lenient = true
		}
		if len(args) == 0 {
			args = s.Files
		}
		if err := needArgs("the stub files and folders to check (or a config file with files:)", "decoy check stubs/ more.yaml")(cmd, args); err != nil {
			return err
		}
		_, l, set, err := loadAll(args, s.SpecOptions(), s.EngineOptions()...)
		if err != nil {
			return fail(ExitBadInput, err)
		}
		for _, n := range slices.Concat(l.Notes, clientCertNotes(s, l)) {
			fmt.Fprintln(env.Stderr, "warning:", n)
		}
		for _, d := range l.Details {
			fmt.Fprintln(env.Stderr, "note:", d)
		}
		fmt.Fprintf(env.Stdout, "ok: %d stubs in %d files", len(l.Sources), len(l.Files))
		if set != nil {
			fmt.Fprintf(env.Stdout, "; %d gRPC services in %d .proto files", len(set.Services()), len(set.Sources))
		}
		fmt.Fprintln(env.Stdout)
		return nil
	}
	return cmd
}

func newServe(ctx context.Context, env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve [FILE|FOLDER...]",
		Short: "Serve stubs from files and folders (the built-in demo when none are given)",
		Long: `Serve answers HTTP/1.1, h2c and TLS (HTTP/2 and HTTP/1.1 by ALPN) requests
from stub files (YAML or JSON; folders are read recursively). With no files
it serves the built-in demo API.

Every setting can be given as a flag, as DECOY_<NAME> in the environment, or
in a config file (--config decoy.yaml, keys named like the flags); flags win
over the environment, which wins over the file.`,
		Example: `  decoy serve                                  # the built-in demo
  decoy serve stubs/ extra.yaml                # your stubs
  decoy serve --http 127.0.0.1:9000 --https "" stubs/
  DECOY_JOURNAL_SIZE=0 decoy serve stubs/      # no journal, for pure load tests`,
	}
	cfg := addSettingFlags(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		s, err := resolve(cmd.Flags(), *cfg, args, env)
		if err != nil {
			return fail(ExitBadInput, err)
		}
		// A worker of `--workers N` serves the ports its supervisor chose.
		wk, err := workers.Joined(env.Getenv)
		if err != nil {
			return fail(ExitBadInput, err)
		}
		ctx := ctx
		if wk != nil {
			wk.Plan.Apply(&s)
			ctx = wk.Supervised(ctx)
		}
		log := newLogger(s, env.Stderr)
		if wk != nil {
			log = log.With("worker", wk.Plan.ID)
		}
		store, l, set, err := loadAll(s.Files, s.SpecOptions(), s.EngineOptions()...)
		if err != nil && wk != nil {
			store, l, set, err = workerLoad(wk, s, err, log)
		}
		if err != nil {
			return fail(ExitBadInput, err)
		}
		for _, n := range slices.Concat(l.Notes, clientCertNotes(s, l)) {
			log.Warn(n)
		}
		if len(l.Details) > 0 {
			log.Info("OpenAPI documents or WireMock mappings loaded with notes (examples that do not match their schemas, schemas that do not compile, response headers not sent); `decoy check` lists them", "notes", len(l.Details))
		}
		if wk == nil {
			// Refused here, before any worker starts, as one process
			// would refuse them.
			if err := app.CheckTLS(s); err != nil {
				return fail(ExitBadInput, err)
			}
			if s.HTTP == "" && s.HTTPS == "" && s.Admin == "" && (s.GRPC == "" || set == nil) {
				return fail(ExitBadInput, errors.New("every listener is off (http, https and admin are empty, and gRPC has no address or no .proto files): give at least one an address"))
			}
		}
		if n := workerCount(s); wk == nil && n > 1 {
			return supervise(ctx, s, n, store, l, set, env, log)
		}
		var opts []app.Option
		if wk != nil {
			wopts, err := workerOptions(wk)
			if err != nil {
				return fail(ExitRuntime, err)
			}
			opts = append(opts, wopts...)
		}
		if set != nil {
			opts = append(opts, app.WithProtos(set))
			// Stubs added or changed at runtime are checked against the
			// protos too, before they serve.
			store.SetCheck(func(srcs []engine.Source) engine.Errors { return grpcfront.Check(set, srcs) })
		}
		var reload func() (int, error)
		if len(s.Files) > 0 {
			reload = reloader(stubPaths(s.Files), s.SpecOptions(), store)
			opts = append(opts, app.WithReload(reload))
		}
		a, err := app.Start(s, store, log, opts...)
		var bad *app.BadInput
		if errors.As(err, &bad) {
			return fail(ExitBadInput, err)
		}
		if err != nil {
			return fail(ExitRuntime, err)
		}
		if wk != nil {
			if err := wk.Ready(a.AdminAddr); err != nil {
				_ = a.Shutdown(context.Background())
				return fail(ExitRuntime, fmt.Errorf("worker: %w", err))
			}
		}
		log.Info("decoy serving", "version", app.Version, "stubs", store.Engine().Snapshot().Len(), "seed", s.Seed,
			"http", addr(a.HTTPAddr), "https", addr(a.HTTPSAddr), "admin", addr(a.AdminAddr), "grpc", addr(a.GRPCAddr))
		if !s.Quiet {
			printBanner(env.Stdout, a, l, len(s.Files) == 0)
		}
		// Loading parsed every file into syntax trees that are garbage
		// now; return that memory, so that what decoy holds at rest is
		// what serving needs (it matters with thousands of stubs).
		l = nil
		debug.FreeOSMemory()
		// So does the code that only starting runs (see memtrim).
		if _, err := memtrim.ReleaseCode(); err != nil {
			log.Debug("could not release start-up code pages", "err", err)
		}
		// And again each time decoy has been at rest for a while after
		// serving brought pages back in. A worker of --workers does it for
		// its own process; a supervisor never gets here.
		trimCtx, stopTrim := context.WithCancel(ctx)
		trimDone := make(chan struct{})
		go func() {
			defer close(trimDone)
			memtrim.TrimWhenIdle(trimCtx, s.IdleTrim, func() {
				before, _ := memtrim.ReadUsage()
				debug.FreeOSMemory()
				n, err := memtrim.ReleaseCode()
				after, _ := memtrim.ReadUsage()
				log.Debug("at rest: memory given back", "resident_before", before.Resident, "resident_after", after.Resident,
					"cpu", after.CPU-before.CPU, "code_bytes", n, "err", err)
			})
		}()
		if reload != nil && s.Watch {
			if err := watch(trimCtx, stubPaths(s.Files), reload, log); err != nil {
				log.Warn("watch: files are not watched; POST /reload on the admin API reads them again", "err", err)
			}
		}
		if wk == nil {
			notifyReady(env, log, store.Engine().Snapshot().Len(), a.HTTPAddr, a.HTTPSAddr, a.GRPCAddr, a.AdminAddr)
		}
		if env.OnReady != nil {
			env.OnReady(a)
		}
		var runErr error
		select {
		case <-ctx.Done():
		case runErr = <-a.Err():
		}
		if wk == nil {
			notifyStopping(env, log)
		}
		stopTrim()
		<-trimDone
		log.Info("decoy shutting down", "timeout", s.ShutdownTimeout)
		sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
		defer cancel()
		if err := a.Shutdown(sctx); err != nil {
			log.Warn("shutdown did not finish in time; connections were closed", "err", err)
		}
		if runErr != nil {
			return fail(ExitRuntime, runErr)
		}
		return nil
	}
	return cmd
}

func newLogger(s config.Settings, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(s.LogLevel))
	o := &slog.HandlerOptions{Level: level}
	if s.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// addr shows a listener's address, or "off" when it is not open.
func addr(a net.Addr) string {
	if a == nil {
		return "off"
	}
	return a.String()
}

// clientCertNotes warns about stubs that match on a client certificate
// while decoy asks no client for one (client-auth none): they can never
// match.
func clientCertNotes(s config.Settings, l *config.Loaded) []string {
	if s.ClientAuth == "optional" || s.ClientAuth == "require" {
		return nil
	}
	var notes []string
	for _, src := range l.Sources {
		if m := src.Stub.Request.ClientCert; m != nil && !m.Absent {
			id := ""
			if src.Stub.ID != "" {
				id = " " + src.Stub.ID
			}
			notes = append(notes, fmt.Sprintf("%s: stub%s matches on clientCert but can never match: client-auth is none, so decoy asks no client for a certificate; set client-auth to optional or require (--client-auth optional)", src.Origin, id))
		}
	}
	return notes
}
