package admin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"reflect"
	"sort"
	"strings"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/problem"
	"github.com/decoy-dev/decoy/internal/stub"
	"github.com/decoy-dev/decoy/internal/urlpath"
)

// Journal verification, WireMock-style: POST /requests/count and
// /requests/find take a request matcher in the stub model (a stub's
// "request"), POST /verify takes one with a count to hold.

// maxNearMisses is how many of the closest non-matching requests a failed
// verification reports.
const maxNearMisses = 3

// countResult answers POST /requests/count.
type countResult struct {
	Count int `json:"count"`
	// Searched is how many journal entries were looked at.
	Searched int `json:"searched"`
	// Complete is false when the journal dropped requests since it was last
	// cleared (journal-size or journal-bytes reached): a count may then be
	// too low.
	Complete bool `json:"complete"`
}

// findResult answers POST /requests/find.
type findResult struct {
	countResult
	Requests []journal.Entry `json:"requests"`
}

// CountSpec is how many matching requests POST /verify expects. Bounds that
// are set must all hold; none set means atLeast 1.
type CountSpec struct {
	AtLeast *int `json:"atLeast,omitempty"`
	AtMost  *int `json:"atMost,omitempty"`
	Exactly *int `json:"exactly,omitempty"`
}

// VerifyQuery is the body of POST /verify.
type VerifyQuery struct {
	Request stub.Request `json:"request"`
	Count   *CountSpec   `json:"count,omitempty"`
}

// NearMiss is a recorded request that came close to matching, and why it
// did not.
type NearMiss struct {
	Seq     uint64   `json:"seq"`
	Method  string   `json:"method"`
	URI     string   `json:"uri"`
	Stub    string   `json:"stub,omitempty"`
	Reasons []string `json:"reasons"`
}

// verifyResult answers POST /verify: as JSON with 200 when the count held,
// inside a problem document with 409 when it did not.
type verifyResult struct {
	*problem.Problem
	Expected   string     `json:"expected"`
	Count      int        `json:"count"`
	Searched   int        `json:"searched"`
	Complete   bool       `json:"complete"`
	NearMisses []NearMiss `json:"nearMisses,omitempty"`
}

func (a *api) countRequests(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeMatcher(w, r)
	if err != nil {
		return err
	}
	entries, err := a.journalEntries()
	if err != nil {
		return err
	}
	res, _ := run(m, entries, false)
	return writeJSON(w, http.StatusOK, res.countResult)
}

func (a *api) findRequests(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeMatcher(w, r)
	if err != nil {
		return err
	}
	entries, err := a.journalEntries()
	if err != nil {
		return err
	}
	res, _ := run(m, entries, true)
	return writeJSON(w, http.StatusOK, res)
}

func (a *api) verify(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var q VerifyQuery
	if err := decodeStrict(body, &q); err != nil {
		return err
	}
	spec, err := checkCount(q.Count)
	if err != nil {
		return err
	}
	m, errs := engine.CompileRequest(q.Request)
	if len(errs) > 0 {
		return invalidMatcher("request", errs)
	}
	entries, err := a.journalEntries()
	if err != nil {
		return err
	}
	res, misses := run(m, entries, false)
	out := verifyResult{
		Expected: spec.String(),
		Count:    res.Count,
		Searched: res.Searched,
		Complete: res.Complete,
	}
	if spec.holds(res.Count) {
		return writeJSON(w, http.StatusOK, out)
	}
	out.Problem = problem.New(http.StatusConflict,
		fmt.Sprintf("expected %s matching request(s), found %d", out.Expected, res.Count))
	if res.Count < spec.min() {
		// Too few: the requests that nearly matched are the likely culprits.
		out.NearMisses = misses
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("encoding the response: %w", err)
	}
	w.Header().Set("Content-Type", problem.ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusConflict)
	_, _ = w.Write(b)
	return nil
}

// journalRun is the journal read once, with its completeness.
type journalRun struct {
	entries  []journal.Entry
	complete bool
}

// journalEntries reads the whole journal, newest first. A journal that is
// off is a 409: there is nothing to count, and 0 would be a lie.
func (a *api) journalEntries() (journalRun, error) {
	if a.journal.Cap() == 0 {
		return journalRun{}, errorf(http.StatusConflict,
			"the request journal is off (journal-size 0): nothing was recorded to count")
	}
	return journalRun{entries: a.journal.Find(journal.Filter{}), complete: a.journal.Dropped() == 0}, nil
}

// run matches m over the journal. It returns the result (with the matching
// entries when keep is set) and the closest misses, nearest first.
func run(m *engine.RequestMatcher, j journalRun, keep bool) (findResult, []NearMiss) {
	res := findResult{countResult: countResult{Searched: len(j.entries), Complete: j.complete}, Requests: []journal.Entry{}}
	type miss struct {
		NearMiss
		distance int
	}
	var misses []miss
	for i := range j.entries {
		e := &j.entries[i]
		req := entryRequest(e)
		if m.Match(&req) {
			res.Count++
			if keep {
				res.Requests = append(res.Requests, *e)
			}
			continue
		}
		reasons, d := m.Why(&req)
		if len(reasons) == 0 {
			continue
		}
		misses = append(misses, miss{NearMiss{Seq: e.Seq, Method: e.Method, URI: e.URI, Stub: e.Stub, Reasons: reasons}, d})
	}
	// Stable: among equally close misses the newest comes first.
	sort.SliceStable(misses, func(a, b int) bool { return misses[a].distance < misses[b].distance })
	out := make([]NearMiss, 0, maxNearMisses)
	for i := 0; i < len(misses) && i < maxNearMisses; i++ {
		out = append(out, misses[i].NearMiss)
	}
	return res, out
}

// entryRequest is a journal entry as the engine sees a request.
func entryRequest(e *journal.Entry) engine.Request {
	path := urlpath.Pattern(e.Path) // as sent, or already in that form
	body := []byte(e.Body)
	if e.BodyEncoding == "base64" {
		if b, err := base64.StdEncoding.DecodeString(e.Body); err == nil {
			body = b
		}
	}
	// A gRPC call (gRPC-Web's too) is journaled with its status.
	return engine.Request{Proto: e.Proto, GRPC: e.GRPCStatus != nil, Method: e.Method, Path: path, Body: body, Fields: &entryFields{e: e}, ClientCert: e.Cert}
}

// entryFields reads headers, query parameters and cookies from a journal
// entry, the way the front doors read them from a live request.
type entryFields struct {
	e     *journal.Entry
	query url.Values // parsed on first use
}

var _ engine.Fields = (*entryFields)(nil)

func (f *entryFields) Header(name string) (string, bool) {
	vs, ok := f.e.Headers[textproto.CanonicalMIMEHeaderKey(name)]
	if !ok && strings.EqualFold(name, "host") {
		vs, ok = f.e.Headers[":authority"]
	}
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

func (f *entryFields) Query(name string) (string, bool) {
	if f.query == nil {
		f.query, _ = url.ParseQuery(f.e.Query)
		if f.query == nil {
			f.query = url.Values{}
		}
	}
	vs, ok := f.query[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

func (f *entryFields) Cookie(name string) (string, bool) {
	for _, line := range f.e.Headers["Cookie"] {
		cs, err := http.ParseCookie(line)
		if err != nil {
			// One malformed pair spoils the line for ParseCookie: fall
			// back to a plain split.
			for part := range strings.SplitSeq(line, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
				if ok && k == name {
					return strings.Trim(v, `"`), true
				}
			}
			continue
		}
		for _, c := range cs {
			if c.Name == name {
				return c.Value, true
			}
		}
	}
	return "", false
}

// --- decoding queries ---

// readBody reads a request body of at most MaxBodyBytes; an empty one is a
// 400.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, errorf(http.StatusBadRequest, "cannot read the request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalid("the request body is empty: send a JSON object")
	}
	return body, nil
}

// decodeStrict decodes one JSON object into v, refusing unknown fields. A
// mistake is a 400 whose errors name the field.
func decodeStrict(body []byte, v any) error {
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] != '{' {
		return invalid("the body is not a JSON object", problem.Detail{Message: fmt.Sprintf("it starts with %q: send a JSON object", t[:min(len(t), 16)])})
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err := dec.Token(); err != io.EOF {
			line, col := stub.Position(body, int(dec.InputOffset()))
			return invalid("malformed JSON body", problem.Detail{
				Message: fmt.Sprintf("line %d, column %d: unexpected data after the object", line, col)})
		}
		return nil
	}
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		line, col := stub.Position(body, int(syn.Offset))
		return invalid("malformed JSON body", problem.Detail{Message: fmt.Sprintf("line %d, column %d: %s", line, col, syn.Error())})
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := stub.Position(body, len(body))
		return invalid("malformed JSON body", problem.Detail{Message: fmt.Sprintf("line %d, column %d: unexpected end of the body", line, col)})
	}
	var details []problem.Detail
	diagnose(body, reflect.TypeOf(v).Elem(), "", &details)
	if len(details) == 0 {
		d := problem.Detail{Message: strings.TrimPrefix(err.Error(), "json: ")}
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			d.Field = ute.Field
		}
		details = append(details, d)
	}
	return invalid("the body is not a valid query", details...)
}

// decodeMatcher reads and compiles the request matcher that is the body of
// /requests/count and /requests/find.
func decodeMatcher(w http.ResponseWriter, r *http.Request) (*engine.RequestMatcher, error) {
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	var req stub.Request
	if err := decodeStrict(body, &req); err != nil {
		return nil, err
	}
	m, errs := engine.CompileRequest(req)
	if len(errs) > 0 {
		return nil, invalidMatcher("", errs)
	}
	return m, nil
}

// invalidMatcher is the 400 for a request matcher that does not compile;
// prefix is where the matcher sits in the body.
func invalidMatcher(prefix string, errs []stub.FieldError) error {
	details := make([]problem.Detail, 0, len(errs))
	for _, e := range errs {
		details = append(details, problem.Detail{Field: stub.Join(prefix, e.Field), Message: e.Msg})
	}
	return invalid("invalid request matcher", details...)
}

// bounds is a checked CountSpec: min <= count <= max (max < 0: no bound).
type bounds struct{ lo, hi int }

func (b bounds) min() int { return b.lo }

func (b bounds) holds(n int) bool { return n >= b.lo && (b.hi < 0 || n <= b.hi) }

func (b bounds) String() string {
	switch {
	case b.lo == b.hi:
		return fmt.Sprintf("exactly %d", b.lo)
	case b.hi < 0:
		return fmt.Sprintf("at least %d", b.lo)
	case b.lo == 0:
		return fmt.Sprintf("at most %d", b.hi)
	}
	return fmt.Sprintf("between %d and %d", b.lo, b.hi)
}

// checkCount validates c; nil means at least one.
func checkCount(c *CountSpec) (bounds, error) {
	if c == nil {
		return bounds{1, -1}, nil
	}
	var details []problem.Detail
	neg := func(field string, v *int) {
		if v != nil && *v < 0 {
			details = append(details, problem.Detail{Field: "count." + field, Message: "must be 0 or more"})
		}
	}
	neg("atLeast", c.AtLeast)
	neg("atMost", c.AtMost)
	neg("exactly", c.Exactly)
	switch {
	case c.Exactly != nil && (c.AtLeast != nil || c.AtMost != nil):
		details = append(details, problem.Detail{Field: "count.exactly", Message: "give exactly alone, or atLeast and/or atMost"})
	case c.Exactly == nil && c.AtLeast == nil && c.AtMost == nil:
		details = append(details, problem.Detail{Field: "count", Message: "give one of atLeast, atMost, exactly"})
	case c.AtLeast != nil && c.AtMost != nil && *c.AtMost < *c.AtLeast:
		details = append(details, problem.Detail{Field: "count.atMost", Message: "must not be less than atLeast"})
	}
	if len(details) > 0 {
		return bounds{}, invalid("invalid count", details...)
	}
	b := bounds{0, -1}
	if c.Exactly != nil {
		return bounds{*c.Exactly, *c.Exactly}, nil
	}
	if c.AtLeast != nil {
		b.lo = *c.AtLeast
	}
	if c.AtMost != nil {
		b.hi = *c.AtMost
	}
	return b, nil
}
