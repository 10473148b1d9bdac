package openapi

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/stub"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compileCheck builds the request rules of an operation; nil when
// validation is off or there is nothing to check.
func (b *builder) compileCheck(full string, op map[string]any, ptr, file string) engine.RequestCheck {
	if b.o.Validation == "off" {
		return nil
	}
	c := &reqCheck{report: b.o.Validation == "report", aws: b.aws}
	vars := pathVars(full)
	c.stub = b.checkLabel(full, op, ptr)
	c.offers = b.offers(op, file)
	// Parameters: the path item's, then the operation's (which override).
	type rawParam struct {
		v        any
		ptr      string
		file     string
		fromItem bool
	}
	var raws []rawParam
	for i, v := range b.itemParams {
		raws = append(raws, rawParam{v, b.itemPtr + "/parameters/" + strconv.Itoa(i), b.itemFile, true})
	}
	if l, ok := op["parameters"].([]any); ok {
		for i, v := range l {
			raws = append(raws, rawParam{v, ptr + "/parameters/" + strconv.Itoa(i), file, false})
		}
	}
	byKey := map[string]int{}
	var formData []map[string]any
	for _, rp := range raws {
		m, pfile, err := b.f.deref(rp.v, rp.file)
		if err != nil {
			continue
		}
		pptr := rp.ptr
		if pm, ok := rp.v.(map[string]any); ok && pm["$ref"] != nil {
			pptr = refPointer(pm)
		}
		in, _ := m["in"].(string)
		name, _ := m["name"].(string)
		if name == "" {
			continue
		}
		if in == "body" {
			b.bodyFrom2(c, m, pfile, pptr, op)
			continue
		}
		if in == "header" && (strings.EqualFold(name, "accept") || strings.EqualFold(name, "content-type") || strings.EqualFold(name, "authorization")) {
			continue
		}
		if in == "formData" {
			formData = append(formData, m)
			continue
		}
		p := param{in: in, name: name, loc: in + "." + name, required: m["required"] == true || in == "path",
			empty: in == "query" && m["allowEmptyValue"] == true}
		var sch any
		if b.v2 {
			s := map[string]any{}
			for k, v := range m {
				switch k {
				case "name", "in", "required", "description", "collectionFormat", "allowEmptyValue":
				default:
					s[k] = v
				}
			}
			sch = s
			p.schema = b.reqVal.compileMem(b.memLoc(), ToJSONSchema(s, false))
		} else if s, ok := m["schema"]; ok {
			sch = s
			p.schema = b.compileAt(pfile, pptr+"/schema", s)
		}
		p.typ, p.itemTyp = b.typeOf(sch, pfile)
		if content, ok := m["content"].(map[string]any); ok && sch == nil {
			// A parameter with content: its value is a document of that
			// media type; JSON is checked against the schema.
			for _, mt := range sortedKeys(content) {
				cm, _ := content[mt].(map[string]any)
				if strings.Contains(strings.ToLower(mt), "json") && cm["schema"] != nil {
					p.schema = b.compileAt(pfile, pptr+"/content/"+escape(mt)+"/schema", cm["schema"])
					p.typ = "json"
				}
				break
			}
		}
		p.style, p.explode = styleOf(in, m, b.v2)
		if p.typ == "object" {
			p.props, _, _ = b.formFields(sch, pfile)
			if p.style == styleDeep {
				p.deep = b.shapeOf(sch, pfile)
			}
			if in == "query" && p.style == styleForm && p.explode && b.freeForm(sch, pfile) {
				// Its properties are query parameters of any name.
				p.free = true
				p.deep = b.shapeOf(sch, pfile)
			}
		}
		if sm, _, err := b.f.deref(sch, pfile); err == nil && p.schema != nil && p.typ != "array" {
			p.fast = compileSimple(sm)
		}
		if in == "query" && b.key.flag(name) {
			// The path key names the parameter without a value (S3's
			// /{Bucket}?uploads, /{Bucket}#analytics): a client sends
			// ?uploads, which its schema (often a boolean) would refuse;
			// being there is what the key asks, and the route's matcher
			// checks it.
			p.schema, p.fast, p.typ, p.itemTyp = nil, nil, "string", ""
		}
		p.seg.seg = -1
		if in == "path" {
			v, ok := vars[name]
			if !ok {
				continue // not a variable of the template (see checkPathParams)
			}
			p.seg = v
		}
		key := in + "\x00" + strings.ToLower(name)
		if i, ok := byKey[key]; ok {
			c.params[i] = p
			continue
		}
		byKey[key] = len(c.params)
		c.params = append(c.params, p)
	}
	// 3.x request body.
	if rb, ok := op["requestBody"]; ok {
		m, rfile, err := b.f.deref(rb, file)
		if err == nil {
			rptr := ptr + "/requestBody"
			if rm, ok := rb.(map[string]any); ok && rm["$ref"] != nil {
				rptr = refPointer(rm)
			}
			br := &bodyRule{required: m["required"] == true}
			content, _ := m["content"].(map[string]any)
			for _, mt := range sortedKeys(content) {
				bm := bodyMedia{typ: mt, id: bodyIDs.Add(1)}
				low := strings.ToLower(mt)
				bm.json = strings.Contains(low, "json")
				bm.form = strings.HasPrefix(low, "application/x-www-form-urlencoded")
				bm.multi = strings.HasPrefix(low, "multipart/form-data")
				cm, _ := content[mt].(map[string]any)
				if s, ok := cm["schema"]; ok && (bm.json || bm.form || bm.multi) {
					bm.schema = b.compileAt(rfile, rptr+"/content/"+escape(mt)+"/schema", s)
					if bm.form || bm.multi {
						var fields map[string]string
						bm.props, fields, bm.binary = b.formFields(s, rfile)
						bm.items = fields
					}
				}
				if s, ok := cm["schema"]; ok && bm.form {
					bm.shape = b.shapeOf(s, rfile)
				}
				if s, ok := cm["schema"]; ok && !bm.json && !bm.form && !bm.multi && isRange(mt) && structured(b, s, rfile) {
					// A range such as application/* or */* with an
					// object (or array) schema: a JSON body sent to it is
					// checked against that schema.
					bm.anyJSON = true
					bm.schema = b.compileAt(rfile, rptr+"/content/"+escape(mt)+"/schema", s)
				}
				if enc, ok := cm["encoding"].(map[string]any); ok && (bm.multi || bm.form) {
					for _, name := range sortedKeys(enc) {
						em, _ := enc[name].(map[string]any)
						t, _ := em["contentType"].(string)
						switch {
						case t != "" && bm.multi:
							if bm.partCT == nil {
								bm.partCT = map[string]string{}
							}
							bm.partCT[name] = t
						case t != "" && strings.Contains(strings.ToLower(t), "json"):
							if bm.jsonF == nil {
								bm.jsonF = map[string]bool{}
							}
							bm.jsonF[name] = true
						case bm.form && bm.props[name] == "array":
							// Encoding style and explode (OpenAPI 3.1,
							// Encoding Object): explode false sends the
							// array as one delimited value.
							st, explode := styleOf("query", em, false)
							if !explode || st == styleSpace || st == stylePipe {
								if bm.delims == nil {
									bm.delims = map[string]string{}
								}
								bm.delims[name] = st.delim()
							}
						}
					}
				}
				br.media = append(br.media, bm)
			}
			// JSON first, as responses do.
			sort.SliceStable(br.media, func(i, j int) bool { return br.media[i].json && !br.media[j].json })
			if len(br.media) > 0 || br.required {
				c.body = br
			}
		}
	}
	if len(formData) > 0 && c.body == nil {
		b.formData2(c, formData, op)
	}
	if b.queryForm {
		b.queryFormCheck(c)
	}
	b.securityOf(c, op)
	for i := range c.params {
		if c.params[i].free {
			b.freeOthers(c, &c.params[i])
		}
	}
	if len(c.params) == 0 && c.body == nil && len(c.security) == 0 && len(c.offers) == 0 {
		return nil
	}
	return c
}

// bodyFrom2 reads a Swagger 2.0 body parameter.
func (b *builder) bodyFrom2(c *reqCheck, m map[string]any, file, ptr string, op map[string]any) {
	types := strList(op["consumes"])
	if len(types) == 0 {
		types = b.consumes
	}
	if len(types) == 0 {
		types = []string{"application/json"}
	}
	br := &bodyRule{required: m["required"] == true}
	for _, t := range types {
		bm := bodyMedia{typ: t, id: bodyIDs.Add(1), json: strings.Contains(strings.ToLower(t), "json")}
		if s, ok := m["schema"]; ok && bm.json {
			bm.schema = b.compileAt(file, ptr+"/schema", s)
		}
		br.media = append(br.media, bm)
	}
	c.body = br
}

// formData2 reads Swagger 2.0 formData parameters as the properties of an
// object body, urlencoded or multipart as the operation consumes.
func (b *builder) formData2(c *reqCheck, params []map[string]any, op map[string]any) {
	types := strList(op["consumes"])
	if len(types) == 0 {
		types = b.consumes
	}
	if len(types) == 0 {
		types = []string{"application/x-www-form-urlencoded"}
	}
	props := map[string]any{}
	var required []any
	br := &bodyRule{}
	kinds := map[string]string{}
	items := map[string]string{}
	files := map[string]bool{}
	delims := map[string]string{}
	for _, m := range params {
		name, _ := m["name"].(string)
		s := map[string]any{}
		for k, v := range m {
			switch k {
			case "name", "in", "required", "description", "collectionFormat", "allowEmptyValue":
			default:
				s[k] = v
			}
		}
		props[name] = s
		if m["required"] == true {
			required = append(required, name)
			br.required = true
		}
		kinds[name], items[name] = b.typeOf(m, b.file)
		if m["type"] == "file" {
			files[name] = true
		}
		if st, _ := styleOf("formData", m, true); kinds[name] == "array" && m["collectionFormat"] != "multi" {
			delims[name] = st.delim()
		}
	}
	schema := map[string]any{"type": "object", "properties": props}
	if required != nil {
		schema["required"] = required
	}
	compiled := b.reqVal.compileMem(b.memLoc(), ToJSONSchema(schema, false))
	for _, t := range types {
		low := strings.ToLower(t)
		bm := bodyMedia{typ: t, id: bodyIDs.Add(1), schema: compiled, props: kinds, items: items, binary: files, delims: delims,
			form: strings.HasPrefix(low, "application/x-www-form-urlencoded"), multi: strings.HasPrefix(low, "multipart/form-data")}
		if !bm.form && !bm.multi {
			bm.schema = nil
		}
		br.media = append(br.media, bm)
	}
	c.body = br
}

func (b *builder) compileAt(file, ptr string, node any) *jsonschema.Schema {
	s, err := b.reqVal.schema(file, ptr, node)
	if err != nil {
		b.warn(ptr, "request schema does not compile, not checked: %s", strings.TrimPrefix(err.Error(), "schema does not compile: "))
		return nil
	}
	return s
}

// freeOthers lists what the free-form object p must leave to others:
// the operation's other query parameters by name, a deepObject's
// name[key] keys, an exploded form object's properties, a query API
// key, and the query parts of the path key (/a?x-id=Get).
func (b *builder) freeOthers(c *reqCheck, p *param) {
	for j := range c.params {
		q := &c.params[j]
		if q == p || q.in != "query" {
			continue
		}
		p.others = append(p.others, q.name)
		switch {
		case q.style == styleDeep:
			p.brackets = append(p.brackets, q.name+"[")
		case q.typ == "object" && q.explode && q.style == styleForm && !q.free:
			p.others = append(p.others, slices.Sorted(maps.Keys(q.props))...)
		}
	}
	for _, alt := range c.security {
		for _, s := range alt {
			if s.kind == "apiKey" && s.in == "query" {
				p.others = append(p.others, s.name)
			}
		}
	}
	p.others = append(p.others, slices.Sorted(maps.Keys(b.keyQuery))...)
}

// freeForm reports whether an object schema admits properties it does
// not name (additionalProperties not false, or patternProperties).
func (b *builder) freeForm(s any, file string) bool {
	m, _, err := b.f.deref(s, file)
	if err != nil {
		return false
	}
	if m["patternProperties"] != nil {
		return true
	}
	switch ap := m["additionalProperties"].(type) {
	case bool:
		return ap
	case map[string]any:
		return true
	}
	return m["properties"] == nil
}

// isRange reports whether a media type is a range: */* or type/*.
func isRange(mt string) bool {
	mt, _, _ = strings.Cut(mt, ";")
	return strings.HasSuffix(strings.TrimSpace(mt), "/*")
}

// structured reports whether a schema describes a JSON document (an
// object or an array) rather than the body's bytes (a string, often of
// format binary).
func structured(b *builder, s any, file string) bool {
	m, _, err := b.f.deref(s, file)
	if err != nil {
		return false
	}
	switch firstType(m["type"]) {
	case "object", "array":
		return true
	case "":
		return m["properties"] != nil || m["items"] != nil
	}
	return false
}

// typeOf is the JSON type a parameter's text is read as (and its items').
func (b *builder) typeOf(s any, file string) (string, string) {
	m, mfile, err := b.f.deref(s, file)
	if err != nil {
		return "", ""
	}
	t := firstType(m["type"])
	if t == "array" {
		it, _ := b.typeOf(m["items"], mfile)
		return t, it
	}
	return t, ""
}

func firstType(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if s, ok := x.(string); ok && s != "null" {
				return s
			}
		}
	}
	return ""
}

// maxShape bounds how deep shapeOf follows properties and items (and so
// recursive schemas), and maxShapes how many places it reads in all (wide
// schemas that refer to each other).
const (
	maxShape  = 8
	maxShapes = 2000
)

// shapeOf reads the types of a schema at each place (its properties,
// those of its allOf members, additionalProperties, items) for reading a
// nested value from text. Past the bounds, values stay strings.
func (b *builder) shapeOf(s any, file string) *shape {
	budget := maxShapes
	return b.shapeAt(s, file, 0, &budget)
}

func (b *builder) shapeAt(s any, file string, depth int, budget *int) *shape {
	m, mfile, err := b.f.deref(s, file)
	if err != nil || depth > maxShape || m == nil || *budget <= 0 {
		return nil
	}
	*budget--
	sh := &shape{typ: firstType(m["type"])}
	var add func(m map[string]any, mfile string, level int)
	add = func(m map[string]any, mfile string, level int) {
		if props, ok := m["properties"].(map[string]any); ok {
			if sh.props == nil {
				sh.props = map[string]*shape{}
			}
			for _, k := range sortedKeys(props) {
				sh.props[k] = b.shapeAt(props[k], mfile, depth+1, budget)
			}
		}
		if ap, ok := m["additionalProperties"].(map[string]any); ok && sh.addl == nil {
			sh.addl = b.shapeAt(ap, mfile, depth+1, budget)
		}
		if it, ok := m["items"]; ok && sh.items == nil {
			sh.items = b.shapeAt(it, mfile, depth+1, budget)
		}
		if sh.typ == "" {
			sh.typ = firstType(m["type"])
		}
		all, _ := m["allOf"].([]any)
		for _, a := range all {
			if am, afile, err := b.f.deref(a, mfile); err == nil && am != nil && level < maxShape {
				add(am, afile, level+1)
			}
		}
	}
	add(m, mfile, 0)
	if sh.typ == "" && sh.props != nil {
		sh.typ = "object"
	}
	return sh
}

// formFields reads an object schema's properties: each one's type, the
// item type of the arrays, and which are files (a string, or an array of
// strings, of format binary or base64).
func (b *builder) formFields(s any, file string) (types, items map[string]string, files map[string]bool) {
	m, mfile, err := b.f.deref(s, file)
	if err != nil {
		return nil, nil, nil
	}
	props, _ := m["properties"].(map[string]any)
	types, items, files = map[string]string{}, map[string]string{}, map[string]bool{}
	for k, v := range props {
		types[k], items[k] = b.typeOf(v, mfile)
		pm, pfile, err := b.f.deref(v, mfile)
		if err != nil {
			continue
		}
		if types[k] == "array" {
			pm, _, err = b.f.deref(pm["items"], pfile)
			if err != nil {
				continue
			}
		}
		switch pm["format"] {
		case "binary", "base64":
			files[k] = true
		}
		if pm["contentMediaType"] != nil || pm["contentEncoding"] != nil {
			files[k] = true // OpenAPI 3.1's way of saying binary
		}
	}
	return types, items, files
}

// checkLabel is the stub id the operation's stubs start with: the
// metrics' stub label for its violations.
func (b *builder) checkLabel(full string, op map[string]any, ptr string) string {
	if id, _ := op["operationId"].(string); id != "" {
		return b.idPrefix() + ":" + id
	}
	method := ptr[strings.LastIndexByte(ptr, '/')+1:]
	return b.idPrefix() + ":" + strings.ToUpper(method) + " " + strings.TrimPrefix(full, b.basePath)
}

// offers lists every media type the operation's responses declare, for
// Accept: a request whose Accept admits none of them is a 406.
func (b *builder) offers(op map[string]any, file string) []string {
	resps, _ := op["responses"].(map[string]any)
	seen := map[string]bool{}
	var out []string
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	hasBody := false
	for _, code := range sortedKeys(resps) {
		r, _, err := b.f.deref(resps[code], file)
		if err != nil {
			continue
		}
		if b.v2 {
			if r["schema"] != nil || r["examples"] != nil {
				hasBody = true
			}
			continue
		}
		content, _ := r["content"].(map[string]any)
		for _, t := range sortedKeys(content) {
			add(t)
		}
	}
	if b.v2 && hasBody {
		types := strList(op["produces"])
		if len(types) == 0 {
			types = b.produces
		}
		if len(types) == 0 {
			types = []string{"application/json"}
		}
		for _, t := range types {
			add(t)
		}
	}
	return out
}

// securityOf reads the operation's security (else the document's).
func (b *builder) securityOf(c *reqCheck, op map[string]any) {
	reqs, ok := op["security"].([]any)
	if !ok {
		reqs, _ = b.doc["security"].([]any)
	}
	var schemes map[string]any
	if b.v2 {
		schemes, _ = b.doc["securityDefinitions"].(map[string]any)
	} else {
		comp, _ := b.doc["components"].(map[string]any)
		schemes, _ = comp["securitySchemes"].(map[string]any)
	}
	var realms []string
	seen := map[string]bool{}
	for _, r := range reqs {
		rm, ok := r.(map[string]any)
		if !ok {
			continue
		}
		if len(rm) == 0 {
			c.security = nil // an empty requirement: anonymous access allowed
			return
		}
		var alt []secReq
		for _, name := range sortedKeys(rm) {
			sm, _, err := b.f.deref(schemes[name], b.file)
			if err != nil {
				alt = nil
				break
			}
			typ, _ := sm["type"].(string)
			scheme, _ := sm["scheme"].(string)
			var s secReq
			switch {
			case typ == "apiKey":
				s.kind = "apiKey"
				s.in, _ = sm["in"].(string)
				s.name, _ = sm["name"].(string)
			case typ == "basic", typ == "http" && strings.EqualFold(scheme, "basic"):
				s.kind = "basic"
			case typ == "http" && strings.EqualFold(scheme, "bearer"), typ == "oauth2", typ == "openIdConnect":
				s.kind = "bearer"
			default:
				continue // other HTTP schemes, mutualTLS: not checked
			}
			alt = append(alt, s)
			realm := map[string]string{"basic": `Basic realm="decoy"`, "bearer": `Bearer realm="decoy"`}[s.kind]
			if s.kind == "apiKey" {
				realm = fmt.Sprintf(`ApiKey realm="decoy", %s=%q`, s.in, s.name)
			}
			if !seen[realm] {
				seen[realm] = true
				realms = append(realms, realm)
			}
		}
		if len(alt) == 0 {
			c.security = nil // nothing decoy can check: let it through
			return
		}
		c.security = append(c.security, alt)
	}
	c.realm = strings.Join(realms, ", ")
}

// Priority405 is the priority of the stub that answers a method the path
// does not declare.
const Priority405 = 23

// add405 answers 405 with Allow to any method path does not declare.
func (b *builder) add405(path, ptr string, allow []string) {
	full := b.route(b.key.path)
	for _, a := range allow {
		if a == "GET" {
			allow = append(allow, "HEAD")
			break
		}
	}
	sort.Strings(allow)
	list := strings.Join(allow, ", ")
	body := fmt.Sprintf(`{"type":"about:blank","title":"Method Not Allowed","status":405,"detail":"the document declares %s for this path"}`, list)
	b.add(engine.Source{Stub: stub.Stub{ID: b.idPrefix() + ":405 " + path, Priority: Priority405,
		Request: stub.Request{Method: "ANY", Path: full, Headers: b.keyHeaders, Query: b.keyQuery},
		Response: &stub.Response{Status: 405, Body: stub.Text(body), Headers: map[string]stub.HeaderValues{
			"Content-Type": {"application/problem+json"}, "Allow": {list}}}},
		Origin: b.name + "#" + ptr})
	// Counted as method violations.
	src := &b.res.Sources[len(b.res.Sources)-1]
	src.Check = &methodCheck{stub: src.Stub.ID}
}

// memLoc names a schema decoy makes for the validator (of Swagger 2.0's
// parameters): by the path item being built, so that the names do not
// depend on which path item is built first.
func (b *builder) memLoc() string {
	b.memParams++
	return fmt.Sprintf("mem:///decoy/%s/%d/param%d.json", escape(b.file), b.unit, b.memParams)
}

// queryFormCheck fits c to an operation of AWS's query protocol (a POST
// whose path key names query parameters, /#Action=AssumeRole): an SDK
// sends Action, Version and the operation's input as the fields of an
// application/x-www-form-urlencoded body. The query parameters are read
// from the query, else from that body; and the body, which APIs.guru's
// documents declare as text/xml with the input's schema, may also be such
// a form, taken without checking its fields against that schema (the
// protocol flattens lists and structures into fields such as
// Tags.member.1.Key, which the schema does not describe).
func (b *builder) queryFormCheck(c *reqCheck) {
	c.queryOrForm = true
	if c.body == nil {
		return
	}
	for _, m := range c.body.media {
		if mediaMatch(m.typ, mediaForm) {
			return // the document declares forms: checked as it says
		}
	}
	c.body.media = append(c.body.media, bodyMedia{typ: mediaForm, form: true, id: bodyIDs.Add(1)})
}

// mediaForm is the media type of a URL-encoded form body.
const mediaForm = "application/x-www-form-urlencoded"
