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
// A body that cannot be read is a 400; a part whose Content-Type the
// document's encoding does not allow is a 415.
func (m *bodyMedia) multipart(ct string, body []byte) (map[string]any, int, []violation) {
	_, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, 400, []violation{{"header.Content-Type", "not a valid media type: " + err.Error()}}
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, 400, []violation{{"header.Content-Type", "multipart/form-data without a boundary"}}
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	obj := map[string]any{}
	var vs []violation
	status := 0
	for n := 0; ; n++ {
		if n == maxParts {
			return nil, 400, []violation{{"body", fmt.Sprintf("more than %d parts", maxParts)}}
		}
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 400, []violation{{"body", "not valid multipart/form-data: " + err.Error()}}
		}
		name := part.FormName()
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, 400, []violation{{"body", "not valid multipart/form-data: " + err.Error()}}
		}
		if name == "" {
			vs = append(vs, violation{"body", "a part without a form-data name"})
			status = worse(status, 400)
			continue
		}
		loc := "body." + name
		if want := m.partCT[name]; want != "" {
			if got := part.Header.Get("Content-Type"); got != "" && !partTypeOK(want, got) {
				vs = append(vs, violation{loc, fmt.Sprintf("content type %q is not one of %s", got, want)})
				status = worse(status, 415)
				continue
			}
		}
		typ := m.props[name]
		var v any
		switch {
		case m.binary[name]:
			v = string(data) // its bytes; maxLength counts a bad byte as one

		case typ == "object" || (typ == "" && isJSONPart(part.Header.Get("Content-Type"))):
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				vs = append(vs, violation{loc, "not valid JSON: " + err.Error()})
				status = worse(status, 400)
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
			vs = append(vs, violation{loc, "sent more than once"})
			status = worse(status, 422)
			continue
		}
		obj[name] = v
	}
	if vs != nil {
		return nil, status, vs
	}
	return obj, 0, nil
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
