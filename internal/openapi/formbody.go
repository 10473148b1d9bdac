package openapi

import (
	"bytes"
	"net/url"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// formBody reads an application/x-www-form-urlencoded body into an object
// to validate against the media type's schema, each field as the type
// its property declares: an array from the field repeated (explode, the
// default), from one value split at its encoding's delimiter (style form
// with explode false, spaceDelimited, pipeDelimited; Swagger 2.0's
// collectionFormat) or from name[]=1 keys; an object from name[key]=value
// keys (deepObject, as qs and axios send one); a field whose encoding's
// contentType is JSON, parsed as JSON. Only '&' separates fields (a ';'
// is data, as the URL Standard reads forms). As in a multipart body (see
// multipart), a field that cannot be decoded (400) is left out of obj and
// named in skip, and a field sent more than once whose property is not an
// array (422) keeps its first value; the rest is read, so that every
// violation is listed.
func (m *bodyMedia) formBody(body string) (obj map[string]any, status int, vs []violation, skip map[string]bool) {
	obj = map[string]any{}
	var segs []string
	var twice map[string]bool
	// once reports whether the field k is seen for the first time; the
	// second time, it is a violation.
	once := func(k string) bool {
		if _, dup := obj[k]; !dup {
			return true
		}
		if !twice[k] {
			vs = append(vs, violation{"body." + k, sentTwice})
			status = worse(status, 422)
			twice = addName(twice, k)
		}
		return false
	}
	for body != "" {
		var kv string
		kv, body, _ = strings.Cut(body, "&")
		if kv == "" {
			continue
		}
		rk, rv, _ := strings.Cut(kv, "=")
		k, err := url.QueryUnescape(rk)
		keyOK := err == nil
		if keyOK {
			rv, err = url.QueryUnescape(rv)
		}
		if err != nil {
			loc := "body"
			if keyOK { // the value does not decode: the field is named
				loc += "." + k
				skip = addName(skip, k)
			}
			vs = append(vs, violation{loc, "not valid form data: " + err.Error()})
			status = worse(status, 400)
			continue
		}
		typ, declared := m.props[k]
		switch {
		case !declared:
			if segs, _ = bracketKey(k, segs[:0]); segs != nil {
				if t := m.props[segs[0]]; t == "object" || t == "array" {
					deepSet(obj, m.shape, segs, rv)
					continue
				}
			}
			// A field the schema does not declare may come again; its
			// first value is checked (against additionalProperties).
			if _, dup := obj[k]; !dup {
				obj[k] = rv
			}
		case m.jsonF[k]:
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(rv)))
			if err != nil {
				vs = append(vs, violation{"body." + k, "not valid JSON: " + err.Error()})
				status = worse(status, 400)
				skip = addName(skip, k)
				continue
			}
			if once(k) {
				obj[k] = inst
			}
		case typ == "array":
			l, _ := obj[k].([]any)
			if d := m.delims[k]; d != "" {
				for x := range strings.SplitSeq(rv, d) {
					l = append(l, coerce(x, m.items[k], ""))
				}
			} else {
				l = append(l, coerce(rv, m.items[k], ""))
			}
			obj[k] = l
		default:
			if once(k) {
				obj[k] = coerce(rv, typ, "")
			}
		}
	}
	return obj, status, vs, skip
}
