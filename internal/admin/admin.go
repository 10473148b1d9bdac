// Package admin owns decoy's admin API: the REST interface served on its own
// listener (127.0.0.1:9901 by default), apart from the mock traffic. It
// manages stubs (list, create, read, replace, delete), resets them to the
// files' state, lists and clears the request journal, answers health and
// readiness probes, serves Prometheus metrics (/metrics) and the client
// behaviour report (/clients), and describes itself in OpenAPI 3.1 at
// /openapi.json.
//
// Requests and responses are JSON (a stub may also be sent as YAML). Every
// error, including unknown paths (404) and wrong methods (405), is an RFC
// 9457 problem document (application/problem+json).
//
// Handlers are small functions that return an error; handle is the one place
// that turns errors into problem documents. Routes are registered only from
// the routes table, which the OpenAPI test checks against the document.
package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/listen"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/problem"
	"github.com/decoy-dev/decoy/internal/stub"
)

// Options configures the admin API.
type Options struct {
	Store *engine.Store
	// Journal may be disabled (capacity 0) or nil.
	Journal *journal.Journal
	// Ready reports readiness for GET /ready; nil means always ready.
	Ready func() bool
	// Version is decoy's version, reported by /health and in the OpenAPI
	// document.
	Version string
	// Logger may be nil.
	Logger *slog.Logger
	// Metrics serves GET /metrics. Nil means a handler made here over the
	// store's engine alone: per-stub metrics and the process and Go
	// collectors, without connection counters.
	Metrics http.Handler
	// Clients is reported by GET /clients; nil reports no clients.
	Clients *metrics.Clients
	// Listeners are the data-port listeners that /listeners pauses,
	// resumes and slows; nil: none.
	Listeners *listen.Set
	// Saturation is reported by GET /health; nil reports never saturated.
	Saturation *metrics.Saturation
	// Reload reads the stub files and OpenAPI documents again and serves
	// them (POST /reload), returning how many stubs it serves; on error
	// nothing changes. Nil: there are no files to read (the demo).
	Reload func() (int, error)
}

// MaxBodyBytes is the largest request body the admin API reads; a larger
// one is answered 413.
const MaxBodyBytes = 16 << 20

// OriginAPI is the origin of stubs created or replaced through the API.
const OriginAPI = "api"

// api holds what the handlers share.
type api struct {
	store   *engine.Store
	journal *journal.Journal
	ready   func() bool
	version string
	log     *slog.Logger
	start   time.Time
	openapi []byte
	metrics http.Handler
	clients *metrics.Clients
	ports   *listen.Set
	sat     *metrics.Saturation
	reload  func() (int, error)
}

// route is one endpoint. Every route the admin API serves is in routes, and
// only there.
type route struct {
	method string
	path   string // a ServeMux path pattern, also the OpenAPI path
	h      func(a *api, w http.ResponseWriter, r *http.Request) error
}

var routes = []route{
	{"GET", "/health", (*api).health},
	{"GET", "/ready", (*api).readiness},
	{"GET", "/stubs", (*api).listStubs},
	{"POST", "/stubs", (*api).createStub},
	{"GET", "/stubs/{id}", (*api).getStub},
	{"PUT", "/stubs/{id}", (*api).replaceStub},
	{"DELETE", "/stubs/{id}", (*api).deleteStub},
	{"POST", "/reset", (*api).reset},
	{"POST", "/reload", (*api).reloadFiles},
	{"GET", "/requests", (*api).listRequests},
	{"DELETE", "/requests", (*api).clearRequests},
	{"POST", "/requests/count", (*api).countRequests},
	{"POST", "/requests/find", (*api).findRequests},
	{"POST", "/verify", (*api).verify},
	{"GET", "/metrics", (*api).serveMetrics},
	{"GET", "/clients", (*api).listClients},
	{"GET", "/behaviours", (*api).getBehaviours},
	{"PUT", "/behaviours", (*api).setBehaviours},
	{"DELETE", "/behaviours", (*api).clearBehaviours},
	{"GET", "/listeners", (*api).listListeners},
	{"POST", "/listeners/{name}/pause", (*api).pauseListener},
	{"POST", "/listeners/{name}/resume", (*api).resumeListener},
	{"PUT", "/listeners/{name}/first-read-delay", (*api).setFirstReadDelay},
	{"GET", "/openapi.json", (*api).openAPI},
}

// New returns the admin API handler. o.Store is required.
func New(o Options) http.Handler {
	if o.Store == nil {
		panic("admin: Options.Store is nil")
	}
	a := &api{
		store:   o.Store,
		journal: o.Journal,
		ready:   o.Ready,
		version: o.Version,
		log:     o.Logger,
		start:   time.Now(),
		metrics: o.Metrics,
		clients: o.Clients,
		ports:   o.Listeners,
		sat:     o.Saturation,
		reload:  o.Reload,
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.metrics == nil {
		reg, err := metrics.NewRegistry(metrics.Sources{Engine: o.Store.Engine(), Clients: o.Clients, Saturation: o.Saturation})
		if err != nil {
			a.log.Error("admin: no metrics", "err", err)
			a.metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				problem.New(http.StatusInternalServerError, "metrics are unavailable: "+err.Error()).Write(w)
			})
		} else {
			a.metrics = metrics.Handler(reg)
		}
	}
	a.openapi = openAPIDocument(o.Version)
	mux := http.NewServeMux()
	for _, rt := range routes {
		h := rt.h
		mux.Handle(rt.method+" "+rt.path, a.handle(func(w http.ResponseWriter, r *http.Request) error {
			return h(a, w, r)
		}))
	}
	return &server{mux: mux}
}

// server routes requests and makes sure that the mux's own answers for
// unknown paths and methods are problem documents too.
type server struct {
	mux *http.ServeMux
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern == "" {
		// No route: the mux answers 404, 405 (with Allow) or a redirect to
		// the cleaned path. Turn its plain-text errors into problems.
		w = &muxErrorWriter{ResponseWriter: w}
	}
	s.mux.ServeHTTP(w, r)
}

// muxErrorWriter replaces a 404 or 405 written by the mux with a problem
// document, keeping the headers it set (Allow).
type muxErrorWriter struct {
	http.ResponseWriter
	swallow bool
}

func (m *muxErrorWriter) WriteHeader(code int) {
	switch code {
	case http.StatusNotFound:
		m.swallow = true
		m.Header().Del("X-Content-Type-Options")
		problem.New(code, "no such endpoint; see GET /openapi.json").Write(m.ResponseWriter)
	case http.StatusMethodNotAllowed:
		m.swallow = true
		m.Header().Del("X-Content-Type-Options")
		problem.New(code, "method not allowed here; allowed: "+m.Header().Get("Allow")).Write(m.ResponseWriter)
	default:
		m.ResponseWriter.WriteHeader(code)
	}
}

func (m *muxErrorWriter) Write(b []byte) (int, error) {
	if m.swallow {
		return len(b), nil
	}
	return m.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (m *muxErrorWriter) Unwrap() http.ResponseWriter { return m.ResponseWriter }

// handle adapts a handler that returns an error: the one place where errors
// become problem documents. A handler that returns an error must not have
// written anything.
func (a *api) handle(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.problemFor(r, err).Write(w)
		}
	}
}

// httpError is an error that is already a problem document.
type httpError struct{ p *problem.Problem }

func (e *httpError) Error() string { return e.p.Detail }

// errorf returns an error answered with status and the formatted detail.
func errorf(status int, format string, args ...any) error {
	return &httpError{problem.New(status, fmt.Sprintf(format, args...))}
}

// invalid returns a 400 error listing details.
func invalid(detail string, details ...problem.Detail) error {
	p := problem.New(http.StatusBadRequest, detail)
	p.Errors = details
	return &httpError{p}
}

// problemFor maps err to the problem document sent for it.
func (a *api) problemFor(r *http.Request, err error) *problem.Problem {
	var (
		he   *httpError
		errs engine.Errors
		mbe  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &he):
		return he.p
	case errors.As(err, &mbe):
		return problem.New(http.StatusRequestEntityTooLarge,
			fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit))
	case errors.Is(err, engine.ErrNotFound):
		return problem.New(http.StatusNotFound, err.Error())
	case errors.As(err, &errs):
		p := problem.New(http.StatusBadRequest, "invalid stub; nothing was changed")
		p.Errors = engineDetails(errs)
		return p
	}
	a.log.Error("admin: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return problem.New(http.StatusInternalServerError, err.Error())
}

// engineDetails lists the store's compile errors, one per field.
func engineDetails(errs engine.Errors) []problem.Detail {
	out := make([]problem.Detail, 0, len(errs))
	for _, e := range errs {
		out = append(out, problem.Detail{Field: e.Field, Message: e.Msg})
	}
	return out
}

// writeJSON sends v as JSON with status. It fails, having written nothing,
// when v cannot be encoded.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding the response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// --- health ---

type healthDoc struct {
	Status        string  `json:"status"`
	Version       string  `json:"version"`
	Stubs         int     `json:"stubs"`
	UptimeSeconds float64 `json:"uptimeSeconds"`
	// Saturated is true while decoy has used more than its threshold of
	// the CPUs it may use for 5 s in a row.
	Saturated bool `json:"saturated"`
	// CPUUtilization is the share of its CPUs decoy used over the last
	// second.
	CPUUtilization float64 `json:"cpuUtilization"`
	// CPUs is how many CPUs decoy may use (0: not measured).
	CPUs float64 `json:"cpus"`
	// SaturationSignals names the signals on for 5 s in a row ("cpu",
	// "accept-queue", "sched-latency", "run-queue"): saturated while any
	// is.
	SaturationSignals []string `json:"saturationSignals"`
	// AcceptQueue is the connections that waited in the data listeners'
	// accept queues at the last reading; absent when not measured.
	AcceptQueue *int `json:"acceptQueue,omitempty"`
	// SchedLatencyP99US is the 99th percentile of Go's scheduling delay
	// over the last second, in microseconds; absent when not measured.
	SchedLatencyP99US *int64 `json:"schedLatencyP99Us,omitempty"`
	// RunQueueDelayUS is the mean time decoy's threads waited in the
	// kernel's run queue each time they were given a CPU, over the last
	// second, in microseconds; absent when not measured (not Linux).
	RunQueueDelayUS *int64 `json:"runQueueDelayUs,omitempty"`
}

func (a *api) health(w http.ResponseWriter, r *http.Request) error {
	up := time.Since(a.start).Seconds()
	var queued *int
	if n := a.sat.Queued(); n >= 0 {
		queued = &n
	}
	var sched *int64
	if d := a.sat.SchedLatency(); d >= 0 {
		us := d.Microseconds()
		sched = &us
	}
	var rq *int64
	if d := a.sat.RunQueueDelay(); d >= 0 {
		us := d.Microseconds()
		rq = &us
	}
	return writeJSON(w, http.StatusOK, healthDoc{
		Status:            "ok",
		Version:           a.version,
		Stubs:             a.store.Engine().Snapshot().Len(),
		UptimeSeconds:     math.Round(up*1000) / 1000,
		Saturated:         a.sat.Saturated(),
		CPUUtilization:    math.Round(a.sat.Utilization()*1000) / 1000,
		CPUs:              a.sat.CPUs(),
		SaturationSignals: a.sat.SignalsOn(),
		AcceptQueue:       queued,
		SchedLatencyP99US: sched,
		RunQueueDelayUS:   rq,
	})
}

func (a *api) readiness(w http.ResponseWriter, r *http.Request) error {
	ready := a.ready == nil || a.ready()
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	return writeJSON(w, status, struct {
		Ready bool `json:"ready"`
	}{ready})
}

// --- stubs ---

// stubView is a stub as the API returns it: the stub itself plus where it
// was defined and how many requests it has answered.
type stubView struct {
	stub.Stub
	Origin string `json:"origin"`
	Calls  uint64 `json:"calls"`
}

// view is src as the API returns it. calls is the stub's count in
// decoy_requests_total: the request path counts every request there
// already, while the call number (Stub.Calls) moves only for stubs whose
// sequence or random behaviour needs it, not to slow the static path. A
// call numbered is counted before it is answered, so for those stubs it
// can be ahead by the requests in flight.
func view(src engine.Source, snap *engine.Snapshot) stubView {
	v := stubView{Stub: src.Stub, Origin: src.Origin}
	if c := snap.Get(src.Stub.ID); c != nil {
		v.Calls = max(c.Calls(), c.Stats().Count())
	}
	return v
}

type stubList struct {
	Stubs []stubView `json:"stubs"`
	Total int        `json:"total"`
}

func (a *api) listStubs(w http.ResponseWriter, r *http.Request) error {
	srcs := a.store.List()
	snap := a.store.Engine().Snapshot()
	out := stubList{Stubs: make([]stubView, 0, len(srcs)), Total: len(srcs)}
	for _, src := range srcs {
		out.Stubs = append(out.Stubs, view(src, snap))
	}
	return writeJSON(w, http.StatusOK, out)
}

// stubPath is the URL of the stub with the given id.
func stubPath(id string) string { return "/stubs/" + url.PathEscape(id) }

func (a *api) getStub(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	src, ok := a.store.Get(id)
	if !ok {
		return notFound(id)
	}
	return writeJSON(w, http.StatusOK, view(src, a.store.Engine().Snapshot()))
}

func notFound(id string) error {
	return errorf(http.StatusNotFound, "no stub with id %q", id)
}

// createStub adds a stub. An id already in use is a 409 Conflict (replace
// such a stub with PUT); any other invalid stub is a 400.
func (a *api) createStub(w http.ResponseWriter, r *http.Request) error {
	s, err := decodeStub(w, r)
	if err != nil {
		return err
	}
	if err := checkBodyFiles(s, ""); err != nil {
		return err
	}
	src, err := a.store.Create(s, OriginAPI)
	if err != nil {
		if errs, ok := a.conflict(s.ID, err); ok {
			p := problem.New(http.StatusConflict, fmt.Sprintf("a stub with id %q already exists; replace it with PUT %s", s.ID, stubPath(s.ID)))
			p.Errors = engineDetails(errs)
			return &httpError{p}
		}
		return err
	}
	a.log.Info("admin: stub created", "id", src.Stub.ID)
	w.Header().Set("Location", stubPath(src.Stub.ID))
	return writeJSON(w, http.StatusCreated, view(src, a.store.Engine().Snapshot()))
}

// conflict reports whether err, from creating a stub with the given id,
// says only that the id is taken. The store checks the id before anything
// else, so a taken id is its one error.
func (a *api) conflict(id string, err error) (engine.Errors, bool) {
	var errs engine.Errors
	if id == "" || !errors.As(err, &errs) || len(errs) != 1 || errs[0].Field != "id" {
		return nil, false
	}
	_, taken := a.store.Get(id)
	return errs, taken
}

func (a *api) replaceStub(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	old, ok := a.store.Get(id)
	if !ok {
		return errorf(http.StatusNotFound, "no stub with id %q to replace; create it with POST /stubs (with \"id\": %q)", id, id)
	}
	s, err := decodeStub(w, r)
	if err != nil {
		return err
	}
	if err := checkBodyFiles(s, old.Dir); err != nil {
		return err
	}
	src, err := a.store.Replace(id, s, OriginAPI)
	if errors.Is(err, engine.ErrNotFound) {
		return notFound(id)
	}
	if err != nil {
		return err
	}
	a.log.Info("admin: stub replaced", "id", id)
	return writeJSON(w, http.StatusOK, view(src, a.store.Engine().Snapshot()))
}

func (a *api) deleteStub(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	err := a.store.Delete(id)
	if errors.Is(err, engine.ErrNotFound) {
		return notFound(id)
	}
	if err != nil {
		return err
	}
	a.log.Info("admin: stub deleted", "id", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// reloadFiles reads the stub files and OpenAPI documents again and serves
// what they hold now, in place of the stubs loaded before and of the
// changes made since through this API. A file that does not load is a 422
// with every problem (file:line), and nothing changes.
func (a *api) reloadFiles(w http.ResponseWriter, r *http.Request) error {
	if a.reload == nil {
		return &httpError{problem.New(http.StatusConflict, "decoy serves the built-in demo: there are no files to reload")}
	}
	n, err := a.reload()
	if err != nil {
		p := problem.New(http.StatusUnprocessableEntity, "the files do not load; the stubs served before still serve")
		for _, line := range strings.Split(strings.TrimSpace(err.Error()), "\n") {
			if line = strings.TrimSpace(line); line != "" && line != "decoy:" {
				p.Errors = append(p.Errors, problem.Detail{Message: line})
			}
		}
		a.log.Warn("admin: reload failed; the stubs served before still serve", "err", err)
		return &httpError{p}
	}
	a.log.Info("admin: stubs reloaded from files", "stubs", n)
	return writeJSON(w, http.StatusOK, struct {
		Stubs int `json:"stubs"`
	}{n})
}

// reset restores the stubs loaded from files and restarts every response
// sequence. The journal is left as it is.
func (a *api) reset(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.Reset(); err != nil {
		// The files' stubs no longer compile (a bodyFile went away): not
		// the client's fault.
		p := problem.New(http.StatusInternalServerError, "the stubs loaded from files no longer compile; nothing was changed")
		var errs engine.Errors
		if errors.As(err, &errs) {
			p.Errors = engineDetails(errs)
		}
		a.log.Error("admin: reset failed", "err", err)
		return &httpError{p}
	}
	a.log.Info("admin: stubs reset")
	return writeJSON(w, http.StatusOK, struct {
		Stubs int `json:"stubs"`
	}{a.store.Engine().Snapshot().Len()})
}

// --- journal ---

type requestList struct {
	Total    uint64          `json:"total"`
	Size     int             `json:"size"`
	Capacity int             `json:"capacity"`
	Requests []journal.Entry `json:"requests"`
}

func (a *api) listRequests(w http.ResponseWriter, r *http.Request) error {
	f, err := journal.ParseFilter(r.URL.Query())
	if err != nil {
		var pe *journal.ParamError
		if errors.As(err, &pe) {
			return invalid(fmt.Sprintf("bad query parameter %q: %s", pe.Param, pe.Msg),
				problem.Detail{Field: pe.Param, Message: pe.Msg})
		}
		var ue *journal.UnknownParamsError
		if errors.As(err, &ue) {
			known := "known query parameters: " + strings.Join(journal.FilterParams, ", ")
			details := make([]problem.Detail, len(ue.Params))
			for i, p := range ue.Params {
				details[i] = problem.Detail{Field: p, Message: "unknown query parameter; " + known}
			}
			return invalid("unknown query parameter(s) "+strings.Join(ue.Params, ", ")+"; "+known, details...)
		}
		return invalid("bad query: " + err.Error())
	}
	out := requestList{Requests: a.journal.Find(f)}
	out.Total, out.Size, out.Capacity = a.journal.Total(), a.journal.Len(), a.journal.Cap()
	if out.Requests == nil {
		out.Requests = []journal.Entry{}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *api) clearRequests(w http.ResponseWriter, r *http.Request) error {
	a.journal.Clear()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- metrics ---

// serveMetrics answers in the Prometheus text format, or OpenMetrics when
// the scraper's Accept asks for it.
func (a *api) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	a.metrics.ServeHTTP(w, r)
	return nil
}

// listClients reports how each client address used its connections, with
// the anti-patterns found.
func (a *api) listClients(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, a.clients.Report())
}

// --- OpenAPI ---

func (a *api) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(a.openapi)
	return nil
}
