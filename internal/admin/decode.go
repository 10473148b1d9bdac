package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/token"

	"github.com/decoy-dev/decoy/internal/problem"
	"github.com/decoy-dev/decoy/internal/stub"
)

// decodeStub reads one stub from the request body: YAML when the
// Content-Type says so (application/yaml, application/x-yaml, text/yaml),
// JSON otherwise. Unknown fields are refused. A malformed body is a 400
// whose errors name the field (JSON) or the line (YAML); a body over
// MaxBodyBytes is a 413.
func decodeStub(w http.ResponseWriter, r *http.Request) (stub.Stub, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return stub.Stub{}, err
		}
		return stub.Stub{}, errorf(http.StatusBadRequest, "cannot read the request body: %v", err)
	}
	ct := r.Header.Get("Content-Type")
	if len(bytes.TrimSpace(body)) == 0 {
		return stub.Stub{}, invalid("the request body is empty: send one stub as JSON (or YAML with Content-Type: application/yaml)")
	}
	if isYAML(ct) {
		return decodeYAML(body)
	}
	return decodeJSON(body, ct)
}

// checkBodyFiles refuses a bodyFile that names something other than a
// regular file. The engine reads the whole file when it compiles the stubs,
// under the store's lock: a FIFO would block every later change and
// /dev/zero would never end. A missing file is left to the engine, which
// reports it. dir is the directory relative names resolve against.
func checkBodyFiles(s stub.Stub, dir string) error {
	var details []problem.Detail
	check := func(field string, r *stub.Response) {
		if r.BodyFile == "" {
			return
		}
		name := r.BodyFile
		if !filepath.IsAbs(name) && dir != "" {
			name = filepath.Join(dir, name)
		}
		if fi, err := os.Stat(name); err == nil && !fi.Mode().IsRegular() {
			details = append(details, problem.Detail{Field: stub.Join(field, "bodyFile"),
				Message: name + " is not a regular file"})
		}
	}
	if s.Response != nil {
		check("response", s.Response)
	}
	for i := range s.Responses {
		check("responses["+strconv.Itoa(i)+"]", &s.Responses[i])
	}
	if len(details) > 0 {
		return invalid("invalid stub; nothing was changed", details...)
	}
	return nil
}

// isYAML reports whether the media type ct is one of YAML's.
func isYAML(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(ct, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	switch mt {
	case "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml":
		return true
	}
	return false
}

// decodeJSON decodes body, which must hold exactly one JSON object.
func decodeJSON(body []byte, ct string) (stub.Stub, error) {
	var s stub.Stub
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	// Matcher values (jsonPath equals, json) keep their digits: a 64-bit
	// ID such as 1790000000000000001 must not become the float64 its
	// neighbours share.
	dec.UseNumber()
	err := dec.Decode(&s)
	if err == nil {
		if _, err := dec.Token(); err != io.EOF {
			line, col := stub.Position(body, int(dec.InputOffset()))
			return stub.Stub{}, invalid("malformed JSON body", problem.Detail{
				Message: fmt.Sprintf("line %d, column %d: unexpected data after the stub (send one stub per request)", line, col)})
		}
		return s, nil
	}
	hint := ""
	if mt, _, _ := mime.ParseMediaType(ct); mt != "" && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		hint = fmt.Sprintf(" (the body was read as JSON; Content-Type was %q, send YAML as application/yaml)", mt)
	}
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		line, col := stub.Position(body, int(syn.Offset))
		return stub.Stub{}, invalid("malformed JSON body"+hint, problem.Detail{
			Message: fmt.Sprintf("line %d, column %d: %s", line, col, syn.Error())})
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := stub.Position(body, len(body))
		return stub.Stub{}, invalid("malformed JSON body"+hint, problem.Detail{
			Message: fmt.Sprintf("line %d, column %d: unexpected end of the body", line, col)})
	}
	// Well-formed JSON that does not fit a stub: walk it to name every
	// field that is wrong.
	var details []problem.Detail
	diagnose(body, reflect.TypeFor[stub.Stub](), "", &details)
	if len(details) == 0 {
		d := problem.Detail{Message: strings.TrimPrefix(err.Error(), "json: ")}
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			d.Field = ute.Field
		}
		details = append(details, d)
	}
	return stub.Stub{}, invalid("the body is not a valid stub", details...)
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// diagnose checks the JSON value raw against type t the way encoding/json
// decodes it, and appends a detail for every mismatch: unknown fields,
// wrong types, values a custom unmarshaler refuses. Paths are written as
// the engine writes them ("request.headers.X-Id.regex", "responses[1]").
func diagnose(raw []byte, t reflect.Type, path string, out *[]problem.Detail) {
	add := func(msg string) { *out = append(*out, problem.Detail{Field: path, Message: msg}) }
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		err := json.Unmarshal(raw, reflect.New(t).Interface())
		if err == nil {
			return
		}
		if t.Kind() == reflect.Struct && isObject(raw) {
			// An object form (a string matcher): look inside for a better
			// path than the matcher's own.
			n := len(*out)
			diagnoseStruct(raw, t, path, out)
			if len(*out) > n {
				return
			}
		}
		add(errorMessage(t, raw, err))
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if !isNull(raw) {
			diagnose(raw, t.Elem(), path, out)
		}
	case reflect.Struct:
		if isNull(raw) {
			return
		}
		if !isObject(raw) {
			add("must be an object, not " + jsonKind(raw))
			return
		}
		diagnoseStruct(raw, t, path, out)
	case reflect.Map:
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			add("must be an object, not " + jsonKind(raw))
			return
		}
		for _, k := range sortedKeys(m) {
			diagnose(m[k], t.Elem(), stub.Join(path, k), out)
		}
	case reflect.Slice:
		var l []json.RawMessage
		if err := json.Unmarshal(raw, &l); err != nil {
			add("must be a list, not " + jsonKind(raw))
			return
		}
		for i, e := range l {
			diagnose(e, t.Elem(), path+"["+strconv.Itoa(i)+"]", out)
		}
	case reflect.Interface:
		// Any JSON value will do.
	default:
		if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
			add(fmt.Sprintf("must be %s, not %s", typeName(t), jsonKind(raw)))
		}
	}
}

// diagnoseStruct checks the members of the JSON object raw against the
// fields of struct type t.
func diagnoseStruct(raw []byte, t reflect.Type, path string, out *[]problem.Detail) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		*out = append(*out, problem.Detail{Field: path, Message: "must be an object, not " + jsonKind(raw)})
		return
	}
	fields := jsonFields(t)
	for _, k := range sortedKeys(m) {
		f, ok := fields[k]
		if !ok {
			for name, g := range fields {
				if strings.EqualFold(name, k) {
					f, ok = g, true
					break
				}
			}
		}
		if !ok {
			known := sortedKeys(fields)
			msg := "unknown field; known fields: " + strings.Join(known, ", ")
			if s := stub.Suggest(k, known); s != "" {
				msg = "unknown field; did you mean " + strconv.Quote(s) + "? known fields: " + strings.Join(known, ", ")
			}
			*out = append(*out, problem.Detail{Field: stub.Join(path, k), Message: msg})
			continue
		}
		diagnose(m[k], f.Type, stub.Join(path, k), out)
	}
}

// jsonFields maps the JSON names of t's exported fields to the fields.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	out := make(map[string]reflect.StructField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func isNull(raw []byte) bool { return string(bytes.TrimSpace(raw)) == "null" }

func isObject(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// jsonKind names the kind of the JSON value raw.
func jsonKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "the number " + string(raw)
}

// typeName describes a Go scalar type to a JSON author.
func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a " + t.Kind().String()
}

// errorMessage words the error a custom unmarshaler of type t gave for raw.
func errorMessage(t reflect.Type, raw []byte, err error) string {
	if t == reflect.TypeFor[stub.StringMatcher]() {
		return "must be a string or an object with equals, contains, regex, present, absent, ignoreCase; not " + jsonKind(raw)
	}
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		return fmt.Sprintf("must be %s, not %s", typeName(ute.Type), jsonKind(raw))
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// decodeYAML decodes body, which must hold exactly one YAML document.
// Aliases are refused: the decoder expands them eagerly, so a few hundred
// bytes of nested aliases ("billion laughs") would take gigabytes.
func decodeYAML(body []byte) (stub.Stub, error) {
	for _, tk := range lexer.Tokenize(string(body)) {
		if tk.Type == token.AliasType {
			msg := "YAML aliases (*name) are not accepted by the admin API; write the value out"
			if tk.Position != nil {
				msg = fmt.Sprintf("line %d, column %d: %s", tk.Position.Line, tk.Position.Column, msg)
			}
			return stub.Stub{}, invalid("malformed YAML body", problem.Detail{Message: msg})
		}
	}
	if n := yamlValuesAtLeast(body); n > maxYAMLValues {
		return stub.Stub{}, invalid("malformed YAML body", problem.Detail{Message: fmt.Sprintf(
			"a YAML body of about %d values or more: the admin API reads YAML bodies up to %d; send this one as JSON", n, maxYAMLValues)})
	}
	// Parsed first with the bounds of stub.ParseYAML (nesting, aliases):
	// the decoder below would take memory without them.
	f, err := stub.ParseYAML(body)
	var pe *stub.PosError
	if errors.As(err, &pe) {
		return stub.Stub{}, invalid("malformed YAML body", problem.Detail{
			Message: fmt.Sprintf("line %d, column %d: %v", pe.Line, pe.Col, pe.Err)})
	}
	var s stub.Stub
	dec := yaml.NewDecoder(bytes.NewReader(body), yaml.DisallowUnknownField())
	err = dec.Decode(&s)
	if err == nil {
		var extra any
		if err := dec.Decode(&extra); err != io.EOF {
			return stub.Stub{}, invalid("malformed YAML body", problem.Detail{
				Message: "the body holds more than one YAML document (send one stub per request)"})
		}
		if f != nil && len(f.Docs) == 1 {
			if err := stub.WholeNumbers(f.Docs[0].Body); errors.As(err, &pe) {
				return stub.Stub{}, invalid("the body is not a valid stub", problem.Detail{
					Message: fmt.Sprintf("line %d, column %d: %v", pe.Line, pe.Col, pe.Err)})
			}
		}
		return s, nil
	}
	var uf *yaml.UnknownFieldError
	if errors.As(err, &uf) && f != nil && len(f.Docs) == 1 {
		// Well-formed YAML that does not fit a stub: name the field's
		// path and what it may have meant.
		if tk := uf.GetToken(); tk != nil && tk.Position != nil {
			if path, known, ok := stub.UnknownField(f.Docs[0].Body, tk.Position.Line, tk.Position.Column); ok {
				key := path[strings.LastIndexAny(path, ".]")+1:]
				return stub.Stub{}, invalid("the body is not a valid stub", problem.Detail{Field: path,
					Message: fmt.Sprintf("line %d, column %d: %s", tk.Position.Line, tk.Position.Column, stub.UnknownFieldMessage(key, known))})
			}
		}
	}
	return stub.Stub{}, invalid("malformed YAML body", yamlDetail(err))
}

// maxYAMLValues bounds the values of a YAML body, as counted by
// yamlValuesAtLeast: go-yaml holds about 230 bytes for each token it
// reads, so a 16 MiB body of short values would take gigabytes.
const maxYAMLValues = 1_000_000

// yamlValuesAtLeast counts the bytes of body that separate or open YAML
// values (indicators, line ends), about the number of tokens go-yaml
// makes of it, without reading it as YAML. Those inside quoted strings
// count too: a body that many values of JSON is sent as JSON.
func yamlValuesAtLeast(body []byte) int {
	n := 0
	for _, c := range body {
		switch c {
		case '[', ']', '{', '}', ',', ':', '-', '\n':
			n++
		}
	}
	return n
}

// yamlDetail describes a YAML decoding error with its line and column.
func yamlDetail(err error) problem.Detail {
	var ye yaml.Error
	if errors.As(err, &ye) {
		msg := ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			msg = fmt.Sprintf("line %d, column %d: %s", tk.Position.Line, tk.Position.Column, msg)
		}
		return problem.Detail{Message: msg}
	}
	return problem.Detail{Message: err.Error()}
}
