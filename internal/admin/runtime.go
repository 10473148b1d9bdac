package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/problem"
)

// This file holds the runtime behaviour override: PUT /behaviours lays a
// latency and/or faults over every stub (or the ones named) for a while,
// GET /behaviours shows it, DELETE /behaviours removes it.

// behaviourState is what GET and PUT /behaviours answer.
type behaviourState struct {
	// Active is false when no override is in place (the other fields are
	// then absent).
	Active bool `json:"active"`
	*engine.OverrideState
}

func (a *api) getBehaviours(w http.ResponseWriter, r *http.Request) error {
	state, ok := a.store.Override()
	if !ok {
		return writeJSON(w, http.StatusOK, behaviourState{})
	}
	return writeJSON(w, http.StatusOK, behaviourState{Active: true, OverrideState: &state})
}

func (a *api) setBehaviours(w http.ResponseWriter, r *http.Request) error {
	o, err := decodeOverride(w, r)
	if err != nil {
		return err
	}
	state, err := a.store.SetOverride(o)
	if err != nil {
		var errs engine.Errors
		if errors.As(err, &errs) {
			p := problem.New(http.StatusBadRequest, "invalid behaviour override; nothing was changed")
			p.Errors = engineDetails(errs)
			return &httpError{p}
		}
		return err
	}
	a.log.Info("admin: behaviour override set", "stubs", o.Stubs, "ttl", o.TTL)
	return writeJSON(w, http.StatusOK, behaviourState{Active: true, OverrideState: &state})
}

func (a *api) clearBehaviours(w http.ResponseWriter, r *http.Request) error {
	ok, err := a.store.ClearOverride()
	if err != nil {
		return err
	}
	if ok {
		a.log.Info("admin: behaviour override removed")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// decodeOverride reads an override from a JSON body, refusing unknown
// fields; errors name the field.
func decodeOverride(w http.ResponseWriter, r *http.Request) (engine.Override, error) {
	var o engine.Override
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return o, err
		}
		return o, errorf(http.StatusBadRequest, "cannot read the request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return o, invalid(`the request body is empty: send {"latency": "250ms", "faults": [...], "stubs": [...], "ttl": "60s"}`)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return engine.Override{}, invalid("the body is not a valid behaviour override", overrideDetail(body, err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return engine.Override{}, invalid("the body is not a valid behaviour override", problem.Detail{Message: "unexpected data after the object"})
	}
	return o, nil
}

// overrideDetail names the field a decoding error is about, where it can
// be found: the JSON decoder's own field for type errors, else the first
// top-level field whose value alone fails to decode.
func overrideDetail(body []byte, err error) problem.Detail {
	msg := strings.TrimPrefix(err.Error(), "json: ")
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		// The decoder's words name Go types: say what the field must be.
		if !isObject(body) {
			return problem.Detail{Message: `must be an object, such as {"latency": "250ms", "faults": [...], "stubs": [...], "ttl": "60s"}, not ` + jsonKind(body)}
		}
		var ds []problem.Detail
		diagnose(body, reflect.TypeFor[engine.Override](), "", &ds)
		if len(ds) > 0 {
			return ds[0]
		}
		return problem.Detail{Field: ute.Field, Message: msg}
	}
	if f, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return problem.Detail{Field: strings.Trim(f, `"`), Message: "unknown field; want latency, faults, stubs, ttl"}
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) == nil {
		for _, name := range []string{"latency", "faults", "stubs", "ttl"} {
			raw, ok := fields[name]
			if !ok {
				continue
			}
			one, _ := json.Marshal(map[string]json.RawMessage{name: raw})
			var probe engine.Override
			if e := json.Unmarshal(one, &probe); e != nil {
				return problem.Detail{Field: name, Message: strings.TrimPrefix(e.Error(), "json: ")}
			}
		}
	}
	return problem.Detail{Message: fmt.Sprint(msg)}
}
