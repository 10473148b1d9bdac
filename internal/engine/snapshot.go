package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/decoy-dev/decoy/internal/stub"
)

// Snapshot is an immutable, compiled set of stubs. Matching reads it without
// locks; a change builds a new one.
type Snapshot struct {
	stubs []*Stub // in rank order
	byID  map[string]*Stub
	exact map[string][]*Stub // by path, in rank order
	tmpl  *node              // template paths, as a segment trie
	scan  []*Stub            // regex, prefix and any-path stubs, in rank order
	// uploads is set when some stub discards uploads.
	uploads bool
}

type node struct {
	static map[string]*node
	param  *node
	here   []*Stub // templates that end at this node
	rest   []*Stub // templates whose {name*} starts here
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
		exact: make(map[string][]*Stub),
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
		if x.s.pathKind != y.s.pathKind {
			return x.s.pathKind < y.s.pathKind
		}
		return x.index < y.index
	})
	for rank, o := range all {
		s := o.s
		s.rank = rank
		snap.stubs = append(snap.stubs, s)
		switch s.pathKind {
		case kindExact:
			snap.exact[s.path] = append(snap.exact[s.path], s)
		case kindTemplate:
			if snap.tmpl == nil {
				snap.tmpl = &node{}
			}
			snap.tmpl.insert(s)
		default:
			snap.scan = append(snap.scan, s)
		}
	}
	return snap, bySource, nil
}

func (n *node) insert(s *Stub) {
	cur := n
	for _, seg := range s.segments {
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
		cur.rest = append(cur.rest, s)
	} else {
		cur.here = append(cur.here, s)
	}
}

// walk finds the best stub under n for the path remainder p (without its
// leading slash); done means the path is used up.
func (n *node) walk(p string, done bool, r *Request, best *Stub) *Stub {
	if len(n.rest) > 0 && !done && p != "" {
		best = first(n.rest, r, best)
	}
	if done {
		return first(n.here, r, best)
	}
	seg, next, more := strings.Cut(p, "/")
	if c := n.static[seg]; c != nil {
		best = c.walk(next, !more, r, best)
	}
	if n.param != nil && seg != "" {
		best = n.param.walk(next, !more, r, best)
	}
	return best
}

// first returns the first stub of l (in rank order) that matches r and
// outranks best, or best.
func first(l []*Stub, r *Request, best *Stub) *Stub {
	for _, s := range l {
		if best != nil && s.rank >= best.rank {
			return best
		}
		if s.matchMethod(r.Method) && s.matchRest(r) {
			return s
		}
	}
	return best
}

// Match returns the stub that answers r, or nil.
func (s *Snapshot) Match(r *Request) *Stub {
	var best *Stub
	if l := s.exact[r.Path]; l != nil {
		best = first(l, r, nil)
	}
	if s.tmpl != nil && len(r.Path) > 0 && r.Path[0] == '/' {
		best = s.tmpl.walk(r.Path[1:], false, r, best)
	}
	for _, st := range s.scan {
		if best != nil && st.rank >= best.rank {
			break
		}
		if st.matchMethod(r.Method) && st.matchPath(r.Path) && st.matchRest(r) {
			return st
		}
	}
	return best
}

// Stubs returns the compiled stubs in rank order (the order in which they
// are tried).
func (s *Snapshot) Stubs() []*Stub { return s.stubs }

// Get returns the stub with the given ID.
func (s *Snapshot) Get(id string) *Stub { return s.byID[id] }

// Len is the number of stubs.
func (s *Snapshot) Len() int { return len(s.stubs) }
