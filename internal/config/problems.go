package config

import (
	"fmt"
	"strings"
)

// Problem is one mistake in an input file.
type Problem struct {
	File  string
	Line  int // 0 when unknown
	Col   int
	Field string // path inside the stub, e.g. request.headers.X-Id.regex
	Msg   string
}

func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Col > 0 {
			fmt.Fprintf(&b, ":%d", p.Col)
		}
	}
	b.WriteString(": ")
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every mistake found in a set of files.
type Problems []Problem

func (ps Problems) Error() string {
	l := make([]string, len(ps))
	for i, p := range ps {
		l[i] = p.Error()
	}
	return strings.Join(l, "\n")
}
