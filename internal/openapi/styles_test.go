package openapi_test

import (
	"io"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy"
)

// runCases sends each case to a server of spec and checks the status and
// the violations named in the problem.
func runCases(t *testing.T, spec string, tests []reqCase) {
	t.Helper()
	srv, err := decoy.Start(decoy.Options{Files: []string{spec}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := do(t, srv, tt)
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s: status %d, want %d: %s", tt.method, tt.path, resp.StatusCode, tt.status, body)
			}
			for _, c := range tt.contains {
				if !strings.Contains(body, c) {
					t.Errorf("body %s lacks %q", body, c)
				}
			}
			for k, v := range tt.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

// TestParameterStyles: arrays and objects in path, query, header and
// cookie parameters, read by their style and explode.
func TestParameterStyles(t *testing.T) {
	t.Parallel()
	get := func(name, path string, status int, contains ...string) reqCase {
		return reqCase{name: name, method: "GET", path: path, status: status, contains: contains}
	}
	hdr := func(c reqCase, k, v string) reqCase {
		c.headers = map[string]string{k: v}
		return c
	}
	tests := []reqCase{
		get("path simple", "/simple/1,2,3", 204),
		get("path simple item", "/simple/1,20", 400, `path.ids.1: must be <= 10`),
		get("path simple too many", "/simple/1,2,3,4", 400, `path.ids`),
		get("path simple not integer", "/simple/1,x", 400, `path.ids.1: expected integer`),
		get("path label", "/label/.1,2", 204),
		get("path label item", "/label/.1,11", 400, `path.ids.1: must be <= 10`),
		get("path label no dot", "/label/1,2", 400, `path.ids: expected label style`),
		get("path label explode", "/labelx/.1.2.3", 204),
		get("path label explode item", "/labelx/.1.2.30", 400, `path.ids.2: must be <= 10`),
		get("path matrix", "/matrix/;ids=1,2", 204),
		get("path matrix item", "/matrix/;ids=1,12", 400, `path.ids.1: must be <= 10`),
		get("path matrix wrong name", "/matrix/;id=1,2", 400, `path.ids: expected matrix style`),
		get("path matrix explode", "/matrixx/;ids=1;ids=2", 204),
		get("path matrix explode item", "/matrixx/;ids=1;ids=13", 400, `path.ids.1: must be <= 10`),
		get("path label scalar", "/lscalar/.5", 204),
		get("path label scalar bound", "/lscalar/.0", 400, `path.id: must be >= 1`),
		get("path label scalar no dot", "/lscalar/5", 400, `path.id: expected label style`),
		get("path matrix scalar", "/mscalar/;id=5", 204),
		get("path matrix scalar bound", "/mscalar/;id=0", 400, `path.id: must be >= 1`),
		get("path object", "/point/lat,10,lon,20", 204),
		get("path object bound", "/point/lat,100,lon,20", 400, `path.p.lat: must be <= 90`),
		get("path object odd", "/point/lat,10,lon", 400, `path.p: expected name,value pairs`),
		get("path object extra", "/point/lat,1,alt,3", 400, `path.p: unexpected alt`),
		get("path object explode", "/pointx/lat=10,lon=20", 204),
		get("path object explode required", "/pointx/lon=20", 400, `path.p.lat: is required`),
		get("path object explode not pairs", "/pointx/lat,10", 400, `path.p: expected name=value pairs`),
		get("path label object explode", "/lpointx/.lat=10.5.lon=2", 400, `path.p: expected name=value pairs`),
		get("path label object explode valid", "/lpointx/.lat=10.lon=2", 204),
		get("path matrix object explode", "/mpointx/;lat=10;lon=2", 204),
		get("path matrix object explode bound", "/mpointx/;lat=100;lon=2", 400, `path.p.lat: must be <= 90`),
		get("query form explode", "/query?ids=1&ids=2&ids=3", 204),
		get("query form explode item", "/query?ids=1&ids=11", 400, `query.ids.1: must be <= 10`),
		get("query form explode too many", "/query?ids=1&ids=2&ids=3&ids=4", 400, `query.ids`),
		get("query form no explode", "/query?csv=1,2,3", 204),
		get("query form no explode item", "/query?csv=1,2,x", 400, `query.csv.2: expected integer`),
		get("query space", "/query?sp=1%202", 204),
		get("query space item", "/query?sp=1+20", 400, `query.sp.1: must be <= 10`),
		get("query pipe", "/query?pp=1|2", 204),
		get("query pipe item", "/query?pp=1|20", 400, `query.pp.1: must be <= 10`),
		get("query deepObject", "/query?filter[lat]=10&filter[lon]=2", 204),
		get("query deepObject escaped", "/query?filter%5Blat%5D=10", 204),
		get("query deepObject bound", "/query?filter[lat]=100", 400, `query.filter.lat: must be <= 90`),
		get("query deepObject extra", "/query?filter[lat]=1&filter[alt]=2", 400, `query.filter: unexpected alt`),
		get("query deepObject required", "/query?filter[lon]=1", 400, `query.filter.lat: is required`),
		get("query deepObject malformed", "/query?filter[lat=1", 400, `query.filter: malformed deepObject key`),
		get("query form object", "/query?at=lat,10,lon,20", 204),
		get("query form object bound", "/query?at=lat,100", 400, `query.at.lat: must be <= 90`),
		get("query form object explode", "/spread?lat=10&lon=20", 204),
		get("query form object explode bound", "/spread?lat=100", 400, `query.pos.lat: must be <= 90`),
		get("query form object explode missing", "/spread", 400, `query.pos: is required`),
		get("query content JSON", `/query?where={"lat":1}`, 204),
		get("query content JSON schema", `/query?where={"lat":"n"}`, 400, `query.where.lat: expected number, got string`),
		get("query content not JSON", `/query?where={`, 400, `query.where: not valid JSON`),
		hdr(get("header array", "/query", 204), "X-Ids", "1, 2"),
		hdr(get("header array item", "/query", 400, `header.X-Ids.1: must be <= 10`), "X-Ids", "1,20"),
		hdr(get("header object explode", "/query", 204), "X-Point", "lat=1,lon=2"),
		hdr(get("header object explode bound", "/query", 400, `header.X-Point.lat: must be <= 90`), "X-Point", "lat=91"),
		hdr(get("cookie array", "/query", 204), "Cookie", "tags=a,bb,ccc"),
		hdr(get("cookie array item", "/query", 400, `cookie.tags.1: must be at most 3 characters`), "Cookie", "other=1; tags=a,bbbb"),
	}
	runCases(t, "testdata/styles.yaml", tests)
}

// TestCollectionFormats: Swagger 2.0 array parameters by collectionFormat.
func TestCollectionFormats(t *testing.T) {
	t.Parallel()
	get := func(name, path string, status int, contains ...string) reqCase {
		return reqCase{name: name, method: "GET", path: path, status: status, contains: contains}
	}
	form := func(name, body string, status int, contains ...string) reqCase {
		return reqCase{name: name, method: "POST", path: "/form", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			body: body, status: status, contains: contains}
	}
	multi := func(name string, status int, parts ...part) reqCase {
		body, ct := multipartBody(t, parts...)
		return reqCase{name: name, method: "POST", path: "/form", headers: map[string]string{"Content-Type": ct}, body: body, status: status}
	}
	tests := []reqCase{
		get("csv", "/c?csv=1,2,3", 204),
		get("csv item", "/c?csv=1,20", 400, `query.csv.1: must be <= 10`),
		get("csv too many", "/c?csv=1,2,3,4", 400, `query.csv`),
		get("ssv", "/c?ssv=1%202", 204),
		get("ssv item", "/c?ssv=1%2020", 400, `query.ssv.1: must be <= 10`),
		get("tsv", "/c?tsv=1%092", 204),
		get("tsv item", "/c?tsv=1%0920", 400, `query.tsv.1: must be <= 10`),
		get("pipes", "/c?pipes=1|2", 204),
		get("pipes item", "/c?pipes=1|20", 400, `query.pipes.1: must be <= 10`),
		get("multi", "/c?multi=1&multi=2", 204),
		get("multi item", "/c?multi=1&multi=20", 400, `query.multi.1: must be <= 10`),
		{name: "header csv", method: "GET", path: "/c", headers: map[string]string{"X-Ids": "1,30"}, status: 400, contains: []string{`header.X-Ids.1: must be <= 10`}},
		form("formData valid", "name=Ann&count=5&tags=a,b&ids=1&ids=2", 201),
		form("formData required", "", 400, `body: is required`),
		form("formData name missing", "count=1&tags=a", 422, `body.name: is required`),
		form("formData maximum", "name=a&count=6", 422, `body.count: must be <= 5`),
		form("formData csv too many", "name=a&tags=a,b,c", 422, `body.tags`),
		form("formData multi item", "name=a&ids=1&ids=11", 422, `body.ids.1: must be <= 10`),
		multi("formData multipart valid", 201, part{name: "name", body: "Ann"}, part{name: "tags", body: "a,b"}, part{name: "doc", file: "d.bin", body: "\x00\xff"}),
		multi("formData multipart csv too many", 422, part{name: "name", body: "Ann"}, part{name: "tags", body: "a,b,c"}),
	}
	runCases(t, "testdata/styles2.yaml", tests)
}

// TestAcceptRefused: an Accept header that admits none of the operation's
// media types (q=0 included) is a 406 problem naming them.
func TestAcceptRefused(t *testing.T) {
	t.Parallel()
	acc := func(name, accept string, status int, contains ...string) reqCase {
		return reqCase{name: name, method: "GET", path: "/neg", headers: map[string]string{"Accept": accept}, status: status, contains: contains}
	}
	runCases(t, "testdata/styles.yaml", []reqCase{
		acc("json", "application/json", 200),
		acc("wildcard", "application/*", 200),
		acc("any", "*/*", 200),
		acc("json refused with q=0", "application/json;q=0", 406, `header.Accept: \"application/json;q=0\" admits none of application/json, application/xml`),
		acc("all refused", "*/*;q=0", 406),
		acc("other type", "text/html", 406),
	})
}

// TestStylesOverHTTP2: repeated and deepObject query parameters are read
// over HTTP/2 too, and the violations reach GET /metrics on the admin API.
func TestStylesOverHTTP2(t *testing.T) {
	t.Parallel()
	srv, err := decoy.Start(decoy.Options{Files: []string{"testdata/styles.yaml"}, HTTPS: true, Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	tests := []struct {
		path   string
		status int
	}{
		{"/query?ids=1&ids=2&filter[lat]=1", 204},
		{"/query?ids=1&ids=20", 400},
		{"/query?filter%5Blat%5D=100", 400},
		{"/matrixx/;ids=1;ids=2", 204},
	}
	for _, tt := range tests {
		resp, err := srv.Client().Get(srv.TLSURL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != tt.status {
			t.Errorf("%s: %s %d, want HTTP/2 %d", tt.path, resp.Proto, resp.StatusCode, tt.status)
		}
	}
	resp, err := srv.Client().Get(srv.AdminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `decoy_validation_violations_total{kind="query",stub="styles:GET /query"} 2`
	if !strings.Contains(string(b), want) {
		t.Errorf("metrics lack %s", want)
	}
}
