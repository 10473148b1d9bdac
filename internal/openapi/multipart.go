package openapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// maxParts bounds the parts of a multipart body decoy reads; the body
// itself is already bounded by the server's body limit.
const maxParts = 1000

// multipart reads a multipart/form-data body into an object to validate
// against the media type's schema: each part by its name, read as the
// type its property declares (numbers and booleans converted, repeated
// parts as an array, an object part as JSON, a file part as its bytes).
// A body that cannot be read is a 400, and obj is nil. Otherwise obj holds
// every part that could be read, to be validated, and vs what the parts
// break on their own: a part whose Content-Type the document's encoding
// does not allow (415), a JSON part that does not parse (400), a field
// sent more than once (422). The parts left out of obj are named in
// skip, so that the schema's violations about them ("is required") are
// not listed beside the reason they were left out.
func (m *bodyMedia) multipart(ct string, body []byte) (obj map[string]any, status int, vs []violation, skip map[string]bool) {
	_, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, 400, []violation{{"header.Content-Type", "not a valid media type: " + err.Error()}}, nil
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, 400, []violation{{"header.Content-Type", "multipart/form-data without a boundary"}}, nil
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	obj = map[string]any{}
	var twice map[string]bool // the fields sent more than once, named once
	leave := func(name string) { skip = addName(skip, name) }
	for n := 0; ; n++ {
		if n == maxParts {
			return nil, 400, []violation{{"body", fmt.Sprintf("more than %d parts", maxParts)}}, nil
		}
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 400, []violation{{"body", "not valid multipart/form-data: " + err.Error()}}, nil
		}
		name := part.FormName()
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, 400, []violation{{"body", "not valid multipart/form-data: " + err.Error()}}, nil
		}
		if name == "" {
			vs = append(vs, violation{"body", "a part without a form-data name"})
			status = worse(status, 400)
			continue
		}
		loc := "body." + name
		if want := m.partCT[name]; want != "" {
			if got := part.Header.Get("Content-Type"); got != "" && !partTypeOK(want, got) {
				vs = append(vs, violation{loc, fmt.Sprintf("content type %q is not one of %s: send the part with one of them", got, want)})
				status = worse(status, 415)
				leave(name)
				continue
			}
		}
		typ, declared := m.props[name]
		var v any
		switch {
		case m.binary[name]:
			v = string(data) // its bytes; maxLength counts a bad byte as one

		case typ == "object" || (typ == "" && isJSONPart(part.Header.Get("Content-Type"))):
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				vs = append(vs, violation{loc, "not valid JSON: " + err.Error()})
				status = worse(status, 400)
				leave(name)
				continue
			}
			v = inst
		case typ == "array" && m.delims[name] != "":
			for _, x := range strings.Split(string(data), m.delims[name]) {
				l, _ := obj[name].([]any)
				obj[name] = append(l, coerce(x, m.items[name], ""))
			}
			continue
		case typ == "array" && (m.items[name] == "object" || m.items[name] == "array" || isJSONPart(part.Header.Get("Content-Type"))):
			// Items that are objects or arrays are JSON (the Encoding
			// Object's default contentType): one part per item, or one
			// JSON array of them all.
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				vs = append(vs, violation{loc, "not valid JSON: " + err.Error()})
				status = worse(status, 400)
				leave(name)
				continue
			}
			l, _ := obj[name].([]any)
			if all, ok := inst.([]any); ok && m.items[name] != "array" {
				obj[name] = append(l, all...)
			} else {
				obj[name] = append(l, inst)
			}
			continue
		case typ == "array":
			v = coerce(string(data), m.items[name], "")
		default:
			v = coerce(string(data), typ, "")
		}
		if typ == "array" {
			l, _ := obj[name].([]any)
			obj[name] = append(l, v)
			continue
		}
		if _, dup := obj[name]; dup {
			// A field the schema does not declare may come again; its
			// first value is checked (against additionalProperties).
			if declared && !twice[name] {
				vs = append(vs, violation{loc, sentTwice})
				status = worse(status, 422)
				twice = addName(twice, name)
			}
			continue
		}
		obj[name] = v
	}
	return obj, status, vs, skip
}

// sentTwice is the violation of a form field, or a multipart part, sent
// more than once where its schema is not an array.
const sentTwice = "sent more than once (its schema is not an array: send it once)"

// withoutSkipped appends to vs the violations of bad that are not about a
// field in skip (left out of the body validated, for a reason already
// in vs): "body.file: is required" for a part refused for its type.
func withoutSkipped(vs, bad []violation, skip map[string]bool) []violation {
	for _, v := range bad {
		about := false
		for name := range skip {
			rest, ok := strings.CutPrefix(v.loc, "body."+name)
			about = about || ok && (rest == "" || rest[0] == '.')
		}
		if !about {
			vs = append(vs, v)
		}
	}
	return vs
}

// addName adds name to the set m, made when nil.
func addName(m map[string]bool, name string) map[string]bool {
	if m == nil {
		m = map[string]bool{}
	}
	m[name] = true
	return m
}

func isJSONPart(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.Contains(strings.ToLower(mt), "json")
}

// partTypeOK reports whether a part's Content-Type is one of the
// comma-separated media types (wildcards allowed) of an encoding.
func partTypeOK(want, got string) bool {
	mt, _, _ := strings.Cut(got, ";")
	mt = strings.TrimSpace(mt)
	for w := range strings.SplitSeq(want, ",") {
		if mediaMatch(strings.TrimSpace(w), mt) {
			return true
		}
	}
	return false
}
