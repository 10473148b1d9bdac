package engine

import (
	"fmt"
	"time"

	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/stub"
)

// Override is a behaviour laid over stubs at runtime (through the admin
// API): a latency and/or faults that replace the stubs' own while the
// override is in place, on every stub or on the ones named. The stubs
// themselves do not change, so removing the override (by hand or when its
// TTL runs out) restores them exactly.
type Override struct {
	// Latency, when not nil, replaces the latency (or delay) of every
	// response of the affected stubs.
	Latency *stub.Latency `json:"latency,omitempty"`
	// Faults, when not empty, replace the faults of every response of the
	// affected stubs.
	Faults stub.Faults `json:"faults,omitempty"`
	// Stubs names the affected stubs; empty means all of them, including
	// stubs added while the override is in place.
	Stubs []string `json:"stubs,omitempty"`
	// TTL, when positive, removes the override that long after it is set.
	TTL stub.Duration `json:"ttl,omitempty"`
}

// OverrideState is the override in place and when it ends.
type OverrideState struct {
	Override
	// Set is when the override was installed.
	Set time.Time `json:"set"`
	// Expires is when the TTL removes it; zero without a TTL.
	Expires time.Time `json:"expires,omitzero"`
}

// compiledOverride is an Override compiled once, applied to each snapshot
// the store builds while it is in place.
type compiledOverride struct {
	spec    Override
	latency *behave.Sampler
	faults  *behave.FaultSet
	only    map[string]bool // nil: every stub
}

// compileOverride checks o against the profiles and the stubs in cur.
// Errors name the field of o ("latency.fixed", "faults[0].kind", "stubs[1]").
func compileOverride(o Override, c *compiled, cur []Source) (*compiledOverride, Errors) {
	var errs Errors
	add := func(prefix string, fe []stub.FieldError) {
		for _, e := range fe {
			errs = append(errs, Error{Index: -1, Origin: "override", FieldError: stub.FieldError{Field: stub.Join(prefix, e.Field), Msg: e.Msg}})
		}
	}
	co := &compiledOverride{spec: o}
	if o.Latency == nil && len(o.Faults) == 0 {
		add("latency", []stub.FieldError{{Msg: "give latency, faults, or both"}})
	}
	if o.Latency != nil {
		s, fe := behave.CompileLatency(*o.Latency, c.opts.Profiles)
		add("latency", fe)
		co.latency = s
	}
	fs, fe := behave.CompileFaults(o.Faults)
	add("faults", fe)
	co.faults = fs
	if o.TTL < 0 {
		add("ttl", []stub.FieldError{{Msg: "must not be negative (0 or absent: until removed)"}})
	}
	if len(o.Stubs) > 0 {
		co.only = make(map[string]bool, len(o.Stubs))
		for i, id := range o.Stubs {
			if indexOf(cur, id) < 0 {
				add(fmt.Sprintf("stubs[%d]", i), []stub.FieldError{{Msg: fmt.Sprintf("no stub with id %q", id)}})
			}
			co.only[id] = true
		}
	}
	return co, errs
}

// apply returns the stubs of built with the override laid over the
// affected ones: copies with copied responses whose Behaviour carries the
// override. built is not changed; untouched stubs are returned as they are.
func (co *compiledOverride) apply(built []*Stub) []*Stub {
	out := make([]*Stub, len(built))
	for i, s := range built {
		if co.only != nil && !co.only[s.ID] {
			out[i] = s
			continue
		}
		c := *s
		c.responses = make([]*Response, len(s.responses))
		for j, r := range s.responses {
			rc := *r
			b := &Behaviour{}
			if r.Behave != nil {
				*b = *r.Behave
			}
			if co.latency != nil {
				b.Latency = co.latency
				if d, ok := b.Latency.Fixed(); ok && d == 0 {
					b.Latency = nil
				}
			}
			if co.faults != nil {
				b.Faults = co.faults
			}
			if b.Spread && b.Pacer != nil {
				b.Spread = false
			}
			if *b == (Behaviour{}) {
				b = nil
			}
			rc.Behave = b
			c.responses[j] = &rc
			if b != nil && (b.Random() || b.Latency != nil) {
				c.counted = true
			}
		}
		c.setImmediate()
		out[i] = &c
	}
	return out
}
