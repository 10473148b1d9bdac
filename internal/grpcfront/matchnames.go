package grpcfront

import (
	"fmt"
	"sort"
	"strings"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/protoload"
	"github.com/decoy-dev/decoy/internal/stub"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// A gRPC request is matched as protobuf's JSON, whose names are
// lowerCamelCase (pageSize), but people write the names of the .proto file
// (page_size), and response bodies accept both. So that a matcher written
// with proto names does not silently never match, the body matchers of a
// stub that names one method are rewritten to JSON names once, when the
// stub is compiled, against the method's input type; names that are no
// field at all are reported at load (Check). Nothing changes per call.

// MatcherNames returns the engine option that rewrites proto field names in
// the body matchers of set's gRPC stubs to their JSON names. HTTP stubs are
// left as they are.
func MatcherNames(set *protoload.Set) engine.Option {
	return engine.WithBodyRewrite(func(s stub.Stub, m stub.BodyMatcher) stub.BodyMatcher {
		md := stubMethod(set, s)
		if md == nil {
			return m
		}
		out, _ := renameMatcher(md, m)
		return out
	})
}

// stubMethod is the one method a gRPC stub of set answers, or nil.
func stubMethod(set *protoload.Set, s stub.Stub) protoreflect.MethodDescriptor {
	md, _ := stubClass(set, s)
	return md
}

// checkMatcherNames reports the names in s's body matchers that are no
// field of its method's input type, relative to the stub.
func checkMatcherNames(set *protoload.Set, s stub.Stub) []stub.FieldError {
	if s.Request.Body == nil {
		return nil
	}
	md := stubMethod(set, s)
	if md == nil {
		return nil
	}
	_, errs := renameMatcher(md, *s.Request.Body)
	return errs
}

// renameMatcher returns m with proto names turned into JSON names, and the
// names that are neither.
func renameMatcher(md protoreflect.MethodDescriptor, m stub.BodyMatcher) (stub.BodyMatcher, []stub.FieldError) {
	var errs []stub.FieldError
	root := rootOf(md)
	if m.Form != nil {
		errs = append(errs, stub.FieldError{Field: "request.body.form", Msg: "a gRPC message is not a form: match it with json or jsonPath"})
	}
	if m.JSON != nil {
		var r renamer
		m.JSON = r.value(m.JSON, root, "request.body.json")
		errs = append(errs, r.errs...)
	}
	if len(m.JSONPath) > 0 {
		paths := make([]stub.JSONPathMatcher, len(m.JSONPath))
		copy(paths, m.JSONPath)
		for i := range paths {
			p, err := renamePath(paths[i].Path, root)
			paths[i].Path = p
			if err != "" {
				errs = append(errs, stub.FieldError{Field: fmt.Sprintf("request.body.jsonPath[%d].path", i), Msg: err})
			}
		}
		m.JSONPath = paths
	}
	return m, errs
}

// node is where a matcher stands in the request's JSON: a message, a list
// or map of something, or a place whose names decoy does not check (a
// well-known type, a scalar).
type node struct {
	msg  protoreflect.MessageDescriptor // a message, or the element of list/map
	list bool
	mapv bool
}

func (n node) known() bool { return n.msg != nil }

// rootOf is the JSON a method's requests are matched against: one message,
// or, for a client stream (not bidirectional), the array of its messages.
func rootOf(md protoreflect.MethodDescriptor) node {
	n := msgNode(md.Input())
	if md.IsStreamingClient() && !md.IsStreamingServer() && n.known() {
		n.list = true
	}
	return n
}

func msgNode(md protoreflect.MessageDescriptor) node {
	// Empty is written as {} like any message with no fields, so its
	// names are checked; the other well-known types have JSON forms of
	// their own.
	if md == nil || wellKnown(md) && md.FullName() != "google.protobuf.Empty" {
		return node{}
	}
	return node{msg: md}
}

// child is the node a field's value is.
func fieldNode(fd protoreflect.FieldDescriptor) node {
	switch {
	case fd.IsMap():
		n := msgNode(fd.MapValue().Message())
		n.mapv = n.known()
		return n
	case fd.IsList():
		n := msgNode(fd.Message())
		n.list = n.known()
		return n
	}
	return msgNode(fd.Message())
}

// element is what an index or a wildcard selects in n.
func (n node) element() node {
	if n.list || n.mapv {
		return node{msg: n.msg}
	}
	return node{}
}

// lookup finds name in message n: the field and whether name is its JSON
// name already. Extensions ([pkg.ext]) are left to protojson.
func lookup(md protoreflect.MessageDescriptor, name string) (protoreflect.FieldDescriptor, bool) {
	fs := md.Fields()
	if fd := fs.ByJSONName(name); fd != nil {
		return fd, true
	}
	if fd := fs.ByTextName(name); fd != nil {
		return fd, false
	}
	if fd := fs.ByName(protoreflect.Name(name)); fd != nil {
		return fd, false
	}
	return nil, false
}

func unknownName(md protoreflect.MessageDescriptor, name string) string {
	if s := suggest(md, name); s != "" {
		return fmt.Sprintf("%s has no field %q (did you mean %s?)", md.FullName(), name, s)
	}
	return fmt.Sprintf("%s has no field %q (its fields: %s)", md.FullName(), name, fieldNames(md))
}

// suggest is the JSON name of md's field closest to name, when one is
// close enough to be a likely typo.
func suggest(md protoreflect.MessageDescriptor, name string) string {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	want := norm(name)
	best, bestD := "", 3
	fs := md.Fields()
	for i := 0; i < fs.Len(); i++ {
		fd := fs.Get(i)
		if d := distance(want, norm(string(fd.Name()))); d < bestD {
			best, bestD = fd.JSONName(), d
		}
	}
	if bestD > len(want)/3 && bestD > 0 {
		return ""
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

type renamer struct {
	errs []stub.FieldError
}

// value returns v (a decoded JSON or YAML value) with the keys of the
// messages it stands for renamed; v itself is not changed, since the stub
// as written is what the admin API lists.
func (r *renamer) value(v any, n node, field string) any {
	if !n.known() {
		return v
	}
	switch t := v.(type) {
	case []any:
		if !n.list {
			return v
		}
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = r.value(e, n.element(), fmt.Sprintf("%s[%d]", field, i))
		}
		return out
	case map[string]any:
		if n.list {
			return v
		}
		out := make(map[string]any, len(t))
		if n.mapv {
			for k, e := range t {
				out[k] = r.value(e, n.element(), stub.Join(field, k))
			}
			return out
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys) // errors in a stable order
		for _, k := range keys {
			fd, _ := lookup(n.msg, k)
			if fd == nil {
				if !strings.HasPrefix(k, "[") {
					r.errs = append(r.errs, stub.FieldError{Field: stub.Join(field, k), Msg: unknownName(n.msg, k)})
				}
				out[k] = t[k]
				continue
			}
			out[fd.JSONName()] = r.value(t[k], fieldNode(fd), stub.Join(field, k))
		}
		return out
	}
	return v
}

// renamePath rewrites the member names of a simple JSONPath ($.a.b[0].c,
// $['a'], wildcards and indexes) from proto to JSON names, and reports
// the first name that is no field. Other forms (filters, .., slices) are
// left as they are from where they start: they are rare, and guessing
// there could turn a matcher into another one.
func renamePath(path string, n node) (string, string) {
	if !strings.HasPrefix(path, "$") {
		return path, ""
	}
	var b strings.Builder
	b.WriteByte('$')
	i := 1
	for i < len(path) {
		if !n.known() {
			b.WriteString(path[i:])
			return b.String(), ""
		}
		var name string
		quote := byte(0)
		rest := path[i:]
		switch {
		case strings.HasPrefix(rest, ".*") || strings.HasPrefix(rest, "[*]"):
			w := 2
			if rest[0] == '[' {
				w = 3
			}
			b.WriteString(rest[:w])
			i += w
			n = n.element()
			continue
		case rest[0] == '.' && len(rest) > 1 && isNameStart(rest[1]):
			j := 2
			for j < len(rest) && isNameChar(rest[j]) {
				j++
			}
			name = rest[1:j]
			i += j
		case rest[0] == '[' && len(rest) > 1 && (rest[1] == '\'' || rest[1] == '"'):
			quote = rest[1]
			end := strings.IndexByte(rest[2:], quote)
			if end < 0 || strings.ContainsRune(rest[2:2+end], '\\') || !strings.HasPrefix(rest[2+end+1:], "]") {
				b.WriteString(rest)
				return b.String(), ""
			}
			name = rest[2 : 2+end]
			i += 2 + end + 2
		case rest[0] == '[':
			j := 1
			for j < len(rest) && (rest[j] >= '0' && rest[j] <= '9' || j == 1 && rest[j] == '-') {
				j++
			}
			if j == 1 || j >= len(rest) || rest[j] != ']' {
				b.WriteString(rest)
				return b.String(), ""
			}
			b.WriteString(rest[:j+1])
			i += j + 1
			n = n.element()
			continue
		default:
			b.WriteString(rest)
			return b.String(), ""
		}
		// A member name.
		if n.list {
			n = node{} // a name on a list selects nothing; leave it
		} else if n.mapv {
			n = n.element()
		} else {
			fd, _ := lookup(n.msg, name)
			if fd == nil {
				if strings.HasPrefix(name, "[") {
					n = node{}
				} else {
					return path, fmt.Sprintf("%s: %s", path, unknownName(n.msg, name))
				}
			} else {
				name = fd.JSONName()
				n = fieldNode(fd)
			}
		}
		if quote == 0 {
			b.WriteByte('.')
			b.WriteString(name)
		} else {
			b.WriteByte('[')
			b.WriteByte(quote)
			b.WriteString(name)
			b.WriteByte(quote)
			b.WriteByte(']')
		}
	}
	return b.String(), ""
}

func isNameStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isNameChar(c byte) bool { return isNameStart(c) || '0' <= c && c <= '9' }
