package engine

import (
	"slices"

	"github.com/decoy-dev/decoy/internal/urlpath"
)

// mixedEdges are the ways out of a template node through a segment with
// text around parameters ("{id}.json", "{name}:complete"), one per shape
// (the segment without its parameters' names). They are found by the
// text after the last parameter: a request's segment looks up each of
// its suffixes of a length some shape ends with, so what a segment costs
// depends on how many lengths of closing text there are at this point,
// not on how many stubs or shapes.
type mixedEdges struct {
	byShape  map[string]*mixedEdge
	bySuffix map[string][]*mixedEdge // shapes ending in text, by that text
	lens     []int                   // the lengths of bySuffix's keys, ascending
	open     []*mixedEdge            // shapes ending in a parameter ("v{major}")
}

type mixedEdge struct {
	seg  *urlpath.Seg
	next *node
}

// insert returns the node that seg leads to, made if need be.
func (m *mixedEdges) insert(seg *urlpath.Seg) *node {
	shape := seg.Shape()
	if e := m.byShape[shape]; e != nil {
		return e.next
	}
	e := &mixedEdge{seg: seg, next: &node{}}
	m.byShape[shape] = e
	suf := seg.Suffix()
	if suf == "" {
		m.open = append(m.open, e)
		return e.next
	}
	if m.bySuffix == nil {
		m.bySuffix = map[string][]*mixedEdge{}
	}
	if _, ok := m.bySuffix[suf]; !ok {
		if i, found := slices.BinarySearch(m.lens, len(suf)); !found {
			m.lens = slices.Insert(m.lens, i, len(suf))
		}
	}
	m.bySuffix[suf] = append(m.bySuffix[suf], e)
	return e.next
}

// walk is node.walk through the edges that the request's segment seg
// matches; p, done and the rest are those of node.walk after seg.
func (m *mixedEdges) walk(seg, p string, done bool, r *Request, best *Stub) *Stub {
	for _, l := range m.lens {
		if l >= len(seg) {
			break // a parameter takes a character at least
		}
		for _, e := range m.bySuffix[seg[len(seg)-l:]] {
			if e.seg.Match(seg) {
				best = e.next.walk(p, done, r, best)
			}
		}
	}
	for _, e := range m.open {
		if e.seg.Match(seg) {
			best = e.next.walk(p, done, r, best)
		}
	}
	return best
}
