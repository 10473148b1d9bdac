package engine

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/decoy-dev/decoy/internal/stub"
)

// ErrNotFound is returned for a stub ID the store does not hold.
var ErrNotFound = errors.New("no stub with that id")

// Store owns the set of stub sources behind an Engine: the stubs loaded
// from files (the base) plus changes made at runtime. Every change compiles
// the whole new set first; an invalid change returns its errors and leaves
// the running snapshot untouched. Changes are serialized; readers of the
// engine never wait.
type Store struct {
	mu      sync.Mutex
	eng     *Engine
	base    []Source
	cur     []Source
	built   []*Stub // compiled cur, in the same order
	nextID  int
	version uint64
	opts    *compiled
	check   func([]Source) Errors

	// The runtime override laid over the stubs (nil: none), when it was
	// set, and the timer that removes it; gen tells a stale timer apart.
	override    *compiledOverride
	overrideSet time.Time
	expires     time.Time
	timer       *time.Timer
	gen         uint64
}

// SetCheck adds a check every change must pass besides compiling, such as
// the gRPC front door's check of response messages against .proto files.
func (st *Store) SetCheck(f func([]Source) Errors) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.check = f
}

// NewStore compiles base with opts and returns a store serving it; every
// later change is compiled with the same options.
func NewStore(base []Source, opts ...Option) (*Store, error) {
	c, errs := compileOptions(options(opts))
	if errs != nil {
		return nil, errs
	}
	snap, built, errs := build(base, nil, c)
	if errs != nil {
		return nil, errs
	}
	return &Store{eng: New(snap), base: clone(base), cur: clone(base), built: built, version: 1, opts: c}, nil
}

// Engine returns the engine the store feeds.
func (st *Store) Engine() *Engine { return st.eng }

// Version counts the snapshots the store has installed, starting at 1.
func (st *Store) Version() uint64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.version
}

// List returns the current sources, in load order.
func (st *Store) List() []Source {
	st.mu.Lock()
	defer st.mu.Unlock()
	return clone(st.cur)
}

// Get returns the source of the stub with the given ID.
func (st *Store) Get(id string) (Source, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	i := indexOf(st.cur, id)
	if i < 0 {
		return Source{}, false
	}
	return st.cur[i], true
}

// Create adds a stub. An empty ID is given one ("api-1", ...). It returns
// the stub as stored. A stub refused uses up no ID: the IDs given depend
// only on the changes accepted, so that stores given the same accepted
// changes (the workers of --workers N, which see refused ones on one
// worker only) give the same IDs.
func (st *Store) Create(s stub.Stub, origin string) (Source, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	next := st.nextID
	if s.ID == "" {
		for {
			next++
			s.ID = "api-" + strconv.Itoa(next)
			if indexOf(st.cur, s.ID) < 0 {
				break
			}
		}
	} else if i := indexOf(st.cur, s.ID); i >= 0 {
		return Source{}, Errors{{Index: len(st.cur), Origin: origin, FieldError: stub.FieldError{Field: "id",
			Msg: fmt.Sprintf("%q is already used by the stub at %s: give another id, or replace that stub (PUT on the admin API, Remove then Add in Go)", s.ID, st.cur[i].Origin)}}}
	}
	src := Source{Stub: s, Origin: origin}
	if err := st.install(append(clone(st.cur), src), append(clonePre(st.built), nil)); err != nil {
		return Source{}, err
	}
	st.nextID = next
	return src, nil
}

// Replace swaps the stub with the given ID for s (which keeps that ID).
func (st *Store) Replace(id string, s stub.Stub, origin string) (Source, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	i := indexOf(st.cur, id)
	if i < 0 {
		return Source{}, ErrNotFound
	}
	if s.ID != "" && s.ID != id {
		return Source{}, Errors{{Index: i, Origin: origin, FieldError: stub.FieldError{Field: "id",
			Msg: fmt.Sprintf("%q differs from the id in the path, %q", s.ID, id)}}}
	}
	s.ID = id
	src := Source{Stub: s, Origin: origin, Dir: st.cur[i].Dir}
	next := clone(st.cur)
	next[i] = src
	pre := clonePre(st.built)
	pre[i] = nil
	if err := st.install(next, pre); err != nil {
		return Source{}, err
	}
	return src, nil
}

// Delete removes the stub with the given ID.
func (st *Store) Delete(id string) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	i := indexOf(st.cur, id)
	if i < 0 {
		return ErrNotFound
	}
	next := append(clone(st.cur[:i]), st.cur[i+1:]...)
	pre := append(clonePre(st.built[:i]), st.built[i+1:]...)
	return st.install(next, pre)
}

// Reset returns to the base stubs and restarts every response sequence.
func (st *Store) Reset() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.install(clone(st.base), nil)
}

// SetBase replaces the base stubs (a reload from files) and serves them,
// dropping runtime changes. On error nothing changes.
func (st *Store) SetBase(base []Source) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := st.install(clone(base), nil); err != nil {
		return err
	}
	st.base = clone(base)
	return nil
}

// install compiles next and swaps it in. Stubs with a compiled form in pre
// are reused as they are, response sequence included: only what changed is
// compiled (bodies read, generated) again.
func (st *Store) install(next []Source, pre []*Stub) error {
	snap, built, errs := build(next, pre, st.opts)
	if errs != nil {
		return errs
	}
	if st.check != nil {
		if errs := st.check(next); errs != nil {
			return errs
		}
	}
	if st.override != nil {
		// The override is laid over copies: built stays as compiled, so
		// removing the override restores it exactly.
		snap, _, _ = build(next, st.override.apply(built), st.opts)
	}
	st.cur, st.built = next, built
	st.eng.Swap(snap)
	st.version++
	return nil
}

// SetOverride lays o over the stubs (replacing any override in place) and
// serves the result. o is checked first: on error nothing changes. With a
// TTL, the override removes itself after that long.
func (st *Store) SetOverride(o Override) (OverrideState, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	co, errs := compileOverride(o, st.opts, st.cur)
	if errs != nil {
		return OverrideState{}, errs
	}
	old := st.override
	st.override = co
	if err := st.install(st.cur, st.built); err != nil {
		st.override = old
		return OverrideState{}, err
	}
	st.gen++
	if st.timer != nil {
		st.timer.Stop()
		st.timer = nil
	}
	st.overrideSet, st.expires = time.Now(), time.Time{}
	if ttl := time.Duration(o.TTL); ttl > 0 {
		st.expires = st.overrideSet.Add(ttl)
		gen := st.gen
		st.timer = time.AfterFunc(ttl, func() { st.expire(gen) })
	}
	return st.overrideState(), nil
}

// Override returns the override in place; ok is false when there is none.
func (st *Store) Override() (state OverrideState, ok bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.override == nil {
		return OverrideState{}, false
	}
	return st.overrideState(), true
}

func (st *Store) overrideState() OverrideState {
	return OverrideState{Override: st.override.spec, Set: st.overrideSet, Expires: st.expires}
}

// ClearOverride removes the override in place, restoring the stubs' own
// behaviour. It reports whether there was one.
func (st *Store) ClearOverride() (bool, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.clearOverride()
}

func (st *Store) clearOverride() (bool, error) {
	if st.override == nil {
		return false, nil
	}
	old := st.override
	st.override = nil
	if err := st.install(st.cur, st.built); err != nil {
		st.override = old
		return false, err
	}
	st.gen++
	if st.timer != nil {
		st.timer.Stop()
		st.timer = nil
	}
	st.overrideSet, st.expires = time.Time{}, time.Time{}
	return true, nil
}

// expire removes the override set as generation gen, unless another has
// replaced it since.
func (st *Store) expire(gen uint64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.gen == gen {
		st.timer = nil
		_, _ = st.clearOverride()
	}
}

func indexOf(l []Source, id string) int {
	for i := range l {
		if l[i].Stub.ID == id {
			return i
		}
	}
	return -1
}

func clone(l []Source) []Source { return append([]Source(nil), l...) }

func clonePre(l []*Stub) []*Stub { return append([]*Stub(nil), l...) }
