package openapi_test

import (
	"strings"
	"testing"

	"github.com/decoy-dev/decoy"
)

// TestPreferCodeRangesAndDefault: Prefer: code=N reaches a declared range
// (4XX) or, failing that, default, as Prism does, with N as the status; a
// declared code wins over its range, and a code nothing can answer is
// still a 400 that names what the operation declares.
func TestPreferCodeRangesAndDefault(t *testing.T) {
	t.Parallel()
	srv, err := decoy.Start(decoy.Options{Files: []string{"testdata/ranges.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	tests := []struct {
		name, path, prefer string
		status             int
		body               string
	}{
		{"range", "/r", "code=418", 418, `"title":"range"`},
		{"range quoted", "/r", `Code="451"`, 451, `"title":"range"`},
		{"range as written", "/r", "code=4XX", 400, `"title":"range"`},
		{"declared code over its range", "/r", "code=404", 404, `"title":"exact"`},
		{"2XX range", "/r", "code=201", 201, `"ok":true`},
		{"no default, no range", "/r", "code=500", 400, `"detail":"Prefer: code=500: GET /r declares the responses 2XX, 404, 4XX"`},
		{"not a code", "/r", "code=abc", 400, `declares the responses`},
		{"default", "/d", "code=409", 409, `"d":1`},
		{"default as 200", "/d", "code=200", 200, `"d":1`},
		{"range before default", "/d", "code=503", 503, ``},
		{"declared code before default", "/d", "code=404", 404, ``},
		{"1xx is not an answer", "/d", "code=101", 400, `declares the responses 404, 5XX, default`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, b := ask(t, srv.Client(), "GET", srv.URL+tt.path, "", tt.prefer)
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.body) {
				t.Errorf("%s Prefer=%q: %d %s; want %d containing %q", tt.path, tt.prefer, resp.StatusCode, b, tt.status, tt.body)
			}
			if tt.body == "" && len(b) != 0 {
				t.Errorf("%s Prefer=%q: body %s, want none", tt.path, tt.prefer, b)
			}
		})
	}
}
