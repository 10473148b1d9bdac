package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/stub"
)

func TestParseOrigin(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "https://app.example", want: "https://app.example"},
		{in: "  HTTPS://App.Example  ", want: "https://app.example"},
		{in: "https://app.example/", want: "https://app.example"},
		{in: "https://app.example:443", want: "https://app.example"},
		{in: "http://localhost:80", want: "http://localhost"},
		{in: "http://localhost:3000", want: "http://localhost:3000"},
		{in: "https://app.example:8443", want: "https://app.example:8443"},
		{in: "http://[::1]:3000", want: "http://[::1]:3000"},
		{in: "capacitor://localhost", want: "capacitor://localhost"},
		{in: "null", want: "null"},
		{in: "", err: "empty origin"},
		{in: "*", err: "give no cors-origin"},
		{in: "app.example", err: "want scheme://host[:port]"},
		{in: "localhost:3000", err: "want scheme://host[:port]"},
		{in: "https://", err: "want scheme://host[:port]"},
		{in: "https://app.example/path", err: "no path, query or fragment"},
		{in: "https://app.example?x=1", err: "no path, query or fragment"},
		{in: "https://app.example#top", err: "no path, query or fragment"},
		{in: "https://user:pw@app.example", err: "no user name"},
		{in: "https://app.example:0", err: "not 1-65535"},
		{in: "https://app.example:99999", err: "not 1-65535"},
		{in: "https://app.example:", err: "port is empty"},
		{in: "https://*.example", err: "not a host name"},
		{in: "mailto:someone@app.example", err: "want scheme://host[:port]"},
	}
	for _, tt := range tests {
		got, err := ParseOrigin(tt.in)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("ParseOrigin(%q): %v", tt.in, err)
		case tt.err == "" && got != tt.want:
			t.Errorf("ParseOrigin(%q) = %q, want %q", tt.in, got, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseOrigin(%q) = %q, %v; want an error saying %q", tt.in, got, err, tt.err)
		}
	}
}

// FuzzParseOrigin: ParseOrigin never panics, and what it accepts is an
// origin as browsers send it, which it takes back unchanged.
func FuzzParseOrigin(f *testing.F) {
	for _, s := range []string{"https://app.example", "http://localhost:3000", "HTTPS://A.B:443/", "null", "*", "http://[::1]:80", "x://y:65536", "https://a.b/c?d#e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOrigin(s)
		if err != nil {
			if o != "" {
				t.Fatalf("ParseOrigin(%q) = %q with error %v", s, o, err)
			}
			return
		}
		if o != "null" && (!strings.Contains(o, "://") || strings.ContainsAny(o[strings.Index(o, "://")+3:], "/?#@ \r\n")) {
			t.Fatalf("ParseOrigin(%q) = %q: not scheme://host[:port]", s, o)
		}
		if again, err := ParseOrigin(o); err != nil || again != o {
			t.Fatalf("ParseOrigin(%q) = %q, but ParseOrigin(%q) = %q, %v", s, o, o, again, err)
		}
	})
}

// corsStubs are the stubs the CORS tests run against.
func corsStubs() []Source {
	hdr := func(kv ...string) map[string]stub.HeaderValues {
		m := map[string]stub.HeaderValues{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = stub.HeaderValues{kv[i+1]}
		}
		return m
	}
	return []Source{
		{Stub: stub.Stub{ID: "plain", Request: stub.Request{Method: "GET", Path: "/plain"},
			Response: &stub.Response{Headers: hdr("X-Request-Id", "r1", "Cache-Control", "no-cache"), Body: stub.Text("x")}}},
		{Stub: stub.Stub{ID: "own-origin", Request: stub.Request{Method: "GET", Path: "/own"},
			Response: &stub.Response{Headers: hdr("Access-Control-Allow-Origin", "https://mine.example")}}},
		{Stub: stub.Stub{ID: "own-vary", Request: stub.Request{Method: "GET", Path: "/vary"},
			Response: &stub.Response{Headers: hdr("Vary", "Accept, Origin")}}},
		{Stub: stub.Stub{ID: "own-expose", Request: stub.Request{Method: "GET", Path: "/expose"},
			Response: &stub.Response{Headers: hdr("Access-Control-Expose-Headers", "X-Mine", "X-Mine", "1")}}},
		{Stub: stub.Stub{ID: "create", Request: stub.Request{Method: "POST", Path: "/users"}, Response: ok200()}},
		{Stub: stub.Stub{ID: "get-user", Request: stub.Request{Method: "GET", Path: "/users/{id}"}, Response: ok200()}},
		{Stub: stub.Stub{ID: "del-user", Request: stub.Request{Method: "DELETE", Path: "/users/{id}"}, Response: ok200()}},
		{Stub: stub.Stub{ID: "anything", Request: stub.Request{Path: "/any"}, Response: ok200()}},
		{Stub: stub.Stub{ID: "options", Request: stub.Request{Method: "OPTIONS", Path: "/custom"}, Response: status(200)}},
		{Stub: stub.Stub{ID: "custom-any", Request: stub.Request{Path: "/custom"}, Response: status(202)}},
		// An OpenAPI path's answer to the methods it lacks, and a stub for
		// gRPC calls only (see corsDoors): neither accepts a method.
		{Stub: stub.Stub{ID: "users-405", Priority: 23, Request: stub.Request{Path: "/users"}, Response: status(405)}},
		{Stub: stub.Stub{ID: "grpc-only", Request: stub.Request{Method: "PATCH", Path: "/users"}, Response: ok200()}},
	}
}

// corsDoors keeps corsStubs' stub grpc-only for gRPC calls.
var corsDoors = WithDoor(func(s stub.Stub) Door {
	if s.ID == "grpc-only" {
		return DoorGRPC
	}
	return DoorAny
})

// answer is what a front door sends for r: the matched stub's response,
// through its Varier.
func answer(t *testing.T, snap *Snapshot, r *Request) (*Stub, *Response) {
	t.Helper()
	st := snap.Match(r)
	if st == nil {
		return nil, nil
	}
	resp := st.Next()
	if v := st.Vary(); v != nil {
		resp = v.Vary(r, resp)
	}
	return st, resp
}

// headerText renders the CORS-related headers of r, in order, one
// "Name: value" each, joined by " | ".
func headerText(r *Response) string {
	var out []string
	for _, h := range r.Headers {
		if strings.HasPrefix(strings.ToLower(h.Name), "access-control-") || strings.EqualFold(h.Name, "vary") {
			out = append(out, h.Name+": "+h.Value)
		}
	}
	return strings.Join(out, " | ")
}

const decoyExposedText = "Server-Timing, Decoy-Validation, Decoy-Delay-Clamped, Decoy-Saturated"

func TestCORSAnswers(t *testing.T) {
	anyOrigin := &CORS{}
	list := &CORS{Origins: []string{"https://app.example", "http://localhost:3000"}}
	creds := &CORS{Credentials: true}
	const app = "https://app.example"
	tests := []struct {
		name   string
		cors   *CORS
		path   string
		origin string
		want   string
	}{
		{"off", nil, "/plain", app, ""},
		{"any origin", anyOrigin, "/plain", app,
			"Access-Control-Allow-Origin: * | Access-Control-Expose-Headers: X-Request-Id, " + decoyExposedText},
		{"any origin, no Origin sent", anyOrigin, "/plain", "",
			"Access-Control-Allow-Origin: * | Access-Control-Expose-Headers: X-Request-Id, " + decoyExposedText},
		{"the stub's own Allow-Origin wins", anyOrigin, "/own", app, "Access-Control-Allow-Origin: https://mine.example"},
		{"the stub's own Expose-Headers wins", anyOrigin, "/expose", app,
			"Access-Control-Expose-Headers: X-Mine | Access-Control-Allow-Origin: *"},
		{"list, allowed", list, "/plain", app,
			"Vary: Origin | Access-Control-Allow-Origin: https://app.example | Access-Control-Expose-Headers: X-Request-Id, " + decoyExposedText},
		{"list, another allowed", list, "/plain", "http://localhost:3000",
			"Vary: Origin | Access-Control-Allow-Origin: http://localhost:3000 | Access-Control-Expose-Headers: X-Request-Id, " + decoyExposedText},
		{"list, not allowed", list, "/plain", "https://evil.example", "Vary: Origin"},
		{"list, no Origin", list, "/plain", "", "Vary: Origin"},
		{"list, the stub varies by Origin already", list, "/vary", app,
			"Vary: Accept, Origin | Access-Control-Allow-Origin: https://app.example | Access-Control-Expose-Headers: " + decoyExposedText},
		{"credentials echo any origin", creds, "/plain", "https://any.example",
			"Vary: Origin | Access-Control-Allow-Origin: https://any.example | Access-Control-Allow-Credentials: true | Access-Control-Expose-Headers: X-Request-Id, " + decoyExposedText},
		{"credentials, no Origin", creds, "/plain", "", "Vary: Origin"},
		{"credentials, an Origin that is not one", creds, "/plain", "https://a.example\x01", "Vary: Origin"},
		{"credentials, an Origin too long", creds, "/plain", "https://" + strings.Repeat("a", 300) + ".example", "Vary: Origin"},
		{"list, the stub's own Allow-Origin wins", list, "/own", app, "Access-Control-Allow-Origin: https://mine.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, errs := Compile(corsStubs(), WithCORS(tt.cors))
			if errs != nil {
				t.Fatal(errs)
			}
			h := map[string]string{}
			if tt.origin != "" {
				h["Origin"] = tt.origin
			}
			_, resp := answer(t, snap, rq{path: tt.path, header: h}.req())
			if resp == nil {
				t.Fatal("no stub matched")
			}
			if got := headerText(resp); got != tt.want {
				t.Errorf("CORS headers\n got %s\nwant %s", got, tt.want)
			}
			// Asked again, the same origin gets the same answer.
			if _, again := answer(t, snap, rq{path: tt.path, header: h}.req()); headerText(again) != tt.want {
				t.Errorf("second answer: %s", headerText(again))
			}
		})
	}
}

func TestCORSPreflight(t *testing.T) {
	const app = "https://app.example"
	pre := func(path, origin, method, headers string) rq {
		h := map[string]string{}
		if origin != "" {
			h["Origin"] = origin
		}
		if method != "" {
			h["Access-Control-Request-Method"] = method
		}
		if headers != "" {
			h["Access-Control-Request-Headers"] = headers
		}
		return rq{method: "OPTIONS", path: path, header: h}
	}
	const varyAll = "Vary: Access-Control-Request-Method, Access-Control-Request-Headers"
	tests := []struct {
		name   string
		cors   *CORS
		r      rq
		stub   string // the stub that answers ("": none)
		status int
		want   string
	}{
		{"max age 0: browsers keep nothing", &CORS{}, pre("/users", app, "POST", ""), PreflightID, 204,
			"Access-Control-Allow-Origin: * | Access-Control-Allow-Methods: POST | Access-Control-Max-Age: 0 | " + varyAll},
		{"max age in whole seconds", &CORS{MaxAge: 90*time.Second + 500*time.Millisecond}, pre("/users", app, "POST", ""), PreflightID, 204,
			"Access-Control-Allow-Origin: * | Access-Control-Allow-Methods: POST | Access-Control-Max-Age: 90 | " + varyAll},
		{"off: no preflight", nil, pre("/users", app, "POST", ""), "users-405", 405, ""},
		{"a method the path accepts", &CORS{MaxAge: 10 * time.Minute}, pre("/users", app, "POST", "Content-Type, X-Token"), PreflightID, 204,
			"Access-Control-Allow-Origin: * | Access-Control-Allow-Methods: POST | Access-Control-Allow-Headers: Content-Type, X-Token | Access-Control-Max-Age: 600 | " + varyAll},
		{"the methods of a template", &CORS{MaxAge: 10 * time.Minute}, pre("/users/7", app, "DELETE", ""), PreflightID, 204,
			"Access-Control-Allow-Origin: * | Access-Control-Allow-Methods: GET, HEAD, DELETE | Access-Control-Max-Age: 600 | " + varyAll},
		{"a method no stub on the path accepts", &CORS{MaxAge: 10 * time.Minute}, pre("/users", app, "PUT", ""), PreflightID, 204,
			"Access-Control-Allow-Origin: * | Access-Control-Allow-Methods: POST | Access-Control-Max-Age: 600 | " + varyAll},
		{"no stub on the path", &CORS{MaxAge: 10 * time.Minute}, pre("/nothing", app, "PATCH", ""), PreflightID, 204,
			"Access-Control-Allow-Origin: * | Access-Control-Allow-Methods: PATCH | Access-Control-Max-Age: 600 | " + varyAll},
		{"a stub for any method", &CORS{MaxAge: 10 * time.Minute}, pre("/any", app, "PUT", ""), PreflightID, 204,
			"Access-Control-Allow-Origin: * | Access-Control-Allow-Methods: PUT | Access-Control-Max-Age: 600 | " + varyAll},
		{"a stub with method OPTIONS wins", &CORS{MaxAge: 10 * time.Minute}, pre("/custom", app, "PUT", ""), "options", 200, ""},
		{"OPTIONS without Access-Control-Request-Method is no preflight", &CORS{MaxAge: 10 * time.Minute}, pre("/any", app, "", ""), "anything", 200, ""},
		{"OPTIONS without Origin is no preflight", &CORS{MaxAge: 10 * time.Minute}, pre("/users", "", "POST", ""), "users-405", 405, ""},
		{"list, allowed", &CORS{Origins: []string{app}, MaxAge: 10 * time.Minute}, pre("/users", app, "POST", ""), PreflightID, 204,
			"Access-Control-Allow-Origin: https://app.example | Access-Control-Allow-Methods: POST | Access-Control-Max-Age: 600 | Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers"},
		{"list, not allowed", &CORS{Origins: []string{app}, MaxAge: 10 * time.Minute}, pre("/users", "https://evil.example", "POST", ""), PreflightID, 204,
			"Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers"},
		{"credentials", &CORS{Credentials: true, MaxAge: 10 * time.Minute}, pre("/users", app, "POST", "authorization"), PreflightID, 204,
			"Access-Control-Allow-Origin: https://app.example | Access-Control-Allow-Credentials: true | Access-Control-Allow-Methods: POST | Access-Control-Allow-Headers: authorization | Access-Control-Max-Age: 600 | Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, errs := Compile(corsStubs(), WithCORS(tt.cors), corsDoors)
			if errs != nil {
				t.Fatal(errs)
			}
			st, resp := answer(t, snap, tt.r.req())
			switch {
			case tt.stub == "" && st != nil:
				t.Fatalf("stub %s answered, want none", st.ID)
			case tt.stub == "":
				return
			case st == nil:
				t.Fatalf("no stub answered, want %s", tt.stub)
			case st.ID != tt.stub:
				t.Fatalf("stub %s answered, want %s", st.ID, tt.stub)
			}
			if resp.Status != tt.status {
				t.Errorf("status %d, want %d", resp.Status, tt.status)
			}
			if tt.want != "" {
				if got := headerText(resp); got != tt.want {
					t.Errorf("headers\n got %s\nwant %s", got, tt.want)
				}
			}
		})
	}
}

// The preflights decoy answers are counted under the preflight stub,
// whose statistics outlive a change of stubs; it is not listed among the
// stubs, and a snapshot without CORS has none.
func TestCORSPreflightStats(t *testing.T) {
	off, errs := Compile(corsStubs())
	if errs != nil {
		t.Fatal(errs)
	}
	if off.Preflight() != nil {
		t.Error("a preflight stub with CORS off")
	}
	store, err := NewStore(corsStubs(), WithCORS(&CORS{}))
	if err != nil {
		t.Fatal(err)
	}
	r := rq{method: "OPTIONS", path: "/users", header: map[string]string{"Origin": "https://a.example", "Access-Control-Request-Method": "POST"}}.req()
	st := store.Engine().Match(r)
	if st == nil || st.ID != PreflightID || !st.Immediate() || st != store.Engine().Snapshot().Preflight() {
		t.Fatalf("preflight stub %+v", st)
	}
	if store.Engine().Snapshot().Get(PreflightID) != nil {
		t.Error("the preflight stub is listed among the stubs")
	}
	st.Stats().RecordStatus(0, 204, 0, 0, 0)
	if _, err := store.Create(withID("more", stub.Stub{Request: stub.Request{Path: "/more"}}), "api"); err != nil {
		t.Fatal(err)
	}
	next := store.Engine().Snapshot().Preflight()
	if next == st {
		t.Fatal("the new snapshot kept the old preflight stub (its methods would be stale)")
	}
	if v := next.Stats().Read(); v.Requests() != 1 {
		n := v.Requests()
		t.Errorf("after a change the preflight stub counts %d requests, want 1", n)
	}
}

// checkFunc is a RequestCheck from a function.
type checkFunc func(*Request) *Verdict

func (f checkFunc) Check(r *Request) *Verdict { return f(r) }

// The answer of a failed request check carries the CORS headers too, and
// the check's own verdict is left as it was.
func TestCORSVerdict(t *testing.T) {
	problem := &Response{Status: 422, ContentType: "application/problem+json", Body: []byte("{}")}
	shared := &Verdict{Response: problem, Summary: "bad"}
	srcs := []Source{{Stub: stub.Stub{ID: "checked", Request: stub.Request{Method: "POST", Path: "/v"}, Response: ok200()},
		Check: checkFunc(func(*Request) *Verdict { return shared })}}
	for _, tt := range []struct {
		cors *CORS
		want string
	}{
		{nil, ""},
		{&CORS{}, "Access-Control-Allow-Origin: * | Access-Control-Expose-Headers: " + decoyExposedText},
		{&CORS{Origins: []string{"https://app.example"}}, "Access-Control-Allow-Origin: https://app.example | Access-Control-Expose-Headers: " + decoyExposedText + " | Vary: Origin"},
	} {
		snap, errs := Compile(srcs, WithCORS(tt.cors))
		if errs != nil {
			t.Fatal(errs)
		}
		r := rq{method: "POST", path: "/v", header: map[string]string{"Origin": "https://app.example"}}.req()
		st := snap.Match(r)
		v := st.Verdict(r)
		if v == nil || v.Summary != "bad" || v.Response.Status != 422 {
			t.Fatalf("verdict %+v", v)
		}
		if got := headerText(v.Response); got != tt.want {
			t.Errorf("cors %+v: headers\n got %s\nwant %s", tt.cors, got, tt.want)
		}
		if len(problem.Headers) != 0 || shared.Response != problem {
			t.Fatal("the check's own verdict was changed")
		}
	}
}

func TestEngineCORSHeaders(t *testing.T) {
	tests := []struct {
		cors   *CORS
		origin string
		want   string
	}{
		{nil, "https://app.example", ""},
		{&CORS{}, "https://app.example", "Access-Control-Allow-Origin: * | Access-Control-Expose-Headers: " + decoyExposedText},
		{&CORS{Origins: []string{"https://app.example"}}, "https://app.example", "Access-Control-Allow-Origin: https://app.example | Access-Control-Expose-Headers: " + decoyExposedText + " | Vary: Origin"},
		{&CORS{Origins: []string{"https://app.example"}}, "https://evil.example", "Vary: Origin"},
		{&CORS{Credentials: true}, "https://b.example", "Access-Control-Allow-Origin: https://b.example | Access-Control-Allow-Credentials: true | Access-Control-Expose-Headers: " + decoyExposedText + " | Vary: Origin"},
	}
	for _, tt := range tests {
		snap, errs := Compile(nil, WithCORS(tt.cors))
		if errs != nil {
			t.Fatal(errs)
		}
		e := New(snap)
		if e.CORSOn() != (tt.cors != nil) {
			t.Errorf("CORSOn() = %v", e.CORSOn())
		}
		if got := headerText(&Response{Headers: e.CORSHeaders(tt.origin)}); got != tt.want {
			t.Errorf("cors %+v, origin %s:\n got %s\nwant %s", tt.cors, tt.origin, got, tt.want)
		}
	}
}

// With any origin the headers are in the compiled response; with a list,
// a page's origin is answered from responses made once: matching and
// answering a static stub allocates nothing either way.
func TestCORSAllocs(t *testing.T) {
	for _, c := range []*CORS{{}, {Origins: []string{"https://other.example", "https://app.example"}}, {Credentials: true}} {
		snap, errs := Compile(corsStubs(), WithCORS(c))
		if errs != nil {
			t.Fatal(errs)
		}
		r := rq{path: "/plain", header: map[string]string{"Origin": "https://app.example"}}.req()
		var resp *Response
		allocs := testing.AllocsPerRun(1000, func() {
			st := snap.Match(r)
			resp = st.Next()
			if v := st.Vary(); v != nil {
				resp = v.Vary(r, resp)
			}
		})
		if allocs != 0 {
			t.Errorf("cors %+v: %v allocations per request, want 0", c, allocs)
		}
		if !strings.Contains(headerText(resp), "Access-Control-Allow-Origin") {
			t.Errorf("cors %+v: %s", c, headerText(resp))
		}
	}
}

// Past maxOriginEntries origins, answers are made per request, still
// right.
func TestCORSOriginCacheBound(t *testing.T) {
	snap, errs := Compile(corsStubs(), WithCORS(&CORS{Credentials: true}))
	if errs != nil {
		t.Fatal(errs)
	}
	for i := range maxOriginEntries + 10 {
		o := "https://o" + strings.Repeat("x", i) + ".example"
		_, resp := answer(t, snap, rq{path: "/plain", header: map[string]string{"Origin": o}}.req())
		if !strings.Contains(headerText(resp), "Access-Control-Allow-Origin: "+o+" |") {
			t.Fatalf("origin %s: %s", o, headerText(resp))
		}
	}
	st := snap.Get("plain")
	if n := len(*st.vary.(corsVary).cache.list.Load()); n != maxOriginEntries {
		t.Errorf("the cache holds %d answers, want %d", n, maxOriginEntries)
	}
}
