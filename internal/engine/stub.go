package engine

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/decoy-dev/decoy/internal/behave"
	"github.com/decoy-dev/decoy/internal/match"
	"github.com/decoy-dev/decoy/internal/stub"
	"github.com/decoy-dev/decoy/internal/urlpath"
)

// Source is a stub with where it came from.
type Source struct {
	Stub stub.Stub
	// Origin says where the stub was defined: "file:line", "api", "demo".
	Origin string
	// Dir resolves relative bodyFile names; "" means the working directory.
	Dir string
	// Check, when not nil, checks every request the stub matches (see
	// RequestCheck).
	Check RequestCheck
	// Vary, when not nil, gives each request its own body (see Varier).
	Vary Varier
}

// Path kinds, from the most to the least specific; the rank of a stub breaks
// priority ties by this order, then by load order.
const (
	kindExact = iota
	kindTemplate
	kindRegex
	kindPrefix
	kindAny
)

// Segment classes of a path's shape, from the most to the least specific.
const (
	segLiteral = iota // users
	segMixed          // {id}.json, {name}:complete
	segParam          // {id}
	segRest           // {path*}
)

// Stub is a compiled stub: matchers and rendered responses.
type Stub struct {
	ID     string
	Origin string
	Spec   stub.Stub

	rank      int  // position in the snapshot's total order: lower wins
	door      Door // which requests it answers
	method    string
	anyMethod bool
	pathKind  int
	path      string         // exact path or prefix
	segments  []string       // template segments; "{" marks a parameter
	mixed     []*urlpath.Seg // nil, or per segment: the segments with text around parameters
	// shape ranks a path among paths of the same priority: a byte per
	// segment, segLiteral to segRest (nil for a pathRegex, a prefix or
	// no path); the smaller one, compared as bytes, is more specific.
	shape     []byte
	restParam bool           // template ends with {name*}
	pathRe    *regexp.Regexp // regex, or a template with {name*} inside a segment
	query     []named
	// queryOrForm: the query matchers read a form field when the query
	// lacks the parameter (see Request.param).
	queryOrForm bool
	headers     []named
	cookies     []named
	body        *match.Body
	cert        *certMatcher // clientCert, nil when the stub has none

	responses []*Response
	upload    *Upload    // the response's upload settings (one response only)
	websocket *WebSocket // the response's WebSocket conversation (one response only)
	repeat    bool
	counted   bool // number every call: a sequence, or a random behaviour
	immediate bool // every response goes out at once and whole (see Immediate)
	whole     bool // every response goes out whole, at once or after a latency (see Whole)
	key       behave.Key
	calls     *atomic.Uint64
	stats     *Stats // shared, like calls, by the copies of this stub in later snapshots
	check     RequestCheck
	vary      Varier
	cors      *corsPolicy // the CORS policy the stub was compiled with (nil: off)
}

// RequestCheck is the check the stub's requests pass before it answers
// (an OpenAPI operation's request validation), or nil.
func (s *Stub) RequestCheck() RequestCheck { return s.check }

type named struct {
	name string
	m    *match.String
	// present: the matcher fails when the field is absent (all but
	// absent: true).
	present bool
}

// Responses returns the stub's rendered responses (one unless the stub
// answers a sequence).
func (s *Stub) Responses() []*Response { return s.responses }

// Next returns the response for this call: the only one, or the next of the
// sequence.
func (s *Stub) Next() *Response {
	_, r, _ := s.Pick()
	return r
}

// Pick returns the response for this call, its index in Responses (for
// Stats.Record), and the call number: 0 for the stub's first call, 1 for
// the next, and so on. Sequences and random behaviours (latency, faults)
// both follow the call number, so a run replays exactly under the same
// seed. A stub with one response and no random behaviour does not count
// its calls (call is then 0).
func (s *Stub) Pick() (index int, r *Response, call uint64) {
	if !s.counted {
		return 0, s.responses[0], 0
	}
	call = s.calls.Add(1) - 1
	n := call
	switch {
	case len(s.responses) == 1:
		n = 0
	case s.repeat:
		n %= uint64(len(s.responses))
	case n >= uint64(len(s.responses)):
		n = uint64(len(s.responses)) - 1
	}
	return int(n), s.responses[n], call
}

// Immediate tells that every response of the stub goes out at once and
// whole: no delay, fault, throttle or generated body, no upload to read, no
// WebSocket. A front door may answer such a stub from a loop that cannot
// wait. (A Check's or a Varier's response derives from these.)
func (s *Stub) Immediate() bool { return s.immediate }

// Whole tells that every response of the stub goes out whole, at once or
// after a latency drawn before it: no fault, throttle, dribble, spread
// latency or generated body, no upload to read, no WebSocket. A front door
// may answer such a stub from a loop that holds the answer until due.
func (s *Stub) Whole() bool { return s.whole }

// setImmediate works out Immediate and Whole from the responses.
func (s *Stub) setImmediate() {
	s.immediate = s.upload == nil && s.websocket == nil
	s.whole = s.immediate
	for _, r := range s.responses {
		if r == nil || r.Behave != nil {
			s.immediate = false
		}
		if r == nil || !r.Behave.LatencyOnly() {
			s.whole = false
		}
	}
}

// Key is the stub's random key under the global seed: with a call number
// it chooses the stub's delays and faults.
func (s *Stub) Key() behave.Key { return s.key }

// Stats returns the stub's request statistics. They survive snapshot
// changes that keep this stub as it is, and start from zero when the stub
// is replaced (or the store is reset or reloaded).
func (s *Stub) Stats() *Stats { return s.stats }

// Calls returns how many calls the stub has numbered (see Pick).
func (s *Stub) Calls() uint64 { return s.calls.Load() }

// compileStub compiles one stub. Errors name fields relative to the stub.
func compileStub(src Source, c *compiled) (*Stub, []stub.FieldError) {
	var errs []stub.FieldError
	add := func(prefix string, fe []stub.FieldError) {
		for _, e := range fe {
			errs = append(errs, stub.FieldError{Field: stub.Join(prefix, e.Field), Msg: e.Msg})
		}
	}
	sp := src.Stub
	s := &Stub{ID: sp.ID, Origin: src.Origin, Spec: sp, calls: new(atomic.Uint64), check: src.Check, vary: src.Vary}
	if c != nil {
		s.key = behave.NewKey(c.seed, sp.ID)
	}
	if sp.Priority < 0 {
		add("priority", []stub.FieldError{{Msg: "must be 1 or more (lower wins)"}})
	}

	if c != nil && c.opts.Door != nil {
		s.door = c.opts.Door(sp)
	}
	req := sp.Request
	if req.Body != nil && c != nil && c.opts.BodyRewrite != nil {
		b := c.opts.BodyRewrite(sp, *req.Body)
		req.Body = &b
	}
	for _, e := range s.compileRequest(req) {
		errs = append(errs, stub.FieldError{Field: stub.Join("request", e.Field), Msg: e.Msg})
	}

	switch {
	case sp.Response != nil && len(sp.Responses) > 0:
		add("response", []stub.FieldError{{Msg: "give response or responses, not both"}})
	case sp.Response != nil:
		r, fe := compileResponse(*sp.Response, src.Dir, "response", c)
		errs = append(errs, fe...)
		s.responses = []*Response{r}
	case len(sp.Responses) > 0:
		for i, rs := range sp.Responses {
			r, fe := compileResponse(rs, src.Dir, fmt.Sprintf("responses[%d]", i), c)
			errs = append(errs, fe...)
			s.responses = append(s.responses, r)
		}
	default:
		add("response", []stub.FieldError{{Msg: "missing: a stub needs a response (or a list of responses)"}})
	}
	for i, r := range s.responses {
		switch {
		case r == nil || r.Upload == nil:
		case len(s.responses) > 1:
			add(fmt.Sprintf("responses[%d].upload", i), []stub.FieldError{{Msg: "a sequence cannot discard uploads: use response"}})
		case sp.Request.Body != nil:
			add("response.upload", []stub.FieldError{{Msg: "a stub that discards uploads cannot match on the body (request.body)"}})
		default:
			s.upload = r.Upload
		}
	}
	for i, r := range s.responses {
		switch {
		case r == nil || r.WebSocket == nil:
		case len(s.responses) > 1:
			add(fmt.Sprintf("responses[%d].websocket", i), []stub.FieldError{{Msg: "a sequence cannot answer WebSocket upgrades: use response"}})
		default:
			s.websocket = r.WebSocket
		}
	}
	s.stats = newStats(len(s.responses))
	s.stats.status = make([]int, len(s.responses))
	for i, r := range s.responses {
		if r != nil {
			s.stats.status[i] = r.Status
		}
	}
	s.setImmediate()
	s.counted = len(s.responses) > 1
	for _, r := range s.responses {
		if r != nil && r.Behave != nil && (r.Behave.Random() || r.Behave.Latency != nil) {
			s.counted = true
		}
	}
	if c != nil {
		c.cors.compileStub(s)
	}
	switch sp.Sequence {
	case "", stub.SequenceStick:
	case stub.SequenceRepeat:
		s.repeat = true
	default:
		add("sequence", []stub.FieldError{{Msg: fmt.Sprintf("%q: want stick or repeat", sp.Sequence)}})
	}
	return s, errs
}

// compileRequest compiles the request matcher req into s. Errors name
// fields relative to the request ("method", "query.page.regex").
func (s *Stub) compileRequest(req stub.Request) []stub.FieldError {
	var errs []stub.FieldError
	add := func(prefix string, fe []stub.FieldError) {
		for _, e := range fe {
			errs = append(errs, stub.FieldError{Field: stub.Join(prefix, e.Field), Msg: e.Msg})
		}
	}
	s.method = strings.ToUpper(strings.TrimSpace(req.Method))
	if s.method == "" || s.method == "ANY" || s.method == "*" {
		s.anyMethod = true
	} else if !validHeaderName(s.method) {
		add("method", []stub.FieldError{{Msg: fmt.Sprintf("%q is not an HTTP method", req.Method)}})
	}

	set := 0
	for _, v := range []string{req.Path, req.PathPrefix, req.PathRegex} {
		if v != "" {
			set++
		}
	}
	if set > 1 {
		add("path", []stub.FieldError{{Msg: "give only one of path, pathPrefix, pathRegex"}})
	}
	switch {
	case req.Path != "":
		add("path", s.compilePath(urlpath.Pattern(req.Path)))
	case req.PathPrefix != "":
		s.pathKind, s.path = kindPrefix, urlpath.Pattern(req.PathPrefix)
		if !strings.HasPrefix(req.PathPrefix, "/") {
			add("pathPrefix", []stub.FieldError{{Msg: "must start with /"}})
		}
	case req.PathRegex != "":
		re, err := regexp.Compile(req.PathRegex)
		if err != nil {
			add("pathRegex", []stub.FieldError{{Msg: "bad regular expression: " + err.Error()}})
		}
		s.pathKind, s.pathRe = kindRegex, re
	default:
		s.pathKind = kindAny
	}

	var fe []stub.FieldError
	s.query, fe = compileNamed(req.Query, "query", false)
	errs = append(errs, fe...)
	s.queryOrForm = req.QueryOrForm
	if req.QueryOrForm && len(req.Query) == 0 {
		add("queryOrForm", []stub.FieldError{{Msg: "has no query matchers to apply to: give query, or drop queryOrForm"}})
	}
	s.headers, fe = compileNamed(req.Headers, "headers", true)
	errs = append(errs, fe...)
	s.cookies, fe = compileNamed(req.Cookies, "cookies", false)
	errs = append(errs, fe...)
	if req.Body != nil {
		s.body, fe = match.CompileBody(*req.Body)
		add("body", fe)
	}
	if req.ClientCert != nil {
		s.cert, fe = compileCert(*req.ClientCert)
		add("clientCert", fe)
	}
	return errs
}

func compileNamed(m map[string]stub.StringMatcher, field string, header bool) ([]named, []stub.FieldError) {
	var errs []stub.FieldError
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]named, 0, len(m))
	for _, k := range names {
		sm, fe := match.CompileString(m[k])
		for _, e := range fe {
			errs = append(errs, stub.FieldError{Field: stub.Join(field, k, e.Field), Msg: e.Msg})
		}
		if header && !validHeaderName(k) {
			errs = append(errs, stub.FieldError{Field: stub.Join(field, k), Msg: "not a valid header name"})
		}
		out = append(out, named{name: k, m: sm, present: sm != nil && !sm.Match("", false)})
	}
	return out, errs
}

var paramRe = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_.-]*)(\*?)\}`)

// compilePath reads an exact path or a template.
func (s *Stub) compilePath(p string) []stub.FieldError {
	if p == "*" {
		s.pathKind = kindAny
		return nil
	}
	if !strings.HasPrefix(p, "/") {
		return []stub.FieldError{{Msg: fmt.Sprintf("%q must start with / (or be * for any path)", p)}}
	}
	if !strings.Contains(p, "{") {
		s.pathKind, s.path = kindExact, p
		s.shape = make([]byte, strings.Count(p, "/")) // segLiteral each
		return nil
	}
	segs := strings.Split(p[1:], "/")
	shape := make([]byte, len(segs))
	var mixed []*urlpath.Seg
	starred := false
	for i, seg := range segs {
		m := paramRe.FindStringSubmatch(seg)
		switch {
		case m != nil && m[0] == seg:
			if m[2] == "*" {
				if i != len(segs)-1 {
					return []stub.FieldError{{Msg: "{" + m[1] + "*} must be the last segment"}}
				}
				s.restParam = true
				shape[i] = segRest
			} else {
				segs[i] = "{"
				shape[i] = segParam
			}
		case strings.ContainsAny(seg, "{}"):
			if !paramRe.MatchString(seg) {
				return []stub.FieldError{{Msg: fmt.Sprintf("segment %q: a parameter is written {name}", seg)}}
			}
			shape[i] = segMixed
			sp, ok := urlpath.ParseSeg(seg)
			if !ok || strings.Contains(seg, "*}") {
				// {name*} inside text spans segments: a regular expression.
				starred = true
				continue
			}
			if mixed == nil {
				mixed = make([]*urlpath.Seg, len(segs))
			}
			mixed[i] = &sp
		}
	}
	if s.restParam {
		segs = segs[:len(segs)-1]
	}
	s.shape = shape
	if !starred {
		s.pathKind, s.segments, s.mixed = kindTemplate, segs, mixed
		return nil
	}
	s.shape = nil
	// A segment mixes text and parameters (/files/{name}.json): match the
	// whole template as a regular expression.
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, loc := range paramRe.FindAllStringSubmatchIndex(p, -1) {
		b.WriteString(regexp.QuoteMeta(p[last:loc[0]]))
		if loc[5] > loc[4] {
			b.WriteString(".+")
		} else {
			b.WriteString("[^/]+")
		}
		last = loc[1]
	}
	b.WriteString(regexp.QuoteMeta(p[last:]))
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return []stub.FieldError{{Msg: "cannot compile template: " + err.Error()}}
	}
	s.pathKind, s.pathRe = kindRegex, re
	return nil
}

// matchPath reports whether path satisfies the stub's path matcher.
func (s *Stub) matchPath(path string) bool {
	switch s.pathKind {
	case kindExact:
		return path == s.path
	case kindTemplate:
		return matchSegments(s.segments, s.mixed, s.restParam, path)
	case kindRegex:
		return s.pathRe.MatchString(path)
	case kindPrefix:
		return strings.HasPrefix(path, s.path)
	}
	return true
}

func matchSegments(segs []string, mixed []*urlpath.Seg, rest bool, path string) bool {
	if len(path) == 0 || path[0] != '/' {
		return false
	}
	p := path[1:]
	for i, seg := range segs {
		var cur string
		j := strings.IndexByte(p, '/')
		if j < 0 {
			cur, p = p, ""
			if i != len(segs)-1 {
				return false
			}
		} else {
			cur, p = p[:j], p[j+1:]
			if i == len(segs)-1 && !rest {
				return false
			}
		}
		switch {
		case mixed != nil && mixed[i] != nil:
			if !mixed[i].Match(cur) {
				return false
			}
		case seg == "{":
			if cur == "" {
				return false
			}
		case seg != cur:
			return false
		}
	}
	if rest {
		return p != ""
	}
	return true
}

// matchMethod reports whether method satisfies the stub. A GET stub answers
// HEAD too.
func (s *Stub) matchMethod(method string) bool {
	return s.anyMethod || method == s.method || (method == "HEAD" && s.method == "GET")
}

// matchRest checks everything but method and path.
func (s *Stub) matchRest(r *Request) bool {
	if s.door != DoorAny && (s.door == DoorGRPC) != r.GRPC {
		return false
	}
	for i := range s.query {
		var v string
		var ok bool
		if s.queryOrForm {
			v, ok = r.param(s.query[i].name)
		} else {
			v, ok = r.Fields.Query(s.query[i].name)
		}
		if !s.query[i].m.Match(v, ok) {
			return false
		}
	}
	for i := range s.headers {
		h := &s.headers[i]
		if h.present && h.name == r.absentHeader {
			return false // a stub before found the request without it
		}
		v, ok := r.Fields.Header(h.name)
		if !ok {
			r.absentHeader = h.name
		}
		if !h.m.Match(v, ok) {
			return false
		}
	}
	for i := range s.cookies {
		v, ok := r.Fields.Cookie(s.cookies[i].name)
		if !s.cookies[i].m.Match(v, ok) {
			return false
		}
	}
	if s.body != nil && (!s.body.Match(r.PlainBody()) || s.body.NeedsForm() && !s.body.MatchForm(r.Form())) {
		return false
	}
	if s.cert != nil && !s.cert.match(r.ClientCert) {
		return false
	}
	return true
}

// pathGroup orders path forms for ranking: paths (exact and templates,
// ranked among themselves by shape), then pathRegex (and templates with
// {name*} inside a segment), then pathPrefix, then none.
func (s *Stub) pathGroup() int {
	switch s.pathKind {
	case kindExact, kindTemplate:
		return 0
	case kindRegex:
		return 1
	case kindPrefix:
		return 2
	}
	return 3
}
