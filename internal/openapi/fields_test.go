package openapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy"
)

// fieldCase is a request and the exact violations of its answer: the
// status and the errors' fields, in order, each with a word of its
// message.
type fieldCase struct {
	name, path, ctype, body string
	status                  int
	errors                  []string // "field: part of the message"
}

// runFieldCases sends each case to the document spec and checks that the
// answer lists every violation, and nothing else.
func runFieldCases(t *testing.T, spec string, tests []fieldCase) {
	t.Helper()
	srv, err := decoy.Start(decoy.Options{Files: []string{spec}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := do(t, srv, reqCase{method: "POST", path: tt.path, body: tt.body,
				headers: map[string]string{"Content-Type": tt.ctype}})
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status < 400 {
				return
			}
			var p struct {
				Errors []struct{ Field, Message string }
			}
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				t.Fatalf("not a problem: %v: %s", err, body)
			}
			var got []string
			for _, e := range p.Errors {
				got = append(got, e.Field+": "+e.Message)
			}
			ok := len(got) == len(tt.errors)
			for i := 0; ok && i < len(got); i++ {
				field, word, _ := strings.Cut(tt.errors[i], ": ")
				ok = strings.HasPrefix(got[i], field+": ") && strings.Contains(got[i], word)
			}
			if !ok {
				t.Errorf("violations\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.errors, "\n  "))
			}
		})
	}
}

// TestMultipartListsEveryViolation: a part refused for its Content-Type, or
// a field sent twice, does not hide the violations of the other parts;
// the status is the first kind's (415 before 422), and the part left out
// for its type is not also "required".
func TestMultipartListsEveryViolation(t *testing.T) {
	t.Parallel()
	png := "\x89PNG\r\n\x1a\n"
	info := part{name: "info", body: `{"street":"x","zip":"1"}`}
	up := func(name string, status int, errors []string, parts ...part) fieldCase {
		body, ct := multipartBody(t, parts...)
		return fieldCase{name: name, path: "/upload", ctype: ct, body: body, status: status, errors: errors}
	}
	runFieldCases(t, "testdata/fields.yaml", []fieldCase{
		up("valid", 201, nil, part{name: "file", file: "f.png", ctype: "image/png", body: png}, part{name: "count", body: "2"}),
		up("part type, count and info", 415, []string{
			`body.file: is not one of image/png`, `body.count: must be <= 5`, `body.info.zip: must match`},
			part{name: "file", file: "f.png", ctype: "text/plain", body: png}, part{name: "count", body: "9"}, info),
		up("count twice and info", 422, []string{`body.count: sent more than once`, `body.info.zip: must match`},
			part{name: "file", file: "f.png", ctype: "image/png", body: png}, part{name: "count", body: "2"}, part{name: "count", body: "1"}, info),
		up("count three times, named once", 422, []string{`body.count: sent more than once`},
			part{name: "file", file: "f.png", ctype: "image/png", body: png},
			part{name: "count", body: "2"}, part{name: "count", body: "1"}, part{name: "count", body: "3"}),
		up("info not JSON and count", 400, []string{`body.info: not valid JSON`, `body.count: must be <= 5`},
			part{name: "file", file: "f.png", ctype: "image/png", body: png}, part{name: "count", body: "9"}, part{name: "info", body: "{"}),
		up("array parts repeat", 201, nil, part{name: "file", file: "f.png", ctype: "image/png", body: png}, part{name: "count", body: "2"},
			part{name: "tags", body: "a"}, part{name: "tags", body: "b"}),
		up("an undeclared part repeats", 201, nil, part{name: "file", file: "f.png", ctype: "image/png", body: png}, part{name: "count", body: "2"},
			part{name: "note", body: "a"}, part{name: "note", body: "b"}),
		up("valid parts", 422, []string{`body.count: must be <= 5`, `body.info.zip: must match`},
			part{name: "file", file: "f.png", ctype: "image/png", body: png}, part{name: "count", body: "9"}, info),
	})
}

// TestFormFieldSentTwice: an application/x-www-form-urlencoded field sent
// more than once is refused, as in multipart, unless its property is an
// array or it has none; the other violations are listed with it.
func TestFormFieldSentTwice(t *testing.T) {
	t.Parallel()
	form := func(name, body string, status int, errors ...string) fieldCase {
		return fieldCase{name: name, path: "/form", ctype: "application/x-www-form-urlencoded", body: body, status: status, errors: errors}
	}
	runFieldCases(t, "testdata/fields.yaml", []fieldCase{
		form("once", "age=3&name=a", 201),
		form("array repeated", "age=3&ids=1&ids=2", 201),
		form("integer twice", "age=3&age=4", 422, `body.age: sent more than once`),
		form("integer three times", "age=3&age=4&age=5", 422, `body.age: sent more than once`),
		form("string twice", "age=3&name=a&name=b", 422, `body.name: sent more than once`),
		form("JSON field twice", `age=3&js={"a":1}&js={"a":2}`, 422, `body.js: sent more than once`),
		form("undeclared twice", "age=3&x=1&x=2", 201),
		form("twice and over maximum", "age=300&age=4&name=a&name=b", 422,
			`body.age: sent more than once`, `body.name: sent more than once`, `body.age: must be <= 150`),
		form("bad escape and the rest", "age=%zz&name=a&name=b", 400,
			`body.age: not valid form data`, `body.name: sent more than once`),
	})
}

// TestDiscriminator: a oneOf or anyOf with a discriminator checks the value
// against the schema its discriminator names (by mapping, else by the
// schema's name), and refuses a value that names none.
func TestDiscriminator(t *testing.T) {
	t.Parallel()
	js := func(name, path, body string, status int, errors ...string) fieldCase {
		return fieldCase{name: name, path: path, ctype: "application/json", body: body, status: status, errors: errors}
	}
	runFieldCases(t, "testdata/fields.yaml", []fieldCase{
		js("cat", "/pets", `{"petType":"cat","name":"Rex"}`, 201),
		js("dog by name in mapping", "/pets", `{"petType":"dog","packSize":3}`, 201),
		js("cat with a dog's fields", "/pets", `{"petType":"cat","packSize":5}`, 422, `body.name: is required`),
		js("cat with both", "/pets", `{"petType":"cat","name":"Rex","packSize":5}`, 201),
		js("dog checked as a dog", "/pets", `{"petType":"dog","name":"Rex","packSize":0}`, 422, `body.packSize: must be >= 1`),
		js("unknown value", "/pets", `{"petType":"bird","name":"Rex"}`, 422, `body.petType: "cat", "dog"`),
		js("not a string", "/pets", `{"petType":7,"name":"Rex"}`, 422, `body.petType: "cat", "dog"`),
		js("no discriminator: the oneOf, each violation once", "/pets", `{"name":"Rex"}`, 422,
			`body.packSize: is required`, `body.petType: is required`),
		js("in array items", "/pets-list", `[{"petType":"dog","packSize":2},{"petType":"cat","packSize":5}]`, 422, `body.1.name: is required`),
		js("a mapping to no schema checks nothing", "/pets-ghost", `{"petType":"ghost"}`, 201),
		js("beside it, the others check", "/pets-ghost", `{"petType":"cat","packSize":1}`, 422, `body.name: is required`),
		js("implicit names", "/pets-implicit", `{"petType":"Cat","name":"Rex"}`, 201),
		js("implicit name checked", "/pets-implicit", `{"petType":"Cat","packSize":5}`, 422, `body.name: is required`),
		js("implicit unknown", "/pets-implicit", `{"petType":"cat","name":"Rex"}`, 422, `body.petType: "Cat", "Dog"`),
	})
}
