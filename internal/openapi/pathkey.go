package openapi

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/decoy-dev/decoy/internal/stub"
)

// pathKey is a key of a document's paths read as decoy routes it: the
// path, and the parts of the request written after a '#' or a '?'. AWS's
// documents (APIs.guru's conversion) tell operations that share a path
// apart so: /#X-Amz-Target=WorkMailService.ListUsers (a header),
// /#Action=DescribeTags and /tags#operation=add (query parameters),
// /{Bucket}#uploads (a query parameter that is there); others write
// /{Bucket}?uploads and /{Bucket}/{Key+}?x-id=GetObject. A client never
// sends a fragment, and a query string is not part of the path: decoy
// routes the path, and matches each part as the header or query
// parameter of that name (see matchers).
type pathKey struct {
	path  string    // the path
	sep   byte      // '#' or '?', 0 when there are no parts
	parts []keyPart // in the key's order
}

// keyPart is name=value (value given), or name alone (the request must
// have it, with any value).
type keyPart struct {
	name, value string
	hasValue    bool
}

// flag reports whether the key names the parameter name without a value.
func (k pathKey) flag(name string) bool {
	for _, p := range k.parts {
		if p.name == name && !p.hasValue {
			return true
		}
	}
	return false
}

// parsePathKey splits a key of paths. An error says why decoy cannot route
// it.
func parsePathKey(key string) (pathKey, error) {
	k := pathKey{path: key}
	if i := strings.IndexAny(key, "#?"); i >= 0 {
		k.path, k.sep = key[:i], key[i]
		rest := key[i+1:]
		if rest == "" {
			return k, fmt.Errorf("nothing after %q", k.sep)
		}
		for _, raw := range strings.Split(rest, "&") {
			name, value, eq := strings.Cut(raw, "=")
			n, err := url.PathUnescape(name)
			if err != nil {
				return k, fmt.Errorf("%q: %v", raw, err)
			}
			v, err := url.PathUnescape(value)
			if err != nil {
				return k, fmt.Errorf("%q: %v", raw, err)
			}
			if n == "" || strings.ContainsAny(n, "#?") || strings.ContainsAny(v, "#?") {
				return k, fmt.Errorf("%q is not name or name=value", raw)
			}
			k.parts = append(k.parts, keyPart{name: n, value: v, hasValue: eq})
		}
	}
	// {name+} (RFC 6570 reserved expansion as AWS writes it: one segment
	// or more) is routed as decoy's {name*} (see routeParam), which must
	// be the whole last segment.
	if strings.Contains(k.path, "+}") {
		segs := strings.Split(k.path, "/")
		for i, s := range segs {
			if strings.Contains(s, "+}") && (i != len(segs)-1 || !strings.HasPrefix(s, "{") || strings.Count(s, "{") != 1 || !strings.HasSuffix(s, "+}")) {
				return k, fmt.Errorf("segment %q: a {name+} parameter must be the whole last segment", s)
			}
		}
	}
	return k, nil
}

// matchers turns the key's parts into header and query matchers. Each
// part is a header or a query parameter as the path item or one of its
// operations declares a parameter of that name (headers named in any
// case). A part no parameter declares is a query parameter after '?'
// and a header after '#' when it has a value; after '#' without a value
// (S3's "#lifecycle&deprecated!", which tells two keys apart for the
// document only) it is left out, and skipped names it.
func (b *builder) keyMatchers(k pathKey, item map[string]any, file string) (headers, query map[string]stub.StringMatcher, skipped []string) {
	if len(k.parts) == 0 {
		return nil, nil, nil
	}
	where := map[string]string{} // name (headers lower-cased) → "header" or "query"
	declare := func(list []any, lfile string) {
		for _, v := range list {
			m, _, err := b.f.deref(v, lfile)
			if err != nil {
				continue
			}
			in, _ := m["in"].(string)
			name, _ := m["name"].(string)
			switch in {
			case "header":
				if _, ok := where[strings.ToLower(name)]; !ok {
					where[strings.ToLower(name)] = in
				}
			case "query":
				if _, ok := where[name]; !ok {
					where[name] = in
				}
			}
		}
	}
	params, _ := item["parameters"].([]any)
	declare(params, file)
	for _, m := range methods {
		if op, ok := item[m].(map[string]any); ok {
			ops, _ := op["parameters"].([]any)
			declare(ops, file)
		}
	}
	for _, p := range k.parts {
		in := where[p.name]
		if in == "" {
			in = where[strings.ToLower(p.name)]
		}
		if in == "" {
			switch {
			case k.sep == '?':
				in = "query"
			case p.hasValue:
				in = "header"
			default:
				skipped = append(skipped, p.name)
				continue
			}
		}
		m := stub.StringMatcher{Present: true}
		if p.hasValue {
			m = stub.Eq(p.value)
		}
		if in == "header" {
			if headers == nil {
				headers = map[string]stub.StringMatcher{}
			}
			headers[p.name] = m
		} else {
			if query == nil {
				query = map[string]stub.StringMatcher{}
			}
			query[p.name] = m
		}
	}
	return headers, query, skipped
}
