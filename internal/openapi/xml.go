package openapi

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// An answer in an XML media type (application/xml, text/xml, +xml) is
// XML: the value decoy made (an example, or data generated from the
// schema) written as the schema's OpenAPI `xml` objects say (name,
// namespace, prefix, attribute, wrapped). An example that is a string is
// sent as it is (see render1): it is the document's own XML.

// isXML reports whether the media type t is XML.
func isXML(t string) bool {
	t = strings.ToLower(strings.TrimSpace(strings.SplitN(t, ";", 2)[0]))
	return t == "application/xml" || t == "text/xml" || strings.HasSuffix(t, "+xml")
}

// derefFunc follows a schema's $ref (see files.deref).
type derefFunc func(v any, base string) (map[string]any, string, error)

// xmlDefaultRoot names the root element when neither the schema's xml
// name nor a $ref names it; xmlDefaultItem names the items of an array
// that nothing names.
const (
	xmlDefaultRoot = "root"
	xmlDefaultItem = "item"
	xmlMaxDepth    = 64 // schemas followed; below it, values are written by name only
)

// encodeXML writes v, a value of the schema (in file), as an XML document.
// The root element is the schema's xml.name, else the name of the
// component its $ref names, else "root". Output depends only on v and
// the schema: properties and attributes are written in name order.
func encodeXML(deref derefFunc, schema any, file string, v any) []byte {
	return (&xmlEncoder{deref: deref}).document(schema, file, v)
}

// document writes v, a value of the schema (in file), as an XML document.
func (e *xmlEncoder) document(schema any, file string, v any) []byte {
	s := e.schema(schema, file, 0)
	name := s.xmlName()
	if name == "" {
		name = refName(schema)
	}
	if name == "" {
		name = xmlDefaultRoot
	}
	e.buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	if l, ok := v.([]any); ok {
		// A top-level array is always wrapped: a document has one root.
		e.open(name, s, nil)
		e.items(l, s, xmlDefaultItem, 1)
		e.close(name, s)
		return e.buf.Bytes()
	}
	e.element(name, s, v, 0)
	return e.buf.Bytes()
}

// encodeXML writes v, a value of m's schema, as an XML document: as
// AWS's query protocol answers when m.aws is set (see aws.go).
func (m *media) encodeXML(deref derefFunc, v any) []byte {
	if m.aws == nil {
		return encodeXML(deref, m.schema, m.file, v)
	}
	return m.aws.encode(deref, m.schema, m.file, v)
}

type xmlEncoder struct {
	deref derefFunc
	buf   bytes.Buffer
	// aws writes as AWS's query protocol (or EC2's) does: a property's
	// xml object read from its allOf members too, lists wrapped in the
	// property's element, each item a <member> (EC2: an <item>) unless
	// its xml object names it, and (query) maps as <entry> items.
	aws awsMode
	// scope counts the namespace prefixes declared by the open elements:
	// a prefix is written only where it is declared, so that the output
	// is namespace-well-formed.
	scope map[string]int
	decls [][]string // the prefixes each open element declared
}

// xmlSchema is a schema resolved for writing: its xml object, and its
// properties and items found through $refs and compositions.
type xmlSchema struct {
	m     map[string]any // the schema itself, resolved (nil: unknown)
	file  string
	xml   map[string]any
	props map[string]any // property schemas, of allOf/oneOf/anyOf members too
	pfile map[string]string
	items any
	ifile string
	addl  any // additionalProperties, a schema or true
	afile string
	enc   *xmlEncoder
	depth int
}

func (s *xmlSchema) xmlName() string {
	if s == nil {
		return ""
	}
	n, _ := s.xml["name"].(string)
	return n
}

// schema resolves node (in file): its $ref, and the properties of its
// allOf, oneOf and anyOf members.
func (e *xmlEncoder) schema(node any, file string, depth int) *xmlSchema {
	s := &xmlSchema{enc: e, file: file, depth: depth, props: map[string]any{}, pfile: map[string]string{}}
	if depth > xmlMaxDepth || node == nil || e.deref == nil {
		return s
	}
	// The xml object beside a $ref (3.1) or at the schema it names.
	if nm, ok := node.(map[string]any); ok {
		s.xml, _ = nm["xml"].(map[string]any)
	}
	m, mfile, err := e.deref(node, file)
	if err != nil {
		return s
	}
	s.m, s.file = m, mfile
	if s.xml == nil {
		s.xml, _ = m["xml"].(map[string]any)
	}
	if e.aws != awsNone {
		s.xml = e.allOfXML(s.xml, m, mfile)
	}
	e.collect(s, m, mfile, depth)
	return s
}

// allOfXML adds to own (a schema's xml object) what the schema m's allOf
// members say, as AWS's documents write a property: {allOf: [{$ref:
// RegionList}, {xml: {name: regionInfo}}]}, the property's name in the
// member beside the $ref, the type's own (a list's wrapped: false) at
// the $ref. own wins, then the members beside, then the $refs.
func (e *xmlEncoder) allOfXML(own, m map[string]any, file string) map[string]any {
	all, _ := m["allOf"].([]any)
	if len(all) == 0 {
		return own
	}
	out := maps.Clone(own)
	add := func(x map[string]any) {
		for k, v := range x {
			if _, set := out[k]; !set {
				if out == nil {
					out = map[string]any{}
				}
				out[k] = v
			}
		}
	}
	for _, ref := range []bool{false, true} {
		for _, a := range all {
			am, ok := a.(map[string]any)
			if !ok || (am["$ref"] != nil) != ref {
				continue
			}
			if ref {
				if am, _, _ = e.deref(a, file); am == nil {
					continue
				}
			}
			if x, ok := am["xml"].(map[string]any); ok {
				add(x)
			}
		}
	}
	return out
}

func (e *xmlEncoder) collect(s *xmlSchema, m map[string]any, file string, depth int) {
	if depth > xmlMaxDepth {
		return
	}
	if props, ok := m["properties"].(map[string]any); ok {
		for k, p := range props {
			if _, seen := s.props[k]; !seen {
				s.props[k], s.pfile[k] = p, file
			}
		}
	}
	if it, ok := m["items"]; ok && s.items == nil {
		s.items, s.ifile = it, file
	}
	if ap, ok := m["additionalProperties"]; ok && ap != false && s.addl == nil {
		s.addl, s.afile = ap, file
	}
	for _, kw := range []string{"allOf", "oneOf", "anyOf"} {
		l, _ := m[kw].([]any)
		for _, sub := range l {
			sm, sfile, err := e.deref(sub, file)
			if err != nil {
				continue
			}
			e.collect(s, sm, sfile, depth+1)
		}
	}
}

// prop is the resolved schema of property k (nil when undeclared).
func (s *xmlSchema) prop(k string) *xmlSchema {
	p, ok := s.props[k]
	if !ok || s.depth >= xmlMaxDepth {
		return nil
	}
	return s.enc.schema(p, s.pfile[k], s.depth+1)
}

func (s *xmlSchema) item() *xmlSchema {
	if s == nil || s.items == nil || s.depth >= xmlMaxDepth {
		return nil
	}
	return s.enc.schema(s.items, s.ifile, s.depth+1)
}

func (s *xmlSchema) flag(k string) bool {
	return s != nil && s.xml[k] == true
}

// prefix is the schema's xml prefix when it can be written, and its
// namespace.
func (s *xmlSchema) prefix() (string, string) {
	if s == nil {
		return "", ""
	}
	ns, _ := s.xml["namespace"].(string)
	p, _ := s.xml["prefix"].(string)
	if p == "" || !isXMLName(p) || strings.Contains(p, ":") || strings.HasPrefix(strings.ToLower(p), "xml") {
		p = ""
	}
	return p, ns
}

// qname is the element or attribute name: prefix:name when the prefix is
// declared (here or by an enclosing element), else name.
func (e *xmlEncoder) qname(name string, s *xmlSchema) string {
	name = xmlName(name)
	if p, _ := s.prefix(); p != "" && e.scope[p] > 0 {
		return p + ":" + name
	}
	return name
}

// element writes v as the element name.
func (e *xmlEncoder) element(name string, s *xmlSchema, v any, depth int) {
	switch x := v.(type) {
	case map[string]any:
		if e.aws == awsQuery && s.isMap() {
			e.entries(name, s, x, depth)
			return
		}
		keys := slices.Sorted(maps.Keys(x))
		var attrs []xmlAttr
		var children []string
		for _, k := range keys {
			ps := s.propOf(k)
			if ps.flag("attribute") && isScalar(x[k]) {
				an := k
				if n := ps.xmlName(); n != "" {
					an = n
				}
				attrs = append(attrs, xmlAttr{an, ps, text(x[k])})
				continue
			}
			children = append(children, k)
		}
		e.open(name, s, attrs)
		e.children(s, x, children, depth)
		e.close(name, s)
	case []any:
		e.array(name, s, x, depth)
	default:
		e.open(name, s, nil)
		if v != nil {
			e.escape(text(v))
		}
		e.close(name, s)
	}
}

// children writes the properties keys of x, a value of s, as elements.
func (e *xmlEncoder) children(s *xmlSchema, x map[string]any, keys []string, depth int) {
	for _, k := range keys {
		ps := s.propOf(k)
		cn := k
		if n := ps.xmlName(); n != "" {
			cn = n
		}
		if l, ok := x[k].([]any); ok {
			e.array(cn, ps, l, depth+1)
			continue
		}
		e.element(cn, ps, x[k], depth+1)
	}
}

// content writes v, a value of s, as the content of an element: an
// object's properties as its children (attributes too), a list's items,
// a scalar's text.
func (e *xmlEncoder) content(s *xmlSchema, v any, depth int) {
	switch x := v.(type) {
	case map[string]any:
		e.children(s, x, slices.Sorted(maps.Keys(x)), depth)
	case []any:
		item := "member"
		if e.aws == awsEC2 {
			item = xmlDefaultItem
		}
		e.items(x, s, item, depth)
	case nil:
	default:
		e.escape(text(v))
	}
}

// isMap reports whether s is a map: an object whose properties are all
// additionalProperties.
func (s *xmlSchema) isMap() bool {
	return s != nil && s.addl != nil && len(s.props) == 0
}

// entries writes a map as AWS's query protocol does: in the element
// name, each pair an <entry> of <key> and <value> (a map whose xml
// object says wrapped: false, which the protocol writes with names the
// documents do not give, is written as an object).
func (e *xmlEncoder) entries(name string, s *xmlSchema, x map[string]any, depth int) {
	if s.xml["wrapped"] == false {
		e.open(name, s, nil)
		e.children(s, x, slices.Sorted(maps.Keys(x)), depth)
		e.close(name, s)
		return
	}
	var vs *xmlSchema
	if depth < xmlMaxDepth {
		vs = e.schema(s.addl, s.afile, s.depth+1)
	}
	e.open(name, s, nil)
	for _, k := range slices.Sorted(maps.Keys(x)) {
		e.buf.WriteString("<entry><key>")
		e.escape(k)
		e.buf.WriteString("</key>")
		if l, ok := x[k].([]any); ok {
			e.array("value", vs, l, depth+2)
		} else {
			e.element("value", vs, x[k], depth+2)
		}
		e.buf.WriteString("</entry>")
	}
	e.close(name, s)
}

// array writes the items of a property named name: each as an element
// named by the items' xml name, else name; inside an element name when
// the array is wrapped.
func (e *xmlEncoder) array(name string, s *xmlSchema, l []any, depth int) {
	switch {
	case e.aws == awsEC2:
		// EC2 wraps every list, its items <item> unless named.
		e.open(name, s, nil)
		e.items(l, s, xmlDefaultItem, depth+1)
		e.close(name, s)
		return
	case e.aws == awsQuery && (s == nil || s.xml["wrapped"] != false):
		// The query protocol wraps a list, its items <member> unless
		// named, but for a flattened one (wrapped: false), whose items
		// are the property's elements.
		e.open(name, s, nil)
		e.items(l, s, "member", depth+1)
		e.close(name, s)
		return
	}
	if s.flag("wrapped") {
		e.open(name, s, nil)
		e.items(l, s, name, depth+1)
		e.close(name, s)
		return
	}
	e.items(l, s, name, depth)
}

func (e *xmlEncoder) items(l []any, s *xmlSchema, name string, depth int) {
	is := s.item()
	in := name
	if n := is.xmlName(); n != "" {
		in = n
	} else if s != nil && e.aws == awsNone {
		if r := refName(s.items); r != "" && name == xmlDefaultItem {
			in = r
		}
	}
	for _, it := range l {
		if depth > xmlMaxDepth {
			is = nil
		}
		if sub, ok := it.([]any); ok {
			// An array in an array: wrapped in the item's element.
			e.open(in, is, nil)
			e.items(sub, is.item(), xmlDefaultItem, depth+1)
			e.close(in, is)
			continue
		}
		e.element(in, is, it, depth+1)
	}
}

func (s *xmlSchema) propOf(k string) *xmlSchema {
	if s == nil {
		return nil
	}
	return s.prop(k)
}

// xmlAttr is a property written as an attribute.
type xmlAttr struct {
	name string
	s    *xmlSchema
	val  string
}

// open writes the start tag of name with its namespace declarations (its
// own, and its attributes') and attributes.
func (e *xmlEncoder) open(name string, s *xmlSchema, attrs []xmlAttr) {
	if e.scope == nil {
		e.scope = map[string]int{}
	}
	var decls [][2]string // xmlns name, namespace
	var declared []string
	declare := func(s *xmlSchema, attr bool) {
		p, ns := s.prefix()
		switch {
		case ns == "":
		case p != "":
			for _, d := range declared {
				if d == p {
					return
				}
			}
			declared = append(declared, p)
			e.scope[p]++
			decls = append(decls, [2]string{"xmlns:" + p, ns})
		case !attr:
			decls = append(decls, [2]string{"xmlns", ns})
		}
	}
	declare(s, false)
	for _, a := range attrs {
		declare(a.s, true)
	}
	e.decls = append(e.decls, declared)
	e.buf.WriteByte('<')
	e.buf.WriteString(e.qname(name, s))
	seen := map[string]bool{}
	for _, d := range decls {
		if !seen[d[0]] {
			seen[d[0]] = true
			e.attr(d[0], d[1])
		}
	}
	for _, a := range attrs {
		an := e.qname(a.name, a.s)
		if seen[an] || an == "xmlns" || strings.HasPrefix(an, "xmlns:") {
			continue
		}
		seen[an] = true
		e.attr(an, a.val)
	}
	e.buf.WriteByte('>')
}

func (e *xmlEncoder) close(name string, s *xmlSchema) {
	e.buf.WriteString("</")
	e.buf.WriteString(e.qname(name, s))
	e.buf.WriteByte('>')
	last := e.decls[len(e.decls)-1]
	e.decls = e.decls[:len(e.decls)-1]
	for _, p := range last {
		e.scope[p]--
	}
}

func (e *xmlEncoder) attr(name, val string) {
	e.buf.WriteByte(' ')
	e.buf.WriteString(name)
	e.buf.WriteString(`="`)
	e.escape(val)
	e.buf.WriteByte('"')
}

// escape writes s as XML character data or an attribute value: markup
// characters, quotes and whitespace other than a space as references,
// and characters XML does not allow as U+FFFD.
func (e *xmlEncoder) escape(s string) {
	_ = xml.EscapeText(&e.buf, []byte(s))
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

// text is a scalar value's text: a string as it is, a number or boolean
// as JSON writes it, null as nothing.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// refName is the name of the component a schema's $ref names
// ("#/components/schemas/Pet": "Pet"), or "".
func refName(schema any) string {
	m, _ := schema.(map[string]any)
	ref, _ := m["$ref"].(string)
	_, frag, _ := strings.Cut(ref, "#")
	if frag == "" {
		return ""
	}
	last := frag[strings.LastIndexByte(frag, '/')+1:]
	last = strings.ReplaceAll(strings.ReplaceAll(last, "~1", "/"), "~0", "~")
	if last == "" {
		return ""
	}
	return xmlName(last)
}

// xmlName makes s a valid XML name: characters a name cannot hold become
// "_", and a name that cannot start as it does gets a "_" first. A
// colon is kept only as written in a prefix (see qname), not here.
func xmlName(s string) string {
	if isXMLName(s) && !strings.Contains(s, ":") {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			b.WriteByte('_')
		case i == 0 && !nameStart(r):
			b.WriteByte('_')
			if nameChar(r) && r != ':' {
				b.WriteRune(r)
			}
		case !nameChar(r) || r == ':':
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

func isXMLName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == utf8.RuneError || i == 0 && !nameStart(r) || !nameChar(r) {
			return false
		}
	}
	return true
}

// nameStart and nameChar are XML 1.0's NameStartChar and NameChar for
// ASCII; another character counts when encoding/xml (whose tables are
// XML 1.0's fourth edition, stricter than the fifth) reads it so, so
// that both old and new parsers read the names decoy writes.
func nameStart(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ':' || r == '_' || 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z'
	}
	return xmlReads("<" + string(r) + "/>")
}

func nameChar(r rune) bool {
	if r < utf8.RuneSelf {
		return nameStart(r) || r == '-' || r == '.' || '0' <= r && r <= '9'
	}
	return xmlReads("<a" + string(r) + "/>")
}

// xmlNames remembers what xmlReads found for a tag.
var xmlNames sync.Map // string -> bool

// xmlReads reports whether encoding/xml reads the empty element tag.
func xmlReads(tag string) bool {
	if ok, seen := xmlNames.Load(tag); seen {
		return ok.(bool)
	}
	_, err := xml.NewDecoder(strings.NewReader(tag)).Token()
	xmlNames.Store(tag, err == nil)
	return err == nil
}
