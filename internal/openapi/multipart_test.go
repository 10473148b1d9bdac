package openapi_test

import (
	"bytes"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"
)

type part struct{ name, file, ctype, body string }

// multipartBody encodes parts as multipart/form-data; it returns the body
// and its Content-Type.
func multipartBody(t testing.TB, parts ...part) (string, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := `form-data; name="` + p.name + `"`
		if p.file != "" {
			cd += `; filename="` + p.file + `"`
		}
		h.Set("Content-Disposition", cd)
		if p.ctype != "" {
			h.Set("Content-Type", p.ctype)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = pw.Write([]byte(p.body))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String(), w.FormDataContentType()
}

// TestMultipartBodies: multipart/form-data bodies validated part by part
// against the schema's properties.
func TestMultipartBodies(t *testing.T) {
	t.Parallel()
	up := func(name string, status int, contains []string, parts ...part) reqCase {
		body, ct := multipartBody(t, parts...)
		return reqCase{name: name, method: "POST", path: "/upload", headers: map[string]string{"Content-Type": ct},
			body: body, status: status, contains: contains}
	}
	png := "\x89PNG\r\n\x1a\n\x00\xff"
	tests := []reqCase{
		up("valid", 201, nil, part{name: "name", body: "Ann"}, part{name: "count", body: "5"}, part{name: "ok", body: "true"},
			part{name: "tags", body: "a"}, part{name: "tags", body: "b"},
			part{name: "file", file: "a.png", ctype: "image/png", body: png},
			part{name: "meta", ctype: "application/json", body: `{"a":1}`}),
		up("file without content type", 201, nil, part{name: "name", body: "Ann"}, part{name: "file", file: "a.bin", body: png}),
		up("number over maximum", 422, []string{`body.count: must be <= 5`}, part{name: "name", body: "Ann"}, part{name: "count", body: "6"}),
		up("number not a number", 422, []string{`body.count: expected integer, got string`}, part{name: "name", body: "Ann"}, part{name: "count", body: "six"}),
		up("boolean", 422, []string{`body.ok: expected boolean`}, part{name: "name", body: "Ann"}, part{name: "ok", body: "yes"}),
		up("required missing", 422, []string{`body.name: is required`}, part{name: "count", body: "1"}),
		up("repeated parts over maxItems", 422, []string{`body.tags`}, part{name: "name", body: "Ann"},
			part{name: "tags", body: "a"}, part{name: "tags", body: "b"}, part{name: "tags", body: "c"}),
		up("file too long", 422, []string{`body.file: must be at most 16 characters`}, part{name: "name", body: "Ann"},
			part{name: "file", file: "a.png", ctype: "image/png", body: strings.Repeat("x", 17)}),
		up("file content type", 415, []string{`"field":"body.file"`, `is not one of image/png, image/jpeg`},
			part{name: "name", body: "Ann"}, part{name: "file", file: "a.txt", ctype: "text/plain", body: "hi"}),
		up("object part not JSON", 400, []string{`body.meta: not valid JSON`}, part{name: "name", body: "Ann"}, part{name: "meta", body: "{"}),
		up("object part schema", 422, []string{`body.meta.a: expected integer`}, part{name: "name", body: "Ann"}, part{name: "meta", body: `{"a":"x"}`}),
		up("scalar sent twice", 422, []string{`body.name: sent more than once`}, part{name: "name", body: "Ann"}, part{name: "name", body: "Bob"}),
		{name: "no boundary", method: "POST", path: "/upload", headers: map[string]string{"Content-Type": "multipart/form-data"}, body: "x",
			status: 400, contains: []string{`header.Content-Type: multipart/form-data without a boundary`}},
		{name: "truncated", method: "POST", path: "/upload", headers: map[string]string{"Content-Type": "multipart/form-data; boundary=zz"},
			body: "--zz\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nAnn", status: 400, contains: []string{`body: not valid multipart/form-data`}},
		{name: "missing body", method: "POST", path: "/upload", status: 400, contains: []string{`body: is required`}},
	}
	runCases(t, "testdata/styles.yaml", tests)
}
