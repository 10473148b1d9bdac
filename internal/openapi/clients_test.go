package openapi_test

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"testing"

	"github.com/decoy-dev/decoy"
)

// gzipped and deflated compress s as a client sends a body with
// Content-Encoding gzip or deflate.
func gzipped(t testing.TB, s string) string {
	return squeezed(t, s, func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) })
}

func deflated(t testing.TB, s string) string {
	return squeezed(t, s, func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) })
}

func squeezed(t testing.TB, s string, newWriter func(io.Writer) io.WriteCloser) string {
	t.Helper()
	var b bytes.Buffer
	w := newWriter(&b)
	_, _ = w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestParamSerializations: query parameters as real clients serialize
// them (qs and axios, URLSearchParams, Python's requests) are accepted,
// and the same requests with a wrong value are still refused.
func TestParamSerializations(t *testing.T) {
	t.Parallel()
	get := func(name, path string, status int, contains ...string) reqCase {
		return reqCase{name: name, method: "GET", path: path, status: status, contains: contains}
	}
	tests := []reqCase{
		// allowEmptyValue (OpenAPI 3.0.3, Parameter Object).
		get("allowEmptyValue integer", "/empty?limit=", 204),
		get("allowEmptyValue boolean without =", "/empty?flag", 204),
		get("allowEmptyValue string under minLength", "/empty?s=", 204),
		get("allowEmptyValue still typed", "/empty?limit=x", 400, `query.limit: expected integer, got string`),
		get("empty without allowEmptyValue", "/empty?n=", 400, `query.n: expected integer, got string`),
		// deepObject: nested values typed by their schema; arrays as qs writes them.
		get("deepObject nested (qs)", "/deep?filter%5Brange%5D%5Bmin%5D=1&filter%5Brange%5D%5Bmax%5D=2.5", 204),
		get("deepObject nested bound", "/deep?filter[range][max]=200", 400, `query.filter.range.max: must be <= 100`),
		get("deepObject nested not integer", "/deep?filter[range][min]=x", 400, `query.filter.range.min: expected integer, got string`),
		get("deepObject qs indices (axios default)", "/deep?filter%5Bids%5D%5B0%5D=1&filter%5Bids%5D%5B1%5D=2&filter%5Btags%5D%5B0%5D=a", 204),
		get("deepObject qs brackets", "/deep?filter[ids][]=1&filter[ids][]=2&filter[n]=3&filter[on]=true", 204),
		get("deepObject qs repeat", "/deep?filter[ids]=1&filter[ids]=2", 204),
		// A comma is data: one value is one item (OpenAPI defines no
		// arrays in a deepObject; qs's opt-in "comma" format is not read).
		get("deepObject comma is data, not a separator", "/deep?filter[ids]=1,2", 400, `query.filter.ids.0: expected integer, got string`),
		get("deepObject comma in a string item", "/deep?filter[tags]=a,b,c", 204),
		get("deepObject comma in repeated items", "/deep?filter[tags]=a,b&filter[tags]=c", 204),
		get("deepObject repeated items still counted", "/deep?filter[tags]=a&filter[tags]=b&filter[tags]=c", 400, `query.filter.tags`),
		get("deepObject array item", "/deep?filter[ids][]=1&filter[ids][]=20", 400, `query.filter.ids.1: must be <= 10`),
		get("deepObject array too long", "/deep?filter[tags][0]=a&filter[tags][1]=b&filter[tags][2]=c", 400, `query.filter.tags`),
		get("deepObject array of objects", "/deep?filter[points][0][lat]=1&filter[points][0][lon]=2&filter[points][1][lat]=3", 204),
		get("deepObject array of objects item", "/deep?filter[points][0][lat]=1&filter[points][1][lat]=91", 400, `query.filter.points.1.lat: must be <= 90`),
		get("deepObject array of objects required", "/deep?filter[points][0][lon]=1", 400, `query.filter.points.0.lat: is required`),
		get("deepObject allOf", "/deep?filter[more][lat]=1&filter[more][alt]=2", 204),
		get("deepObject allOf typed", "/deep?filter[more][lat]=1&filter[more][alt]=x", 400, `query.filter.more.alt: expected integer, got string`),
		get("deepObject unknown", "/deep?filter[x]=1", 400, `query.filter: unexpected x`),
		// An exploded form object with additionalProperties takes the
		// query parameters no other parameter names.
		get("free-form object", "/free?a=1&b=2", 204),
		get("free-form object typed", "/free?a=1&b=x", 400, `query.f.b: expected integer, got string`),
		get("free-form object beside a parameter", "/free?limit=5&a=1", 204),
		get("free-form object not sent", "/free?limit=5", 400, `query.f: is required`),
		get("free-form object's neighbour still checked", "/free?limit=50&a=1", 400, `query.limit: must be <= 10`),
		// A free-form object takes only what no other parameter declares:
		// not a deepObject's keys, an exploded object's properties, a
		// query API key or a query part of the path key.
		get("free-form beside a deepObject", "/free2?api_key=k&a=1&d[a]=x", 204),
		get("free-form beside an exploded object", "/free2?api_key=k&a=1&lat=1.5&lon=-2.25", 204),
		get("free-form beside a scalar and a key", "/free2?api_key=k&key=x&b=2", 204),
		get("free-form still typed beside them", "/free2?api_key=k&d[a]=x&lat=1.5&b=x", 400, `query.f.b: expected integer, got string`),
		get("exploded object still typed", "/free2?api_key=k&lat=north", 400, `query.pos.lat: expected number, got string`),
		get("free-form beside the path key's query part", "/free3?x-id=Get&a=1", 204),
		get("free-form beside the path key, typed", "/free3?x-id=Get&a=x", 400, `query.f.a: expected integer, got string`),
		get("deepObject too deep", "/deep?filter"+deepKey(40)+"=1", 400, `nested deeper than 32`),
	}
	runCases(t, "testdata/clients.yaml", tests)
}

// TestBodySerializations: bodies as real clients send them (axios and
// URLSearchParams, form-data and curl -F, Python's requests, compressed)
// are accepted, and the same bodies with a wrong value are still refused.
func TestBodySerializations(t *testing.T) {
	t.Parallel()
	post := func(name, path, ct, body string, status int, contains ...string) reqCase {
		return reqCase{name: name, method: "POST", path: path, headers: map[string]string{"Content-Type": ct}, body: body, status: status, contains: contains}
	}
	const form = "application/x-www-form-urlencoded"
	enc := func(c reqCase, coding string) reqCase {
		c.headers["Content-Encoding"] = coding
		return c
	}
	multi := func(name string, status int, contains []string, parts ...part) reqCase {
		body, ct := multipartBody(t, parts...)
		return post(name, "/multi", ct, body, status, contains...)
	}
	tests := []reqCase{
		// application/x-www-form-urlencoded.
		post("form URLSearchParams", "/form", form, "n=1&tags=1&tags=2&s=a%3Bb+c", 204),
		post("form semicolon as data (curl -d)", "/form", form, "s=a;b", 204),
		post("form bad escape", "/form", form, "s=%zz", 400, `body.s: not valid form data`),
		post("form encoding explode false", "/form", form, "csv=1,2,3", 204),
		post("form encoding explode false item", "/form", form, "csv=1,20", 422, `body.csv.1: must be <= 10`),
		post("form encoding pipeDelimited", "/form", form, "pipes=1%7C2", 204),
		post("form encoding pipeDelimited item", "/form", form, "pipes=1|20", 422, `body.pipes.1: must be <= 10`),
		post("form encoding contentType JSON", "/form", form, "js=%7B%22a%22%3A1%7D", 204),
		post("form encoding contentType JSON schema", "/form", form, "js=%7B%22a%22%3A%22x%22%7D", 422, `body.js.a: expected integer, got string`),
		post("form encoding contentType not JSON", "/form", form, "js=%7B", 400, `body.js: not valid JSON`),
		post("form object brackets (axios)", "/form", form, "obj%5Ba%5D=1", 204),
		post("form object brackets typed", "/form", form, "obj%5Ba%5D=x", 422, `body.obj.a: expected integer, got string`),
		post("form object array repeated", "/form", form, "obj%5Bids%5D=1&obj%5Bids%5D=2", 204),
		post("form object array: a comma is data", "/form", form, "obj%5Bids%5D=1,2", 422, `body.obj.ids.0: expected integer, got string`),
		post("form array brackets (axios)", "/form", form, "tags%5B%5D=1&tags%5B%5D=2", 204),
		post("form array brackets item", "/form", form, "tags%5B%5D=1&tags%5B%5D=11", 422, `body.tags.1: must be <= 10`),
		// multipart/form-data: items that are objects or arrays are JSON.
		multi("multipart array of objects, a part each", 204, nil, part{name: "list", ctype: "application/json", body: `{"lat":1}`}, part{name: "list", ctype: "application/json", body: `{"lat":2}`}),
		multi("multipart array of objects, one JSON part", 204, nil, part{name: "list", ctype: "application/json", body: `[{"lat":1},{"lat":2}]`}),
		multi("multipart array of objects, no part type", 204, nil, part{name: "list", body: `{"lat":1}`}),
		multi("multipart array of objects item", 422, []string{`body.list.1.lat: must be <= 90`}, part{name: "list", ctype: "application/json", body: `[{"lat":1},{"lat":91}]`}),
		multi("multipart array of objects not JSON", 400, []string{`body.list: not valid JSON`}, part{name: "list", body: `{`}),
		multi("multipart array of arrays", 204, nil, part{name: "grid", body: `[1,2]`}, part{name: "grid", body: `[3]`}),
		// Media types: the most specific declared type decides; a range's
		// object schema checks a JSON body.
		post("range: form body checked by its own type", "/ranges", form, "n=x", 422, `body.n: expected integer, got string`),
		post("range: form body valid", "/ranges", form, "n=1", 204),
		post("range: JSON body checked against application/*", "/ranges", "application/json", `{"lon":1}`, 422, `body.lat: is required`),
		post("range: +json body checked against application/*", "/ranges", "application/merge-patch+json", `{"lat":91}`, 422, `body.lat: must be <= 90`),
		post("range: JSON body valid", "/ranges", "application/json; charset=utf-8", `{"lat":1}`, 204),
		post("range: other application type as bytes", "/ranges", "application/xml", `<a/>`, 204),
		post("range: */* binary", "/ranges", "image/png", "\x89PNG", 204),
		// Content-Encoding and a byte order mark.
		enc(post("gzip JSON body", "/json", "application/json", gzipped(t, `{"lat":1}`), 204), "gzip"),
		enc(post("gzip JSON body checked", "/json", "application/json", gzipped(t, `{"lat":91}`), 422, `body.lat: must be <= 90`), "gzip"),
		enc(post("deflate JSON body", "/json", "application/json", deflated(t, `{"lat":1}`), 204), "deflate"),
		enc(post("gzip form body", "/form", form, gzipped(t, "n=x"), 422, `body.n: expected integer`), "gzip"),
		enc(post("gzip body not gzip", "/json", "application/json", `{"lat":1}`, 400, `header.Content-Encoding: the body is not valid gzip`), "gzip"),
		enc(post("br body", "/json", "application/json", "\x1b\x00", 415, `header.Content-Encoding: \"br\" cannot be read`), "br"),
		enc(post("identity", "/json", "application/json", `{"lat":1}`, 204), "identity"),
		post("UTF-8 byte order mark", "/json", "application/json", "\xef\xbb\xbf{\"lat\":1}", 204),
		post("UTF-8 byte order mark checked", "/json", "application/json", "\xef\xbb\xbf{\"lat\":91}", 422, `body.lat: must be <= 90`),
	}
	runCases(t, "testdata/clients.yaml", tests)
}

// deepKey is [a][a]... n times.
func deepKey(n int) string {
	var b bytes.Buffer
	for range n {
		b.WriteString("[a]")
	}
	return b.String()
}

// TestCollectionFormatsPathHeader: Swagger 2.0 collectionFormat on path
// and header parameters, and allowEmptyValue.
func TestCollectionFormatsPathHeader(t *testing.T) {
	t.Parallel()
	get := func(name, path string, hdr map[string]string, status int, contains ...string) reqCase {
		return reqCase{name: name, method: "GET", path: path, headers: hdr, status: status, contains: contains}
	}
	tests := []reqCase{
		get("path pipes", "/h/1|2", nil, 204),
		get("path pipes item", "/h/1|20", nil, 400, `path.ids.1: must be <= 10`),
		get("header pipes", "/h/1", map[string]string{"X-Pipes": "1|2"}, 204),
		get("header pipes item", "/h/1", map[string]string{"X-Pipes": "1|20"}, 400, `header.X-Pipes.1: must be <= 10`),
		get("header ssv", "/h/1", map[string]string{"X-Ssv": "1 2"}, 204),
		get("allowEmptyValue", "/h/1?e=", nil, 204),
		get("allowEmptyValue typed", "/h/1?e=x", nil, 400, `query.e: expected integer`),
	}
	runCases(t, "testdata/clients2.yaml", tests)
}

// TestRepeatedHeaderLines: an array header sent in several fields (Go's
// Header.Add, Node's setHeader with an array) is one list, over HTTP/1.1
// and HTTP/2.
func TestRepeatedHeaderLines(t *testing.T) {
	t.Parallel()
	srv, err := decoy.Start(decoy.Options{Files: []string{"testdata/clients.yaml"}, HTTPS: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	tests := []struct {
		name   string
		values []string
		status int
	}{
		{"two fields", []string{"1", "2"}, 204},
		{"one field", []string{"1, 2"}, 204},
		{"too few", []string{"1"}, 400},
		{"item in the second field", []string{"1", "20"}, 400},
	}
	for _, base := range []string{srv.URL, srv.TLSURL} {
		for _, tt := range tests {
			req, err := http.NewRequest("GET", base+"/hdr", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range tt.values {
				req.Header.Add("X-Ids", v)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("%s %s: %s %d, want %d", base, tt.name, resp.Proto, resp.StatusCode, tt.status)
			}
		}
	}
}

// TestValidBodyCacheKeepsEncoding: a body remembered as valid is valid
// again only as it was sent: the same bytes claimed to be gzip are still
// checked (and are not gzip).
func TestValidBodyCacheKeepsEncoding(t *testing.T) {
	t.Parallel()
	snap := snapshot(t, "testdata/clients.yaml", "enforce")
	body := []byte(`{"lat":1.5,"lon":-7}`)
	for i, tt := range []struct {
		headers string
		status  int
	}{
		{"Content-Type: application/json", 0},
		{"Content-Type: application/json", 0},
		{"Content-Type: application/json\nContent-Encoding: gzip", 400},
		{"Content-Type: application/json\nContent-Encoding: identity", 0},
	} {
		_, v := check(snap, newRequest("POST", "/json", tt.headers, body))
		status := 0
		if v != nil && v.Response != nil {
			status = v.Response.Status
		}
		if status != tt.status {
			t.Errorf("%d: %q: status %d, want %d", i, tt.headers, status, tt.status)
		}
	}
}
