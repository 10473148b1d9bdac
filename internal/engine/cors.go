package engine

import (
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CORS lets pages of other origins call decoy from a browser: answers
// carry Access-Control-Allow-Origin and Access-Control-Expose-Headers, and
// a preflight (OPTIONS with Origin and Access-Control-Request-Method) that
// no stub answers with an explicit method OPTIONS is answered by decoy.
type CORS struct {
	// Origins are the origins allowed, as ParseOrigin gives them; empty:
	// any origin.
	Origins []string
	// Credentials allows requests with credentials (cookies,
	// Authorization): answers echo the request's Origin, never "*", and
	// add Access-Control-Allow-Credentials: true.
	Credentials bool
	// MaxAge is how long a browser may keep a preflight's answer
	// (Access-Control-Max-Age, in whole seconds; 0 asks it not to keep
	// it).
	MaxAge time.Duration
}

// WithCORS answers browsers' cross-origin requests as c says (nil: CORS
// off, the default: answers stay as the stubs write them).
func WithCORS(c *CORS) Option { return func(o *Options) { o.CORS = c } }

// The CORS header names.
const (
	hdrAllowOrigin      = "Access-Control-Allow-Origin"
	hdrAllowCredentials = "Access-Control-Allow-Credentials"
	hdrExposeHeaders    = "Access-Control-Expose-Headers"
	hdrAllowMethods     = "Access-Control-Allow-Methods"
	hdrAllowHeaders     = "Access-Control-Allow-Headers"
	hdrMaxAge           = "Access-Control-Max-Age"
	hdrRequestMethod    = "Access-Control-Request-Method"
	hdrRequestHeaders   = "Access-Control-Request-Headers"
)

// PreflightID is the stub ID that the preflights decoy answers itself are
// counted and journaled under.
const PreflightID = "cors-preflight"

// decoyExposed are the headers decoy adds to answers itself, which a page
// may want to read: they are exposed with the stub's own.
var decoyExposed = []string{"Server-Timing", VerdictHeader, "Decoy-Delay-Clamped", "Decoy-Saturated"}

// safelisted are the response headers a page reads without their being
// exposed (the CORS-safelisted response-header names), and the CORS
// headers themselves: neither is worth listing.
func safelisted(name string) bool {
	switch strings.ToLower(name) {
	case "cache-control", "content-language", "content-length", "content-type", "expires", "last-modified", "pragma", "set-cookie", "vary":
		return true
	}
	return strings.HasPrefix(strings.ToLower(name), "access-control-")
}

// ParseOrigin checks one allowed origin as written in the settings and
// returns it as browsers send it in the Origin header: scheme://host or
// scheme://host:port, lower case, without the scheme's default port or a
// trailing slash. "null" (the origin of sandboxed frames and file: pages)
// is taken as it is.
func ParseOrigin(s string) (string, error) {
	s = strings.TrimSpace(s)
	const want = "want scheme://host[:port], such as https://app.example or http://localhost:3000"
	switch {
	case s == "":
		return "", fmt.Errorf("an empty origin: %s", want)
	case s == "null":
		return s, nil
	case s == "*":
		return "", fmt.Errorf("%q is not an origin: to allow any origin, turn cors on and give no cors-origin", s)
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Opaque != "" || u.Host == "" {
		return "", fmt.Errorf("%q is not an origin: %s", s, want)
	}
	switch {
	case u.User != nil:
		return "", fmt.Errorf("%q is not an origin: an origin has no user name or password (%s)", s, want)
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.ForceQuery, u.Fragment != "", strings.Contains(s, "#"):
		return "", fmt.Errorf("%q is not an origin: an origin has no path, query or fragment (%s)", s, want)
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if !originHost(host, strings.HasPrefix(u.Host, "[")) {
		return "", fmt.Errorf("%q is not an origin: the host is missing or not a host name (%s)", s, want)
	}
	if strings.HasSuffix(u.Host, ":") {
		return "", fmt.Errorf("%q is not an origin: the port is empty (%s)", s, want)
	}
	scheme := strings.ToLower(u.Scheme)
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("%q is not an origin: port %q is not 1-65535 (%s)", s, port, want)
		}
		port = strconv.Itoa(n)
		if scheme == "http" && n == 80 || scheme == "https" && n == 443 {
			port = ""
		}
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	out := scheme + "://" + host
	if port != "" {
		out += ":" + port
	}
	return out, nil
}

// originHost tells whether host is a host name as browsers send it in an
// Origin (ASCII, Punycode for others), or an IP address; an IPv6 one only
// when it was written in brackets.
func originHost(host string, bracketed bool) bool {
	if strings.Contains(host, ":") {
		a, err := netip.ParseAddr(host)
		return bracketed && err == nil && a.Is6() && a.Zone() == ""
	}
	if host == "" || bracketed {
		return false
	}
	for _, c := range []byte(host) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// corsPolicy is CORS compiled: what every answer gets.
type corsPolicy struct {
	origins []string // empty: any
	creds   bool
	// echo: the origin is echoed (an origin list, or credentials), so
	// answers differ by Origin and say so in Vary; without it every
	// answer carries "*", baked in at load.
	echo bool
	// own is what decoy's own answers (problems) get when not echo.
	own []Header
	// maxAge is Access-Control-Max-Age's value.
	maxAge string
}

func newCORSPolicy(c *CORS) *corsPolicy {
	if c == nil {
		return nil
	}
	p := &corsPolicy{origins: slices.Clone(c.Origins), creds: c.Credentials, maxAge: strconv.Itoa(int(c.MaxAge / time.Second))}
	p.echo = len(p.origins) > 0 || p.creds
	if !p.echo {
		p.own = []Header{header(hdrAllowOrigin, "*"), header(hdrExposeHeaders, strings.Join(decoyExposed, ", "))}
	}
	return p
}

func header(name, value string) Header {
	return Header{Name: name, Value: value, NameB: []byte(name), ValueB: []byte(value)}
}

// allowed tells the value of Access-Control-Allow-Origin for a request
// from origin: "" when it gets none.
func (p *corsPolicy) allowed(origin string) string {
	if !p.echo {
		return "*"
	}
	if origin == "" {
		return ""
	}
	if len(p.origins) == 0 {
		if !echoable(origin) {
			return ""
		}
		return origin
	}
	for _, o := range p.origins {
		if o == origin {
			return o
		}
	}
	return ""
}

// maxOriginLen bounds an Origin echoed when any origin is allowed.
const maxOriginLen = 256

// echoable tells whether an Origin header can be echoed as it came, when
// any origin is allowed: visible ASCII, as browsers serialize origins, of
// a sane length. Others get no Access-Control-Allow-Origin.
func echoable(origin string) bool {
	if len(origin) > maxOriginLen {
		return false
	}
	for i := 0; i < len(origin); i++ {
		if c := origin[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// has tells whether hs holds a header named name.
func has(hs []Header, name string) bool {
	for i := range hs {
		if strings.EqualFold(hs[i].Name, name) {
			return true
		}
	}
	return false
}

// variesByOrigin tells whether hs already say that the answer varies by
// Origin (or by everything).
func variesByOrigin(hs []Header) bool {
	for i := range hs {
		if !strings.EqualFold(hs[i].Name, "vary") {
			continue
		}
		for v := range strings.SplitSeq(hs[i].Value, ",") {
			if v = strings.TrimSpace(v); v == "*" || strings.EqualFold(v, "origin") {
				return true
			}
		}
	}
	return false
}

// exposed is the Access-Control-Expose-Headers value for headers hs:
// their names, those a page can read anyway left out, and decoy's own.
func exposed(hs []Header) string {
	var names []string
	seen := map[string]bool{}
	for _, n := range append(headerNames(hs), decoyExposed...) {
		if k := strings.ToLower(n); !safelisted(n) && !seen[k] {
			seen[k] = true
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

func headerNames(hs []Header) []string {
	out := make([]string, 0, len(hs))
	for i := range hs {
		out = append(out, hs[i].Name)
	}
	return out
}

// with returns r with the CORS headers for a request from origin added;
// r itself when it needs none. A response that sets
// Access-Control-Allow-Origin itself keeps its own CORS headers as they
// are: decoy adds none.
func (p *corsPolicy) with(r *Response, origin string) *Response {
	if has(r.Headers, hdrAllowOrigin) {
		return r
	}
	var add []Header
	if v := p.allowed(origin); v != "" {
		// The origin may alias a front door's buffer: the answer keeps a
		// copy.
		add = append(add, header(hdrAllowOrigin, strings.Clone(v)))
		if p.creds {
			add = append(add, header(hdrAllowCredentials, "true"))
		}
		if !has(r.Headers, hdrExposeHeaders) {
			add = append(add, header(hdrExposeHeaders, exposed(r.Headers)))
		}
	}
	if p.echo && !variesByOrigin(r.Headers) {
		add = append(add, header("Vary", "Origin"))
	}
	if len(add) == 0 {
		return r
	}
	c := *r
	c.Headers = append(slices.Clip(r.Headers), add...)
	return &c
}

// bake adds at load what every answer of r gets whatever the request: with
// any origin and no credentials, all the CORS headers ("*"); when the
// origin is echoed, Vary: Origin (the rest is added per request, see
// corsVary).
func (p *corsPolicy) bake(r *Response) {
	if r == nil || r.WebSocket != nil {
		return
	}
	if b := p.with(r, ""); b != r {
		r.Headers = b.Headers
	}
}

// ownHeaders are the CORS headers of an answer decoy makes itself (no
// stub matched, a malformed request, an injected error) to a request from
// origin.
func (p *corsPolicy) ownHeaders(origin string) []Header {
	if !p.echo {
		return p.own
	}
	var hs []Header
	if v := p.allowed(origin); v != "" {
		hs = append(hs, header(hdrAllowOrigin, strings.Clone(v)))
		if p.creds {
			hs = append(hs, header(hdrAllowCredentials, "true"))
		}
		hs = append(hs, header(hdrExposeHeaders, strings.Join(decoyExposed, ", ")))
	}
	return append(hs, header("Vary", "Origin"))
}

// CORSHeaders returns the CORS headers of an answer decoy makes itself
// (no stub matched, a malformed request, an injected error) to a request
// whose Origin is origin ("" for none): nil when CORS is off. With any
// origin and no credentials the slice is shared and made once.
func (e *Engine) CORSHeaders(origin string) []Header {
	p := e.snap.Load().cors
	if p == nil {
		return nil
	}
	return p.ownHeaders(origin)
}

// CORSOn tells whether CORS is on.
func (e *Engine) CORSOn() bool { return e.snap.Load().cors != nil }

// corsVary is the Varier of every stub while the origin is echoed: it
// adds the CORS headers for the request's Origin to the response the
// stub's own Varier (if any) made. Each response's version for an origin
// is made once and kept, so a page calling a stub again costs a lookup.
type corsVary struct {
	p     *corsPolicy
	inner Varier
	cache *originCache
}

func (v corsVary) Vary(r *Request, base *Response) *Response {
	if v.inner != nil {
		// A response of the stub's own Varier may be made per request:
		// it is not kept.
		base = v.inner.Vary(r, base)
		origin, _ := r.Fields.Header("Origin")
		return v.p.with(base, origin)
	}
	origin, _ := r.Fields.Header("Origin")
	if v.p.allowed(origin) == "" {
		return base
	}
	return v.cache.get(v.p, base, origin)
}

// originCache keeps the responses made for each origin, copy on write: a
// lookup takes no lock and allocates nothing.
type originCache struct {
	mu   sync.Mutex
	list atomic.Pointer[[]originEntry]
}

type originEntry struct {
	base   *Response
	origin string
	r      *Response
}

// maxOriginEntries bounds an originCache: with credentials and any origin
// allowed, origins are the clients' to choose. Past it, answers are made
// per request.
const maxOriginEntries = 64

func (c *originCache) get(p *corsPolicy, base *Response, origin string) *Response {
	if l := c.list.Load(); l != nil {
		for i := range *l {
			if e := &(*l)[i]; e.base == base && e.origin == origin {
				return e.r
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var cur []originEntry
	if l := c.list.Load(); l != nil {
		cur = *l
	}
	for i := range cur {
		if cur[i].base == base && cur[i].origin == origin {
			return cur[i].r
		}
	}
	origin = strings.Clone(origin) // it may alias the front door's buffer
	r := p.with(base, origin)
	if len(cur) < maxOriginEntries {
		next := append(slices.Clip(cur), originEntry{base, origin, r})
		c.list.Store(&next)
	}
	return r
}

// Verdict runs the stub's request check (Check must not be nil) and
// returns what it found: nil when r passes. A response it answers
// instead carries the CORS headers, as the stub's own would.
func (s *Stub) Verdict(r *Request) *Verdict {
	v := s.check.Check(r)
	if v == nil || v.Response == nil || s.cors == nil {
		return v
	}
	origin, _ := r.Fields.Header("Origin")
	nv := *v
	nv.Response = s.cors.with(v.Response, origin)
	return &nv
}

// compileStub bakes the CORS headers into s's responses and, when the
// origin is echoed, gives s the Varier that adds it.
func (p *corsPolicy) compileStub(s *Stub) {
	if p == nil {
		return
	}
	s.cors = p
	for _, r := range s.responses {
		p.bake(r)
	}
	if p.echo && s.websocket == nil {
		s.vary = corsVary{p: p, inner: s.vary, cache: &originCache{}}
	} else if s.vary != nil {
		// Answers a stub's Varier makes from a response with the headers
		// baked in keep them; any other gets them per request.
		s.vary = corsVary{p: p, inner: s.vary}
	}
}

// preflight returns the stub that answers r, when r is a CORS preflight
// that no stub with an explicit method OPTIONS answers: best, the stub
// Match found, if it is one; another OPTIONS stub that matches; or decoy's
// own answer. It returns best for any other request.
func (s *Snapshot) preflight(r *Request, best *Stub) *Stub {
	if best != nil && best.method == "OPTIONS" && !best.anyMethod {
		return best
	}
	if _, ok := r.Fields.Header("Origin"); !ok {
		return best
	}
	if _, ok := r.Fields.Header(hdrRequestMethod); !ok {
		return best
	}
	for _, st := range s.options {
		if st.matchPath(r.Path) && st.matchRest(r) {
			return st
		}
	}
	return s.preflightStub
}

// newPreflightStub is the stub of the preflights decoy answers: 204, made
// per request by preflightVary.
func newPreflightStub(snap *Snapshot, p *corsPolicy, stats *Stats) *Stub {
	base := &Response{Status: 204}
	st := &Stub{ID: PreflightID, Origin: "cors", method: "OPTIONS", calls: new(atomic.Uint64),
		responses: []*Response{base}, stats: stats, vary: preflightVary{snap, p}}
	st.setImmediate()
	return st
}

// preflightVary makes the answer to a preflight: the origin allowed, the
// methods the stubs on the path accept, the headers asked for.
type preflightVary struct {
	snap *Snapshot
	p    *corsPolicy
}

func (v preflightVary) Vary(r *Request, base *Response) *Response {
	origin, _ := r.Fields.Header("Origin")
	method, _ := r.Fields.Header(hdrRequestMethod)
	asked, _ := r.Fields.Header(hdrRequestHeaders)
	out := &Response{Status: base.Status}
	if allow := v.p.allowed(origin); allow != "" {
		out.Headers = append(out.Headers, header(hdrAllowOrigin, strings.Clone(allow)))
		if v.p.creds {
			out.Headers = append(out.Headers, header(hdrAllowCredentials, "true"))
		}
		out.Headers = append(out.Headers, header(hdrAllowMethods, strings.Join(v.snap.methodsFor(r.Path, method), ", ")))
		if asked = strings.TrimSpace(asked); asked != "" && !strings.ContainsAny(asked, "\r\n\x00") {
			out.Headers = append(out.Headers, header(hdrAllowHeaders, strings.Clone(asked)))
		}
		out.Headers = append(out.Headers, header(hdrMaxAge, v.p.maxAge))
	}
	vary := "Access-Control-Request-Method, Access-Control-Request-Headers"
	if v.p.echo {
		vary = "Origin, " + vary
	}
	out.Headers = append(out.Headers, header("Vary", vary))
	return out
}

// methodOrder is the order methods are listed in.
var methodOrder = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// refusesMethods reports whether every answer of the stub is a 405: it
// accepts no method.
func (s *Stub) refusesMethods() bool {
	for _, r := range s.responses {
		if r == nil || r.Status != 405 {
			return false
		}
	}
	return len(s.responses) > 0
}

// methodsFor lists the methods the stubs whose path matches path accept,
// whatever else they match on, for a preflight asking for method: that
// method too when some stub there accepts any method, or when no stub is
// on the path (the request then gets decoy's 404, which the page can
// read). A method no stub there accepts is left out, and the browser
// stops the request.
func (s *Snapshot) methodsFor(path, method string) []string {
	set := map[string]bool{}
	onPath, anyMethod := false, false
	for _, st := range s.stubs {
		// gRPC calls are not a browser's fetch (gRPC-Web's preflights
		// are answered before the stubs).
		if st.door == DoorGRPC || !st.matchPath(path) {
			continue
		}
		onPath = true
		if st.refusesMethods() {
			continue // an OpenAPI path's 405 for the methods it lacks
		}
		if st.anyMethod {
			anyMethod = true
			continue
		}
		set[st.method] = true
		if st.method == "GET" {
			set["HEAD"] = true
		}
	}
	if (anyMethod || !onPath) && method != "" && validHeaderName(method) {
		set[strings.Clone(method)] = true
	}
	out := make([]string, 0, len(set))
	for _, m := range methodOrder {
		if set[m] {
			out = append(out, m)
			delete(set, m)
		}
	}
	return append(out, slices.Sorted(maps.Keys(set))...)
}
