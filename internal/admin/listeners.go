package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/decoy-dev/decoy/internal/listen"
	"github.com/decoy-dev/decoy/internal/problem"
	"github.com/decoy-dev/decoy/internal/stub"
)

// This file holds listener-level control: stop accepting on a data port
// (clients get connection refused), start again on the same address, and
// hold new connections before their first read.

// listenerView is one listener as the API shows it.
type listenerView struct {
	Name           string        `json:"name"`
	Address        string        `json:"address"`
	Paused         bool          `json:"paused"`
	FirstReadDelay stub.Duration `json:"firstReadDelay"`
}

func viewListener(l *listen.Listener) listenerView {
	return listenerView{Name: l.Name(), Address: l.Addr().String(), Paused: l.Paused(), FirstReadDelay: stub.Duration(l.FirstReadDelay())}
}

func (a *api) listListeners(w http.ResponseWriter, r *http.Request) error {
	out := struct {
		Listeners []listenerView `json:"listeners"`
	}{Listeners: []listenerView{}}
	for _, l := range a.ports.All() {
		out.Listeners = append(out.Listeners, viewListener(l))
	}
	return writeJSON(w, http.StatusOK, out)
}

// listener finds the listener named in the path.
func (a *api) listener(r *http.Request) (*listen.Listener, error) {
	name := r.PathValue("name")
	l, ok := a.ports.Get(name)
	if !ok {
		names := a.ports.Names()
		if len(names) == 0 {
			return nil, errorf(http.StatusNotFound, "no listener named %q: no data listener is controllable here", name)
		}
		return nil, errorf(http.StatusNotFound, "no listener named %q; there are %s", name, strings.Join(names, ", "))
	}
	return l, nil
}

func (a *api) pauseListener(w http.ResponseWriter, r *http.Request) error {
	l, err := a.listener(r)
	if err != nil {
		return err
	}
	if err := l.Pause(); err != nil {
		return listenerError(err)
	}
	a.log.Info("admin: listener paused", "listener", l.Name(), "address", l.Addr().String())
	return writeJSON(w, http.StatusOK, viewListener(l))
}

func (a *api) resumeListener(w http.ResponseWriter, r *http.Request) error {
	l, err := a.listener(r)
	if err != nil {
		return err
	}
	if err := l.Resume(); err != nil {
		return listenerError(err)
	}
	a.log.Info("admin: listener resumed", "listener", l.Name(), "address", l.Addr().String())
	return writeJSON(w, http.StatusOK, viewListener(l))
}

func listenerError(err error) error {
	if errors.Is(err, listen.ErrClosed) {
		return errorf(http.StatusConflict, "%v (decoy is shutting down)", err)
	}
	return errorf(http.StatusConflict, "%v", err)
}

// MaxFirstReadDelay bounds the first-read delay.
const MaxFirstReadDelay = time.Hour

func (a *api) setFirstReadDelay(w http.ResponseWriter, r *http.Request) error {
	l, err := a.listener(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return err
	}
	var in struct {
		Delay *stub.Duration `json:"delay"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return invalid(`the body is not {"delay": "2s"}`, problem.Detail{Field: "delay", Message: strings.TrimPrefix(err.Error(), "json: ")})
	}
	switch d := in.Delay; {
	case d == nil:
		return invalid(`the body is not {"delay": "2s"}`, problem.Detail{Field: "delay", Message: "missing (0 turns the delay off)"})
	case *d < 0 || time.Duration(*d) > MaxFirstReadDelay:
		return invalid("the delay is out of range", problem.Detail{Field: "delay", Message: "must be between 0 and 1h"})
	}
	l.SetFirstReadDelay(time.Duration(*in.Delay))
	a.log.Info("admin: first-read delay set", "listener", l.Name(), "delay", time.Duration(*in.Delay))
	return writeJSON(w, http.StatusOK, viewListener(l))
}
