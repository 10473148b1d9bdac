package openapi

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// checkPathParams reports, for the path item p (at ptr, in file), the
// `in: path` parameters whose name is not a variable of the path template,
// and the template variables that no `in: path` parameter declares (of
// the path item or of the operation). OpenAPI requires both to match;
// decoy serves such a path anyway (a variable without a parameter accepts
// any segment), so with Options.Lenient they are notes, not problems.
func (b *builder) checkPathParams(p, ptr, file string, item map[string]any) {
	vars := map[string]bool{}
	var order []string
	for _, s := range pathParam.FindAllString(p, -1) {
		n := strings.TrimSuffix(strings.Trim(s, "{}"), "*")
		if n != "" && !vars[n] {
			vars[n] = true
			order = append(order, n)
		}
	}
	// pathNames lists the in: path parameters of a parameters list (at
	// lptr) and reports those that are not variables of the template.
	pathNames := func(list []any, lptr, lfile string) map[string]bool {
		names := map[string]bool{}
		for i, v := range list {
			m, _, err := b.f.deref(v, lfile)
			if err != nil {
				continue // reported where the parameters are compiled
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
		return names
	}
	params, _ := item["parameters"].([]any)
	fromItem := pathNames(params, ptr, file)
	for _, m := range methods {
		op, ok := item[m].(map[string]any)
		if !ok {
			continue
		}
		ops, _ := op["parameters"].([]any)
		fromOp := pathNames(ops, ptr+"/"+m, file)
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
		if rel, err := filepath.Rel(filepath.Dir(b.file), file); err == nil {
			p.File = filepath.Join(filepath.Dir(b.name), rel)
		} else {
			p.File = file
		}
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
