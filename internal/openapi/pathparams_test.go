package openapi

import (
	"errors"
	"strings"
	"testing"
)

const pathParamsDoc = `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /c:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: ok}
  /d/{x}:
    get:
      responses:
        "200": {description: ok}
  /e/{y}:
    parameters:
      - {name: y, in: path, required: true, schema: {type: string}}
      - {name: z, in: path, required: true, schema: {type: string}}
    get:
      responses:
        "200": {description: ok}
  /f/{w}:
    get:
      parameters:
        - {name: w, in: path, required: true, schema: {type: string}}
        - {name: q, in: query, schema: {type: string}}
      responses:
        "200": {description: ok}
`

// An in: path parameter that is not in the template, and a template
// variable with no parameter, are problems with their pointer and line;
// with Lenient, notes, and the operations are served (QA H).
func TestPathParamsMatchTheTemplate(t *testing.T) {
	t.Parallel()
	want := []string{
		`testdata/pp.yaml:7: #/paths/~1c/get/parameters/0: path parameter "id" is not a variable of the path template "/c"`,
		`testdata/pp.yaml:11: #/paths/~1d~1{x}/get: the path template's {x} has no parameter`,
		`testdata/pp.yaml:17: #/paths/~1e~1{y}/parameters/1: path parameter "z" is not a variable of the path template "/e/{y}"`,
	}
	for _, tt := range []struct {
		name    string
		lenient bool
	}{{"strict", false}, {"lenient", true}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := Load("testdata/pp.yaml", []byte(pathParamsDoc), Options{Seed: 1, Lenient: tt.lenient})
			var got string
			if tt.lenient {
				if err != nil {
					t.Fatal(err)
				}
				got = strings.Join(res.Notes, "\n")
				if len(res.Sources) == 0 {
					t.Error("no stubs")
				}
			} else {
				var ps Problems
				if !errors.As(err, &ps) {
					t.Fatalf("err = %v, want Problems", err)
				}
				if len(ps) != len(want) {
					t.Errorf("%d problems, want %d: %v", len(ps), len(want), err)
				}
				got = err.Error()
			}
			for _, w := range want {
				if !strings.Contains(got, w) {
					t.Errorf("%s lacks %q", got, w)
				}
			}
			if strings.Contains(got, "/f/") {
				t.Errorf("a sound path is reported: %s", got)
			}
		})
	}
}
