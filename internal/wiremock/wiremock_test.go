package wiremock_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/wiremock"
)

// convert converts one mapping (or a mappings file) and returns its stubs
// as JSON, its notes and its problems.
func convert(t *testing.T, src, filesDir string) (stubs []string, notes []string, err error) {
	t.Helper()
	res, err := wiremock.Parse("m.json", []byte(src), filesDir)
	if err != nil {
		return nil, nil, err
	}
	for _, m := range res.Mappings {
		b, jerr := json.Marshal(m.Stub)
		if jerr != nil {
			t.Fatal(jerr)
		}
		stubs = append(stubs, string(b))
	}
	return stubs, append(res.Notes, res.Details...), nil
}

func TestConvert(t *testing.T) {
	t.Parallel()
	files := t.TempDir()
	if err := os.WriteFile(filepath.Join(files, "body.json"), []byte(`{"a":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		in   string
		want string // the stub as JSON; "" when the mapping is skipped
		note string // in a note, when set
	}{
		{"url exact with query",
			`{"request": {"method": "GET", "url": "/a/b?x=1&y=two"}, "response": {"status": 200}}`,
			`{"request":{"method":"GET","path":"/a/b","query":{"x":{"equals":"1"},"y":{"equals":"two"}}},"response":{"status":200}}`, ""},
		{"any method, urlPath",
			`{"request": {"method": "ANY", "urlPath": "/a"}, "response": {"body": "x"}}`,
			`{"request":{"path":"/a"},"response":{"body":"x"}}`, ""},
		{"braces in a path are literal",
			`{"request": {"urlPath": "/a/{b}"}, "response": {}}`,
			`{"request":{"pathRegex":"^/a/\\{b\\}$"},"response":{}}`, ""},
		{"urlPathPattern anchored",
			`{"request": {"urlPathPattern": "/a/[0-9]+"}, "response": {}}`,
			`{"request":{"pathRegex":"^(?:/a/[0-9]+)$"},"response":{}}`, ""},
		{"urlPattern over a query is skipped",
			`{"request": {"urlPattern": "/a\\?b=.*"}, "response": {}}`, "", "over the query string"},
		{"Java-only regex is skipped",
			`{"request": {"urlPathPattern": "/a/(?!admin).*"}, "response": {}}`, "", "not RE2 syntax"},
		{"urlPathTemplate",
			`{"request": {"urlPathTemplate": "/users/{id}"}, "response": {}}`,
			`{"request":{"path":"/users/{id}"},"response":{}}`, ""},
		{"urlPathTemplate with pathParameters",
			`{"request": {"urlPathTemplate": "/users/{id}/{tab}", "pathParameters": {"id": {"equalTo": "4.2"}, "tab": {"matches": "a|b"}}}, "response": {}}`,
			`{"request":{"pathRegex":"^/users/(?:4\\.2)/(?:(?:a|b))$"},"response":{}}`, ""},
		{"string matchers",
			`{"request": {"headers": {"A": {"equalTo": "x", "caseInsensitive": true}, "B": {"contains": "y"}, "C": {"matches": "z+"}, "D": {"absent": true}, "E": {"absent": false}},
			  "cookies": {"s": {"equalTo": "1"}}, "queryParameters": {"q": {"includes": [{"equalTo": "v"}]}}}, "response": {}}`,
			`{"request":{"query":{"q":{"equals":"v"}},"headers":{"A":{"equals":"x","ignoreCase":true},"B":{"contains":"y"},"C":{"regex":"^(?:z+)$"},"D":{"absent":true},"E":{"present":true}},"cookies":{"s":{"equals":"1"}}},"response":{}}`, ""},
		{"formParameters",
			`{"request": {"method": "POST", "formParameters": {"Action": {"equalTo": "AssumeRole"}, "Version": {"matches": "2011-.*"}, "tag": {"includes": [{"equalTo": "b"}]}, "x": {"absent": true}}}, "response": {}}`,
			`{"request":{"method":"POST","body":{"form":{"Action":{"equals":"AssumeRole"},"Version":{"regex":"^(?:2011-.*)$"},"tag":{"equals":"b"},"x":{"absent":true}}}},"response":{}}`, ""},
		{"formParameters beside body patterns, in any order",
			`{"request": {"formParameters": {"a": {"equalTo": "1"}}, "bodyPatterns": [{"contains": "a="}]}, "response": {}}`,
			`{"request":{"body":{"contains":"a=","form":{"a":{"equals":"1"}}}},"response":{}}`, ""},
		{"formParameters beside a JSON pattern are skipped",
			`{"request": {"bodyPatterns": [{"equalToJson": {"a": 1}}], "formParameters": {"a": {"equalTo": "1"}}}, "response": {}}`, "", "request.formParameters: form parameters beside a JSON body pattern"},
		{"formParameters with doesNotMatch are skipped",
			`{"request": {"formParameters": {"a": {"doesNotMatch": "1"}}}, "response": {}}`, "", "formParameters.a.doesNotMatch"},
		{"doesNotMatch is skipped",
			`{"request": {"headers": {"A": {"doesNotMatch": "x"}}}, "response": {}}`, "", "headers.A.doesNotMatch"},
		{"basic auth",
			`{"request": {"basicAuthCredentials": {"username": "u", "password": "p"}}, "response": {}}`,
			`{"request":{"headers":{"Authorization":{"equals":"Basic dTpw"}}},"response":{}}`, ""},
		{"body patterns",
			`{"request": {"bodyPatterns": [{"equalTo": "a"}, {"contains": "b"}, {"contains": "c.d"}, {"equalToJson": "{\"x\": [1]}"}, {"matchesJsonPath": "$.x"},
			  {"matchesJsonPath": {"expression": "$.y", "equalTo": "42"}}, {"matchesJsonPath": {"expression": "$.z", "absent": true}}]}, "response": {}}`,
			`{"request":{"body":{"equals":"a","contains":"b","regex":"c\\.d","json":{"x":[1]},"jsonPath":[{"path":"$.x"},{"path":"$.y","regex":"^42$"},{"path":"$.z","absent":true}]}},"response":{}}`, ""},
		{"equalToJson ignoreExtraElements",
			`{"request": {"bodyPatterns": [{"equalToJson": {"a": {"b": 1, "c'": null}, "d": [1, 2]}, "ignoreExtraElements": true}]}, "response": {}}`,
			`{"request":{"body":{"jsonPath":[{"path":"$['a']['b']","equals":1},{"path":"$['a']['c\\'']","equals":null},{"path":"$['d']","equals":[1,2]}]}},"response":{}}`, ""},
		{"ignoreArrayOrder over a long array is skipped",
			`{"request": {"bodyPatterns": [{"equalToJson": {"d": [1, 2]}, "ignoreArrayOrder": true}]}, "response": {}}`, "", "compares arrays in order"},
		{"two regexes are skipped",
			`{"request": {"bodyPatterns": [{"matches": "a"}, {"matches": "b"}]}, "response": {}}`, "", "second body pattern"},
		{"XML is skipped",
			`{"request": {"bodyPatterns": [{"equalToXml": "<a/>"}]}, "response": {}}`, "", "equalToXml"},
		{"priority, id, name",
			`{"id": "x1", "name": "the name", "priority": 3, "request": {}, "response": {}}`,
			`{"id":"x1","description":"the name","priority":3,"request":{},"response":{}}`, ""},
		{"response headers, jsonBody",
			`{"request": {}, "response": {"status": 201, "headers": {"A": "1", "B": ["2", "3"], "Content-Length": "9"}, "jsonBody": {"z": 1, "a": [true]}}}`,
			`{"request":{},"response":{"status":201,"headers":{"A":"1","B":["2","3"]},"body":{"z":1,"a":[true]}}}`, "Content-Length: not sent"},
		{"bodyFileName",
			`{"request": {}, "response": {"bodyFileName": "body.json"}}`,
			`{"request":{},"response":{"bodyFile":"` + filepath.Join(files, "body.json") + `"}}`, ""},
		{"delays add up",
			`{"request": {}, "response": {"fixedDelayMilliseconds": 10, "delayDistribution": {"type": "uniform", "lower": 5, "upper": 15}}}`,
			`{"request":{},"response":{"latency":{"uniform":{"min":"15ms","max":"25ms"}}}}`, ""},
		{"fixed delay",
			`{"request": {}, "response": {"fixedDelayMilliseconds": 250}}`,
			`{"request":{},"response":{"delay":"250ms"}}`, ""},
		{"lognormal",
			`{"request": {}, "response": {"delayDistribution": {"type": "lognormal", "median": 1, "sigma": 0.5}}}`,
			`{"request":{},"response":{"latency":{"lognormal":{"mu":0,"sigma":0.5}}}}`, ""},
		{"dribble",
			`{"request": {}, "response": {"body": "0123456789", "chunkedDribbleDelay": {"numberOfChunks": 3, "totalDuration": 300}}}`,
			`{"request":{},"response":{"body":"0123456789","dribble":{"chunk":4,"every":"100ms"}}}`, ""},
		{"faults",
			`{"request": {}, "response": {"fault": "MALFORMED_RESPONSE_CHUNK"}}`,
			`{"request":{},"response":{"faults":[{"kind":"close-mid-body"}]}}`, ""},
		{"templating is a note",
			`{"request": {"urlPath": "/t"}, "response": {"body": "{{now}}"}}`,
			`{"request":{"path":"/t"},"response":{"body":"{{now}}"}}`, "templating is not supported"},
		{"scenario started is served",
			`{"scenarioName": "s", "requiredScenarioState": "Started", "request": {}, "response": {}}`,
			`{"request":{},"response":{}}`, ""},
		{"scenario later state is skipped",
			`{"scenarioName": "s", "requiredScenarioState": "Two", "request": {}, "response": {}}`, "", `scenario state "Two"`},
		{"proxy is skipped",
			`{"request": {"url": "/a"}, "response": {"proxyBaseUrl": "http://x"}}`, "", "proxying is not supported (decoy never calls another server): record the real API's answers"},
		{"webhooks are a note",
			`{"request": {}, "response": {}, "postServeActions": [{"name": "webhook"}]}`,
			`{"request":{},"response":{}}`, "webhooks"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			stubs, notes, err := convert(t, c.in, files)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if c.want == "" {
				if len(stubs) != 0 {
					t.Errorf("served %s, want it skipped", stubs[0])
				}
			} else if len(stubs) != 1 || stubs[0] != c.want {
				t.Errorf("got  %v\nwant %s", stubs, c.want)
			}
			if c.note != "" && !strings.Contains(strings.Join(notes, "\n"), c.note) {
				t.Errorf("notes %q lack %q", notes, c.note)
			}
			if c.note == "" && len(notes) > 0 {
				t.Errorf("unexpected notes %q", notes)
			}
		})
	}
}

func TestConvertProblems(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in string
		want     []string // in the error
	}{
		{"malformed JSON", "{\n  \"request\": {\"url\": \"/a\"},\n  \"response\": {\"status\": 200,,}\n}", []string{"3:"}},
		{"status of the wrong type", "{\"request\": {\"url\": \"/a\"},\n \"response\": {\"status\": \"abc\"}}", []string{"2:", "response.status", "want a whole number"}},
		{"url of the wrong type", "{\"request\": {\"url\": 5}, \"response\": {}}", []string{"1:", "request.url", "want a string"}},
		{"missing body file", "{\"request\": {\"url\": \"/a\"},\n \"response\": {\n  \"bodyFileName\": \"nope.json\"}}", []string{"3:", "response.bodyFileName", "no such file"}},
		{"two urls", `{"request": {"url": "/a", "urlPath": "/b"}, "response": {}}`, []string{"request.urlPath", "give one of"}},
		{"matcher not an object", `{"request": {"urlPath": "/b", "headers": {"A": "x"}}, "response": {}}`, []string{"request.headers.A", "want an object"}},
		{"bad fault", `{"request": {"urlPath": "/b"}, "response": {"fault": "NOPE"}}`, []string{"unknown fault"}},
		{"bad base64", `{"request": {"urlPath": "/b"}, "response": {"base64Body": "%%%"}}`, []string{"not base64"}},
		{"bad priority", `{"priority": 0, "request": {"urlPath": "/b"}, "response": {}}`, []string{"priority", "out of range"}},
		{"mappings entry", "{\"mappings\": [\n{\"request\": {\"urlPath\": \"/b\"}, \"response\": {}},\n{\"request\": {\"urlPath\": 1}, \"response\": {}}]}", []string{"3:", "mappings[1].request.urlPath"}},
		{"equalToJson not JSON", `{"request": {"urlPath": "/b", "bodyPatterns": [{"equalToJson": "{nope"}]}, "response": {}}`, []string{"not JSON"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := convert(t, c.in, t.TempDir())
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestDetect(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		`{"request": {"url": "/a"}, "response": {}}`:                        true,
		`{"request": {"path": "/a"}, "response": {"jsonBody": 1}}`:          true,
		`{"request": {"headers": {"A": {"equalTo": "x"}}}, "response": {}}`: true,
		`{"mappings": []}`: true,
		`{"request": {"path": "/a"}, "response": {"body": "x"}}`: false,
		`{"stubs": []}`:                false,
		`[{"request": {"url": "/a"}}]`: false,
		`{"openapi": "3.0.0"}`:         false,
	} {
		_, err := wiremock.Parse("m.json", []byte(in), "")
		if got := err == nil || !strings.Contains(err.Error(), "not WireMock"); got != want {
			t.Errorf("%s: detected %v, want %v (%v)", in, got, want, err)
		}
	}
}

func TestFilesDir(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"root/mappings/a.json":     "root/__files",
		"root/mappings/x/y/a.json": "root/__files",
		"/abs/mappings/a.json":     "/abs/__files",
		"nowhere/a.json":           "nowhere",
	} {
		if got := wiremock.FilesDir(in); got != filepath.FromSlash(want) {
			t.Errorf("FilesDir(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzConvert(f *testing.F) {
	for _, s := range []string{
		`{"request": {"url": "/a?b=1"}, "response": {"status": 200, "jsonBody": {"a": 1}}}`,
		`{"mappings": [{"request": {"urlPathTemplate": "/u/{id}", "pathParameters": {"id": {"matches": "[0-9]+"}}}, "response": {"fixedDelayMilliseconds": 5}}]}`,
		`{"request": {"bodyPatterns": [{"equalToJson": {"a": [1]}, "ignoreExtraElements": true}, {"matchesJsonPath": {"expression": "$.a", "contains": "1"}}]}, "response": {"chunkedDribbleDelay": {"numberOfChunks": 2, "totalDuration": 10}, "body": "xy"}}`,
		`{"request": {"headers": {"A": {"hasExactly": [{"equalTo": "x"}]}}}, "response": {"delayDistribution": {"type": "lognormal", "median": 10, "sigma": 0.2}, "fixedDelayMilliseconds": 1}}`,
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, s string) {
		res, err := wiremock.Parse("m.json", []byte(s), dir)
		if err == nil && res == nil {
			t.Fatal("nil result without an error")
		}
		if res != nil {
			for _, m := range res.Mappings {
				if _, err := json.Marshal(m.Stub); err != nil {
					t.Fatalf("stub does not marshal: %v", err)
				}
			}
		}
	})
}
