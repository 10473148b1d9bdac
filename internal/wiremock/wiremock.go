// Package wiremock owns reading WireMock stub mappings as they are: the
// JSON files of a WireMock root's mappings/ folder (one mapping, or
// {"mappings": [...]} as WireMock's admin API exports them), with the
// bodyFileName files of the __files/ folder beside it. Each mapping becomes
// one ordinary decoy stub (package stub), so what is served, and what a
// request costs, is the same as for stubs written in decoy's own format.
//
// What decoy cannot express is said, never silently dropped: a request
// condition decoy cannot check (doesNotMatch, XML, multipartPatterns, ...) skips
// the mapping with a note, since serving it without the condition would
// answer requests meant for other mappings; a response feature it lacks
// (templating, statusMessage, webhooks) is a note and the rest is served.
// Malformed input (wrong types, a missing body file) is a Problem with the
// line of the value at fault.
package wiremock

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/decoy-dev/decoy/internal/stub"
	"github.com/goccy/go-yaml/ast"
)

// Mapping is one converted WireMock mapping.
type Mapping struct {
	Stub stub.Stub
	// Node is the mapping's object in the file, Path its place there
	// ("mappings[2]", or "" for a file of one mapping): where compile
	// errors point.
	Node ast.Node
	Path string
	// Name is the mapping's name, "" when it has none: a base for the
	// stub's id when the mapping gives no id.
	Name string
	// Index is the mapping's position in its file, from 0.
	Index int
}

// Result is what a mapping file converts into.
type Result struct {
	Mappings []Mapping
	// Notes are features decoy does not serve as WireMock would, each
	// naming the file:line of the mapping, and mappings skipped for them.
	Notes []string
	// Details are smaller findings (response headers decoy sets itself).
	Details []string
}

// Problem is one mistake in a mapping file.
type Problem struct {
	Line, Col int
	Field     string
	Msg       string
}

// Problems are the mistakes of one mapping file.
type Problems []Problem

func (ps Problems) Error() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%d:%d: ", p.Line, p.Col)
		if p.Field != "" {
			b.WriteString(p.Field + ": ")
		}
		b.WriteString(p.Msg)
	}
	return b.String()
}

// Keys only WireMock's mappings have: decoy's stub format refuses them, so
// a file that has one is a WireMock mapping.
var (
	topKeys = set("mappings", "uuid", "name", "scenarioName", "requiredScenarioState",
		"newScenarioState", "persistent", "metadata", "postServeActions",
		"serveEventListeners", "insertionIndex")
	requestKeys = set("url", "urlPath", "urlPattern", "urlPathPattern", "urlPathTemplate",
		"queryParameters", "bodyPatterns", "basicAuthCredentials", "multipartPatterns",
		"formParameters", "pathParameters", "host", "scheme", "port", "clientIp", "customMatcher")
	responseKeys = set("jsonBody", "base64Body", "bodyFileName", "fixedDelayMilliseconds",
		"delayDistribution", "chunkedDribbleDelay", "fault", "statusMessage", "transformers",
		"transformerParameters", "proxyBaseUrl", "additionalProxyRequestHeaders",
		"removeProxyRequestHeaders", "proxyUrlPrefixToRemove")
	matcherKeys = set("equalTo", "caseInsensitive", "matches", "doesNotMatch", "doesNotContain",
		"hasExactly", "includes", "equalToJson", "matchesJsonPath", "binaryEqualTo",
		"before", "after", "equalToDateTime", "and", "or", "not", "equalToXml",
		"matchesXPath", "matchesJsonSchema")
)

func set(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// Detect reports whether a file's top-level value is WireMock mappings:
// an object with a "mappings" list, or a mapping with a key that only
// WireMock has (url, urlPath, bodyPatterns, jsonBody, bodyFileName,
// fixedDelayMilliseconds, a header matched with equalTo, ...).
func Detect(body ast.Node) bool {
	top, ok := asObj(body, "")
	if !ok {
		return false
	}
	if _, ok := stub.Unwrap(top.get("mappings")).(*ast.SequenceNode); ok {
		return true
	}
	return isMapping(top)
}

func isMapping(top obj) bool {
	if top.get("request") == nil && top.get("response") == nil {
		return false
	}
	for _, k := range top.keys() {
		if topKeys[k] && k != "mappings" {
			return true
		}
	}
	if req, ok := asObj(top.get("request"), ""); ok {
		for _, k := range req.keys() {
			if requestKeys[k] {
				return true
			}
		}
		for _, f := range []string{"headers", "cookies"} {
			ms, _ := asObj(req.get(f), "")
			for _, k := range ms.keys() {
				m, _ := asObj(ms.get(k), "")
				for _, mk := range m.keys() {
					if matcherKeys[mk] {
						return true
					}
				}
			}
		}
	}
	if resp, ok := asObj(top.get("response"), ""); ok {
		for _, k := range resp.keys() {
			if responseKeys[k] {
				return true
			}
		}
	}
	return false
}

// FilesDir is where the bodyFileName files of the mapping file named file
// are: the __files folder beside the nearest folder named mappings above
// it (WireMock's root); for a file outside a mappings folder, __files
// beside the file when there is one, else the file's own folder.
func FilesDir(file string) string {
	dir := filepath.Dir(file)
	for d := dir; ; {
		if filepath.Base(d) == "mappings" {
			return filepath.Join(filepath.Dir(d), "__files")
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	if info, err := os.Stat(filepath.Join(dir, "__files")); err == nil && info.IsDir() {
		return filepath.Join(dir, "__files")
	}
	return dir
}

// conv converts the mappings of one file.
type conv struct {
	file     string
	filesDir string
	res      Result
	probs    Problems
	// per mapping:
	line    int    // the mapping's line
	label   string // how notes name the mapping
	path    string // the mapping's place in the file ("mappings[2]"); fields are relative to it
	skip    string // why the mapping is not served ("" when it is)
	pending []string
}

// Convert converts a mapping file's top-level value (see Detect). file
// names it in notes; filesDir is where bodyFileName names are read from
// (see FilesDir). A file with problems converts to nothing.
func Convert(file string, body ast.Node, filesDir string) (*Result, error) {
	c := &conv{file: file, filesDir: filesDir}
	top, ok := c.object(body, "")
	if !ok {
		return nil, c.probs
	}
	if ml := top.get("mappings"); ml != nil {
		for _, k := range top.keys() {
			switch {
			case k == "mappings", k == "meta":
				// meta: {total: N}, as GET /__admin/mappings writes it.
			default:
				c.fail(keyOf(top, k), k, "unknown field beside mappings (a mappings file holds {\"mappings\": [...]})")
			}
		}
		items, ok := c.list(ml, "mappings")
		if ok {
			for i, it := range items {
				c.mapping(it, "mappings["+strconv.Itoa(i)+"]", i)
			}
		}
	} else {
		c.mapping(body, "", 0)
	}
	if len(c.probs) > 0 {
		return nil, c.probs
	}
	return &c.res, nil
}

func keyOf(o obj, key string) ast.Node {
	for _, mv := range o.m.Values {
		if stub.MappingKey(mv) == key {
			return mv.Key
		}
	}
	return o.m
}

// fail records a problem with the input.
func (c *conv) fail(n ast.Node, field, msg string) {
	c.probs = append(c.probs, Problem{Line: lineOf(n), Col: colOf(n), Field: stub.Join(c.path, field), Msg: msg})
}

// unsupported skips the mapping: a request condition decoy cannot check.
func (c *conv) unsupported(field, what string) {
	if c.skip == "" {
		c.skip = field + ": " + what
	}
}

// note records a response feature decoy does not serve; the mapping is.
func (c *conv) note(field, what string) {
	c.pending = append(c.pending, field+": "+what)
}

// detail records a small finding.
func (c *conv) detail(field, what string) {
	c.res.Details = append(c.res.Details, fmt.Sprintf("%s:%d: %s: %s: %s", c.file, c.line, c.label, field, what))
}

// Parse reads a mapping file's bytes and converts it (see Convert). A
// file that is not WireMock mappings is an error.
func Parse(file string, data []byte, filesDir string) (*Result, error) {
	f, err := stub.ParseYAML(data)
	if err != nil {
		return nil, err
	}
	if len(f.Docs) != 1 || !Detect(f.Docs[0].Body) {
		return nil, fmt.Errorf("%s: not WireMock mappings", file)
	}
	return Convert(file, f.Docs[0].Body, filesDir)
}
