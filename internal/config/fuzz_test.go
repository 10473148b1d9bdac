package config

import (
	"errors"
	"testing"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/stub"
)

func ptrs(l []stub.Response) []*stub.Response {
	out := make([]*stub.Response, len(l))
	for i := range l {
		out[i] = &l[i]
	}
	return out
}

// FuzzLoadStubBytes feeds arbitrary bytes to the stub loader, then compiles
// what it loads and locates the compile errors. Nothing may panic, and every
// problem names the file.
func FuzzLoadStubBytes(f *testing.F) {
	seeds := []string{
		"- request: {method: GET, path: /a}\n  response: {status: 200, body: {a: 1}}\n",
		"stubs:\n  - request: {pathRegex: '('}\n    response: {delay: 5s}\n",
		"request:\n  path: /u/{id}\n  headers:\n    X-Id: {regex: '^\\d+$'}\nresponse:\n  headers: {A: [1, 2]}\n  generate: {size: 1KiB, pattern: text}\n",
		`[{"request": {"path": "/a", "body": {"jsonPath": [{"path": "$.a", "equals": 1}]}}, "responses": [{"status": 201}, {"bodyBase64": "aGk="}], "sequence": "repeat"}]`,
		"---\nrequest: {path: /a}\nresponse: {}\n---\n- 1\n",
		"- &a {request: {path: /a}, response: {}}\n- *a\n",
		"- request: {path: /a}\n  response:\n    body: \"\\u00e9\"\n",
		"a: [\n",
		"",
		"!!binary aGk=",
		"- request: {query: {q: ~}}\n  response: {status: 99}\n",
		"- request: {path: /a, headers: {X: {equalz: 1}}}\n  response: {staus: 1, faults: [{kind: reset, probabilty: 1}]}\n",
		"stubs:\n  - responses: [{status: 200}, {stats: 201}]\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 8<<10 {
			return
		}
		// A .json name checks the JSON syntax first, then reads on as a
		// .yaml does.
		name := "fuzz.yaml"
		if len(data) > 0 && data[0]&1 == 1 {
			name = "fuzz.json"
		}
		l, err := LoadStubBytes(name, data)
		if err != nil {
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("error %v (%T) is not a non-empty Problems", err, err)
			}
			for _, p := range ps {
				if p.File != name {
					t.Fatalf("problem %q names file %q", p.Error(), p.File)
				}
			}
			return
		}
		if len(l.Sources) == 0 {
			t.Fatal("loaded no stubs without a problem")
		}
		// A fuzzed bodyFile could name anything (/dev/zero): point each at
		// a file that does not exist, which still exercises the error path.
		for i := range l.Sources {
			sp := &l.Sources[i].Stub
			for _, r := range append([]*stub.Response{sp.Response}, ptrs(sp.Responses)...) {
				if r != nil && r.BodyFile != "" {
					r.BodyFile = "no-such-body-file"
				}
				if r != nil && r.Generate != nil && r.Generate.Size > 1<<20 {
					r.Generate.Size = 1 << 20
				}
			}
		}
		_, errs := engine.Compile(l.Sources)
		for _, p := range l.Locate(errs) {
			if p.File != name {
				t.Fatalf("located problem %q names file %q", p.Error(), p.File)
			}
		}
	})
}
