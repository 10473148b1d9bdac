package openapi

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/decoy-dev/decoy/internal/urlpath"
)

// checkPathParams reports, for the path item p (at ptr, in file), the
// `in: path` parameters whose name is not a variable of the path template,
// and the template variables that no `in: path` parameter declares (of
// the path item or of the operation). OpenAPI requires both to match;
// decoy serves such a path anyway (a variable without a parameter accepts
// any segment), so with Options.Lenient they are notes, not problems.
// The operations in skip (by method), left out for their dangling $refs,
// are not checked; nor is a template variable against a parameters list
// that holds a parameter decoy cannot read, which may be the one that
// declares it.
func (b *builder) checkPathParams(p, ptr, file string, item map[string]any, skip map[string]bool) {
	vars := map[string]bool{}
	var order []string
	for _, s := range pathParam.FindAllString(p, -1) {
		n := strings.TrimRight(strings.Trim(s, "{}"), "*+")
		if n != "" && !vars[n] {
			vars[n] = true
			order = append(order, n)
		}
	}
	// pathNames lists the in: path parameters of a parameters list (at
	// lptr) and reports those that are not variables of the template;
	// unread is true when a parameter's $ref does not resolve.
	pathNames := func(list []any, lptr, lfile string) (names map[string]bool, unread bool) {
		names = map[string]bool{}
		for i, v := range list {
			m, _, err := b.f.deref(v, lfile)
			if err != nil {
				unread = true // a problem of its own (see danglingRefs)
				continue
			}
			in, _ := m["in"].(string)
			name, _ := m["name"].(string)
			if in != "path" || name == "" {
				continue
			}
			names[name] = true
			if !vars[name] {
				b.pathProblem(lfile, lptr+"/parameters/"+strconv.Itoa(i), "path parameter %q is not a variable of the path template %q (write it as {%s} in the path, or declare it in: query or in: header)", name, p, name)
			}
		}
		return names, unread
	}
	params, _ := item["parameters"].([]any)
	fromItem, itemUnread := pathNames(params, ptr, file)
	for _, m := range methods {
		op, ok := item[m].(map[string]any)
		if !ok || skip[m] {
			continue
		}
		ops, _ := op["parameters"].([]any)
		fromOp, opUnread := pathNames(ops, ptr+"/"+m, file)
		if itemUnread || opUnread {
			continue
		}
		for _, v := range order {
			if !fromItem[v] && !fromOp[v] {
				b.pathProblem(file, ptr+"/"+m, "the path template's {%s} has no parameter (declare it with in: path and required: true)", v)
			}
		}
	}
}

// pathProblem is a problem of the document, or with Options.Lenient a
// note given its line at the end of the load (see Load).
// The pointer is in file (a path item may live in a file of its own).
func (b *builder) pathProblem(file, ptr, format string, a ...any) {
	p := Problem{File: b.name, Pointer: ptr, Msg: fmt.Sprintf(format, a...)}
	if file != b.file {
		// Named as the root is (relative to where decoy runs, if it is).
		p.File = displayName(b.name, b.file, file)
	}
	if b.o.Lenient {
		b.pending = append(b.pending, p)
	} else {
		b.probs = append(b.probs, p)
	}
}

// notePending turns the problems put off by Options.Lenient into notes,
// with the lines their pointers lead to.
func (b *builder) notePending() {
	if len(b.pending) == 0 {
		return
	}
	saved := b.probs
	b.probs = b.pending
	b.placeLines()
	for _, p := range b.probs {
		b.note("lenient: %v (served anyway)", p)
	}
	b.probs, b.pending = saved, nil
}

// pathVar is where a path parameter is in a route: its segment, and for a
// segment with text around its parameters ("{id}.json", "{name}:verb",
// "{a}-{b}") the segment's pattern and the parameter's place in it.
type pathVar struct {
	seg  int
	mix  *urlpath.Seg // nil: the parameter is the whole segment
	at   int
	rest bool // {name*}: the segment and those after it
}

// pathVars finds the parameters of the route full (decoy's template).
func pathVars(full string) map[string]pathVar {
	out := map[string]pathVar{}
	for i, s := range strings.Split(strings.TrimPrefix(full, "/"), "/") {
		if !strings.Contains(s, "{") {
			continue
		}
		if len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' && strings.Count(s, "{") == 1 {
			if name, ok := strings.CutSuffix(s[1:len(s)-1], "*"); ok {
				out[name] = pathVar{seg: i, rest: true}
				continue
			}
			out[s[1:len(s)-1]] = pathVar{seg: i}
			continue
		}
		sp, ok := urlpath.ParseSeg(s)
		if !ok {
			continue
		}
		for at, name := range sp.Names() {
			if _, dup := out[name]; !dup {
				out[name] = pathVar{seg: i, mix: &sp, at: at}
			}
		}
	}
	return out
}

// value returns the parameter's value in the request path (matching form:
// see urlpath), decoded, without allocating unless it holds %2F or %25.
func (v pathVar) value(path string) (string, bool) {
	for i := 0; ; i++ {
		path = strings.TrimPrefix(path, "/")
		seg, rest, _ := strings.Cut(path, "/")
		if i == v.seg {
			if v.rest {
				return urlpath.Segment(path), path != ""
			}
			if v.mix != nil {
				var ok bool
				if seg, ok = v.mix.Value(seg, v.at); !ok {
					return "", false
				}
			}
			return urlpath.Segment(seg), true
		}
		if rest == "" && i >= v.seg {
			return "", false
		}
		path = rest
	}
}
