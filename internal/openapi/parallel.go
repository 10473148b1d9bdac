package openapi

import (
	"runtime"
	"strings"
	"sync"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/fake"
	"github.com/decoy-dev/decoy/internal/stub"
)

// pathItems builds the stubs of the path items named (keys of paths, in
// order). Generating and checking bodies is most of the cost of loading
// a large document, so the path items are built on every core, each by a
// builder of its own (see fork), and their results are joined in the
// document's order (see join): the outcome is the same, byte for byte,
// as building them one after another.
func (b *builder) pathItems(paths map[string]any, items []string) {
	workers := runtime.GOMAXPROCS(0)
	if b.o.workers > 0 {
		workers = b.o.workers
	}
	workers = min(workers, len(items))
	built := make([]*builder, len(items))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			memo := fake.NewMemo() // one per worker: a Memo is not shared
			for i := range next {
				sb := b.fork(i, memo)
				sb.safePathItem(items[i], paths[items[i]])
				built[i] = sb
			}
		})
	}
	for i := range items {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, sb := range built {
		b.join(sb)
	}
}

// safePathItem is pathItem, with a panic (a document no check foresaw)
// made a problem of the path item rather than the end of the process.
func (b *builder) safePathItem(p string, raw any) {
	defer func() {
		if r := recover(); r != nil {
			b.problem("/paths/"+escape(p), "decoy could not build this path item (%v); please report it with the document", r)
			b.leniently(p, "", len(b.probs)-1, 0)
		}
	}()
	b.pathItem(p, raw)
}

// pathItem builds the stubs of the operations of path p (item is its
// path item as written, maybe a $ref).
func (b *builder) pathItem(p string, raw any) {
	ptr := "/paths/" + escape(p)
	item, itemFile, err := b.f.deref(raw, b.file)
	if err != nil {
		if ds := b.danglingItem(raw, ptr); len(ds) > 0 {
			b.left = append(b.left, leftOut{what: p, refs: ds})
			return
		}
		b.problem(ptr, "%v", err)
		b.leniently(p, "", 0, len(b.res.Sources))
		return
	}
	// A template the engine cannot read ("/projects{.format}", RFC 6570
	// label expansion) would fail the whole document when the stubs
	// compile; found here, it is a problem of this path item only, which
	// Options.Lenient leaves out. So is a key whose request parts after
	// '#' or '?' decoy cannot read (see pathKey).
	unroutable := func(why string) {
		msg := "decoy cannot route this path: " + why
		if !b.o.Lenient {
			msg += ", or serve with --lenient to leave the path out"
		}
		b.problem(ptr, "%s", msg)
		b.leniently(p, "", len(b.probs)-1, len(b.res.Sources))
	}
	// A path item's servers replace the document's: its routes are under
	// the first one's path.
	b.itemBase = b.basePath
	if servers, ok := item["servers"].([]any); ok && len(servers) > 0 && !b.v2 {
		b.itemBase = tidyBase(serversPath(servers))
	}
	key, err := parsePathKey(p)
	if err != nil {
		unroutable(err.Error() + "; after the path, write name=value or name, joined by &")
		return
	}
	b.key = key
	b.keyHeaders, b.keyQuery, b.keySkipped = b.keyMatchers(key, item, itemFile)
	if _, errs := engine.CompileRequest(stub.Request{Path: b.route(key.path), Headers: b.keyHeaders, Query: b.keyQuery}); len(errs) > 0 {
		unroutable(errs[0].Error() + "; write each parameter as {name} (letters, digits, _ . -), with text around it if needed")
		return
	}
	if len(b.keySkipped) > 0 {
		b.note("%s#%s: %q names no parameter of the operations: not matched (requests cannot send it)", b.name, ptr, strings.Join(b.keySkipped, "&"))
	}
	if pm, ok := raw.(map[string]any); ok && pm["$ref"] != nil {
		ptr = refPointer(pm) // pointers are inside the file referred to
	}
	b.itemParams, _ = item["parameters"].([]any)
	b.itemPtr, b.itemFile = ptr, itemFile
	// An operation that depends on a $ref that does not resolve is not
	// built (see refs.go).
	var skip map[string]bool
	for _, m := range methods {
		if op, ok := item[m].(map[string]any); ok {
			if ds := b.danglingRefs(op, ptr+"/"+m, itemFile); len(ds) > 0 {
				if skip == nil {
					skip = map[string]bool{}
				}
				skip[m] = true
				b.left = append(b.left, leftOut{what: strings.ToUpper(m) + " " + p, refs: ds})
			}
		}
	}
	b.checkPathParams(key.path, ptr, itemFile, item, skip)
	var allow []string
	for _, m := range methods {
		op, ok := item[m].(map[string]any)
		if !ok || skip[m] {
			continue
		}
		np, ns := len(b.probs), len(b.res.Sources)
		b.operation(p, m, op, ptr+"/"+m, itemFile)
		if !b.leniently(p, m, np, ns) && b.opBase(op) == b.itemBase {
			// (One served under servers of its own is not at this path.)
			allow = append(allow, strings.ToUpper(m))
		}
	}
	if len(allow) > 0 && b.o.Validation != "off" {
		b.add405(p, ptr, allow)
	}
}

// fork returns a builder for path item unit that shares b's document,
// options, files and validator (which are safe for concurrent use) and
// has results of its own.
func (b *builder) fork(unit int, memo *fake.Memo) *builder {
	return &builder{
		f: b.f, file: b.file, name: b.name, o: b.o, v2: b.v2, oas31: b.oas31,
		basePath: b.basePath, produces: b.produces, consumes: b.consumes, doc: b.doc,
		val: b.val, reqVal: b.reqVal, vshared: b.vshared, refs: b.refs,
		res:        &Result{},
		cache:      map[string]*stub.Response{},
		memo:       memo,
		warnedOnce: map[string]bool{},
		unit:       unit,
	}
}

// join adds what sb built to b's results, after what is there: a report
// that is made once per schema (see warnOnce) is left out when an earlier
// path item made it. (sb's generated bodies were for its own variers.)
func (b *builder) join(sb *builder) {
	b.probs = append(b.probs, sb.probs...)
	b.pending = append(b.pending, sb.pending...)
	b.left = append(b.left, sb.left...)
	b.res.Sources = append(b.res.Sources, sb.res.Sources...)
	b.res.Rendered = append(b.res.Rendered, sb.res.Rendered...)
	for i, w := range sb.res.Warnings {
		if k, ok := sb.once.warnings[i]; ok && !b.firstTime(k) {
			continue
		}
		b.res.Warnings = append(b.res.Warnings, w)
	}
	for i, n := range sb.res.Notes {
		if k, ok := sb.once.notes[i]; ok && !b.firstTime(k+" note") {
			continue
		}
		b.res.Notes = append(b.res.Notes, n)
	}
}

// firstTime reports whether key is met for the first time, and marks it.
func (b *builder) firstTime(key string) bool {
	if b.warnedOnce[key] {
		return false
	}
	b.warnedOnce[key] = true
	return true
}

// onceMarks names the warnings and notes, by index, that report something
// once per schema.
type onceMarks struct {
	warnings, notes map[int]string
}

// warnOnce warns of err for the schema at ptr (and, with note, adds it to
// the notes) the first time key is met.
func (b *builder) warnOnce(key, ptr string, err error, note bool) {
	if !b.firstTime(key) {
		return
	}
	if b.once.warnings == nil {
		b.once = onceMarks{warnings: map[int]string{}, notes: map[int]string{}}
	}
	b.once.warnings[len(b.res.Warnings)] = key
	b.warn(ptr, "%v", err)
	if note {
		b.once.notes[len(b.res.Notes)] = key
		b.note("%s#%s: %v", b.name, ptr, err)
	}
}
