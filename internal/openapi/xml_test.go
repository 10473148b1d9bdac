package openapi

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// wellFormed parses doc with encoding/xml to its end.
func wellFormed(t testing.TB, doc []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	roots, depth := 0, 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, doc)
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 || depth != 0 {
		t.Fatalf("%d root elements, depth %d at the end:\n%s", roots, depth, doc)
	}
}

// jsonValue decodes a JSON value as decoy holds one: numbers as
// json.Number.
func jsonValue(s string) (any, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// xmlFixture serves the components (YAML) as the document /doc.yaml of
// that OpenAPI version: its files, and a $ref to one of its schemas.
func xmlFixture(t testing.TB, version, comps string) (*files, func(string) any) {
	f := newFiles()
	f.docs["/doc.yaml"] = xmlDoc(t, "openapi: "+version+"\n"+comps)
	return f, func(n string) any { return map[string]any{"$ref": "#/components/schemas/" + n} }
}

// xmlDoc decodes a YAML/JSON document for the table below.
func xmlDoc(t testing.TB, s string) any {
	t.Helper()
	v, err := decode([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestEncodeXML(t *testing.T) {
	t.Parallel()
	const comps = `
components:
  schemas:
    Pet:
      type: object
      properties:
        id: {type: integer, xml: {attribute: true}}
        name: {type: string}
        tags: {type: array, items: {type: string}}
    Named: {type: object, xml: {name: animal}, properties: {a: {type: string}}}
    Ns:
      type: object
      xml: {name: book, namespace: "urn:books", prefix: bk}
      properties:
        title: {type: string, xml: {prefix: bk}}
        lang: {type: string, xml: {attribute: true, prefix: x, namespace: "urn:x"}}
        orphan: {type: string, xml: {prefix: nope}}
    Default: {type: object, xml: {namespace: "urn:d"}, properties: {a: {type: string}}}
    Wrapped:
      type: object
      properties:
        animals: {type: array, xml: {wrapped: true}, items: {type: string}}
        aliens: {type: array, xml: {name: aliens, wrapped: true}, items: {type: string, xml: {name: alien}}}
        plain: {type: array, items: {type: string, xml: {name: p}}}
    Base: {type: object, properties: {id: {type: integer, xml: {attribute: true}}}}
    Composed:
      allOf:
        - {$ref: '#/components/schemas/Base'}
        - {type: object, properties: {n: {type: string, xml: {name: Name}}}}
`
	f, ref := xmlFixture(t, "3.1.0", comps)
	tests := []struct {
		name   string
		schema any
		value  string // JSON
		want   string // after the XML declaration
	}{
		{"root from $ref, attribute, unwrapped array", ref("Pet"), `{"id":7,"name":"Rex","tags":["a","b"]}`,
			`<Pet id="7"><name>Rex</name><tags>a</tags><tags>b</tags></Pet>`},
		{"root from xml.name", ref("Named"), `{"a":"x"}`, `<animal><a>x</a></animal>`},
		{"no name: root", map[string]any{"type": "object"}, `{"a":1}`, `<root><a>1</a></root>`},
		{"namespace and prefix", ref("Ns"), `{"title":"Go","lang":"en","orphan":"o"}`,
			`<bk:book xmlns:bk="urn:books" xmlns:x="urn:x" x:lang="en"><orphan>o</orphan><bk:title>Go</bk:title></bk:book>`},
		{"default namespace", ref("Default"), `{"a":"1"}`, `<Default xmlns="urn:d"><a>1</a></Default>`},
		{"wrapped arrays", ref("Wrapped"), `{"animals":["cat"],"aliens":["et"],"plain":["q","r"]}`,
			`<Wrapped><aliens><alien>et</alien></aliens><animals><animals>cat</animals></animals><p>q</p><p>r</p></Wrapped>`},
		{"allOf through $ref", ref("Composed"), `{"id":1,"n":"x"}`, `<Composed id="1"><Name>x</Name></Composed>`},
		{"top-level array", map[string]any{"type": "array", "items": ref("Named")}, `[{"a":"1"},{"a":"2"}]`,
			`<root><animal><a>1</a></animal><animal><a>2</a></animal></root>`},
		{"top-level array of a $ref", map[string]any{"type": "array", "items": ref("Pet")}, `[{"name":"a"}]`,
			`<root><Pet><name>a</name></Pet></root>`},
		{"escaping", map[string]any{"type": "object"}, `{"a":"<&>\"'\u0000","b":"x"}`,
			`<root><a>&lt;&amp;&gt;&#34;&#39;` + "\uFFFD" + `</a><b>x</b></root>`},
		{"attribute escaping", ref("Pet"), `{"id":"a\"<b&\n"}`, `<Pet id="a&#34;&lt;b&amp;&#xA;"></Pet>`},
		{"names made valid", map[string]any{"type": "object"}, `{"1st":1,"a b":2,"x:y":3,"":4}`,
			`<root><_>4</_><_1st>1</_1st><a_b>2</a_b><x_y>3</x_y></root>`},
		{"null, booleans, numbers", map[string]any{"type": "object"}, `{"n":null,"t":true,"f":1.5e3}`,
			`<root><f>1.5e3</f><n></n><t>true</t></root>`},
		{"nested arrays", map[string]any{"type": "object"}, `{"m":[[1,2],[3]]}`,
			`<root><m><item>1</item><item>2</item></m><m><item>3</item></m></root>`},
		{"scalar root", map[string]any{"type": "string", "xml": map[string]any{"name": "s"}}, `"a"`, `<s>a</s>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := jsonValue(tt.value)
			if err != nil {
				t.Fatal(err)
			}
			got := encodeXML(f.deref, tt.schema, "/doc.yaml", v)
			wellFormed(t, got)
			body := strings.TrimPrefix(string(got), `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
			if body != tt.want {
				t.Errorf("got  %s\nwant %s", body, tt.want)
			}
			if again := encodeXML(f.deref, tt.schema, "/doc.yaml", v); !bytes.Equal(again, got) {
				t.Errorf("not deterministic:\n%s\n%s", got, again)
			}
		})
	}
}

func TestIsXML(t *testing.T) {
	t.Parallel()
	for typ, want := range map[string]bool{
		"application/xml": true, "text/xml; charset=utf-8": true, "application/atom+xml": true, "APPLICATION/XML": true,
		"application/json": false, "text/csv": false, "application/xml-dtd": false, "text/plain": false,
	} {
		if isXML(typ) != want {
			t.Errorf("isXML(%q) = %v", typ, !want)
		}
	}
}

// FuzzEncodeXML: whatever the value and the schema's xml names, the
// output is one well-formed XML element, as decoy writes XML and as it
// writes AWS's answers.
func FuzzEncodeXML(f *testing.F) {
	f.Add(`{"a":[1,{"b":"<&"}],"c":null}`, "name", "p", "urn:x", true, false)
	f.Add(`[1,[2,[3]]]`, "", "", "", false, true)
	f.Add(`"\u0001\ud800"`, "1a b", "xml", "", true, true)
	f.Fuzz(func(t *testing.T, value, name, prefix, ns string, attr, wrapped bool) {
		v, err := jsonValue(value)
		if err != nil {
			return
		}
		x := map[string]any{"name": name, "prefix": prefix, "namespace": ns, "attribute": attr, "wrapped": wrapped}
		prop := map[string]any{"xml": x, "items": map[string]any{"xml": x}}
		schema := map[string]any{"xml": x, "items": prop, "properties": map[string]any{"a": prop, "b": prop, "c": prop}}
		files := newFiles()
		out := encodeXML(files.deref, schema, "/doc.yaml", v)
		wellFormed(t, out)
		// As AWS's query protocol (or EC2's, by attr) answers, and errors.
		op := &awsOp{action: xmlName(name), ec2: attr, ns: ns}
		schema["additionalProperties"] = prop
		wellFormed(t, op.encode(files.deref, schema, "/doc.yaml", v))
		wellFormed(t, op.declaredError(400, xmlName(prefix), v))
	})
}
