package openapi

import (
	"fmt"
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
	c := &reqCheck{report: b.o.Validation == "report"}
	c.segs = strings.Split(strings.TrimPrefix(full, "/"), "/")
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
			continue // Swagger 2.0 form parameters: not checked
		}
		p := param{in: in, name: name, loc: in + "." + name, required: m["required"] == true || in == "path"}
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
			loc := fmt.Sprintf("mem:///decoy/%s/param%d.json", escape(b.file), len(b.memParams))
			b.memParams = append(b.memParams, loc)
			if err := b.val.c.AddResource(loc, ToJSONSchema(s, false)); err == nil {
				p.schema, _ = b.val.c.Compile(loc)
			}
		} else if s, ok := m["schema"]; ok {
			sch = s
			p.schema = b.compileAt(pfile, pptr+"/schema")
		}
		p.typ, p.itemTyp = b.typeOf(sch, pfile)
		if sm, _, err := b.f.deref(sch, pfile); err == nil && p.schema != nil && p.typ != "array" {
			p.fast = compileSimple(sm)
		}
		p.seg = -1
		for i, s := range c.segs {
			if s == "{"+name+"}" {
				p.seg = i
			}
		}
		if in == "path" && p.seg < 0 {
			continue // a parameter inside a segment ("{id}.json"): not checked
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
				cm, _ := content[mt].(map[string]any)
				if s, ok := cm["schema"]; ok && (bm.json || bm.form) {
					bm.schema = b.compileAt(rfile, rptr+"/content/"+escape(mt)+"/schema")
					if bm.form {
						bm.props = b.propTypes(s, rfile)
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
	b.securityOf(c, op)
	if len(c.params) == 0 && c.body == nil && len(c.security) == 0 {
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
		if _, ok := m["schema"]; ok && bm.json {
			bm.schema = b.compileAt(file, ptr+"/schema")
		}
		br.media = append(br.media, bm)
	}
	c.body = br
}

func (b *builder) compileAt(file, ptr string) *jsonschema.Schema {
	loc := fileURL(file) + "#" + ptr
	if s, ok := b.val.cache[loc]; ok {
		return s
	}
	s, err := b.val.c.Compile(loc)
	if err != nil {
		b.warn(ptr, "request schema does not compile, not checked: %v", err)
		return nil
	}
	b.val.cache[loc] = s
	return s
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

func (b *builder) propTypes(s any, file string) map[string]string {
	m, mfile, err := b.f.deref(s, file)
	if err != nil {
		return nil
	}
	props, _ := m["properties"].(map[string]any)
	out := map[string]string{}
	for k, v := range props {
		out[k], _ = b.typeOf(v, mfile)
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
	full := pathParam.ReplaceAllStringFunc(b.basePath+path, func(s string) string {
		n := strings.Trim(s, "{}")
		if n == "" || strings.ContainsAny(n, "*{}") {
			n = "p"
		}
		return "{" + n + "}"
	})
	for _, a := range allow {
		if a == "GET" {
			allow = append(allow, "HEAD")
			break
		}
	}
	sort.Strings(allow)
	list := strings.Join(allow, ", ")
	body := fmt.Sprintf(`{"type":"about:blank","title":"Method Not Allowed","status":405,"detail":"the document declares %s for this path"}`, list)
	b.add(engine.Source{Stub: stub.Stub{ID: idBase(b.name) + ":405 " + path, Priority: Priority405,
		Request: stub.Request{Method: "ANY", Path: full},
		Response: &stub.Response{Status: 405, Body: stub.Text(body), Headers: map[string]stub.HeaderValues{
			"Content-Type": {"application/problem+json"}, "Allow": {list}}}},
		Origin: b.name + "#" + ptr})
}
