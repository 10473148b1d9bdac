package openapi_test

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy"
)

// TestNegotiatedAnswers serves testdata/negotiate.yaml and checks which
// media type answers each Accept header (RFC 9110 section 12.5.1: highest
// q, the most specific range for each type, the document's order on a
// tie, q=0 refuses), for the default answer and the ones asked for with
// Prefer, over HTTP/1.1 and HTTP/2, with request validation on and off.
// /report's 200 is served in application/json, application/xml,
// text/csv, text/plain (JSON first, then by name).
func TestNegotiatedAnswers(t *testing.T) {
	t.Parallel()
	type want struct {
		status int
		ctype  string // exact Content-Type, parameters included
		body   string // exact body, or a regexp when it starts with ^
		vary   bool   // Vary: Accept
	}
	const xmlBody, csvBody, textBody, jsonBody = "<report/>", "id,name\n1,report", "report as text", `{"id":1}`
	json200 := want{200, "application/json", jsonBody, true}
	xml200 := want{200, "application/xml", xmlBody, true}
	csv200 := want{200, "text/csv", csvBody, true}
	text200 := want{200, "text/plain", textBody, true}
	refused := want{406, "application/problem+json", `^\{.*"title":"Not Acceptable"`, true}
	tests := []struct {
		name, method, path, accept, prefer string
		want                               want
	}{
		{"no Accept: first declared", "GET", "/report", "", "", json200},
		{"any: first declared", "GET", "/report", "*/*", "", json200},
		{"exact type", "GET", "/report", "text/plain", "", text200},
		{"type case-insensitive", "GET", "/report", "Text/CSV", "", csv200},
		{"highest q wins over order", "GET", "/report", "application/xml;q=1, application/json;q=0.5", "", xml200},
		{"low q loses to default q", "GET", "/report", "application/json;q=0.1, text/csv", "", csv200},
		{"q with spaces", "GET", "/report", "application/json ; q=0.2 , text/plain ; q=0.3", "", text200},
		{"specific range overrides wildcard", "GET", "/report", "text/*;q=0.1, text/csv;q=1", "", csv200},
		{"specific range lowers a type", "GET", "/report", "text/*, text/csv;q=0.2", "", text200},
		{"type wildcard: document order", "GET", "/report", "text/*", "", csv200},
		{"application wildcard", "GET", "/report", "application/*", "", json200},
		{"tie: document order", "GET", "/report", "text/plain, application/xml", "", xml200},
		{"tie at equal q", "GET", "/report", "text/plain;q=0.5, text/csv;q=0.5", "", csv200},
		{"q=0 excludes the first", "GET", "/report", "application/json;q=0, */*", "", xml200},
		{"q=0 beats the wildcard", "GET", "/report", "*/*;q=0.5, application/json;q=0, application/xml;q=0", "", csv200},
		{"none fits: 406", "GET", "/report", "image/png", "", refused},
		{"all refused: 406", "GET", "/report", "*/*;q=0", "", refused},
		{"wildcard of another type: 406", "GET", "/report", "image/*", "", refused},
		{"HEAD negotiates too", "HEAD", "/report", "text/csv", "", want{200, "text/csv", "", true}},
		{"HEAD refused", "HEAD", "/report", "image/png", "", want{406, "application/problem+json", "", true}},
		{"one type: no Vary", "GET", "/single", "", "", want{200, "application/json", `{"one":true}`, false}},
		{"one type refused", "GET", "/single", "application/json;q=0", "", refused},
		{"Prefer code, no Accept", "GET", "/report", "", "code=202", want{202, "application/json", `{"queued":true}`, true}},
		{"Prefer code, Accept", "GET", "/report", "text/plain", "code=202", want{202, "text/plain", "queued", true}},
		{"Prefer code, q-values", "GET", "/report", "text/plain;q=0.5, application/json;q=0.4", "code=202", want{202, "text/plain", "queued", true}},
		{"Prefer code 4xx, first type", "GET", "/report", "", "code=404", want{404, "application/problem+json", `{"title":"missing"}`, true}},
		{"Prefer code 4xx, by Accept", "GET", "/report", "text/html, application/problem+json;q=0.9", "code=404", want{404, "text/html", "<p>missing</p>", true}},
		// The 404 has no JSON: a Prefer answer falls back to its first type.
		{"Prefer code, none fits: first type", "GET", "/report", "application/json", "code=404", want{404, "application/problem+json", `{"title":"missing"}`, true}},
		{"Prefer code 200 by Accept", "GET", "/report", "application/xml", "code=200", xml200},
		{"Prefer example, no Accept", "GET", "/report", "", "example=short", want{200, "application/json", `{"id":2}`, true}},
		{"Prefer example, by Accept", "GET", "/report", "application/xml", "example=short", want{200, "application/xml", "<r/>", true}},
		{"Prefer example of one type", "GET", "/report", "application/xml", "example=jsononly", want{200, "application/json", `{"id":3}`, false}},
		{"Prefer dynamic, by Accept", "GET", "/report", "text/csv", "dynamic=true", want{200, "text/csv", `^.`, true}},
		{"generated body varies", "GET", "/things/7", "", "", want{200, "application/json", `^\{"id":7,"label":"[a-z]{4}"\}$`, true}},
		{"generated body by Accept", "GET", "/things/7", "application/json;q=0.9, text/plain", "", want{200, "text/plain", `^thing-[0-9]{3}$`, true}},
		{"generated body, other key", "GET", "/things/8", "application/json", "", want{200, "application/json", `^\{"id":8,`, true}},
	}
	for _, mode := range []string{"off", "enforce"} {
		srv, err := decoy.Start(decoy.Options{Files: []string{"testdata/negotiate.yaml"}, HTTPS: true, Validation: mode})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
			base := srv.URL
			if proto == "HTTP/2.0" {
				base = srv.TLSURL
			}
			for _, tt := range tests {
				t.Run(mode+"/"+proto+"/"+tt.name, func(t *testing.T) {
					t.Parallel()
					resp, b := ask(t, srv.Client(), tt.method, base+tt.path, tt.accept, tt.prefer)
					if resp.Proto != proto {
						t.Fatalf("answered over %s, want %s", resp.Proto, proto)
					}
					got := want{resp.StatusCode, resp.Header.Get("Content-Type"), string(b), resp.Header.Get("Vary") == "Accept"}
					ok := got.status == tt.want.status && got.ctype == tt.want.ctype && got.vary == tt.want.vary
					if strings.HasPrefix(tt.want.body, "^") {
						ok = ok && regexp.MustCompile(tt.want.body).MatchString(got.body)
					} else {
						ok = ok && got.body == tt.want.body
					}
					if !ok {
						t.Errorf("%s %s Accept=%q Prefer=%q:\n got %d %q vary=%v %q\nwant %d %q vary=%v %q", tt.method, tt.path, tt.accept, tt.prefer,
							got.status, got.ctype, got.vary, got.body, tt.want.status, tt.want.ctype, tt.want.vary, tt.want.body)
					}
					if tt.method == "HEAD" && proto == "HTTP/1.1" && tt.want.status == 200 {
						if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(csvBody)) {
							t.Errorf("HEAD Content-Length %q, want the body's %d", cl, len(csvBody))
						}
					}
					if tt.want.status == 406 && tt.method == "GET" {
						var p struct {
							Status int    `json:"status"`
							Detail string `json:"detail"`
						}
						if err := json.Unmarshal(b, &p); err != nil || p.Status != 406 || !strings.Contains(p.Detail, "application/json") {
							t.Errorf("406 problem %s (%v): want status 406 and the declared types in detail", b, err)
						}
					}
					if tt.want.status == 200 && tt.path == "/report" && tt.prefer == "" && resp.Header.Get("X-Report") != "r1" {
						t.Errorf("X-Report %q: the response's declared header is lost", resp.Header.Get("X-Report"))
					}
				})
			}
		}
	}
}
