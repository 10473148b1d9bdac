// Package workers owns decoy's worker mode (`decoy serve --workers N`): one
// supervisor process and N worker processes that serve the same data ports
// together, each socket opened with SO_REUSEPORT so that the kernel spreads
// new connections over them. Each worker is a copy of decoy's own
// executable, run with the same arguments and environment plus a plan (the
// concrete ports, where to read the shared TLS certificate or CA and
// session ticket keys: pipes it inherits, so that no key is ever written
// to disk) in DECOY_WORKER_PLAN, and has
// its own admin API on a loopback port that it reports to the supervisor
// over an inherited pipe.
//
// The supervisor serves the one public admin API: reads of the stubs,
// behaviours and listeners go to one worker (they are the same on all);
// changes go to one worker first and, when it accepts them, to all the
// others, and are kept so that a worker started again after a crash is
// brought to the same state; metrics, the journal, its counts and
// verifications, the client report, health and readiness are merged over
// the workers. The supervisor restarts a worker that dies, with a bounded
// back-off, forwards SIGTERM and SIGINT as a graceful shutdown, and its
// workers end when it does (the parent-death signal on Linux, and the end
// of an inherited pipe everywhere).
package workers

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/decoy-dev/decoy/internal/config"
)

// PlanEnv is the environment variable that makes a decoy process a worker;
// it holds the worker's Plan as JSON.
const PlanEnv = "DECOY_WORKER_PLAN"

// Descriptors the supervisor hands a worker, after stdin, stdout, stderr.
const (
	reportFD = 3 // the worker writes its ready report here
	lifeFD   = 4 // the worker reads here; end of file: the supervisor is gone
	// From fd 5 on: pipes holding the session ticket keys, then the
	// certificate (or CA certificate) and its key, each written once by
	// the supervisor and read once by the worker (Plan names them).
)

// Plan is what a worker serves: concrete addresses (never port 0: every
// worker must open the same port), the TLS certificate or CA all workers
// share, and the stubs to fall back to.
type Plan struct {
	ID    int    `json:"id"`
	HTTP  string `json:"http"`
	HTTPS string `json:"https"`
	GRPC  string `json:"grpc"`
	// TLSCert and TLSKey are the certificate all workers present (the
	// user's tls-cert and tls-key, read once by the supervisor); CACert and
	// CAKey the CA all workers mint certificates with (the one of ca-cert,
	// of ca-dir, or made at start). Each is a pipe the worker inherits
	// (/dev/fd/N), read once: the keys are never written to disk.
	TLSCert string `json:"tlsCert,omitempty"`
	TLSKey  string `json:"tlsKey,omitempty"`
	CACert  string `json:"caCert,omitempty"`
	CAKey   string `json:"caKey,omitempty"`
	// TicketKeys is a pipe holding the TLS session ticket keys all workers
	// share (32 bytes each), so that a session resumes on any of them.
	TicketKeys string `json:"ticketKeys,omitempty"`
	// Fallback are the stub files and folders (in the order of the files
	// served) as they last loaded well, copied by the supervisor: what a
	// worker serves when the files do not load now (Options.Fallback).
	Fallback []string `json:"fallback,omitempty"`
}

// Apply sets the worker's listeners in s: the data ports of the plan, its
// own admin API on a free loopback port, no banner.
func (p *Plan) Apply(s *config.Settings) {
	s.HTTP, s.HTTPS, s.GRPC = p.HTTP, p.HTTPS, p.GRPC
	if p.TLSCert != "" {
		s.TLSCert, s.TLSKey = p.TLSCert, p.TLSKey
	}
	if p.CACert != "" {
		s.CACert, s.CAKey = p.CACert, p.CAKey
	}
	s.Admin = "127.0.0.1:0"
	s.Quiet = true
	s.Workers = 1
}

// SessionTicketKeys reads the session ticket keys the supervisor handed
// over (none: nil).
func (w *Worker) SessionTicketKeys() ([][32]byte, error) {
	if w.Plan.TicketKeys == "" {
		return nil, nil
	}
	b, err := os.ReadFile(w.Plan.TicketKeys)
	if err != nil {
		return nil, fmt.Errorf("session ticket keys: %w", err)
	}
	if len(b) == 0 || len(b)%32 != 0 {
		return nil, fmt.Errorf("session ticket keys: %d bytes, want a multiple of 32", len(b))
	}
	keys := make([][32]byte, len(b)/32)
	for i := range keys {
		copy(keys[i][:], b[32*i:])
	}
	return keys, nil
}

// report is the line a worker writes once it serves.
type report struct {
	Admin string `json:"admin"`
	PID   int    `json:"pid"`
}

// Worker is this process, when it runs as a worker.
type Worker struct {
	Plan Plan
}

// Joined reports whether this process is a worker (getenv has a plan), and
// the plan. A malformed plan is an error.
func Joined(getenv func(string) string) (*Worker, error) {
	v := getenv(PlanEnv)
	if v == "" {
		return nil, nil
	}
	var w Worker
	if err := json.Unmarshal([]byte(v), &w.Plan); err != nil {
		return nil, fmt.Errorf("%s: %w", PlanEnv, err)
	}
	return &w, nil
}

// Ready tells the supervisor that this worker serves, with the address of
// its admin API.
func (w *Worker) Ready(admin net.Addr) error {
	if admin == nil {
		return errors.New("a worker needs its admin API")
	}
	f := os.NewFile(reportFD, "supervisor-report")
	if f == nil {
		return errors.New("no pipe to the supervisor")
	}
	defer f.Close()
	b, _ := json.Marshal(report{Admin: admin.String(), PID: os.Getpid()})
	_, err := f.Write(append(b, '\n'))
	return err
}

// Supervised returns a context that ends with ctx or when the supervisor
// is gone (the pipe it holds reaches end of file).
func (w *Worker) Supervised(ctx context.Context) context.Context {
	f := os.NewFile(lifeFD, "supervisor-life")
	if f == nil {
		return ctx
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer cancel()
		_, _ = io.Copy(io.Discard, f)
	}()
	return ctx
}

// readReport reads a worker's ready report.
func readReport(r io.Reader) (report, error) {
	line, err := bufio.NewReader(r).ReadBytes('\n')
	if err != nil {
		return report{}, err
	}
	var rep report
	if err := json.Unmarshal(line, &rep); err != nil {
		return report{}, fmt.Errorf("bad ready report %q: %w", line, err)
	}
	if _, _, err := net.SplitHostPort(rep.Admin); err != nil {
		return report{}, fmt.Errorf("bad admin address in ready report: %w", err)
	}
	return rep, nil
}
