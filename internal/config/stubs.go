package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/openapi"
	"github.com/decoy-dev/decoy/internal/stub"
	"github.com/decoy-dev/decoy/internal/wiremock"
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// Loaded is a set of stubs read from files, with what is needed to point
// compile errors back at their lines.
type Loaded struct {
	Sources []engine.Source
	Files   []string // the files read, in order
	where   []place  // parallel to Sources
	autoID  []string // parallel to Sources: the id to give a stub without one
	spec    openapi.Options
	specIDs map[string]bool // what the ids of the OpenAPI documents read start with
	// Notes are warnings about files that loaded: a stub without a
	// request (it matches every request), and about OpenAPI documents: operations
	// left out by the lenient setting, webhooks that are not served.
	Notes []string
	// Details are the smaller findings about OpenAPI documents that loaded
	// (an example that does not match its schema and is not served, a
	// schema that does not compile and so checks nothing): `decoy check`
	// lists them, `decoy serve` counts them.
	Details []string
}

// DefaultSpec is how OpenAPI documents load when nothing says otherwise:
// the default seed, validation enforced, Prefer honoured.
var DefaultSpec = openapi.Options{Seed: 1}

type place struct {
	file string
	node ast.Node // the stub's mapping node
	path string   // its YAML path, for messages: "stubs[2]", "[0]", ""
	ptr  string   // for a stub of an OpenAPI document: its operation's JSON pointer
}

// MaxStubFile is the largest stub file decoy reads.
const MaxStubFile = 64 << 20

// LoadStubs reads stub files and folders. Folders are walked in lexical
// order; inside them, YAML and JSON files that do not hold stubs (such as
// body files) are skipped. Every problem in every file is reported.
// OpenAPI documents load with spec (one at most; DefaultSpec when none).
func LoadStubs(paths []string, spec ...openapi.Options) (*Loaded, error) {
	l, probs := loadStubs(paths, specOf(spec))
	if len(probs) > 0 {
		return nil, probs
	}
	return l, nil
}

// Build loads stub files and folders and compiles them into a store. It
// reports every problem at once with file:line: the files' syntax and
// decoding problems, and the compile problems of the stubs that decoded.
func Build(paths []string, opts ...engine.Option) (*Loaded, *engine.Store, error) {
	return BuildSpec(paths, DefaultSpec, opts...)
}

// BuildSpec is Build with the options OpenAPI documents load with.
func BuildSpec(paths []string, spec openapi.Options, opts ...engine.Option) (*Loaded, *engine.Store, error) {
	l, probs := loadStubs(paths, spec)
	return l.build(probs, opts)
}

func specOf(spec []openapi.Options) openapi.Options {
	if len(spec) > 0 {
		return spec[0]
	}
	return DefaultSpec
}

// BuildBytes is Build for one file's contents.
func BuildBytes(name string, data []byte) (*Loaded, *engine.Store, error) {
	l := &Loaded{spec: DefaultSpec}
	probs := l.loadData(name, data, true)
	l.assignIDs()
	return l.build(probs, nil)
}

func (l *Loaded) build(probs Problems, opts []engine.Option) (*Loaded, *engine.Store, error) {
	if len(probs) > 0 {
		if _, errs := engine.Compile(l.Sources, opts...); errs != nil {
			probs = append(probs, l.Locate(errs)...)
		}
		return nil, nil, probs
	}
	store, err := engine.NewStore(l.Sources, opts...)
	if err != nil {
		var errs engine.Errors
		if errors.As(err, &errs) {
			return nil, nil, l.Locate(errs)
		}
		return nil, nil, err
	}
	return l, store, nil
}

func loadStubs(paths []string, spec openapi.Options) (*Loaded, Problems) {
	l := &Loaded{spec: spec}
	var probs Problems
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			probs = append(probs, Problem{File: p, Msg: DescribeOpenErr(err)})
			continue
		}
		if !info.IsDir() {
			probs = append(probs, l.loadFile(p, true)...)
			continue
		}
		found := 0 // files of the kinds decoy reads, stubs or .proto
		err = filepath.WalkDir(p, func(name string, d fs.DirEntry, err error) error {
			if err != nil {
				probs = append(probs, Problem{File: name, Msg: DescribeOpenErr(err)})
				return nil
			}
			base := d.Name()
			if name != p && strings.HasPrefix(base, ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() && name != p && isWireMockFiles(name) {
				return filepath.SkipDir // WireMock's body files
			}
			if !d.IsDir() && strings.EqualFold(filepath.Ext(base), ".proto") {
				found++
			}
			if d.IsDir() || !isStubExt(base) {
				return nil
			}
			found++
			probs = append(probs, l.loadFile(name, false)...)
			return nil
		})
		if err != nil {
			probs = append(probs, Problem{File: p, Msg: err.Error()})
		}
		if found == 0 && err == nil {
			l.Notes = append(l.Notes, p+": no stub files (.yaml, .yml, .json) or .proto files in this folder: nothing is served from it")
		}
	}
	l.assignIDs()
	return l, probs
}

// assignIDs gives every stub without an id one made of its file name and
// position ("users-3"), never one a stub anywhere gives itself.
func (l *Loaded) assignIDs() {
	used := map[string]bool{}
	for _, src := range l.Sources {
		if src.Stub.ID != "" {
			used[src.Stub.ID] = true
		}
	}
	for i := range l.Sources {
		if l.Sources[i].Stub.ID == "" {
			l.Sources[i].Stub.ID = uniqueID(l.autoID[i], used)
		}
	}
}

// LoadStubBytes reads stubs from data as if it were the named file.
func LoadStubBytes(name string, data []byte) (*Loaded, error) {
	l := &Loaded{spec: DefaultSpec}
	probs := l.loadData(name, data, true)
	l.assignIDs()
	if len(probs) > 0 {
		return nil, probs
	}
	return l, nil
}

func isStubExt(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// DescribeOpenErr says why a file or folder could not be opened, in the
// words problems use: a missing one, or a link whose target is gone.
func DescribeOpenErr(err error) string {
	var pe *fs.PathError
	path := ""
	if errors.As(err, &pe) {
		err, path = pe.Err, pe.Path
	}
	if errors.Is(err, fs.ErrNotExist) {
		// A link whose target is gone is there, and says where it points.
		if target, lerr := os.Readlink(path); path != "" && lerr == nil {
			return fmt.Sprintf("a symbolic link to %s, which does not exist: fix or remove the link", target)
		}
		return "no such file or folder"
	}
	return err.Error()
}

func (l *Loaded) loadFile(name string, explicit bool) Problems {
	f, err := os.Open(name)
	if err != nil {
		return Problems{{File: name, Msg: DescribeOpenErr(err)}}
	}
	defer f.Close()
	data := make([]byte, 0, 4096)
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		data = append(data, buf[:n]...)
		if len(data) > MaxStubFile {
			return Problems{{File: name, Msg: fmt.Sprintf("larger than %d MiB; put large bodies in a bodyFile", MaxStubFile>>20)}}
		}
		if err != nil {
			break
		}
	}
	return l.loadData(name, data, explicit)
}

func (l *Loaded) loadData(name string, data []byte, explicit bool) Problems {
	data = trimBOM(data)
	// An OpenAPI document goes to its own reader without the syntax tree,
	// which for a large document (GitHub's API: 13 MB) costs a second.
	if isSpec(data) {
		return l.loadSpec(name, data)
	}
	if p := jsonSyntax(name, data); p != nil {
		return Problems{*p}
	}
	file, err := stub.ParseYAML(data)
	if err != nil {
		return Problems{yamlProblem(name, err)}
	}
	if len(file.Docs) > 0 {
		// An OpenAPI or Swagger document: its operations become stubs.
		if m, ok := unwrap(file.Docs[0].Body).(*ast.MappingNode); ok && (child(m, "openapi") != nil || child(m, "swagger") != nil) {
			return l.loadSpec(name, data)
		}
	}
	// WireMock mappings (a mapping, or {"mappings": [...]}): package
	// wiremock converts them.
	if len(file.Docs) == 1 && wiremock.Detect(file.Docs[0].Body) {
		return l.loadWireMock(name, file.Docs[0].Body)
	}
	var probs Problems
	type item struct {
		node    ast.Node
		path    string
		decoded *stub.Stub // set when the whole document decoded at once
	}
	var items []item
	for _, doc := range file.Docs {
		body := unwrap(doc.Body)
		if body == nil {
			continue
		}
		switch n := body.(type) {
		case *ast.SequenceNode:
			if !explicit && !looksLikeStubs(n) {
				continue
			}
			// A stub that does not decode here is decoded alone below, to
			// place every problem.
			decoded := decodeStubs(n.Values)
			for i, v := range n.Values {
				items = append(items, item{node: v, path: "[" + strconv.Itoa(i) + "]", decoded: decoded[i]})
			}
		case *ast.MappingNode:
			if sl := child(n, "stubs"); sl != nil {
				for _, k := range keys(n) {
					if k != "stubs" && !strings.HasPrefix(k, "x-") {
						probs = append(probs, Problem{File: name, Line: line(keyNode(n, k)), Msg: fmt.Sprintf("unknown field %q: a stub file holds a list of stubs, {stubs: [...]}, or one stub", k)})
					}
				}
				seq, ok := unwrap(sl).(*ast.SequenceNode)
				if !ok {
					probs = append(probs, Problem{File: name, Line: line(sl), Field: "stubs", Msg: "must be a list of stubs"})
					continue
				}
				decoded := decodeStubs(seq.Values)
				for i, v := range seq.Values {
					items = append(items, item{node: v, path: "stubs[" + strconv.Itoa(i) + "]", decoded: decoded[i]})
				}
			} else if child(n, "request") != nil || child(n, "response") != nil || child(n, "responses") != nil || explicit {
				items = append(items, item{node: n})
			}
		default:
			if explicit {
				probs = append(probs, Problem{File: name, Line: line(body), Msg: "a stub file holds a list of stubs, {stubs: [...]}, or one stub"})
			}
		}
	}
	if explicit && len(items) == 0 && len(probs) == 0 {
		probs = append(probs, Problem{File: name, Msg: "holds no stubs"})
	}
	if len(items) > 0 || explicit {
		l.Files = append(l.Files, name)
	}
	base := idBase(name)
	dir := filepath.Dir(name)
	for i, it := range items {
		var s stub.Stub
		if _, ok := unwrap(it.node).(*ast.MappingNode); !ok {
			probs = append(probs, Problem{File: name, Line: line(it.node), Field: it.path, Msg: "a stub is a mapping with request and response"})
			continue
		}
		if it.decoded != nil {
			s = *it.decoded
		} else if err := yaml.NodeToValue(it.node, &s, yaml.DisallowUnknownField()); err != nil {
			p := yamlProblem(name, err)
			if p.Line == 0 {
				p.Line = line(it.node)
			}
			p.Field = it.path
			var uf *yaml.UnknownFieldError
			if errors.As(err, &uf) {
				// Where the key is and what it may have meant: go-yaml
				// names only the key.
				if path, known, ok := stub.UnknownField(it.node, p.Line, p.Col); ok {
					key := path[strings.LastIndexAny(path, ".]")+1:]
					p.Field, p.Msg = stub.Join(it.path, path), stub.UnknownFieldMessage(key, known)
				}
			} else {
				p.at(it.node, it.path)
			}
			probs = append(probs, p)
			continue
		}
		if m := unwrap(it.node).(*ast.MappingNode); child(m, "request") == nil {
			where := name + ":" + strconv.Itoa(line(it.node))
			if it.path != "" {
				where += ": " + it.path
			}
			l.Notes = append(l.Notes, where+": no request: this stub answers every request; write request: {} if that is meant")
		}
		if err := stub.WholeNumbers(it.node); err != nil {
			p := yamlProblem(name, err)
			p.Field = it.path
			p.at(it.node, it.path)
			probs = append(probs, p)
			continue
		}
		l.Sources = append(l.Sources, engine.Source{Stub: s, Origin: fmt.Sprintf("%s:%d", name, line(it.node)), Dir: dir})
		l.where = append(l.where, place{file: name, node: it.node, path: it.path})
		l.autoID = append(l.autoID, fmt.Sprintf("%s-%d", base, i+1))
	}
	return probs
}

// at names the field of the stub (node, at path) whose value p's place
// points at, when one starts there: the value that did not decode, named
// once (go-yaml's messages start with its key).
func (p *Problem) at(node ast.Node, path string) {
	if field, ok := stub.ValueAt(node, p.Line, p.Col); ok {
		key := field[strings.LastIndexAny(field, ".]")+1:]
		p.Field, p.Msg = stub.Join(path, field), strings.TrimPrefix(p.Msg, key+": ")
	}
}

// decodeStubs decodes each of nodes into a stub, spread over the CPUs:
// decoding is a third of what loading a long list of stubs costs, and the
// stubs decode apart (stub.ParseYAML resolved aliases into the syntax
// tree, which decoding only reads). One at a time, each with the decoder
// of its part, rather than the list whole: that was slower even on one
// CPU. An entry is nil where its node did not decode as a stub.
func decodeStubs(nodes []ast.Node) []*stub.Stub {
	out := make([]*stub.Stub, len(nodes))
	all := make([]stub.Stub, len(nodes))
	decode := func(lo, hi int) {
		d := yaml.NewDecoder(bytes.NewReader(nil), yaml.DisallowUnknownField())
		for i := lo; i < hi; i++ {
			if _, ok := unwrap(nodes[i]).(*ast.MappingNode); ok && d.DecodeFromNode(nodes[i], &all[i]) == nil {
				out[i] = &all[i]
			}
		}
	}
	// A part of at least decodePart stubs each, at most one per CPU.
	parts := min(runtime.GOMAXPROCS(0), (len(nodes)+decodePart-1)/decodePart)
	if parts <= 1 {
		decode(0, len(nodes))
		return out
	}
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*len(nodes)/parts, (p+1)*len(nodes)/parts
		wg.Go(func() { decode(lo, hi) })
	}
	wg.Wait()
	return out
}

// decodePart is the fewest stubs worth a goroutine of their own.
const decodePart = 256

func looksLikeStubs(n *ast.SequenceNode) bool {
	if len(n.Values) == 0 {
		return false
	}
	m, ok := unwrap(n.Values[0]).(*ast.MappingNode)
	return ok && (child(m, "request") != nil || child(m, "response") != nil || child(m, "responses") != nil)
}

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func idBase(name string) string {
	b := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	b = idUnsafe.ReplaceAllString(b, "-")
	if b == "" {
		b = "stub"
	}
	return b
}

func uniqueID(id string, used map[string]bool) string {
	out := id
	for n := 2; used[out]; n++ {
		out = id + "-" + strconv.Itoa(n)
	}
	used[out] = true
	return out
}

// Locate turns compile errors for l's sources into problems with file:line.
func (l *Loaded) Locate(errs engine.Errors) Problems {
	out := make(Problems, 0, len(errs))
	var specLines map[string]map[string]int // file -> pointer -> line, read when needed
	for _, e := range errs {
		if e.Index < 0 || e.Index >= len(l.where) {
			out = append(out, Problem{File: e.Origin, Field: e.Field, Msg: e.Msg})
			continue
		}
		w := l.where[e.Index]
		if w.ptr != "" {
			if specLines == nil {
				specLines = l.specLines(errs)
			}
			field := "#" + w.ptr
			if e.Field != "" {
				field += ": " + e.Field
			}
			out = append(out, Problem{File: w.file, Line: specLines[w.file][w.ptr], Field: field, Msg: e.Msg})
			continue
		}
		n := find(w.node, e.Field)
		out = append(out, Problem{File: w.file, Line: line(n), Field: stub.Join(w.path, e.Field), Msg: e.Msg})
	}
	return out
}

// specLines finds the lines of the operations of OpenAPI documents that
// errs name, reading each document again (only when it has errors: its
// bytes are not kept).
func (l *Loaded) specLines(errs engine.Errors) map[string]map[string]int {
	ptrs := map[string][]string{}
	for _, e := range errs {
		if e.Index >= 0 && e.Index < len(l.where) && l.where[e.Index].ptr != "" {
			w := l.where[e.Index]
			ptrs[w.file] = append(ptrs[w.file], w.ptr)
		}
	}
	out := map[string]map[string]int{}
	for file, ps := range ptrs {
		if data, err := os.ReadFile(file); err == nil {
			out[file] = openapi.PointerLines(data, ps)
		}
	}
	return out
}

// find follows a field path ("request.headers.X-Id.regex",
// "responses[1].status") from n and returns the deepest node it reaches. A
// name with dots in it (a header X.Id) is found by joining parts.
func find(n ast.Node, field string) ast.Node {
	cur := n
	parts := splitField(field)
	for i := 0; i < len(parts); i++ {
		part := parts[i]
		idx := -1
		if j := strings.IndexByte(part, '['); j >= 0 && strings.HasSuffix(part, "]") {
			idx, _ = strconv.Atoi(part[j+1 : len(part)-1])
			part = part[:j]
		}
		if part != "" {
			m, ok := unwrap(cur).(*ast.MappingNode)
			if !ok {
				return cur
			}
			v := childFold(m, part)
			for k := i + 1; v == nil && k < len(parts); k++ {
				part += "." + parts[k]
				if v = childFold(m, part); v != nil {
					i = k
				}
			}
			if v == nil {
				return cur
			}
			cur = v
		}
		if idx >= 0 {
			s, ok := unwrap(cur).(*ast.SequenceNode)
			if !ok || idx >= len(s.Values) {
				return cur
			}
			cur = s.Values[idx]
		}
	}
	return cur
}

// splitField splits a field path on dots.
func splitField(f string) []string {
	if f == "" {
		return nil
	}
	return strings.Split(f, ".")
}

func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.DocumentNode:
			n = v.Body
		default:
			return n
		}
	}
}

func keys(m *ast.MappingNode) []string {
	out := make([]string, 0, len(m.Values))
	for _, mv := range m.Values {
		out = append(out, stub.MappingKey(mv))
	}
	return out
}

func child(m *ast.MappingNode, key string) ast.Node {
	for _, mv := range m.Values {
		if stub.MappingKey(mv) == key {
			return mv.Value
		}
	}
	return nil
}

func childFold(m *ast.MappingNode, key string) ast.Node {
	if v := child(m, key); v != nil {
		return v
	}
	for _, mv := range m.Values {
		if strings.EqualFold(stub.MappingKey(mv), key) {
			return mv.Value
		}
	}
	return nil
}

func keyNode(m *ast.MappingNode, key string) ast.Node {
	for _, mv := range m.Values {
		if stub.MappingKey(mv) == key {
			return mv.Key
		}
	}
	return m
}

func line(n ast.Node) int {
	if n == nil || n.GetToken() == nil {
		return 0
	}
	return n.GetToken().Position.Line
}

// yamlProblem converts a go-yaml error into a Problem with its position.
func yamlProblem(file string, err error) Problem {
	var pe *stub.PosError
	if errors.As(err, &pe) {
		return Problem{File: file, Line: pe.Line, Col: pe.Col, Msg: pe.Err.Error()}
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		p := Problem{File: file, Msg: typeMessage(te.DstType, te.Token)}
		if te.Token != nil {
			p.Line, p.Col = te.Token.Position.Line, te.Token.Position.Column
		}
		return p
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		p := Problem{File: file, Msg: ye.GetMessage()}
		if tk := ye.GetToken(); tk != nil {
			p.Line, p.Col = tk.Position.Line, tk.Position.Column
		}
		return p
	}
	return Problem{File: file, Msg: err.Error()}
}

// typeMessage words a value of the wrong type for the user: the field it
// was given for (the key before it), what the field takes, and what was
// written, e.g. `status: want an integer, got "abc"`.
func typeMessage(want reflect.Type, tk *token.Token) string {
	msg := "want " + kindWord(want)
	if tk == nil {
		return msg
	}
	got := strconv.Quote(tk.Value)
	switch tk.Type {
	case token.SequenceStartType, token.SequenceEntryType:
		got = "a list"
	case token.MappingStartType, token.MappingKeyType:
		got = "a mapping"
	}
	msg += ", got " + got
	if k := stub.KeyBefore(tk); k != "" {
		msg = k + ": " + msg
	}
	return msg
}

// kindWord names what a Go type takes, in the words of YAML and JSON.
func kindWord(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return "another value"
}

// isSpec reports, without building a syntax tree, whether data is a JSON
// OpenAPI or Swagger document: a well-formed JSON object with a top-level
// "openapi" or "swagger" key. YAML, and anything malformed, goes the slow
// way (which places syntax errors).
func isSpec(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(t) > 0 && t[0] == '{' {
		if !json.Valid(t) {
			return false // the stub reader places the syntax error
		}
		dec := json.NewDecoder(bytes.NewReader(t))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			return false
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return false
			}
			if k, _ := tok.(string); k == "openapi" || k == "swagger" {
				return true
			}
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return false
			}
		}
		return false
	}
	return false
}

// trimBOM drops a UTF-8 byte order mark, which editors on Windows put at
// the start of a file and YAML readers take for content.
func trimBOM(data []byte) []byte {
	return bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
}
