// Package decoy runs the decoy mock API server inside a Go test, in the
// spirit of net/http/httptest: the same stub model as decoy's stub files
// (docs/stubs.md), the same engine and front door as `decoy serve`, on
// ephemeral loopback ports.
//
// The shortest use is NewServer, which serves the given stubs over HTTP/1.1
// (and h2c) and shuts down when the test ends:
//
//	srv := decoy.NewServer(t, decoy.Stub{
//		Request:  decoy.Request{Method: "GET", Path: "/users/{id}"},
//		Response: &decoy.Response{Body: decoy.MustJSON(map[string]any{"id": 42})},
//	})
//	resp, err := srv.Client().Get(srv.URL + "/users/42")
//
// Start takes Options for more: stub files and folders (errors name
// file:line, as `decoy check` does), a TLS listener serving HTTP/2 and
// HTTP/1.1 by ALPN with a certificate that Server.Client trusts, the admin
// API, and the size of the request journal that Server.Count and
// Server.Requests read. .proto files among the files are served over gRPC
// on Server.GRPCAddr, as `decoy serve` serves them.
//
// Stubs can be added while the server runs (Server.Add), and Server.Reset
// returns to the stubs it started with. Every type of the stub model is
// available here under the name it has in the files' documentation, so
// tests never import decoy's internal packages.
package decoy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/app"
	"github.com/decoy-dev/decoy/internal/config"
	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/grpcfront"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/protoload"
	"github.com/decoy-dev/decoy/internal/stub"
)

// The stub model. Each type is documented in docs/stubs.md under the name
// its fields have in stub files (Request.PathPrefix is pathPrefix, and so
// on).
type (
	// Stub is one mock: a request matcher and the response, or sequence of
	// responses, it answers with.
	Stub = stub.Stub
	// Request says which requests a stub answers; every field set must
	// match.
	Request = stub.Request
	// Response is what a stub answers.
	Response = stub.Response
	// StringMatcher matches a query parameter, header or cookie; Eq makes
	// the common "equals" one.
	StringMatcher = stub.StringMatcher
	// BodyMatcher matches a request body: text, JSON equality, JSONPath.
	BodyMatcher = stub.BodyMatcher
	// JSONPathMatcher matches what an RFC 9535 JSONPath selects in a JSON
	// request body.
	JSONPathMatcher = stub.JSONPathMatcher
	// Generate describes a deterministic body made at load.
	Generate = stub.Generate
	// HeaderValues is one or more values of a response header.
	HeaderValues = stub.HeaderValues
	// Duration is a response delay; convert a time.Duration to it.
	Duration = stub.Duration
	// Size is a byte count, as in Generate.Size.
	Size = stub.Size
	// Value is a response body: a string (sent as it is, text/plain) or
	// any other JSON value (sent as JSON, application/json). Make one with
	// Text, JSON or MustJSON.
	Value = stub.Value
)

// The request journal.
type (
	// Entry is one request the server received, as the admin API's
	// GET /requests reports it.
	Entry = journal.Entry
	// Filter selects journal entries: method, path (exact, or a prefix
	// when it ends in '*'), stub id ("-" for requests no stub matched),
	// status, time bounds and a limit. Zero fields match anything.
	Filter = journal.Filter
)

// Sequence modes: what a stub with several Responses does after the last.
const (
	SequenceStick  = stub.SequenceStick  // keep answering the last (default)
	SequenceRepeat = stub.SequenceRepeat // start again from the first
)

// Eq returns a StringMatcher that requires exactly the value v.
func Eq(v string) StringMatcher { return stub.Eq(v) }

// Text returns a body Value holding the string s, sent as it is with
// Content-Type text/plain; charset=utf-8 (unless the response sets one).
func Text(s string) Value { return stub.Text(s) }

// JSON returns a body Value holding v written out by encoding/json (so map
// keys come out sorted and the bytes are the same on every run). It fails
// when encoding/json cannot marshal v (a channel, a func, a NaN).
//
// A v that marshals to a JSON string gives the same Value as Text: strings
// are sent as text. A v that marshals to null gives the zero Value, which
// means "no body".
func JSON(v any) (Value, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return Value{}, fmt.Errorf("decoy.JSON: %w", err)
	}
	return stub.JSONValue(raw)
}

// MustJSON is JSON for values known to marshal, such as map and struct
// literals in tests. It panics when JSON fails.
func MustJSON(v any) Value {
	val, err := JSON(v)
	if err != nil {
		panic(err)
	}
	return val
}

// Options configures Start. The zero value serves no stubs over HTTP only.
// Every listener binds an ephemeral port on 127.0.0.1.
type Options struct {
	// Files are stub files and folders (YAML or JSON, folders read
	// recursively), read exactly as `decoy serve` reads them. Relative
	// paths are relative to the working directory, which in a test is the
	// package's folder. .proto files and descriptor sets (.protoset, .pb)
	// among them, and those in the folders, are compiled too, and their
	// services served over gRPC on Server.GRPCAddr; gRPC stubs are
	// checked against them (docs/grpc.md).
	Files []string
	// Stubs are served after those of Files, in order. A stub without an
	// ID is given "stub-N", N its position in Stubs counting from 1 (or
	// the next free number when that ID is taken). Do not change a Stub's
	// maps or slices after Start: the server keeps them to rebuild its
	// stubs on Reset.
	Stubs []Stub
	// HTTPS adds a TLS listener (Server.TLSURL) serving HTTP/2 and
	// HTTP/1.1 by ALPN, with a certificate for localhost and 127.0.0.1
	// signed by a CA made for this server, which Server.Client trusts.
	HTTPS bool
	// Admin adds the admin API (Server.AdminURL).
	Admin bool
	// JournalSize is how many requests the journal keeps for Count and
	// Requests: 0 means decoy's default (10000), a negative number turns
	// the journal off.
	JournalSize int
	// Logger receives decoy's logs; nil discards them.
	Logger *slog.Logger
	// Seed is the global seed (`decoy serve --seed`): of data generated
	// from OpenAPI schemas and of random latencies and faults. 0 means
	// decoy's default, 1.
	Seed uint64
	// Validation is how requests to OpenAPI routes are checked, as
	// `decoy serve --validation`: "enforce" (also ""), "report" or "off".
	Validation string
	// Settings are more of `decoy serve`'s settings, by the names of its
	// config file (docs/configuration.md) with values written as there:
	// {"cors": "true", "latency": "20ms", "max-body-bytes": "1MiB",
	// "client-auth": "optional", "client-ca": "testdata/ca.pem"}. The
	// fields above, when set, take precedence. The listeners, the server's
	// certificate, workers and reloading are the package's own: "http",
	// "https", "admin", "grpc", "workers", "files", "watch", "quiet",
	// "tls-cert", "tls-key", "ca-dir", "ca-cert" and "ca-key" are refused.
	Settings map[string]string
}

// ownSettings are the settings Options.Settings may not give.
var ownSettings = map[string]string{
	"http": "Server.URL", "https": "Options.HTTPS", "admin": "Options.Admin", "grpc": "Options.Files with .proto files",
	"workers": "one process", "files": "Options.Files", "watch": "Server.Add and Server.Reset", "quiet": "Options.Logger",
	"tls-cert": "Options.HTTPS", "tls-key": "Options.HTTPS", "ca-dir": "Options.HTTPS", "ca-cert": "Options.HTTPS", "ca-key": "Options.HTTPS",
}

// applySettings applies o.Settings to set, in name order, so that the
// first error is the same every run.
func applySettings(set *config.Settings, given map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(given)) {
		if own, ok := ownSettings[name]; ok {
			return fmt.Errorf("decoy: Options.Settings: %q is the package's own (use %s)", name, own)
		}
		s, ok := config.Lookup(name)
		if !ok {
			if near := config.SuggestSetting(name); near != "" {
				return fmt.Errorf("decoy: Options.Settings: no setting %q; did you mean %q?", name, near)
			}
			return fmt.Errorf("decoy: Options.Settings: no setting %q (see docs/configuration.md)", name)
		}
		if err := s.Set(set, given[name]); err != nil {
			return fmt.Errorf("decoy: Options.Settings: %w", err)
		}
	}
	return nil
}

// Server is a decoy serving on loopback until Close.
type Server struct {
	// URL is the base URL of the plaintext listener, http://127.0.0.1:port,
	// which serves HTTP/1.1 and HTTP/2 over cleartext (h2c, by prior
	// knowledge or by Upgrade).
	URL string
	// TLSURL is https://127.0.0.1:port when Options.HTTPS is set, else "".
	TLSURL string
	// GRPCAddr is the gRPC listener's address, 127.0.0.1:port, when
	// Options.Files hold .proto files, else "". It serves cleartext
	// HTTP/2, and TLS too with Options.HTTPS (the certificate Server.Client
	// trusts, made for 127.0.0.1 and localhost).
	GRPCAddr string
	// AdminURL is the admin API's base URL when Options.Admin is set,
	// else "".
	AdminURL string

	app       *app.App
	transport *http.Transport
	clientTLS *tls.Config // trusts the server's CA; nil without HTTPS
	client    *http.Client

	mu     sync.Mutex // serializes Add's choice of ids
	nextID int

	closeOnce sync.Once
}

// shutdownTimeout bounds Close: requests in flight get this long to finish
// (a response delay is cut short at once) before their connections are
// closed.
const shutdownTimeout = 5 * time.Second

// Start loads o.Files and o.Stubs, compiles them, and serves them. An
// invalid stub is an error that lists the problems found, those in files as
// file:line (as `decoy check` reports them); on error nothing is left
// running.
func Start(o Options) (*Server, error) {
	var srcs []engine.Source
	var loaded *config.Loaded
	set := config.Defaults()
	if err := applySettings(&set, o.Settings); err != nil {
		return nil, err
	}
	if o.Seed != 0 {
		set.Seed = o.Seed
	}
	if o.Validation != "" {
		v, _ := config.Lookup("validation")
		if err := v.Set(&set, o.Validation); err != nil {
			return nil, err
		}
	}
	stubPaths, protoPaths := protoload.SplitPaths(o.Files)
	var protos *protoload.Set
	if len(protoPaths) > 0 {
		ps, err := protoload.Load(protoPaths)
		if err != nil {
			return nil, err
		}
		if len(ps.Sources) > 0 {
			protos = ps
		}
	}
	if len(stubPaths) > 0 {
		l, err := config.LoadStubs(stubPaths, set.SpecOptions())
		if err != nil {
			return nil, err
		}
		loaded = l
		srcs = append(srcs, l.Sources...)
	}
	used := make(map[string]bool, len(srcs)+len(o.Stubs))
	for _, s := range srcs {
		used[s.Stub.ID] = true
	}
	for _, s := range o.Stubs {
		if s.ID != "" {
			used[s.ID] = true
		}
	}
	next := len(o.Stubs)
	for i, s := range o.Stubs {
		if s.ID == "" {
			s.ID = "stub-" + strconv.Itoa(i+1)
			for used[s.ID] {
				next++
				s.ID = "stub-" + strconv.Itoa(next)
			}
			used[s.ID] = true
		}
		srcs = append(srcs, engine.Source{Stub: s, Origin: fmt.Sprintf("Options.Stubs[%d]", i)})
	}
	engineOpts := set.EngineOptions()
	if protos != nil {
		// gRPC stubs match requests by proto field names too.
		engineOpts = append(engineOpts, grpcfront.EngineOptions(protos)...)
	}
	store, err := engine.NewStore(srcs, engineOpts...)
	if err == nil {
		// As decoy serve checks them: without .proto files, a stub
		// with a grpc section is refused too.
		if errs := grpcfront.Check(protos, srcs); errs != nil {
			err = errs
		}
	}
	if err != nil {
		var errs engine.Errors
		if loaded != nil && errors.As(err, &errs) {
			// Points errors in files at their lines; the others keep
			// their origin ("Options.Stubs[2]").
			return nil, loaded.Locate(errs)
		}
		return nil, err
	}
	var appOpts []app.Option
	if protos != nil {
		appOpts = append(appOpts, app.WithProtos(protos))
		// Stubs added at runtime are checked against the protos too.
		store.SetCheck(func(srcs []engine.Source) engine.Errors { return grpcfront.Check(protos, srcs) })
	}

	set.HTTP = "127.0.0.1:0"
	set.HTTPS, set.Admin, set.GRPC = "", "", ""
	if protos != nil {
		set.GRPC = "127.0.0.1:0"
	}
	if o.HTTPS {
		set.HTTPS = "127.0.0.1:0"
	}
	if o.Admin {
		set.Admin = "127.0.0.1:0"
	}
	if probs := config.Combined(set, "set Options.HTTPS"); len(probs) > 0 {
		msgs := make([]string, len(probs))
		for i, p := range probs {
			msgs[i] = p.Msg
		}
		return nil, fmt.Errorf("decoy: Options.Settings: %s", strings.Join(msgs, "; "))
	}
	switch {
	case o.JournalSize > 0:
		set.JournalSize = o.JournalSize
	case o.JournalSize < 0:
		set.JournalSize = 0
	}
	set.Quiet = true
	set.Files = o.Files
	a, err := app.Start(set, store, o.Logger, appOpts...)
	if err != nil {
		return nil, err
	}

	s := &Server{app: a, nextID: next}
	s.URL = "http://" + a.HTTPAddr.String()
	if a.HTTPSAddr != nil {
		s.TLSURL = "https://" + a.HTTPSAddr.String()
	}
	if a.GRPCAddr != nil {
		s.GRPCAddr = a.GRPCAddr.String()
	}
	if a.AdminAddr != nil {
		s.AdminURL = "http://" + a.AdminAddr.String()
	}
	s.transport = http.DefaultTransport.(*http.Transport).Clone()
	s.transport.ForceAttemptHTTP2 = true
	if a.CAPEM != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(a.CAPEM)
		s.clientTLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		s.transport.TLSClientConfig = s.clientTLS.Clone()
	}
	s.client = &http.Client{Transport: s.transport}
	return s, nil
}

// NewServer starts a server for the test t with the given stubs, over
// HTTP only (use Start for TLS, the admin API or stub files). It stops the
// test with t.Fatal when the stubs are invalid, and closes the server when
// the test ends.
func NewServer(t testing.TB, stubs ...Stub) *Server {
	t.Helper()
	s, err := Start(Options{Stubs: stubs})
	if err != nil {
		t.Fatalf("decoy.NewServer: %v", err)
		return nil
	}
	t.Cleanup(s.Close)
	return s
}

// Close stops the server: it stops accepting, lets requests in flight
// finish (for a few seconds at most; response delays are cut short), and
// closes every connection, including the idle ones of Client. The ports are
// free when it returns. Calling Close again does nothing.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.transport.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		_ = s.app.Shutdown(ctx)
		s.transport.CloseIdleConnections()
	})
}

// Client returns an HTTP client for this server, like httptest's: over URL
// it speaks HTTP/1.1; over TLSURL it trusts the certificate the server made
// and negotiates HTTP/2 by ALPN. The same client is returned on every call,
// and Close closes its idle connections.
func (s *Server) Client() *http.Client { return s.client }

// ClientTLSConfig returns a TLS configuration that trusts the server's
// certificate, for clients other than Client (a gRPC client over TLS to
// GRPCAddr: credentials.NewTLS(srv.ClientTLSConfig())). It is nil without
// Options.HTTPS. Each call returns a new copy.
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// Add adds a stub while the server runs and returns its ID. A stub without
// an ID is given the next free "stub-N". An invalid stub, or an ID already
// in use, returns an error that names the field, and changes nothing.
func (s *Server) Add(st Stub) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.ID == "" {
		for {
			s.nextID++
			st.ID = "stub-" + strconv.Itoa(s.nextID)
			if _, taken := s.app.Store.Get(st.ID); !taken {
				break
			}
		}
	}
	src, err := s.app.Store.Create(st, "Server.Add")
	if err != nil {
		return "", err
	}
	return src.Stub.ID, nil
}

// Remove deletes the stub with the given ID, whether it came from the
// options or from Add.
func (s *Server) Remove(id string) error {
	if err := s.app.Store.Delete(id); err != nil {
		if errors.Is(err, engine.ErrNotFound) {
			return fmt.Errorf("decoy: no stub %q", id)
		}
		return err
	}
	return nil
}

// Reset returns to the stubs the server started with, dropping those
// added or removed since, and restarts every response sequence, like the
// admin API's POST /reset. The journal is kept; see ClearRequests.
func (s *Server) Reset() error { return s.app.Store.Reset() }

// Requests returns the journal entries f selects, newest first.
func (s *Server) Requests(f Filter) []Entry { return s.app.Journal.Find(f) }

// Count returns how many requests with the given method and path the
// journal holds. An empty method matches any method; a path ending in '*'
// is a prefix ("/users/*"), and "" or "*" matches every path. Paths are
// compared as sent, without the query. The journal keeps
// Options.JournalSize requests at most, so that bounds the count; with the
// journal off Count is always 0.
func (s *Server) Count(method, path string) int {
	return len(s.app.Journal.Find(Filter{Method: method, Path: path}))
}

// ClearRequests empties the journal.
func (s *Server) ClearRequests() { s.app.Journal.Clear() }
