package openapi

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// A $ref that does not resolve makes the operations that depend on it
// unsound: decoy cannot generate their bodies, check their parameters or
// read their responses. When libopenapi reports such refs (and only then:
// the walk costs a pass over what each operation refers to), each
// operation's refs are followed before it is built (see danglingRefs):
// one with a dangling ref is not built, and
//
//   - with Options.Lenient it is left out with a note naming each of its
//     dangling refs (see settleRefs), and the others are served;
//   - without it, the dangling refs are problems, and the operations whose
//     refs resolve are still built, so that the load reports their
//     problems too (a path parameter not in the template, ...) instead of
//     only the refs.

// danglingMsgs are libopenapi's wordings of a $ref it cannot follow, other
// than "component `X` does not exist" (which comes with the ref; see
// toProblems), each with the ref as written; danglingAny is any other.
var (
	danglingMsgs = []*regexp.Regexp{
		regexp.MustCompile("cannot resolve reference `([^`]*)`"),
		regexp.MustCompile(`cannot find reference:? '?([^'\s,]+)'?`),
		regexp.MustCompile(`reference '([^']*)' cannot be found`),
		regexp.MustCompile(`reference cannot be found: '?([^'\s,]+)'?`),
	}
	danglingAny = regexp.MustCompile(`unable to locate reference`)
)

// danglingRef returns the $ref, as written ("" when the message does not
// say), that the problem p of the document (from checkDocument) is
// about, and whether it is about a $ref that does not resolve.
func danglingRef(p Problem) (string, bool) {
	if p.ref != "" {
		return p.ref, true
	}
	for _, re := range danglingMsgs {
		if m := re.FindStringSubmatch(p.Msg); m != nil {
			return m[1], true
		}
	}
	return "", danglingAny.MatchString(p.Msg)
}

// refIndex is what the builders of a document whose refs dangle share
// (see danglingRefs).
type refIndex struct {
	// doc are the document's problems that are dangling refs, as
	// checkDocument reports them.
	doc Problems
	// clean holds the targets ("file#pointer") whose refs all resolve,
	// however deep: an operation's walk stops at them.
	clean sync.Map
}

// dangling is a $ref that does not resolve: in the file abs, held by the
// object at ptr (ptr's line is placed by settleRefs).
type dangling struct {
	abs, ptr, ref string
	err           error
	line          int
}

// leftOut is an operation (or path item) not built because of its
// dangling refs.
type leftOut struct {
	what string // "GET /pets", or the path for a path item
	refs []dangling
}

// literal are the keywords whose values are data, not objects of the
// document: a "$ref" in them is not a reference. callbacks and links are
// requests and links decoy does not serve.
var literal = map[string]bool{"example": true, "enum": true, "const": true, "default": true, "value": true,
	"callbacks": true, "links": true}

// nameMaps are the keywords whose values map names to objects
// (properties by name, responses by code, media types, ...): their keys
// are names, not keywords.
var nameMaps = map[string]bool{"properties": true, "patternProperties": true, "definitions": true, "$defs": true,
	"dependentSchemas": true, "responses": true, "content": true, "headers": true, "encoding": true,
	"schemas": true, "parameters": true, "requestBodies": true, "examples": true}

// refWalk follows the $refs an operation depends on.
type refWalk struct {
	f     *files
	clean *sync.Map
	seen  map[string]bool // targets entered
	out   []dangling
}

// danglingRefs lists the $refs that do not resolve among those the
// operation op (at ptr in file) and its path item's parameters depend on,
// however indirectly; nil when there is none or no ref of the document
// dangles.
func (b *builder) danglingRefs(op map[string]any, ptr, file string) []dangling {
	if b.refs == nil {
		return nil
	}
	w := &refWalk{f: b.f, clean: &b.refs.clean, seen: map[string]bool{}}
	for i, v := range b.itemParams {
		w.value(v, b.itemFile, b.itemPtr+"/parameters/"+strconv.Itoa(i), false)
	}
	w.value(op, file, ptr, false)
	return w.done()
}

// danglingItem is danglingRefs for a path item that does not resolve
// (raw, at ptr in the root document).
func (b *builder) danglingItem(raw any, ptr string) []dangling {
	if b.refs == nil {
		return nil
	}
	w := &refWalk{f: b.f, clean: &b.refs.clean, seen: map[string]bool{}}
	w.value(raw, b.file, ptr, false)
	return w.done()
}

// done returns what the walk found, in order of file and pointer. When it
// found nothing, every target it entered is clean.
func (w *refWalk) done() []dangling {
	if len(w.out) == 0 {
		for k := range w.seen {
			w.clean.Store(k, true)
		}
		return nil
	}
	slices.SortFunc(w.out, func(a, b dangling) int {
		return cmp.Or(cmp.Compare(a.abs, b.abs), cmp.Compare(a.ptr, b.ptr), cmp.Compare(a.ref, b.ref))
	})
	return slices.CompactFunc(w.out, func(a, b dangling) bool { return a.abs == b.abs && a.ptr == b.ptr && a.ref == b.ref })
}

// value walks v, at ptr in file (names: v maps names to objects).
func (w *refWalk) value(v any, file, ptr string, names bool) {
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			w.value(e, file, ptr+"/"+strconv.Itoa(i), false)
		}
	case map[string]any:
		if names {
			for k, e := range x {
				w.value(e, file, ptr+"/"+escape(k), false)
			}
			return
		}
		if ref, ok := x["$ref"].(string); ok {
			w.ref(ref, file, ptr)
		}
		for k, e := range x {
			switch {
			case k == "$ref" || literal[k] || strings.HasPrefix(k, "x-"):
			case k == "examples":
				// Named examples (3.x) are objects; a schema's examples
				// (3.1) are data.
				if _, ok := e.(map[string]any); ok {
					w.value(e, file, ptr+"/"+k, true)
				}
			default:
				w.value(e, file, ptr+"/"+escape(k), nameMaps[k])
			}
		}
	}
}

// ref follows the $ref held by the object at ptr in file.
func (w *refWalk) ref(ref, file, ptr string) {
	target, tfile, err := w.f.resolve(file, ref)
	if err != nil {
		w.out = append(w.out, dangling{abs: file, ptr: ptr, ref: ref, err: err})
		return
	}
	name, frag, _ := strings.Cut(ref, "#")
	if isURI(name) {
		// The $id of a schema of the document (3.1): the refs inside it
		// are read against that $id, which decoy's files do not follow,
		// so they are not judged here (libopenapi's report of one that
		// dangles stays a problem of the document).
		return
	}
	if u, err := unescapePointer(frag); err == nil {
		frag = u
	}
	key := tfile + "#" + frag
	if w.seen[key] {
		return
	}
	if _, ok := w.clean.Load(key); ok {
		return
	}
	w.seen[key] = true
	w.value(target, tfile, frag, false)
}

// unescapePointer is a JSON pointer as a $ref's fragment may write it
// (URL-escaped), read as pointer reads it.
func unescapePointer(frag string) (string, error) {
	if frag == "/" {
		return "", nil
	}
	return url.PathUnescape(frag)
}

// message words a dangling ref: the file it names is missing, or is not
// valid YAML or JSON (named as the document name, at root, names it), or
// the pointer is not in it, or it is remote.
func (d dangling) message(name, root string) string {
	file, _, _ := strings.Cut(d.ref, "#")
	msg := d.err.Error()
	var pe *parseError
	switch {
	case errors.As(d.err, &pe):
		msg = unparsed(pe, displayName(name, root, pe.path))
	case errors.Is(d.err, fs.ErrNotExist):
		msg = fmt.Sprintf("$ref %q: %s: no such file", d.ref, file)
	case file != "" && !isURI(file) && strings.HasSuffix(msg, "does not exist"):
		msg += " in " + file
	}
	return msg
}

// problem is d as a problem of the document named name (abs is its
// absolute path), its file named as the root is.
func (d dangling) problem(name, abs string) Problem {
	p := Problem{File: name, Line: d.line, Pointer: d.ptr, Msg: d.message(name, abs), ref: d.ref}
	var pe *parseError
	if errors.As(d.err, &pe) {
		p.unparsed = pe.path
	}
	if d.abs != abs {
		p.File = displayName(name, abs, d.abs)
	}
	return p
}

// displayName names the file abs, which the document name (at root)
// refers to, as name is named: relative to where decoy runs, if it is.
func displayName(name, root, abs string) string {
	if rel, err := filepath.Rel(filepath.Dir(root), abs); err == nil {
		return filepath.Join(filepath.Dir(name), rel)
	}
	return abs
}

// covers reports whether p, a problem checkDocument reported, is about
// the dangling ref d (named file): the same ref, at the same line, and the
// same object when p names one. (libopenapi names a ref in another file
// with the line in that file and the root's name.)
func (p Problem) covers(d dangling, file string) bool {
	ref, _ := danglingRef(p)
	return ref != "" && ref == d.ref && p.Line == d.line && (p.Pointer == "" || p.Pointer == d.ptr && p.File == file)
}

// repeats marks the problems of doc that repeat one before them, or word
// again, without its object, a ref another one names with it (libopenapi
// reports some refs two or three times).
func repeats(doc Problems) []bool {
	named := map[string]bool{} // ref and line of the ones with their object
	for _, p := range doc {
		if p.ref != "" && p.Pointer != "" {
			named[p.ref+"\x00"+strconv.Itoa(p.Line)] = true
		}
	}
	out := make([]bool, len(doc))
	seen := map[string]bool{}
	for i, p := range doc {
		ref, _ := danglingRef(p)
		s := p.Error()
		out[i] = seen[s] || p.ref == "" && named[ref+"\x00"+strconv.Itoa(p.Line)]
		seen[s] = true
	}
	return out
}

// settleRefs, after the path items are built, places the dangling refs of
// the operations left out at their lines, and then with Options.Lenient
// notes each operation left out and each dangling ref no operation
// depends on; without it, they are the first of the load's problems. A ref
// is worded as checkDocument words it when it reported it with its
// object (see refProblems), else as decoy's walk found it.
func (b *builder) settleRefs() {
	if b.refs == nil {
		return
	}
	b.placeRefs()
	doc := b.refs.doc
	attributed := make([]bool, len(doc))
	var refProbs Problems
	// What needs each of refProbs, by its key: its text, or the file for
	// the refs to a file that is not valid YAML or JSON, which are one
	// problem (the file's), whichever refs name it.
	users := map[string][]string{}
	key := func(p Problem) string {
		if p.unparsed != "" {
			return "\x00" + p.unparsed
		}
		return p.Error()
	}
	places := map[string][]Problem{} // the refs to each unparsed file, by key
	for _, lo := range b.left {
		for _, d := range lo.refs {
			file := b.name
			if d.abs != b.file {
				file = displayName(b.name, b.file, d.abs)
			}
			p := d.problem(b.name, b.file)
			worded := false
			for i, dp := range doc {
				if !dp.covers(d, file) {
					continue
				}
				attributed[i] = true
				if !worded && dp.Pointer != "" {
					p, worded = dp, true
				}
			}
			if b.o.Lenient {
				b.note("lenient: %s is not served: %v", lo.what, p)
				continue
			}
			k := key(p)
			if p.unparsed != "" {
				places[k] = append(places[k], p)
			}
			if !slices.Contains(users[k], lo.what) {
				if users[k] == nil {
					refProbs = append(refProbs, p)
				}
				users[k] = append(users[k], lo.what)
			}
		}
	}
	for i, p := range refProbs {
		k := key(p)
		who := users[k]
		if len(who) > 5 {
			who = append(who[:5:5], "...")
		}
		if p.unparsed == "" {
			refProbs[i].Msg += fmt.Sprintf(" (needed by %s; fix the $ref, or serve with --lenient, which leaves out what needs it)", strings.Join(who, ", "))
			continue
		}
		// One problem for the file, at its first $ref.
		var at string
		refProbs[i], at = unparsedAt(places[k])
		refProbs[i].Msg += fmt.Sprintf(" (%sneeded by %s; fix the file, or serve with --lenient, which leaves out what needs it)", at, strings.Join(who, ", "))
	}
	again := repeats(doc)
	reported := map[string]bool{}
	for k := range users {
		reported[k] = true
	}
	for i, p := range doc {
		switch {
		case attributed[i] || again[i]:
		case b.o.Lenient:
			b.note("lenient: loading on despite a problem of the document: %v", p)
		case p.unparsed != "" && reported[key(p)]:
			// The file's problem is listed once, above.
		default:
			reported[key(p)] = true
			refProbs = append(refProbs, p)
		}
	}
	if b.o.Lenient {
		return
	}
	// A file that is not valid YAML or JSON first: it is the cause of
	// the refs that name it.
	rank := func(p Problem) int {
		if p.unparsed != "" {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(refProbs, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	b.probs = append(refProbs, b.probs...)
}

// unparsedAt is the one problem of the refs ps to a file that is not
// valid YAML or JSON: the first of them, in file and line order; at names
// the places of them all when there are several ("spec.yaml:12,
// spec.yaml:19; ").
func unparsedAt(ps []Problem) (p Problem, at string) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	var l []string
	for _, p := range ps {
		if s := fmt.Sprintf("%s:%d", p.File, p.Line); !slices.Contains(l, s) {
			l = append(l, s)
		}
	}
	if len(l) > 1 {
		at = "its $refs: " + strings.Join(l, ", ") + "; "
	}
	return ps[0], at
}

// placeRefs finds the line of each dangling ref of the operations left
// out: the line of its $ref in its file.
func (b *builder) placeRefs() {
	byFile := map[string][]string{}
	for _, lo := range b.left {
		for _, d := range lo.refs {
			byFile[d.abs] = append(byFile[d.abs], d.ptr+"/$ref")
		}
	}
	lines := map[string]map[string]int{}
	for abs, ptrs := range byFile {
		data, ok := b.f.pre[abs]
		if !ok {
			var err error
			if data, err = os.ReadFile(abs); err != nil {
				continue
			}
		}
		lines[abs] = PointerLines(data, ptrs)
	}
	for i := range b.left {
		for j := range b.left[i].refs {
			d := &b.left[i].refs[j]
			d.line = lines[d.abs][d.ptr+"/$ref"]
		}
	}
}
