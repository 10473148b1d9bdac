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
// is data, as the URL Standard reads forms). A body that cannot be
// decoded is a violation (answered 400).
func (m *bodyMedia) formBody(body string) (map[string]any, []violation) {
	obj := map[string]any{}
	var segs []string
	for body != "" {
		var kv string
		kv, body, _ = strings.Cut(body, "&")
		if kv == "" {
			continue
		}
		rk, rv, _ := strings.Cut(kv, "=")
		k, err := url.QueryUnescape(rk)
		if err == nil {
			rk = rv
			rv, err = url.QueryUnescape(rv)
		}
		if err != nil {
			return nil, []violation{{"body", "not valid form data: " + err.Error()}}
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
			if _, dup := obj[k]; !dup {
				obj[k] = rv
			}
		case m.jsonF[k]:
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(rv)))
			if err != nil {
				return nil, []violation{{"body." + k, "not valid JSON: " + err.Error()}}
			}
			obj[k] = inst
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
			if _, dup := obj[k]; !dup {
				obj[k] = coerce(rv, typ, "")
			}
		}
	}
	return obj, nil
}
