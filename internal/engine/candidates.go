package engine

import "strings"

// indexAt is how many stubs of one list must ask for an exact value of the
// same request field before the list indexes that field: below it, trying
// them in turn costs no more than the lookup.
const indexAt = 4

// candidates is a list of stubs tried in rank order for one path (an exact
// path, a template's end, or the stubs every path is tried against).
// Where indexAt or more of them ask for an exact value of the same header,
// query parameter or cookie, the list indexes that field: a request then
// tries only the stubs that ask for its value and those that ask for no
// exact value of it, so 100 stubs on one path told apart by a header cost
// about what one does.
type candidates struct {
	all []*Stub
	ix  *fieldIndex
}

// fieldIndex splits a list's stubs by the value they demand of one field.
type fieldIndex struct {
	field   field
	lookup  string             // the field's name as the first stub wrote it, to read it by
	byValue map[string][]*Stub // the stubs demanding each value, in rank order
	others  []*Stub            // the stubs demanding no exact value of it, in rank order
}

// field names one header (name lower-cased), query parameter or cookie.
type field struct {
	kind int
	name string
}

const (
	fieldHeader = iota
	fieldQuery
	fieldCookie
	fieldParam // a query parameter or form field (a stub's queryOrForm)
)

// value is the request's value of the indexed field, as matchRest reads it.
func (ix *fieldIndex) value(r *Request) (string, bool) {
	switch ix.field.kind {
	case fieldHeader:
		return r.Fields.Header(ix.lookup)
	case fieldQuery:
		return r.Fields.Query(ix.lookup)
	case fieldParam:
		return r.param(ix.lookup)
	}
	return r.Fields.Cookie(ix.lookup)
}

// fieldOf names the field kind/name; header names are case-insensitive.
func fieldOf(kind int, name string) field {
	if kind == fieldHeader {
		name = strings.ToLower(name)
	}
	return field{kind, name}
}

// conditions returns s's conditions on fields of the kind.
func (s *Stub) conditions(kind int) []named {
	switch kind {
	case fieldHeader:
		return s.headers
	case fieldQuery:
		if s.queryOrForm {
			return nil
		}
		return s.query
	case fieldParam:
		if s.queryOrForm {
			return s.query
		}
		return nil
	}
	return s.cookies
}

// exactValue returns the value s demands of f, if it demands exactly one,
// and the field's name as s wrote it.
func (s *Stub) exactValue(f field) (value, name string, ok bool) {
	for _, n := range s.conditions(f.kind) {
		if fieldOf(f.kind, n.name) != f {
			continue
		}
		if v, ok := n.m.Exact(); ok {
			return v, n.name, true
		}
	}
	return "", "", false
}

// index builds c.ix when a field is worth it: the one most of c's stubs
// demand an exact value of.
func (c *candidates) index() {
	c.ix = nil
	if len(c.all) < indexAt {
		return
	}
	count := make(map[field]int)
	for _, s := range c.all {
		// A stub counts once per field, however its names are spelt.
		seen := make(map[field]bool)
		for kind := fieldHeader; kind <= fieldParam; kind++ {
			for _, n := range s.conditions(kind) {
				f := fieldOf(kind, n.name)
				if _, ok := n.m.Exact(); ok && !seen[f] {
					seen[f] = true
					count[f]++
				}
			}
		}
	}
	var best field
	most := 0
	for f, n := range count {
		// Ties go to the smaller field, so that the same stubs always
		// build the same index.
		if n > most || n == most && (f.kind < best.kind || f.kind == best.kind && f.name < best.name) {
			best, most = f, n
		}
	}
	if most < indexAt {
		return
	}
	ix := &fieldIndex{field: best, byValue: make(map[string][]*Stub)}
	for _, s := range c.all {
		if v, name, ok := s.exactValue(best); ok {
			if ix.lookup == "" {
				ix.lookup = name
			}
			ix.byValue[v] = append(ix.byValue[v], s)
		} else {
			ix.others = append(ix.others, s)
		}
	}
	c.ix = ix
}

// first returns the first stub of c (in rank order) that matches r and
// outranks best, or best. With path, the stubs' paths are checked too.
func (c *candidates) first(r *Request, best *Stub, path bool) *Stub {
	if c.ix != nil {
		return c.indexed(r, best, path)
	}
	// matches, by hand (it is too large to inline): this is every static
	// stub's path.
	for _, s := range c.all {
		if best != nil && s.rank >= best.rank {
			return best
		}
		if s.matchMethod(r.Method) && (!path || s.matchPath(r.Path)) && s.matchRest(r) {
			return s
		}
	}
	return best
}

// indexed is first with the index: the stubs demanding the request's value
// merged in rank order with those demanding no value.
func (c *candidates) indexed(r *Request, best *Stub, path bool) *Stub {
	a := c.ix.others
	var b []*Stub
	if v, ok := c.ix.value(r); ok {
		b = c.ix.byValue[v]
	}
	for len(a) > 0 || len(b) > 0 {
		var s *Stub
		if len(b) == 0 || len(a) > 0 && a[0].rank < b[0].rank {
			s, a = a[0], a[1:]
		} else {
			s, b = b[0], b[1:]
		}
		if best != nil && s.rank >= best.rank {
			return best
		}
		if s.matches(r, path) {
			return s
		}
	}
	return best
}

// matches reports whether s answers r, its path checked only with path.
func (s *Stub) matches(r *Request, path bool) bool {
	return s.matchMethod(r.Method) && (!path || s.matchPath(r.Path)) && s.matchRest(r)
}
