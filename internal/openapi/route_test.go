package openapi

import (
	"errors"
	"strings"
	"testing"
)

// unroutableDoc has a path whose template decoy's router cannot read (RFC
// 6570 label expansion, as in NASA's TechPort document), on line 9.
const unroutableDoc = `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /ok:
    get:
      responses:
        "200": {description: fine}
  # the one below cannot be routed
  /projects{.format}:
    get:
      responses:
        "200": {description: a list}
    post:
      responses:
        "201": {description: made}
`

func TestUnroutablePath(t *testing.T) {
	t.Parallel()
	const ptr = "/paths/~1projects{.format}"
	tests := []struct {
		name    string
		lenient bool
	}{
		{"strict", false},
		{"lenient", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := Load("testdata/route.yaml", []byte(unroutableDoc), Options{Seed: 1, Lenient: tt.lenient})
			if !tt.lenient {
				var ps Problems
				if !errors.As(err, &ps) {
					t.Fatalf("err = %v, want Problems", err)
				}
				if len(ps) != 1 {
					t.Fatalf("%d problems, want 1 for the path item: %v", len(ps), err)
				}
				p := ps[0]
				if p.Pointer != ptr || p.Line != 9 || !strings.Contains(p.Msg, `segment "projects{.format}"`) || !strings.Contains(p.Msg, "--lenient") {
					t.Errorf("problem %+v, want pointer %s, line 9, the segment and --lenient", p, ptr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			notes := strings.Join(res.Notes, "\n")
			if !strings.Contains(notes, "lenient: /projects{.format} is not served") || !strings.Contains(notes, "#"+ptr) {
				t.Errorf("notes %q do not name the path and its pointer", notes)
			}
			ids := byID(t, res)
			if _, ok := ids["route:GET /ok"]; !ok {
				t.Errorf("GET /ok is not served: %v", res.Sources)
			}
			for id := range ids {
				if strings.Contains(id, "projects") {
					t.Errorf("stub %q is made", id)
				}
			}
		})
	}
}

func TestPointerLines(t *testing.T) {
	t.Parallel()
	yamlDoc := "a:\n  b:\n    - x\n    - {c: 1}\n  'd/e': 2\n"
	jsonDoc := "{\n \"a\": {\n  \"skip\": [1, {\"b\": 0}],\n  \"b\": [\n   \"x\",\n   {\"c\": 1}\n  ],\n  \"d/e\": 2\n }\n}\n"
	tests := []struct {
		name string
		data string
		want map[string]int
	}{
		{"yaml", yamlDoc, map[string]int{"/a": 1, "/a/b": 2, "/a/b/1": 4, "/a/b/1/c": 4, "/a/d~1e": 5}},
		{"json", jsonDoc, map[string]int{"/a": 2, "/a/b": 4, "/a/b/0": 5, "/a/b/1": 6, "/a/b/1/c": 6, "/a/d~1e": 8}},
		{"one-line json", `{"a": {"b": [0, {"c": 1}]}}`, map[string]int{"/a/b/1/c": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ptrs []string
			for p := range tt.want {
				ptrs = append(ptrs, p)
			}
			ptrs = append(ptrs, "/nope", "/a/zz")
			got := PointerLines([]byte(tt.data), ptrs)
			for p, l := range tt.want {
				if got[p] != l {
					t.Errorf("%s: line %d, want %d (all: %v)", p, got[p], l, got)
				}
			}
			if _, ok := got["/nope"]; ok {
				t.Errorf("a line for a pointer that is not there: %v", got)
			}
		})
	}
}
