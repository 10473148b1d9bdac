package openapi

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/fake"
	"github.com/decoy-dev/decoy/internal/stub"
)

// Priorities of the stubs made from a document. Stubs from decoy's own
// files default to stub.DefaultPriority (5), so they override these.
const (
	PriorityPrefer   = 20 // Prefer: code=N (example= and dynamic=true at 19)
	PriorityResponse = 21 // the operation's response, by Accept
)

// Options tune Load.
type Options struct {
	// Seed is the global seed generated data derives from.
	Seed uint64
	// Validation is how requests are checked against the document:
	// "enforce" (or ""), "report" or "off".
	Validation string
	// NoPrefer leaves out the Prefer: code=, example=, dynamic=true
	// stubs.
	NoPrefer bool
	// Lenient serves the operations that are sound in a document that
	// has problems: the others are left out and named in Result.Notes
	// instead of failing the load.
	Lenient bool
	// IDPrefix starts the ids of the document's stubs ("api" for
	// "api:getX"); "" is IDBase of the document's name. Package config
	// sets it when documents of the same name are served together.
	IDPrefix string
	// KeepRendered fills Result.Rendered.
	KeepRendered bool
	// workers builds path items on this many goroutines (0: one per
	// core); tests set it to compare with one.
	workers int
}

// Result is what a document became.
type Result struct {
	Sources  []engine.Source
	Version  string   // "3.0.3", "3.1.0", "2.0"
	Warnings []string // sound but surprising: examples replaced, circular schemas
	// Rendered lists every JSON body rendered against a schema, so that
	// tests can check it with a validator of their own (only with
	// Options.KeepRendered: a large document's bodies would be held
	// twice while it loads).
	Rendered []Rendered
	// OAS31 is true for 3.1 documents (schemas are JSON Schema 2020-12).
	OAS31 bool
	// Notes are what a user should see when the document loads (logged
	// as warnings): operations left out by Options.Lenient, webhooks that
	// are not served, constructs the generator does not follow.
	Notes []string
}

// Rendered is a JSON body and the schema it must satisfy.
type Rendered struct {
	File    string // absolute path of the file holding the schema
	Pointer string // JSON pointer to the schema in File
	Body    []byte
	From    string // "example", "example NAME", "schema examples", "generated"
	// Named is true for a named example served as written, only to a
	// request that asks for it (Prefer: example=NAME): decoy does not
	// replace it when it does not match the schema.
	Named bool
}

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Load reads the document at path (data is its content, nil to read it)
// and returns one set of stubs per operation. Problems come back as
// Problems.
func Load(path string, data []byte, o Options) (*Result, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, Problems{{File: path, Msg: err.Error()}}
	}
	f := newFiles()
	if data != nil {
		f.pre[abs] = data
	}
	root, err := f.get(abs)
	if err != nil {
		return nil, Problems{{File: path, Msg: err.Error()}}
	}
	doc, ok := root.(map[string]any)
	if !ok {
		return nil, Problems{{File: path, Msg: "an OpenAPI document is an object"}}
	}
	b := &builder{f: f, file: abs, name: path, o: o, res: &Result{}, warnedOnce: map[string]bool{}}
	// A $ref that does not resolve is a problem of the operations that
	// depend on it, which are not built (see refs.go); the others are,
	// so that their problems are found too. Any other problem of the
	// document stops the load before it builds anything, unless lenient.
	var refProbs, otherProbs Problems
	for _, p := range checkDocument(path, abs, f) {
		if _, ok := danglingRef(p); ok {
			refProbs = append(refProbs, p)
		} else {
			otherProbs = append(otherProbs, p)
		}
	}
	if len(refProbs) > 0 {
		b.refs = &refIndex{doc: refProbs}
	}
	if !o.Lenient && len(otherProbs) > 0 {
		b.probs = append(append(b.probs, otherProbs...), refProbs...)
		b.refs = nil
	}
	for _, p := range otherProbs {
		if o.Lenient {
			b.note("lenient: loading on despite a problem of the document: %v", p)
		}
	}
	switch {
	case doc["swagger"] != nil:
		b.v2 = true
		b.res.Version = fmt.Sprint(doc["swagger"])
		if b.res.Version != "2.0" {
			b.problem("/swagger", "swagger must be \"2.0\", not %q", b.res.Version)
		}
	case doc["openapi"] != nil:
		b.res.Version = fmt.Sprint(doc["openapi"])
		switch {
		case strings.HasPrefix(b.res.Version, "3.1"), strings.HasPrefix(b.res.Version, "3.2"):
			b.oas31 = true
		case strings.HasPrefix(b.res.Version, "3.0"):
		default:
			b.problem("/openapi", "OpenAPI version %q is not supported (3.0.x, 3.1.x or Swagger 2.0)", b.res.Version)
		}
	default:
		return nil, Problems{{File: path, Msg: "not an OpenAPI document: no openapi or swagger field"}}
	}
	if len(b.probs) > 0 {
		if b.refs != nil && !o.Lenient {
			b.probs = append(b.refs.doc, b.probs...)
		}
		return nil, b.probs
	}
	b.notes31(doc)
	b.reqVal, b.val = newValidators(f, b.oas31)
	b.res.OAS31 = b.oas31
	b.basePath = basePath(doc, b.v2)
	b.produces = strList(doc["produces"])
	b.consumes = strList(doc["consumes"])
	b.doc = doc
	b.vshared = &varyShared{f: f, seed: o.Seed, memo: fake.NewMemo()}
	paths, _ := doc["paths"].(map[string]any)
	var items []string
	for _, p := range sortedKeys(paths) {
		if strings.HasPrefix(p, "/") { // not x- extensions
			items = append(items, p)
		}
	}
	sortKeys(items, func(k string) int {
		key, err := parsePathKey(k)
		item, file, err2 := b.f.deref(paths[k], b.file)
		if err != nil || err2 != nil {
			return 0
		}
		h, q, _ := b.keyMatchers(key, item, file)
		return len(h) + len(q)
	})
	b.pathItems(paths, items)
	b.settleRefs()
	if len(b.probs) > 0 {
		b.placeLines()
		return nil, b.probs
	}
	b.notePending()
	// The documents' bytes were for placing problems at their lines; what
	// generates data per request later (see vary.go) reads the decoded
	// trees only, so the bytes need not be held while serving.
	clear(f.pre)
	return b.res, nil
}

type builder struct {
	f        *files
	file     string // absolute path of the root document
	name     string // as given, for messages
	o        Options
	v2       bool
	oas31    bool
	basePath string
	produces []string
	val      *validator // of responses
	reqVal   *validator // of requests (see dropRequired)
	res      *Result
	probs    Problems
	cache    map[string]*stub.Response
	memo     *fake.Memo // of the worker building (see pathItems)
	// warnedOnce holds the schemas already reported as requiring
	// themselves without end ("endless PTR") or as too large to
	// generate in full ("shallow PTR"); once names, by index, the
	// warnings and notes (see warnOnce) that are such reports.
	warnedOnce map[string]bool
	once       onceMarks
	unit       int // the path item being built, for names of its own

	doc      map[string]any
	consumes []string
	// key is the path item's key as decoy routes it, and keyHeaders and
	// keyQuery the matchers its request parts make (see pathKey).
	key                  pathKey
	itemBase             string // the base path of the path item (see route)
	keyHeaders, keyQuery map[string]stub.StringMatcher
	keySkipped           []string
	// queryForm is set while building an operation of AWS's query
	// protocol: a POST whose path key names query parameters, which an
	// SDK sends as fields of a form body (see queryForm in reqbuild.go).
	queryForm bool
	// aws is the operation being built when it is one of AWS's query
	// protocol (see aws.go).
	aws        *awsOp
	itemParams []any  // the path item's parameters
	itemPtr    string // and where they are
	itemFile   string
	memParams  int                 // schemas made for the validator (see memLoc)
	check      engine.RequestCheck // of the operation being built
	answers    []response          // and its responses (see acceptRefusal)
	// generated holds the default responses whose body was generated
	// from the schema, which vary per request (see vary.go).
	generated map[*stub.Response]generated
	vshared   *varyShared // what the document's variers share (see vary.go)
	// dropped holds the response headers of the operation being built
	// that are not sent, by lower-case name: name as written, and why
	// (see dropHeader).
	dropped map[string][2]string
	// pending holds the problems that Options.Lenient makes notes of once
	// their lines are known (see pathProblem).
	pending Problems
	// refs is set when a $ref of the document does not resolve, and left
	// holds the operations not built for that (see refs.go).
	refs *refIndex
	left []leftOut
}

func (b *builder) problem(ptr, format string, a ...any) {
	b.probs = append(b.probs, Problem{File: b.name, Pointer: ptr, Msg: fmt.Sprintf(format, a...)})
}

// note adds a message for the user to Result.Notes.
func (b *builder) note(format string, a ...any) {
	b.res.Notes = append(b.res.Notes, fmt.Sprintf(format, a...))
}

// leniently handles the problems found since the first np while building
// an operation (method "" for a whole path item): with Options.Lenient its
// stubs (from ns on) are dropped and the problems become notes. It reports
// whether the operation was dropped.
func (b *builder) leniently(path, method string, np, ns int) bool {
	if !b.o.Lenient || len(b.probs) == np {
		return false
	}
	what := path
	if method != "" {
		what = strings.ToUpper(method) + " " + path
	}
	for _, p := range b.probs[np:] {
		b.note("lenient: %s is not served: %v", what, p)
	}
	b.probs = b.probs[:np]
	b.res.Sources = b.res.Sources[:ns]
	return true
}

// notes31 names the constructs of a document that decoy does not serve or
// follow: webhooks (3.1; they are requests the API makes, not operations
// it answers) and $dynamicRef (followed by the response validator, not by
// the data generator).
func (b *builder) notes31(doc map[string]any) {
	if wh, ok := doc["webhooks"].(map[string]any); ok && len(wh) > 0 {
		b.note("%s: the document's %d webhooks (%s) are not served: decoy answers the operations under paths only", b.name, len(wh), strings.Join(sortedKeys(wh), ", "))
	}
	var where []string
	if !b.oas31 {
		return
	}
	walkObjects(doc, "", func(obj map[string]any, ptr string) {
		if _, ok := obj["$dynamicRef"]; ok {
			where = append(where, "#"+ptr)
		}
	})
	if len(where) > 0 {
		sort.Strings(where)
		if len(where) > 5 {
			where = append(where[:5], "...")
		}
		b.note("%s: $dynamicRef (at %s) is not followed when generating data: the generator leaves out optional properties and array items whose schema is one (else it treats the schema there as unconstrained), and generated bodies are still checked against the schema with it", b.name, strings.Join(where, ", "))
	}
}

func (b *builder) warn(ptr, format string, a ...any) {
	b.res.Warnings = append(b.res.Warnings, fmt.Sprintf("%s#%s: %s", b.name, ptr, fmt.Sprintf(format, a...)))
}

// basePath is the path of the first server URL (3.x, with variables at
// their defaults) or Swagger's basePath, without a trailing slash.
func basePath(doc map[string]any, v2 bool) string {
	var p string
	if v2 {
		p, _ = doc["basePath"].(string)
	} else {
		p = serversPath(doc["servers"])
	}
	return tidyBase(p)
}

// serversPath is the path of the first server URL of a servers list, with
// its variables at their defaults; "" when there is none.
func serversPath(v any) string {
	var p string
	if servers, ok := v.([]any); ok && len(servers) > 0 {
		if s, ok := servers[0].(map[string]any); ok {
			raw, _ := s["url"].(string)
			if vars, ok := s["variables"].(map[string]any); ok {
				for k, v := range vars {
					if vm, ok := v.(map[string]any); ok {
						raw = strings.ReplaceAll(raw, "{"+k+"}", fmt.Sprint(vm["default"]))
					}
				}
			}
			if u, err := url.Parse(raw); err == nil {
				p = u.Path
			}
		}
	}
	return p
}

// tidyBase makes p a base path: without a trailing slash, with a leading one.
func tidyBase(p string) string {
	p = strings.TrimRight(p, "/")
	if p != "" && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// sortKeys orders the keys of paths as their stubs are made, which
// breaks ties between equally specific stubs: by path, and among the
// keys of one path the one whose request parts after '#' or '?' make
// more matchers (see pathKey) first: S3's /{Bucket}#analytics&id before
// /{Bucket}#analytics before /{Bucket}. Then by key.
func sortKeys(keys []string, matchers func(string) int) {
	type keyed struct {
		key, path string
		n         int
	}
	ks := make([]keyed, len(keys))
	for i, k := range keys {
		ks[i] = keyed{key: k, path: k}
		if j := strings.IndexAny(k, "#?"); j >= 0 {
			ks[i].path, ks[i].n = k[:j], matchers(k)
		}
	}
	sort.SliceStable(ks, func(i, j int) bool {
		a, b := ks[i], ks[j]
		if a.path != b.path {
			return a.path < b.path
		}
		if a.n != b.n {
			return a.n > b.n
		}
		return a.key < b.key
	})
	for i := range ks {
		keys[i] = ks[i].key
	}
}

func strList(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// media is one media type of a response.
type media struct {
	typ      string
	file     string // where schema and examples live
	ptr      string // pointer to the media type object (3.x) or response (2.0)
	schema   any    // nil when none
	schemaAt string // pointer to the schema
	example  any
	hasEx    bool
	named    map[string]any // examples by name (values)
	// aws is set for an XML answer of an operation of AWS's query
	// protocol, written as the protocol answers (see aws.go); errCode
	// is the error code of an error answer.
	aws     *awsOp
	errCode string
}

// response is one declared response.
type response struct {
	code    int
	key     string
	desc    string // its description
	media   []media
	headers map[string]stub.HeaderValues
}

var pathParam = regexp.MustCompile(`\{[^}/]*\}`)

// route is the path decoy serves the document's path at: under the base
// path (the path item's servers', else the document's; see itemBase), with "{}" and odd parameter names normalised (decoy's templates
// name parameters like OpenAPI).
func (b *builder) route(path string) string {
	full := b.itemBase + path
	if pathParam.FindStringIndex(full) != nil {
		full = pathParam.ReplaceAllStringFunc(full, routeParam)
	}
	return full
}

// withHeader returns a copy of h (matchers from the path key, or nil)
// with the matcher m on the header name.
func withHeader(h map[string]stub.StringMatcher, name string, m stub.StringMatcher) map[string]stub.StringMatcher {
	out := make(map[string]stub.StringMatcher, len(h)+1)
	for k, v := range h {
		out[k] = v
	}
	out[name] = m
	return out
}

// opBase is the base path of op: its own servers' first, else its path
// item's.
func (b *builder) opBase(op map[string]any) string {
	if servers, ok := op["servers"].([]any); ok && len(servers) > 0 && !b.v2 {
		return tidyBase(serversPath(servers))
	}
	return b.itemBase
}

// routeParam is a template parameter as decoy routes it: {name}, with
// "{}" and odd names as {p}, and AWS's {name+} (one segment or more) as
// {name*}, which the engine accepts as the whole last segment only.
func routeParam(s string) string {
	n := strings.Trim(s, "{}")
	if base, ok := strings.CutSuffix(n, "+"); ok && base != "" && !strings.ContainsAny(base, "*+{}") {
		return "{" + base + "*}"
	}
	if n == "" || strings.ContainsAny(n, "*{}") {
		n = "p"
	}
	return "{" + n + "}"
}

func (b *builder) operation(path, method string, op map[string]any, ptr, file string) {
	id, _ := op["operationId"].(string)
	if id == "" {
		id = strings.ToUpper(method) + " " + path
	}
	id = b.idPrefix() + ":" + id
	if base := b.opBase(op); base != b.itemBase {
		// The operation's own servers: its route is under the first one.
		saved := b.itemBase
		b.itemBase = base
		defer func() { b.itemBase = saved }()
	}
	full := b.route(b.key.path)
	req := stub.Request{Method: strings.ToUpper(method), Path: full, Headers: b.keyHeaders, Query: b.keyQuery}
	// AWS's query protocol declares Action (and Version) in the query of
	// a POST, where an SDK sends them as fields of a form body: a POST's
	// query parts are read from either (see queryForm).
	req.QueryOrForm = req.Method == "POST" && len(b.keyQuery) > 0
	b.queryForm = req.QueryOrForm
	b.aws = b.awsOperation(op, file)
	b.check = b.compileCheck(full, op, ptr, file)
	defer func() { b.check, b.queryForm, b.aws, b.answers = nil, false, nil, nil }()
	resps, _ := op["responses"].(map[string]any)
	var list []response
	for _, code := range sortedKeys(resps) {
		c := statusOf(code)
		if c == 0 {
			continue
		}
		r, rfile, err := b.f.deref(resps[code], file)
		if err != nil {
			b.problem(ptr+"/responses/"+escape(code), "%v", err)
			continue
		}
		rptr := ptr + "/responses/" + escape(code)
		if rfile != file || resps[code].(map[string]any)["$ref"] != nil {
			rptr = refPointer(resps[code])
		}
		list = append(list, b.response(code, c, r, rfile, rptr, op))
	}
	if b.aws != nil {
		// Its XML answers as the protocol writes them: a success wrapped
		// in ActionResponse, an error as ErrorResponse (see aws.go).
		for i := range list {
			for j := range list[i].media {
				m := &list[i].media[j]
				switch {
				case !isXML(m.typ):
				case list[i].code < 300:
					m.aws = b.aws
				case list[i].code >= 400:
					m.aws, m.errCode = b.aws, b.aws.exceptionName(list[i].code, m.schema, list[i].desc)
				}
			}
		}
	}
	b.warnDropped(ptr)
	b.answers = list
	main := pickMain(list)
	key := ptr
	if main == nil {
		b.add(engine.Source{Stub: stub.Stub{ID: id, Priority: PriorityResponse, Request: req,
			Response: &stub.Response{Status: 200}}, Origin: b.name + "#" + ptr})
		return
	}
	// The default answer, in the media type Accept prefers (see
	// negotiate.go); generated bodies vary with the request, in each
	// media type, and so do the Prefer: code=N and dynamic=true answers.
	var query []string
	queryDone := false
	variers := map[*stub.Response]engine.Varier{} // the default answer's and Prefer: code=N's share theirs
	vary := func(resp *stub.Response) engine.Varier {
		g, ok := b.generated[resp]
		if !ok {
			return nil
		}
		if v, ok := variers[resp]; ok {
			return v
		}
		if !queryDone {
			query, queryDone = b.queryNames(op, file), true
		}
		v := b.newVarier(full, g, query)
		variers[resp] = v
		return v
	}
	if len(main.media) == 0 {
		b.add(engine.Source{Stub: stub.Stub{ID: id, Priority: PriorityResponse, Request: req,
			Response: b.render(main, nil, key, renderDefault, "")}, Origin: b.name + "#" + ptr})
	} else {
		resp, neg := b.negotiated(main, mediaOf(main, nil), key, renderDefault, "", true, vary)
		b.add(engine.Source{Stub: stub.Stub{ID: id, Priority: PriorityResponse, Request: req,
			Response: resp}, Origin: b.name + "#" + ptr, Vary: neg})
	}
	if b.o.NoPrefer {
		return
	}
	// Prefer: code=N, example=NAME, dynamic=true, each in the media type
	// Accept prefers among the ones that have it (the first when Accept
	// admits none).
	seen := map[int]bool{}
	for i := range list {
		r := &list[i]
		if seen[r.code] {
			continue
		}
		seen[r.code] = true
		code := strconv.Itoa(r.code)
		codeRe := preferRe("code", code)
		pr := req
		pr.Headers = withHeader(req.Headers, "Prefer", stub.StringMatcher{Regex: codeRe})
		if len(r.media) == 0 {
			b.add(engine.Source{Stub: stub.Stub{ID: id + ":code=" + strconv.Itoa(r.code), Priority: PriorityPrefer, Request: pr,
				Response: b.render(r, nil, key, renderDefault, "")}, Origin: b.name + "#" + ptr})
			continue
		}
		resp, neg := b.negotiated(r, mediaOf(r, nil), key, renderDefault, "", false, vary)
		b.add(engine.Source{Stub: stub.Stub{ID: id + ":code=" + strconv.Itoa(r.code), Priority: PriorityPrefer, Request: pr,
			Response: resp}, Origin: b.name + "#" + ptr, Vary: neg})
		for _, name := range exampleNames(r) {
			pr := req
			matcher := stub.StringMatcher{Regex: preferRe("example", name)}
			if r != main {
				matcher.Regex = preferBothRe("code", code, "example", name)
			}
			pr.Headers = withHeader(req.Headers, "Prefer", matcher)
			ms := mediaOf(r, func(m *media) bool { _, ok := m.named[name]; return ok })
			resp, neg := b.negotiated(r, ms, key, renderNamed, name, false, nil)
			b.add(engine.Source{Stub: stub.Stub{ID: id + ":code=" + strconv.Itoa(r.code) + ":example=" + name, Priority: PriorityPrefer - 1, Request: pr,
				Response: resp}, Origin: b.name + "#" + ptr, Vary: neg})
		}
		if ms := mediaOf(r, func(m *media) bool { return m.schema != nil }); len(ms) > 0 && r == main {
			pr := req
			pr.Headers = withHeader(req.Headers, "Prefer", stub.StringMatcher{Regex: preferRe("dynamic", "true")})
			// Generated per request, like the default answer: a client
			// that asks for dynamic data gets /users/1 and /users/2 apart.
			resp, neg := b.negotiated(r, ms, key, renderDynamic, "", false, vary)
			b.add(engine.Source{Stub: stub.Stub{ID: id + ":dynamic", Priority: PriorityPrefer - 1, Request: pr,
				Response: resp}, Origin: b.name + "#" + ptr, Vary: neg})
		}
	}
	// Prefer: code=N that no declared code took: the range that holds N
	// (4XX for 404), then default, as Prism does, with N as the status.
	// They come after the stubs of the declared codes, which win ties by
	// order, and the ranges before default.
	for _, dflt := range []bool{false, true} {
		for i := range list {
			r := &list[i]
			if dflt && r.key == "default" || !dflt && statusRange(r.key) != 0 {
				b.preferRange(id, ptr, req, r, key, vary)
			}
		}
	}
	// A Prefer: example= or code= that none of the stubs above took names
	// an answer the operation does not declare: a 400 that says so (for
	// AWS's query protocol, a code=N from 400 to 599 is AWS's common
	// error of that status instead: see preferMiss.Vary). Each comes
	// after the stubs of its priority, which win ties by order.
	opName := strings.ToUpper(method) + " " + path
	for _, m := range []struct {
		miss     *preferMiss
		priority int
	}{
		{&preferMiss{name: "example", op: opName, declared: declaredExamples(list), aws: b.aws}, PriorityPrefer - 1},
		{&preferMiss{name: "code", op: opName, declared: declaredCodes(list), aws: b.aws}, PriorityPrefer},
	} {
		pr := req
		pr.Headers = withHeader(req.Headers, "Prefer", stub.StringMatcher{Regex: preferAnyRe(m.miss.name)})
		b.add(engine.Source{Stub: stub.Stub{ID: id + ":" + m.miss.name + "=?", Priority: m.priority, Request: pr,
			Response: m.miss.missStub()}, Origin: b.name + "#" + ptr, Vary: m.miss})
	}
}

// statusRange is the first digit of a status range ("4XX": 4), else 0.
func statusRange(key string) int {
	if c := statusOf(key); c != 0 && len(key) == 3 && (key[1:] == "XX" || key[1:] == "xx") {
		return c / 100
	}
	return 0
}

// preferRange adds the stub that answers Prefer: code=N with the range
// response r (4XX) for any N in it (and for 4XX, as 400), or with the
// default response for any N from 200 to 599, the status being N.
func (b *builder) preferRange(id, ptr string, req stub.Request, r *response, key string, vary func(*stub.Response) engine.Varier) {
	codes := `[2-5][0-9][0-9]`
	if d := statusRange(r.key); d != 0 {
		codes = strconv.Itoa(d) + `([0-9][0-9]|[xX][xX])` // 404, or 4XX itself
	}
	pr := req
	pr.Headers = map[string]stub.StringMatcher{"Prefer": {Regex: preferLead + `(?i:code)\s*=\s*("` + codes + `"|` + codes + `)` + preferTrail}}
	src := engine.Source{Stub: stub.Stub{ID: id + ":code=" + r.key, Priority: PriorityPrefer, Request: pr}, Origin: b.name + "#" + ptr}
	var inner engine.Varier
	if len(r.media) == 0 {
		src.Stub.Response = b.render(r, nil, key, renderDefault, "")
	} else {
		src.Stub.Response, inner = b.negotiated(r, mediaOf(r, nil), key, renderDefault, "", false, vary)
	}
	src.Vary = &preferStatus{inner: inner}
	b.add(src)
}

// mediaOf lists the media types of r that keep admits (all for nil), in
// the document's order.
func mediaOf(r *response, keep func(*media) bool) []*media {
	var out []*media
	for i := range r.media {
		if keep == nil || keep(&r.media[i]) {
			out = append(out, &r.media[i])
		}
	}
	return out
}

// exampleNames lists the names of r's named examples, in any of its media
// types, sorted.
func exampleNames(r *response) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range r.media {
		for name := range m.named {
			if !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out
}

func refPointer(v any) string {
	m, _ := v.(map[string]any)
	ref, _ := m["$ref"].(string)
	_, frag, _ := strings.Cut(ref, "#")
	return frag
}

func (b *builder) add(src engine.Source) {
	src.Stub.HTTPOnly = true
	src.Dir = filepath.Dir(b.file)
	src.Check = b.check
	b.res.Sources = append(b.res.Sources, src)
}

// statusOf reads a response key: "200", "2XX" (as 200), "default" (as
// 200); 0 for anything else, 1xx included: an interim status (a 101 for a
// WebSocket upgrade, say) is no answer a stub can give.
func statusOf(code string) int {
	if code == "default" {
		return 200
	}
	if len(code) == 3 && (code[1:] == "XX" || code[1:] == "xx") && code[0] >= '2' && code[0] <= '5' {
		return int(code[0]-'0') * 100
	}
	n, err := strconv.Atoi(code)
	if err != nil || n < 200 || n > 599 {
		return 0
	}
	return n
}

// pickMain is the lowest declared 2xx response, else default, else the
// lowest code.
func pickMain(list []response) *response {
	var best *response
	for i := range list {
		r := &list[i]
		if r.code >= 200 && r.code < 300 && r.key != "default" && (best == nil || r.code < best.code) {
			best = r
		}
	}
	if best != nil {
		return best
	}
	for i := range list {
		if list[i].key == "default" {
			return &list[i]
		}
	}
	if len(list) > 0 {
		return &list[0]
	}
	return nil
}

// IDBase is what the ids of a document's stubs start with when nothing
// else is asked for: its file name without the extension ("api" for
// services/a/api.yaml).
func IDBase(name string) string {
	b := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	if b == "" {
		b = "openapi"
	}
	return b
}

// idPrefix is what the ids of the document's stubs start with.
func (b *builder) idPrefix() string {
	if b.o.IDPrefix != "" {
		return b.o.IDPrefix
	}
	return IDBase(b.name)
}
