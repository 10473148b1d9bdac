package workers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/decoy-dev/decoy/internal/problem"
	"github.com/decoy-dev/decoy/internal/stub"
)

// maxBody is the largest admin request body the supervisor forwards (the
// admin API's own bound).
const maxBody = 16 << 20

// proxy is the supervisor's admin API: every route of the workers' admin
// API, each either merged over all workers, sent to one, or applied to all.
type proxy struct {
	sup     *Supervisor
	version string
	log     *slog.Logger
	client  *http.Client

	// changes serializes the requests that change state, so that every
	// worker sees them in the same order, and keeps them for a worker
	// started again.
	changes sync.Mutex
	applied []change
}

// change is an admin request that changed state, as it was sent, and
// when.
type change struct {
	method, uri, ctype string
	body               []byte
	at                 time.Time
}

// answer is a worker's response.
type answer struct {
	worker int
	status int
	header http.Header
	body   []byte
	err    error // transport error: no response
}

func (a answer) ok() bool { return a.err == nil && a.status >= 200 && a.status < 300 }

func newProxy(s *Supervisor, version string, log *slog.Logger) *proxy {
	return &proxy{
		sup: s, version: version, log: log,
		client: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}},
	}
}

// merger answers a route from every worker's answer (all 2xx, or every one
// in ok).
type merger func(p *proxy, w http.ResponseWriter, r *http.Request, body []byte, as []answer) error

// merged routes: the answer is built from every worker's.
var merged = map[string]merger{
	"GET /metrics":         mergeMetricsRoute,
	"GET /requests":        mergeRequestsRoute,
	"POST /requests/count": mergeCountRoute,
	"POST /requests/find":  mergeFindRoute,
	"POST /verify":         mergeVerifyRoute,
	"GET /clients":         mergeClientsRoute,
	"GET /health":          mergeHealthRoute,
	"GET /ready":           mergeReadyRoute,
}

// readOnly reports whether a request that is not merged changes nothing.
func readOnly(method string) bool {
	return method == http.MethodGet || method == http.MethodHead
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			problem.New(http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit)).Write(w)
			return
		}
		problem.New(http.StatusBadRequest, "reading the request body: "+err.Error()).Write(w)
		return
	}
	switch m, how := route(r.Method, r.URL.Path); how {
	case mergeAll:
		p.fanOut(w, r, body, m)
	case askOne:
		// Behaviours, listeners, the OpenAPI document: the same on every
		// worker, but for the time an override was set, which a worker
		// started again takes as the time it was replayed: so the worker
		// that has run longest, which saw every change as it was made.
		ps := p.sup.live()
		if len(ps) == 0 {
			noWorkers(w)
			return
		}
		relay(w, p.send(r.Context(), oldest(ps), r.Method, r.URL.RequestURI(), r.Header.Get("Content-Type"), body))
	default:
		p.change(w, r, body)
	}
}

// How the supervisor answers an admin route.
type handling int

const (
	mergeAll  handling = iota // ask every worker, merge the answers
	askOne                    // ask one worker: the answer is the same on all
	changeAll                 // apply to one worker, then to all the others
)

// route says how the supervisor answers method and path (and the merge,
// for mergeAll). A route not named here is answered by one worker when it
// reads (GET, HEAD) and applied to all when it changes something.
func route(method, path string) (merger, handling) {
	if m, ok := merged[method+" "+path]; ok {
		return m, mergeAll
	}
	if method == http.MethodGet && (path == "/stubs" || isStubPath(path)) {
		// The same stubs everywhere, but each worker counts its own calls.
		return mergeStubsRoute, mergeAll
	}
	if readOnly(method) {
		return nil, askOne
	}
	return nil, changeAll
}

// isStubPath reports whether path is /stubs/{id}.
func isStubPath(path string) bool {
	id, ok := strings.CutPrefix(path, "/stubs/")
	return ok && id != "" && !strings.Contains(id, "/")
}

// oldest is the worker of ps started first.
func oldest(ps []*proc) *proc {
	o := ps[0]
	for _, p := range ps[1:] {
		if p.start.Before(o.start) {
			o = p
		}
	}
	return o
}

func noWorkers(w http.ResponseWriter) {
	problem.New(http.StatusServiceUnavailable, "no worker is running; they are being started again").Write(w)
}

// send forwards one request to worker p.
func (p *proxy) send(ctx context.Context, w *proc, method, uri, ctype string, body []byte) answer {
	a := answer{worker: w.id}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+w.admin+uri, bytes.NewReader(body))
	if err != nil {
		a.err = err
		return a
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if method == http.MethodGet && strings.HasPrefix(uri, "/metrics") {
		// The merge reads the text format.
		req.Header.Set("Accept", "text/plain;version=0.0.4")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		a.err = err
		return a
	}
	defer resp.Body.Close()
	a.status, a.header = resp.StatusCode, resp.Header
	a.body, a.err = io.ReadAll(resp.Body)
	return a
}

// sendAll forwards one request to every worker in ps at once.
func (p *proxy) sendAll(ctx context.Context, ps []*proc, method, uri, ctype string, body []byte) []answer {
	as := make([]answer, len(ps))
	var wg sync.WaitGroup
	for i, w := range ps {
		wg.Go(func() { as[i] = p.send(ctx, w, method, uri, ctype, body) })
	}
	wg.Wait()
	return as
}

// relay writes a worker's answer as it is.
func relay(w http.ResponseWriter, a answer) {
	if a.err != nil {
		problem.New(http.StatusBadGateway, fmt.Sprintf("worker %d: %v", a.worker, a.err)).Write(w)
		return
	}
	for _, h := range []string{"Content-Type", "Cache-Control", "Location", "Allow", "ETag"} {
		if v := a.header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// fanOut asks every worker and merges the answers; when one worker's answer
// cannot be merged (an error), it is relayed as it is.
func (p *proxy) fanOut(w http.ResponseWriter, r *http.Request, body []byte, m merger) {
	ps := p.sup.live()
	if len(ps) == 0 {
		if r.URL.Path == "/ready" {
			mergeReady(w, nil, len(p.sup.procs))
			return
		}
		noWorkers(w)
		return
	}
	as := p.sendAll(r.Context(), ps, r.Method, r.URL.RequestURI(), r.Header.Get("Content-Type"), body)
	for _, a := range as {
		if a.err != nil {
			relay(w, a)
			return
		}
	}
	if err := m(p, w, r, body, as); err != nil {
		p.log.Error("admin: merging the workers' answers", "path", r.URL.Path, "err", err)
		problem.New(http.StatusBadGateway, "merging the workers' answers: "+err.Error()).Write(w)
	}
}

// firstError is the first answer that is not 2xx, or nil.
func firstError(as []answer) *answer {
	for i := range as {
		if !as[i].ok() {
			return &as[i]
		}
	}
	return nil
}

// change applies a request that changes state: to the first worker, and
// when it accepts it, to every other. A worker that fails then is reported
// (502, naming it); the change stays applied where it was.
func (p *proxy) change(w http.ResponseWriter, r *http.Request, body []byte) {
	p.changes.Lock()
	defer p.changes.Unlock()
	ps := p.sup.live()
	if len(ps) == 0 {
		noWorkers(w)
		return
	}
	ctype := r.Header.Get("Content-Type")
	// Not the client's context: once started, a change goes to every worker.
	ctx := context.WithoutCancel(r.Context())
	first := p.send(ctx, ps[0], r.Method, r.URL.RequestURI(), ctype, body)
	if !first.ok() {
		relay(w, first)
		return
	}
	rest := p.sendAll(ctx, ps[1:], r.Method, r.URL.RequestURI(), ctype, body)
	p.applied = append(p.applied, change{method: r.Method, uri: r.URL.RequestURI(), ctype: ctype, body: body, at: time.Now()})
	if r.Method == http.MethodPost && r.URL.Path == "/reload" && p.sup.o.Reloaded != nil {
		defer p.sup.o.Reloaded()
	}
	var failed []string
	for _, a := range rest {
		if a.ok() {
			continue
		}
		why := fmt.Sprint(a.err)
		if a.err == nil {
			why = fmt.Sprintf("status %d: %s", a.status, bytes.TrimSpace(a.body))
		}
		failed = append(failed, fmt.Sprintf("worker %d: %s", a.worker, why))
	}
	if len(failed) > 0 {
		p.log.Error("admin: a change was not applied to every worker", "method", r.Method, "path", r.URL.Path, "failed", failed)
		pr := problem.New(http.StatusBadGateway, fmt.Sprintf("the change was applied to worker %d but failed on %d of the %d others; restart decoy to bring them back in line", first.worker, len(failed), len(rest)))
		for _, f := range failed {
			pr.Errors = append(pr.Errors, problem.Detail{Message: f})
		}
		pr.Write(w)
		return
	}
	relay(w, first)
}

// replay applies every change made so far to worker w, which has just
// started again.
func (p *proxy) replay(w *proc) error {
	p.changes.Lock()
	defer p.changes.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range p.applied {
		c = c.asReplayed(time.Now())
		a := p.send(ctx, w, c.method, c.uri, c.ctype, c.body)
		switch {
		case a.err != nil:
			return fmt.Errorf("%s %s: %w", c.method, c.uri, a.err)
		case !a.ok():
			// Refused now as it may have been by some workers then: the
			// others' state cannot be had, so go on.
			p.log.Warn("admin: a change made earlier was refused by a worker started again", "worker", w.id,
				"method", c.method, "path", c.uri, "status", a.status, "answer", string(bytes.TrimSpace(a.body)))
		}
	}
	return nil
}

// asReplayed is change c as it is replayed at now to a worker started
// again: a behaviour override with a ttl gets the time it has left, so
// that it ends on that worker when it ends on the others, and one whose
// ttl has run out is removed instead (it removed itself on the others,
// and with it whatever it had replaced).
func (c change) asReplayed(now time.Time) change {
	if c.method != http.MethodPut || strings.TrimSuffix(c.uri, "?") != "/behaviours" {
		return c
	}
	var o map[string]json.RawMessage
	if json.Unmarshal(c.body, &o) != nil || o["ttl"] == nil {
		return c
	}
	var ttl stub.Duration
	if json.Unmarshal(o["ttl"], &ttl) != nil || ttl <= 0 {
		return c
	}
	left := time.Duration(ttl) - now.Sub(c.at)
	if left <= 0 {
		return change{method: http.MethodDelete, uri: "/behaviours", at: c.at}
	}
	ms := (left + time.Millisecond - 1) / time.Millisecond // a number of milliseconds
	o["ttl"] = json.RawMessage(strconv.FormatInt(int64(ms), 10))
	body, err := json.Marshal(o)
	if err != nil {
		return c
	}
	c.body = body
	return c
}
