package openapi

import (
	"errors"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/stub"
)

func TestParsePathKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key, path string
		parts     []keyPart
		err       string
	}{
		{key: "/users/{id}", path: "/users/{id}"},
		{key: "/#X-Amz-Target=Svc.Op", path: "/", parts: []keyPart{{"X-Amz-Target", "Svc.Op", true}}},
		{key: "/{Bucket}?uploads", path: "/{Bucket}", parts: []keyPart{{"uploads", "", false}}},
		{key: "/{Bucket}/{Key+}?x-id=GetObject", path: "/{Bucket}/{Key+}", parts: []keyPart{{"x-id", "GetObject", true}}},
		{key: "/v1/p#domain&repository&format", path: "/v1/p", parts: []keyPart{{"domain", "", false}, {"repository", "", false}, {"format", "", false}}},
		{key: "/a#x=a%20b", path: "/a", parts: []keyPart{{"x", "a b", true}}},
		{key: "/a#x=", path: "/a", parts: []keyPart{{"x", "", true}}},
		{key: "/a#", err: "nothing after"},
		{key: "/a#&x", err: "is not name or name=value"},
		{key: "/a#=x", err: "is not name or name=value"},
		{key: "/a#x#y", err: "is not name or name=value"},
		{key: "/a#x=%zz", err: "invalid URL escape"},
		{key: "/{Key+}/more", err: "must be the whole last segment"},
		{key: "/a{Key+}", err: "must be the whole last segment"},
	}
	for _, tt := range tests {
		k, err := parsePathKey(tt.key)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parsePathKey(%q) error %v, want %q", tt.key, err, tt.err)
			}
			continue
		}
		if err != nil || k.path != tt.path || len(k.parts) != len(tt.parts) {
			t.Errorf("parsePathKey(%q) = %+v, %v, want path %q parts %v", tt.key, k, err, tt.path, tt.parts)
			continue
		}
		for i := range tt.parts {
			if k.parts[i] != tt.parts[i] {
				t.Errorf("parsePathKey(%q) part %d = %+v, want %+v", tt.key, i, k.parts[i], tt.parts[i])
			}
		}
	}
}

// A key decoy cannot route is a problem of its path, not an operation
// served where no request reaches it; --lenient leaves it out.
func TestUnroutablePathKey(t *testing.T) {
	t.Parallel()
	doc := `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /ok:
    get:
      responses: {"200": {description: fine}}
  /a#bad name=x:
    post:
      responses: {"200": {description: fine}}
  /b#:
    post:
      responses: {"200": {description: fine}}
`
	_, err := Load("testdata/key.yaml", []byte(doc), Options{Seed: 1})
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 2 {
		t.Fatalf("err = %v, want 2 problems", err)
	}
	for _, p := range ps {
		if !strings.Contains(p.Msg, "decoy cannot route this path") || !strings.Contains(p.Msg, "--lenient") || p.Line == 0 {
			t.Errorf("problem %+v: want the route, --lenient and a line", p)
		}
	}
	res, err := Load("testdata/key.yaml", []byte(doc), Options{Seed: 1, Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Sources {
		if s.Stub.Request.Path != "/ok" {
			t.Errorf("stub %s at %q is made", s.Stub.ID, s.Stub.Request.Path)
		}
	}
}

// FuzzPathKey reads any key: a key either parses, and its path and
// matchers either compile or are refused by the engine, or it is an
// error; nothing panics.
func FuzzPathKey(f *testing.F) {
	for _, k := range []string{"/#X-Amz-Target=Svc.Op", "/{Bucket}?uploads", "/{Bucket}/{Key+}?x-id=GetObject",
		"/v1/p#domain&repository", "/a#x=a%20b", "/a#", "/{Key+}/x", "/a#b=c=d&&"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		k, err := parsePathKey(key)
		if err != nil {
			return
		}
		if strings.ContainsAny(k.path, "#?") {
			t.Fatalf("path %q of %q holds # or ?", k.path, key)
		}
		b := &builder{}
		h, q, _ := b.keyMatchers(k, map[string]any{}, "")
		_, _ = engine.CompileRequest(stub.Request{Path: b.route(k.path), Headers: h, Query: q})
		for _, p := range k.parts {
			if p.name == "" {
				t.Fatalf("%q: a part without a name", key)
			}
		}
	})
}
