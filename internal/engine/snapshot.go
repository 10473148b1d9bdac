package engine

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/stub"
)

// Snapshot is an immutable, compiled set of stubs. Matching reads it without
// locks; a change builds a new one.
type Snapshot struct {
	stubs []*Stub // in rank order
	byID  map[string]*Stub
	exact map[string]*candidates // by path
	tmpl  *node                  // template paths, as a segment trie
	scan  candidates             // regex, prefix and any-path stubs
	// uploads is set when some stub discards uploads.
	uploads bool
	// latency is the global latency (nil: none) and key the key its
	// samples draw on, for answers no stub gives (see Latency).
	latency *behave.Sampler
	key     behave.Key
	// cors is the CORS policy (nil: off); options are the stubs with an
	// explicit method OPTIONS, in rank order, and preflightStub answers
	// the preflights none of them does.
	cors          *corsPolicy
	options       []*Stub
	preflightStub *Stub
}

type node struct {
	static map[string]*node
	param  *node
	mixed  *mixedEdges // segments with text around parameters
	here   candidates  // templates that end at this node
	rest   candidates  // templates whose {name*} starts here
}

// Error is a problem with one of the sources given to Compile.
type Error struct {
	Index  int    // position in the sources
	Origin string // the source's origin
	stub.FieldError
}

func (e Error) Error() string {
	if e.Origin != "" {
		return e.Origin + ": " + e.FieldError.Error()
	}
	return fmt.Sprintf("stubs[%d]: %s", e.Index, e.FieldError.Error())
}

// Errors lists every problem found while compiling.
type Errors []Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Compile builds a snapshot from srcs. Every stub needs a unique ID. It
// reports every problem it finds, not just the first; with any error the
// snapshot is nil.
func Compile(srcs []Source, opts ...Option) (*Snapshot, Errors) {
	c, errs := compileOptions(options(opts))
	if errs != nil {
		return nil, errs
	}
	snap, _, errs := build(srcs, nil, c)
	return snap, errs
}

// build compiles srcs into a snapshot; where pre[i] is not nil, that stub
// is reused (copied, so the old snapshot stays untouched) instead of
// compiled again. It also returns the compiled stubs in source order.
func build(srcs []Source, pre []*Stub, c *compiled) (*Snapshot, []*Stub, Errors) {
	var errs Errors
	snap := &Snapshot{
		byID:  make(map[string]*Stub, len(srcs)),
		exact: make(map[string]*candidates),
	}
	if c != nil {
		snap.latency, snap.key = c.latency, behave.NewKey(c.seed, "")
		if c.cors != nil {
			snap.cors = c.cors
			snap.preflightStub = newPreflightStub(snap, c.cors, c.preflights)
		}
	}
	type ordered struct {
		s        *Stub
		priority int
		index    int
	}
	all := make([]ordered, 0, len(srcs))
	bySource := make([]*Stub, len(srcs))
	for i, src := range srcs {
		var s *Stub
		if i < len(pre) && pre[i] != nil {
			c := *pre[i]
			s = &c
		} else {
			var fe []stub.FieldError
			s, fe = compileStub(src, c)
			for _, e := range fe {
				errs = append(errs, Error{Index: i, Origin: src.Origin, FieldError: e})
			}
		}
		bySource[i] = s
		if s.upload != nil {
			snap.uploads = true
		}
		switch {
		case s.ID == "":
			errs = append(errs, Error{Index: i, Origin: src.Origin, FieldError: stub.FieldError{Field: "id", Msg: "missing"}})
		case snap.byID[s.ID] != nil:
			errs = append(errs, Error{Index: i, Origin: src.Origin, FieldError: stub.FieldError{Field: "id",
				Msg: fmt.Sprintf("%q is already used by the stub at %s", s.ID, snap.byID[s.ID].Origin)}})
		default:
			snap.byID[s.ID] = s
		}
		p := src.Stub.Priority
		if p == 0 {
			p = stub.DefaultPriority
		}
		all = append(all, ordered{s, p, i})
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	sort.SliceStable(all, func(a, b int) bool {
		x, y := all[a], all[b]
		if x.priority != y.priority {
			return x.priority < y.priority
		}
		if gx, gy := x.s.pathGroup(), y.s.pathGroup(); gx != gy {
			return gx < gy
		}
		// Among paths: segment by segment from the left, text before
		// text around a parameter ({id}.json) before a parameter before
		// {name*} (see shape).
		if c := bytes.Compare(x.s.shape, y.s.shape); c != 0 {
			return c < 0
		}
		if hx, hy := x.s.method == "HEAD", y.s.method == "HEAD"; hx != hy {
			// A HEAD stub answers HEAD only: before a GET stub (which
			// answers HEAD too) it changes no other request's answer.
			return hx
		}
		return x.index < y.index
	})
	for rank, o := range all {
		s := o.s
		s.rank = rank
		snap.stubs = append(snap.stubs, s)
		if snap.cors != nil && s.method == "OPTIONS" && !s.anyMethod {
			snap.options = append(snap.options, s)
		}
		switch s.pathKind {
		case kindExact:
			c := snap.exact[s.path]
			if c == nil {
				c = &candidates{}
				snap.exact[s.path] = c
			}
			c.all = append(c.all, s)
		case kindTemplate:
			if snap.tmpl == nil {
				snap.tmpl = &node{}
			}
			snap.tmpl.insert(s)
		default:
			snap.scan.all = append(snap.scan.all, s)
		}
	}
	for _, c := range snap.exact {
		c.index()
	}
	if snap.tmpl != nil {
		snap.tmpl.index()
	}
	snap.scan.index()
	return snap, bySource, nil
}

func (n *node) insert(s *Stub) {
	cur := n
	for i, seg := range s.segments {
		if s.mixed != nil && s.mixed[i] != nil {
			if cur.mixed == nil {
				cur.mixed = &mixedEdges{byShape: map[string]*mixedEdge{}}
			}
			cur = cur.mixed.insert(s.mixed[i])
			continue
		}
		if seg == "{" {
			if cur.param == nil {
				cur.param = &node{}
			}
			cur = cur.param
			continue
		}
		if cur.static == nil {
			cur.static = make(map[string]*node)
		}
		next := cur.static[seg]
		if next == nil {
			next = &node{}
			cur.static[seg] = next
		}
		cur = next
	}
	if s.restParam {
		cur.rest.all = append(cur.rest.all, s)
	} else {
		cur.here.all = append(cur.here.all, s)
	}
}

// index indexes the lists of n and the nodes under it.
func (n *node) index() {
	n.here.index()
	n.rest.index()
	for _, c := range n.static {
		c.index()
	}
	if n.param != nil {
		n.param.index()
	}
	if n.mixed != nil {
		for _, e := range n.mixed.byShape {
			e.next.index()
		}
	}
}

// walk finds the best stub under n for the path remainder p (without its
// leading slash); done means the path is used up.
func (n *node) walk(p string, done bool, r *Request, best *Stub) *Stub {
	if len(n.rest.all) > 0 && !done && p != "" {
		best = n.rest.first(r, best, false)
	}
	if done {
		return n.here.first(r, best, false)
	}
	seg, next, more := strings.Cut(p, "/")
	if c := n.static[seg]; c != nil {
		best = c.walk(next, !more, r, best)
	}
	if n.mixed != nil && seg != "" {
		best = n.mixed.walk(seg, next, !more, r, best)
	}
	if n.param != nil && seg != "" {
		best = n.param.walk(next, !more, r, best)
	}
	return best
}

// Match returns the stub that answers r, or nil.
func (s *Snapshot) Match(r *Request) *Stub {
	var best *Stub
	if c := s.exact[r.Path]; c != nil {
		best = c.first(r, nil, false)
	}
	if s.tmpl != nil && len(r.Path) > 0 && r.Path[0] == '/' {
		best = s.tmpl.walk(r.Path[1:], false, r, best)
	}
	if len(s.scan.all) > 0 {
		best = s.scan.first(r, best, true)
	}
	if s.cors != nil && r.Method == "OPTIONS" {
		return s.preflight(r, best)
	}
	return best
}

// Latency returns the global latency (nil: none) and the key to sample it
// with, for answers made without a stub: a gRPC call no stub matches still
// gets a generated message, and waits what a stub without a latency of its
// own would.
func (s *Snapshot) Latency() (*behave.Sampler, behave.Key) { return s.latency, s.key }

// Stubs returns the compiled stubs in rank order (the order in which they
// are tried).
func (s *Snapshot) Stubs() []*Stub { return s.stubs }

// Get returns the stub with the given ID.
func (s *Snapshot) Get(id string) *Stub { return s.byID[id] }

// Preflight returns the stub the CORS preflights decoy answers itself are
// counted under (its statistics last as long as the store), or nil when
// CORS is off.
func (s *Snapshot) Preflight() *Stub { return s.preflightStub }

// Len is the number of stubs.
func (s *Snapshot) Len() int { return len(s.stubs) }
