package openapi

import (
	"bytes"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ToJSONSchema rewrites an OpenAPI document's tree so that its schemas read
// as JSON Schema 2020-12: 3.0's nullable and Swagger's x-nullable become a
// null type, boolean exclusiveMinimum/Maximum become numbers, keywords
// beside a 3.0 $ref are dropped (3.0 ignores them) and Swagger's type file
// is dropped. It returns a new tree; v is not changed.
func ToJSONSchema(v any, oas31 bool) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = ToJSONSchema(e, oas31)
		}
		return out
	case map[string]any:
		if ref, ok := x["$ref"].(string); ok && !oas31 {
			return map[string]any{"$ref": ref}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = ToJSONSchema(e, oas31)
		}
		for _, side := range []string{"Minimum", "Maximum"} {
			ex := "exclusive" + side
			if b, ok := out[ex].(bool); ok {
				delete(out, ex)
				lim := strings.ToLower(side)
				if b && out[lim] != nil {
					out[ex] = out[lim]
					delete(out, lim)
				}
			}
		}
		if out["type"] == "file" {
			delete(out, "type")
		}
		nullable := out["nullable"] == true || out["x-nullable"] == true
		if nullable && !oas31 {
			delete(out, "nullable")
			delete(out, "x-nullable")
			switch t := out["type"].(type) {
			case string:
				out["type"] = []any{t, "null"}
				if e, ok := out["enum"].([]any); ok {
					out["enum"] = append(append([]any(nil), e...), nil)
				}
			default:
				return map[string]any{"anyOf": []any{out, map[string]any{"type": "null"}}}
			}
		}
		return out
	}
	return v
}

// validator checks values against the schemas of a document.
type validator struct {
	c     *jsonschema.Compiler
	cache map[string]*jsonschema.Schema
	errs  map[string]error
}

type treeLoader struct {
	f     *files
	oas31 bool
}

func (l treeLoader) Load(u string) (any, error) {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "file" {
		return nil, fmt.Errorf("cannot load %s", u)
	}
	doc, err := l.f.get(filepath.FromSlash(p.Path))
	if err != nil {
		return nil, err
	}
	return ToJSONSchema(doc, l.oas31), nil
}

func newValidator(f *files, oas31 bool) *validator {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(treeLoader{f, oas31})
	return &validator{c: c, cache: map[string]*jsonschema.Schema{}, errs: map[string]error{}}
}

func fileURL(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

// check validates the JSON text body against the schema at ptr in file.
func (v *validator) check(file, ptr string, body []byte) error {
	s, err := v.schema(file, ptr)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

// schema returns the compiled schema at ptr in file. The result is safe for
// concurrent use; the validator is not.
func (v *validator) schema(file, ptr string) (*jsonschema.Schema, error) {
	loc := fileURL(file) + "#" + ptr
	if s, ok := v.cache[loc]; ok {
		return s, nil
	}
	if err, bad := v.errs[loc]; bad {
		return nil, err
	}
	s, err := v.c.Compile(loc)
	if err != nil {
		err = fmt.Errorf("schema does not compile: %v", err)
		v.errs[loc] = err
		return nil, err
	}
	v.cache[loc] = s
	return s, nil
}
