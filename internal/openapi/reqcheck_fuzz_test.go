package openapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/metrics"
	"github.com/decoy-dev/decoy/internal/openapi"
	dto "github.com/prometheus/client_model/go"
)

// testFields are a request's fields over net/http types, with the raw
// query string, as the front doors give them.
type testFields struct {
	h   http.Header
	raw string
	q   url.Values
}

func (f *testFields) Header(name string) (string, bool) {
	v := f.h.Values(name)
	if len(v) == 0 {
		return "", false
	}
	return v[0], true
}

func (f *testFields) Values(name string, fn func(string) bool) {
	for _, v := range f.h.Values(name) {
		if !fn(v) {
			return
		}
	}
}

func (f *testFields) Query(name string) (string, bool) {
	v, ok := f.q[name]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

func (f *testFields) Cookie(name string) (string, bool) {
	c, err := (&http.Request{Header: f.h}).Cookie(name)
	if err != nil {
		return "", false
	}
	return c.Value, true
}

func (f *testFields) QueryString() string { return f.raw }

// newRequest builds an engine request from a target ("/path?query"),
// header lines ("Name: value" separated by newlines) and a body.
func newRequest(method, target, headers string, body []byte) *engine.Request {
	path, raw, _ := strings.Cut(target, "?")
	q, _ := url.ParseQuery(raw)
	h := http.Header{}
	for line := range strings.SplitSeq(headers, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	return &engine.Request{Proto: "HTTP/1.1", Method: method, Path: path, Body: body, Fields: &testFields{h: h, raw: raw, q: q}}
}

// snapshot compiles the stubs of spec in a validation mode.
func snapshot(tb testing.TB, spec, mode string) *engine.Snapshot {
	tb.Helper()
	res, err := openapi.Load(spec, nil, openapi.Options{Seed: 1, Validation: mode})
	if err != nil {
		tb.Fatal(err)
	}
	snap, errs := engine.Compile(res.Sources)
	if errs != nil {
		tb.Fatal(errs)
	}
	return snap
}

// check runs the check of the stub r matches, if any.
func check(snap *engine.Snapshot, r *engine.Request) (*engine.Stub, *engine.Verdict) {
	st := snap.Match(r)
	if st == nil || st.Check() == nil {
		return st, nil
	}
	return st, st.Check().Check(r)
}

// FuzzRequestCheck sends random requests to the checks of rich documents:
// no panic, and a refusal is always a problem in JSON.
func FuzzRequestCheck(f *testing.F) {
	snaps := []*engine.Snapshot{
		snapshot(f, "testdata/styles.yaml", "enforce"),
		snapshot(f, "testdata/validate.yaml", "enforce"),
		snapshot(f, "testdata/styles2.yaml", "report"),
		snapshot(f, "testdata/clients.yaml", "enforce"),
		snapshot(f, "testdata/clients2.yaml", "enforce"),
		snapshot(f, "testdata/numbers.yaml", "enforce"),
	}
	seeds := []struct{ method, target, headers, body string }{
		{"GET", "/query?ids=1&ids=2&filter[lat]=1&filter[b][c]=2&at=lat,1", "X-Ids: 1,2\nX-Point: lat=1\nCookie: tags=a,b", ""},
		{"GET", "/matrixx/;ids=1;ids=x", "Accept: application/json;q=0.5, */*;q=0", ""},
		{"GET", "/lpointx/.lat=1.lon", "", ""},
		{"GET", "/spread?lat=1e999&lon=-0", "", ""},
		{"POST", "/upload", "Content-Type: multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"count\"\r\n\r\n7\r\n--b--\r\n"},
		{"POST", "/api/users", "Content-Type: application/json", `{"name":"a","address":{"zip":1}}`},
		{"POST", "/api/users", "Content-Type: application/x-www-form-urlencoded", "name=a&age=%zz"},
		{"GET", "/api/items/7?limit=1", "X-Trace: ab\nAuthorization: Bearer x", ""},
		{"GET", "/c?ssv=1%202&multi=1&multi=x&tsv=%09", "", ""},
		{"GET", "/deep?filter[points][0][lat]=1&filter[ids][]=2&filter[ids]=3,4&filter[more][alt]=x&filter[tags][9]=a", "", ""},
		{"GET", "/h/1|2?e=", "X-Pipes: 1|x\nX-Ssv: 1 2", ""},
		{"GET", "/free?a=1&limit=x&f=2&b=%zz", "", ""},
		{"POST", "/form", "Content-Type: application/x-www-form-urlencoded", "obj[a]=1&tags[]=2&csv=1,2&pipes=1|2&js=%7B%7D&s=a;b"},
		{"POST", "/ranges", "Content-Type: application/merge-patch+json", `{"lat":1}`},
		{"POST", "/json", "Content-Type: application/json\nContent-Encoding: gzip", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xab\x56\xca\x49\x2c\x51\xb2\x32\xac\x05\x00\x2c\x9d\x6e\x67\x09\x00\x00\x00"},
		{"POST", "/multi", "Content-Type: multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"list\"\r\n\r\n[{\"lat\":1}]\r\n--b--\r\n"},
		{"GET", "/n?i64=9223372036854775808&i32=1e9&capped=9007199254740993&x=1e-99999&ids=1E+2", "", ""},
		{"POST", "/n", "Content-Type: application/json", `{"x":1e10000000,"max":-1e400,"mult":1.5e1,"any":[0e99999]}`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.headers, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, target, headers string, body []byte) {
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		for _, snap := range snaps {
			_, v := check(snap, newRequest(method, target, headers, body))
			if v == nil || v.Response == nil {
				continue
			}
			var p struct {
				Status int
				Errors []struct{ Field, Message string }
			}
			if err := json.Unmarshal(v.Response.Body, &p); err != nil || p.Status != v.Response.Status || len(p.Errors) == 0 {
				t.Fatalf("%s %s: not a problem: %s (%v)", method, target, v.Response.Body, err)
			}
		}
	})
}

// FuzzMultipart sends random multipart bodies and boundaries to an
// operation with a multipart/form-data body.
func FuzzMultipart(f *testing.F) {
	snap := snapshot(f, "testdata/styles.yaml", "enforce")
	f.Add("b", []byte("--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nAnn\r\n--b--\r\n"))
	f.Add("b", []byte("--b\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n{\"a\":[1,{}]}\r\n--b\r\nContent-Disposition: form-data; name=\"tags\"\r\n\r\nx\r\n--b--\r\n"))
	f.Add("x y", []byte("--x y\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=FF=\r\n--x y--"))
	f.Add("", []byte("--\r\n\r\n"))
	f.Fuzz(func(t *testing.T, boundary string, body []byte) {
		ct := "Content-Type: multipart/form-data; boundary=\"" + strings.ReplaceAll(boundary, "\n", "") + "\""
		st, v := check(snap, newRequest("POST", "/upload", ct, body))
		if st == nil {
			t.Fatal("no stub matched POST /upload")
		}
		if v != nil && v.Response != nil && v.Response.Status != 400 && v.Response.Status != 415 && v.Response.Status != 422 {
			t.Fatalf("status %d: %s", v.Response.Status, v.Response.Body)
		}
	})
}

// TestViolationMetrics: violations are counted by operation and kind in
// report mode (and enforce), once per check however many stubs share it,
// and exported as decoy_validation_violations_total.
func TestViolationMetrics(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"report", "enforce"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			snap := snapshot(t, "testdata/styles.yaml", mode)
			sends := []struct{ method, target, headers, body string }{
				{"GET", "/query?ids=1&ids=20", "", ""},                              // query
				{"GET", "/query?csv=x&pp=1|99", "X-Ids: 99\nCookie: tags=abcd", ""}, // 2 query, header, cookie
				{"GET", "/query", "", ""},                                           // valid
				{"GET", "/neg", "Accept: text/html", ""},                            // media-type
				{"GET", "/simple/1,99", "", ""},                                     // path
				{"POST", "/upload", "Content-Type: multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"count\"\r\n\r\n7\r\n--b--\r\n"}, // body: count, name
				{"POST", "/upload", "Content-Type: text/plain", "x"}, // media-type
				{"DELETE", "/query", "", ""},                         // method
				{"PUT", "/query", "", ""},                            // method
			}
			for _, s := range sends {
				st, v := check(snap, newRequest(s.method, s.target, s.headers, []byte(s.body)))
				if st == nil {
					t.Fatalf("%s %s: no stub", s.method, s.target)
				}
				if mode == "report" && v != nil && v.Response != nil {
					t.Fatalf("report mode answered %d", v.Response.Status)
				}
			}
			reg, err := metrics.NewRegistry(metrics.Sources{Engine: engine.New(snap)})
			if err != nil {
				t.Fatal(err)
			}
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]float64{}
			for _, mf := range mfs {
				if mf.GetName() != "decoy_validation_violations_total" {
					continue
				}
				for _, m := range mf.GetMetric() {
					got[label(m, "stub")+" "+label(m, "kind")] += m.GetCounter().GetValue()
				}
			}
			want := map[string]float64{
				"styles:GET /query query":        3,
				"styles:GET /query header":       1,
				"styles:GET /query cookie":       1,
				"styles:GET /neg media-type":     1,
				"styles:GET /simple/{ids} path":  1,
				"styles:POST /upload body":       2,
				"styles:POST /upload media-type": 1,
				"styles:405 /query method":       2,
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: %v, want %v", k, got[k], v)
				}
			}
			if len(got) != len(want) {
				t.Errorf("series %v, want %v", got, want)
			}
		})
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
