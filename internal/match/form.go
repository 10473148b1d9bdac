package match

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"
)

// Form is a request body read as a form: the fields of an
// application/x-www-form-urlencoded body, or the text fields of a
// multipart/form-data one (parts without a filename). Any other body has
// no fields. It is parsed once per request, when a stub that matches form
// fields is tried (see ParseForm), and then only read.
type Form struct {
	src    []byte // the body it was parsed from (see Of)
	fields []FormField
	// why is "" for a form, else why the body has no fields (for
	// messages): not a form, or a multipart body decoy cannot read.
	why string
}

// FormField is one field of a form, decoded.
type FormField struct {
	Name, Value string
}

// Media types of form bodies.
const (
	MediaURLEncoded = "application/x-www-form-urlencoded"
	MediaMultipart  = "multipart/form-data"
)

// ParseForm reads body as the form contentType (the request's
// Content-Type header, "" when it has none) says it is. It never fails:
// a body that is not a form, or a broken multipart one, has no fields and
// Why says so.
func ParseForm(contentType string, body []byte) *Form {
	f := &Form{src: body}
	media, _, _ := strings.Cut(contentType, ";")
	media = strings.TrimSpace(media)
	switch {
	case strings.EqualFold(media, MediaURLEncoded):
		f.fields = parseURLEncoded(string(body))
	case strings.EqualFold(media, MediaMultipart):
		f.fields, f.why = parseMultipart(contentType, body)
	case contentType == "":
		f.why = "body is not a form (the request has no Content-Type)"
	default:
		f.why = "body is not a form (Content-Type is " + quote(contentType) + ")"
	}
	return f
}

// Of reports whether f was parsed from body (the same bytes in memory).
func (f *Form) Of(body []byte) bool {
	if len(f.src) != len(body) {
		return false
	}
	return len(body) == 0 || &f.src[0] == &body[0]
}

// Fields returns the form's fields in the order the body has them.
func (f *Form) Fields() []FormField { return f.fields }

// Why returns "" for a form, else why the body has no fields.
func (f *Form) Why() string { return f.why }

// First returns the first value of the field name.
func (f *Form) First(name string) (string, bool) {
	for i := range f.fields {
		if f.fields[i].Name == name {
			return f.fields[i].Value, true
		}
	}
	return "", false
}

// parseURLEncoded reads s as the URL standard's
// application/x-www-form-urlencoded parser does: fields split at '&'
// (empty ones skipped), name and value at the first '=', '+' read as a
// space and %XX decoded (a '%' not followed by two hex digits stays as
// it is).
func parseURLEncoded(s string) []FormField {
	var out []FormField
	for s != "" {
		var seg string
		seg, s, _ = strings.Cut(s, "&")
		if seg == "" {
			continue
		}
		name, value, _ := strings.Cut(seg, "=")
		out = append(out, FormField{Name: formDecode(name), Value: formDecode(value)})
	}
	return out
}

// formDecode decodes '+' and %XX in one name or value.
func formDecode(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// parseMultipart reads the text fields of a multipart/form-data body:
// parts with a name and no filename. A body it cannot read to its end
// has no fields, and why says what is wrong.
func parseMultipart(contentType string, body []byte) (fields []FormField, why string) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return nil, "body is not a multipart form decoy can read (Content-Type " + quote(contentType) + " has no boundary)"
	}
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			return fields, ""
		}
		if err != nil {
			return nil, "body is not a multipart form decoy can read: " + err.Error()
		}
		name := p.FormName()
		if name == "" || p.FileName() != "" {
			continue // not a text field
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return nil, "body is not a multipart form decoy can read: " + err.Error()
		}
		fields = append(fields, FormField{Name: name, Value: string(v)})
	}
}

// formField is a compiled matcher of one form field.
type formField struct {
	name string
	m    *String
}

// match reports whether the form's field f.name satisfies f.m: one
// of its values does, or, for absent, it has none.
func (f *formField) match(form *Form) bool {
	found := false
	for i := range form.fields {
		if form.fields[i].Name != f.name {
			continue
		}
		found = true
		if !f.m.absent && f.m.Match(form.fields[i].Value, true) {
			return true
		}
	}
	if f.m.absent {
		return !found
	}
	return false
}

// why explains a field that did not match.
func (f *formField) why(form *Form) string {
	var values []string
	for i := range form.fields {
		if form.fields[i].Name == f.name {
			values = append(values, form.fields[i].Value)
		}
	}
	msg := "form field " + f.name + " "
	switch {
	case len(values) == 0:
		msg += f.m.Why("", false)
		if form.why != "" && !f.m.absent {
			msg += ": " + form.why
		}
	case len(values) == 1 || f.m.absent:
		msg += f.m.Why(values[0], true)
	default:
		msg += f.m.Why(values[0], true) + " (nor do its " + strconv.Itoa(len(values)-1) + " other values)"
	}
	return msg
}
