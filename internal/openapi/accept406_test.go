package openapi_test

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy"
)

// TestNotAcceptableHasOneShape: every 406 is request validation's problem
// (its type, the violation header.Accept in errors, Cache-Control:
// no-store, Vary: Accept), whether the request check refuses the Accept
// header (it admits no type of any response) or the negotiation of the
// default answer does (it admits only another response's types, or
// validation is off), and the latter names the answer's own types and the
// response the header admits.
func TestNotAcceptableHasOneShape(t *testing.T) {
	t.Parallel()
	const (
		answerTypes = "application/vnd.github+json, application/xml, text/csv"
		allTypes    = answerTypes + ", application/problem+json"
	)
	tests := []struct {
		name, accept, prefer string
		status               int
		want                 []string // in the message of the violation, by validation mode ("" for all)
		wantBy               map[string]string
	}{
		{name: "another response's type", accept: "application/problem+json", status: 406,
			want: []string{`"application/problem+json" admits none of the media types of this operation's 200 answer: ` + answerTypes,
				"its 404 answer has application/problem+json: ask for that answer with Prefer: code=404"}},
		{name: "no response's type", accept: "text/html", status: 406,
			wantBy: map[string]string{
				"enforce": `"text/html" admits none of ` + allTypes,
				"report":  `"text/html" admits none of the media types of this operation's 200 answer: ` + answerTypes,
				"off":     `"text/html" admits none of the media types of this operation's 200 answer: ` + answerTypes,
			}},
		{name: "the other response asked for", accept: "application/problem+json", prefer: "code=404", status: 404},
		{name: "the answer's type", accept: "application/vnd.github+json", status: 200},
	}
	for _, mode := range []string{"enforce", "report", "off"} {
		srv, err := decoy.Start(decoy.Options{Files: []string{"testdata/accept406.yaml"}, Validation: mode, Admin: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		t.Run(mode, func(t *testing.T) {
			for _, tt := range tests {
				resp, b := ask(t, srv.Client(), "GET", srv.URL+"/repos/1", tt.accept, tt.prefer)
				if resp.StatusCode != tt.status {
					t.Errorf("%s: status %d, want %d: %s", tt.name, resp.StatusCode, tt.status, b)
					continue
				}
				if tt.status != 406 {
					continue
				}
				var p struct {
					Type, Title, Detail string
					Status              int
					Errors              []struct{ Field, Message string }
				}
				if err := json.Unmarshal(b, &p); err != nil {
					t.Fatalf("%s: %v: %s", tt.name, err, b)
				}
				if !strings.HasSuffix(p.Type, "#request-validation") || p.Title != "Not Acceptable" || p.Status != 406 ||
					len(p.Errors) != 1 || p.Errors[0].Field != "header.Accept" || p.Detail != "1 violation: header.Accept: "+p.Errors[0].Message {
					t.Errorf("%s: not request validation's 406 problem: %s", tt.name, b)
					continue
				}
				want := tt.want
				if w, ok := tt.wantBy[mode]; ok {
					want = append(want, w)
				}
				for _, w := range want {
					if !strings.Contains(p.Errors[0].Message, w) {
						t.Errorf("%s: message %q lacks %q", tt.name, p.Errors[0].Message, w)
					}
				}
				for h, v := range map[string]string{"Content-Type": "application/problem+json", "Cache-Control": "no-store", "Vary": "Accept"} {
					if got := resp.Header.Get(h); got != v {
						t.Errorf("%s: %s %q, want %q", tt.name, h, got, v)
					}
				}
			}
		})
		if mode == "off" {
			continue
		}
		// Each 406 counts once as a media-type violation.
		resp, err := srv.Client().Get(srv.AdminURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := `decoy_validation_violations_total{kind="media-type",stub="accept406:getRepo"} 2`; !strings.Contains(string(b), want) {
			t.Errorf("%s: metrics lack %s:\n%s", mode, want, grepLines(string(b), "violations"))
		}
	}
}

// grepLines is the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
