package openapi_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy"
)

// TestXMLAnswers: an answer negotiated as XML is an XML document made
// from the schema and the value (generated ones varying with the request
// as JSON ones do), an XML string example is sent as written, an object
// example is written as XML, and a text/csv example as it is.
func TestXMLAnswers(t *testing.T) {
	t.Parallel()
	srv, err := decoy.Start(decoy.Options{Files: []string{"testdata/xml.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	tests := []struct {
		name, path, accept, ctype string
		match                     string // a regular expression
		xml                       bool
	}{
		{"generated", "/pets/7", "application/xml", "application/xml",
			`^<\?xml version="1.0" encoding="UTF-8"\?>\n<pet id="7"><name>[^<]+</name><tags><tag>[^<]*</tag><tag>[^<]*</tag></tags></pet>$`, true},
		{"varies with the path", "/pets/8", "application/xml", "application/xml", `^<\?xml[^>]*>\n<pet id="8">`, true},
		{"JSON beside it", "/pets/7", "application/json", "application/json", `^\{"id":7,`, false},
		{"csv example as it is", "/pets/7", "text/csv", "text/csv", "^id,name\n1,Rex\n$", false},
		{"other type: JSON text", "/pets/7", "text/html", "text/html", `^\{"id":7,`, false},
		{"XML example as written", "/raw", "text/xml", "text/xml", `^<note lang="en">as written</note>$`, true},
		{"object example as XML", "/raw", "application/atom+xml", "application/atom+xml", `^<\?xml[^>]*>\n<feed><title>a &amp; b</title></feed>$`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, b := ask(t, srv.Client(), "GET", srv.URL+tt.path, tt.accept, "")
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tt.ctype || !regexp.MustCompile(tt.match).Match(b) {
				t.Fatalf("%s Accept=%q: %d %q\n%s\nwant %q matching %s", tt.path, tt.accept, resp.StatusCode, resp.Header.Get("Content-Type"), b, tt.ctype, tt.match)
			}
			if tt.xml {
				d := xml.NewDecoder(bytes.NewReader(b))
				for {
					_, err := d.Token()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatalf("not well-formed: %v\n%s", err, b)
					}
				}
			}
		})
	}
	// The same request, the same bytes.
	_, a := ask(t, srv.Client(), "GET", srv.URL+"/pets/9", "application/xml", "")
	_, b := ask(t, srv.Client(), "GET", srv.URL+"/pets/9", "application/xml", "")
	if !bytes.Equal(a, b) || !strings.Contains(string(a), `<pet id="9">`) {
		t.Errorf("not deterministic or not echoed:\n%s\n%s", a, b)
	}
}
