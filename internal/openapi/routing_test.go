package openapi_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy"
)

// serveDoc serves the document doc (YAML) on loopback and returns the server.
func serveDoc(t *testing.T, doc string) *decoy.Server {
	t.Helper()
	name := filepath.Join(t.TempDir(), "api.yaml")
	if err := os.WriteFile(name, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := decoy.Start(decoy.Options{Files: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// call sends method path with the headers (name, value, ...) and returns
// the status and body.
func call(t *testing.T, srv *decoy.Server, method, path, body string, headers ...string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type routeCase struct {
	name, method, path, body string
	headers                  []string
	status                   int
	contains                 string
}

func runRoutes(t *testing.T, srv *decoy.Server, cases []routeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			method := tc.method
			if method == "" {
				method = "GET"
			}
			status, body := call(t, srv, method, tc.path, tc.body, tc.headers...)
			if status != tc.status || !strings.Contains(body, tc.contains) {
				t.Errorf("%s %s = %d %s, want %d with %q", method, tc.path, status, body, tc.status, tc.contains)
			}
		})
	}
}

const verbSpec = `openapi: 3.0.3
info: {title: verb, version: "1"}
paths:
  /v1/{name}:
    get:
      parameters: [{name: name, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [kind], properties: {kind: {type: string, enum: [thing]}}}}}}
  /v1/{catalog}:complete:
    get:
      parameters: [{name: catalog, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [kind], properties: {kind: {type: string, enum: [completion]}}}}}}
  /files/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [kind], properties: {kind: {type: string, enum: [plain]}}}}}}
  /files/{id}.json:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [kind], properties: {kind: {type: string, enum: [json]}}}}}}
`

// A segment with text around a parameter ({catalog}:complete, {id}.json)
// is more specific than a bare parameter: its operation answers, whatever
// the order of the paths.
func TestMixedSegmentOutranksParameter(t *testing.T) {
	t.Parallel()
	srv := serveDoc(t, verbSpec)
	runRoutes(t, srv, []routeCase{
		{name: "verb", path: "/v1/abc:complete", status: 200, contains: `"completion"`},
		{name: "plain", path: "/v1/abc", status: 200, contains: `"thing"`},
		{name: "json", path: "/files/7.json", status: 200, contains: `"json"`},
		{name: "other", path: "/files/7.xml", status: 200, contains: `"plain"`},
	})
}

const inSegmentSpec = `openapi: 3.0.3
info: {title: in-segment, version: "1"}
paths:
  /users/{id}.json:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer, minimum: 1}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [id, name], properties: {id: {type: integer}, name: {type: string}}}}}}
  /v1/{name}:verb:
    get:
      parameters: [{name: name, in: path, required: true, schema: {type: string, pattern: "^[a-z]+$"}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [name], properties: {name: {type: string}}}}}}
  /r/{a}-{b}:
    get:
      parameters:
        - {name: a, in: path, required: true, schema: {type: integer}}
        - {name: b, in: path, required: true, schema: {type: string, enum: [x, y-z]}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [a, b], properties: {a: {type: integer}, b: {type: string}}}}}}
`

// Parameters inside a segment are checked, echoed and vary the body as
// whole-segment ones do.
func TestParametersInsideSegments(t *testing.T) {
	t.Parallel()
	srv := serveDoc(t, inSegmentSpec)
	runRoutes(t, srv, []routeCase{
		{name: "not a number", path: "/users/notanumber.json", status: 400, contains: "path.id: expected integer"},
		{name: "below the minimum", path: "/users/0.json", status: 400, contains: "path.id: must be >= 1"},
		{name: "echoed", path: "/users/7.json", status: 200, contains: `"id":7`},
		{name: "echoed too", path: "/users/8.json", status: 200, contains: `"id":8`},
		{name: "verb echoed", path: "/v1/abc:verb", status: 200, contains: `"name":"abc"`},
		{name: "verb pattern", path: "/v1/ABC:verb", status: 400, contains: "path.name"},
		{name: "two parameters", path: "/r/5-y-z", status: 200, contains: `"a":5`},
		{name: "two parameters, second echoed", path: "/r/5-y-z", status: 200, contains: `"b":"y-z"`},
		{name: "two parameters, first checked", path: "/r/q-x", status: 400, contains: "path.a: expected integer"},
		{name: "two parameters, second checked", path: "/r/5-w", status: 400, contains: "path.b"},
	})
	// The body varies with the parameter: the generated names differ.
	_, one := call(t, srv, "GET", "/users/7.json", "")
	_, two := call(t, srv, "GET", "/users/8.json", "")
	name := func(s string) string { _, after, _ := strings.Cut(s, `"name":`); return after }
	if name(one) == name(two) {
		t.Errorf("/users/7.json and /users/8.json have the same generated name: %s, %s", one, two)
	}
}

const awsSpec = `openapi: 3.0.0
info: {title: aws-style, version: "1"}
servers: [{url: "https://svc.{region}.amazonaws.com", variables: {region: {default: us-east-1}}}]
paths:
  /#X-Amz-Target=Svc.ListUsers:
    post:
      operationId: ListUsers
      parameters:
        - {name: X-Amz-Target, in: header, required: true, schema: {type: string, enum: [Svc.ListUsers]}}
      requestBody: {required: true, content: {application/json: {schema: {type: object}}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [Users], properties: {Users: {type: array, items: {type: string}}}}}}}
  /#X-Amz-Target=Svc.DeleteUser:
    post:
      operationId: DeleteUser
      parameters:
        - {name: X-Amz-Target, in: header, required: true, schema: {type: string, enum: [Svc.DeleteUser]}}
      requestBody: {required: true, content: {application/json: {schema: {type: object}}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [Deleted], properties: {Deleted: {type: boolean}}}}}}
  /#Action=DescribeTags:
    get:
      operationId: DescribeTags
      parameters:
        - {name: Action, in: query, required: true, schema: {type: string, enum: [DescribeTags]}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [op], properties: {op: {const: DescribeTags}}}}}}
  /{Bucket}:
    get:
      operationId: ListObjects
      parameters: [{name: Bucket, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [op], properties: {op: {const: ListObjects}}}}}}
  /{Bucket}?uploads:
    get:
      operationId: ListMultipartUploads
      parameters: [{name: Bucket, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [op], properties: {op: {const: ListMultipartUploads}}}}}}
  /{Bucket}#analytics:
    get:
      operationId: ListAnalytics
      parameters:
        - {name: Bucket, in: path, required: true, schema: {type: string}}
        - {name: analytics, in: query, required: true, schema: {type: boolean, enum: [true]}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [op], properties: {op: {const: ListAnalytics}}}}}}
  /{Bucket}#analytics&id:
    get:
      operationId: GetAnalytics
      parameters:
        - {name: Bucket, in: path, required: true, schema: {type: string}}
        - {name: analytics, in: query, required: true, schema: {type: boolean, enum: [true]}}
        - {name: id, in: query, required: true, schema: {type: string}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [op], properties: {op: {const: GetAnalytics}}}}}}
  /{Bucket}/{Key+}:
    get:
      operationId: GetObject
      parameters:
        - {name: Bucket, in: path, required: true, schema: {type: string}}
        - {name: Key, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [op, Key], properties: {op: {const: GetObject}, Key: {type: string}}}}}}
  /{Bucket}/{Key+}?x-id=GetObjectAcl:
    get:
      operationId: GetObjectAcl
      parameters:
        - {name: Bucket, in: path, required: true, schema: {type: string}}
        - {name: Key, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [op], properties: {op: {const: GetObjectAcl}}}}}}
  /{Bucket}/{Key+}?uploadId:
    put:
      operationId: UploadPart
      parameters:
        - {name: Bucket, in: path, required: true, schema: {type: string}}
        - {name: Key, in: path, required: true, schema: {type: string}}
        - {name: uploadId, in: query, required: true, schema: {type: string}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [op], properties: {op: {const: UploadPart}}}}}}
`

// AWS's path keys carry request parts after '#' or '?': the operations
// that share a path are told apart by those headers and query
// parameters, as an AWS SDK sends them.
func TestAWSPathKeys(t *testing.T) {
	t.Parallel()
	srv := serveDoc(t, awsSpec)
	js := []string{"Content-Type", "application/json"}
	runRoutes(t, srv, []routeCase{
		{name: "target ListUsers", method: "POST", path: "/", body: "{}", headers: append([]string{"X-Amz-Target", "Svc.ListUsers"}, js...), status: 200, contains: `"Users"`},
		{name: "target DeleteUser", method: "POST", path: "/", body: "{}", headers: append([]string{"X-Amz-Target", "Svc.DeleteUser"}, js...), status: 200, contains: `"Deleted"`},
		{name: "target, AWS JSON content type", method: "POST", path: "/", body: "{}", headers: []string{"X-Amz-Target", "Svc.ListUsers", "Content-Type", "application/x-amz-json-1.1"}, status: 200, contains: `"Users"`},
		{name: "target, other content type", method: "POST", path: "/", body: "{}", headers: []string{"X-Amz-Target", "Svc.ListUsers", "Content-Type", "application/x-amz-jsonx"}, status: 415},
		{name: "no target", method: "POST", path: "/", body: "{}", headers: js, status: 404, contains: "header X-Amz-Target is missing"},
		{name: "target, other method", path: "/", headers: []string{"X-Amz-Target", "Svc.ListUsers"}, status: 405, contains: "declares POST"},
		{name: "Action in the query", path: "/?Action=DescribeTags", status: 200, contains: `"DescribeTags"`},
		{name: "plain bucket", path: "/b", status: 200, contains: `"ListObjects"`},
		{name: "?uploads", path: "/b?uploads", status: 200, contains: `"ListMultipartUploads"`},
		{name: "#analytics, declared boolean, sent bare", path: "/b?analytics", status: 200, contains: `"ListAnalytics"`},
		{name: "#analytics&id: more parts first", path: "/b?analytics&id=x", status: 200, contains: `"GetAnalytics"`},
		{name: "{Key+} takes segments", path: "/b/a/b/c.txt", status: 200, contains: `"Key":"a/b/c.txt"`},
		{name: "?x-id=", path: "/b/a/b/c.txt?x-id=GetObjectAcl", status: 200, contains: `"GetObjectAcl"`},
		{name: "?x-id= other value", path: "/b/k?x-id=Other", status: 200, contains: `"GetObject"`},
		{name: "?uploadId", method: "PUT", path: "/b/k?uploadId=1", status: 200, contains: `"UploadPart"`},
	})
}

const serversSpec = `openapi: 3.0.3
info: {title: servers, version: "1"}
servers: [{url: "https://api.example.com/v1"}, {url: "https://api.example.com/v1beta"}]
paths:
  /a:
    get:
      responses: {"200": {description: ok, content: {application/json: {schema: {type: object, required: [a], properties: {a: {const: 1}}}}}}}
  /b:
    servers: [{url: "https://files.example.com/v2"}, {url: "https://files.example.com/v3"}]
    get:
      responses: {"200": {description: ok, content: {application/json: {schema: {type: object, required: [b], properties: {b: {const: 1}}}}}}}
  /c:
    servers: [{url: "https://files.example.com/{ver}", variables: {ver: {default: v4}}}]
    get:
      servers: [{url: "/legacy"}]
      responses: {"200": {description: ok, content: {application/json: {schema: {type: object, required: [c], properties: {c: {const: 1}}}}}}}
    put:
      responses: {"200": {description: ok, content: {application/json: {schema: {type: object, required: [c], properties: {c: {const: 2}}}}}}}
  /d:
    get:
      servers: []
      responses: {"200": {description: ok, content: {application/json: {schema: {type: object, required: [d], properties: {d: {const: 1}}}}}}}
`

// Path-level and operation-level servers replace the document's: an
// operation is served under the path of the first of its own servers.
func TestPathAndOperationServers(t *testing.T) {
	t.Parallel()
	srv := serveDoc(t, serversSpec)
	runRoutes(t, srv, []routeCase{
		{name: "document", path: "/v1/a", status: 200, contains: `"a":1`},
		{name: "path level", path: "/v2/b", status: 200, contains: `"b":1`},
		{name: "path level, not the document's", path: "/v1/b", status: 404},
		{name: "path level, not its second", path: "/v3/b", status: 404},
		{name: "operation level", path: "/legacy/c", status: 200, contains: `"c":1`},
		{name: "operation level, not the path's", path: "/v4/c", status: 405, contains: "declares PUT for"},
		{name: "the path's for the other operation", method: "PUT", path: "/v4/c", status: 200, contains: `"c":2`},
		{name: "empty servers: the document's", path: "/v1/d", status: 200, contains: `"d":1`},
	})
}

const queryProtocolSpec = `openapi: 3.0.0
info: {title: query protocol, version: "2020-01-01"}
paths:
  /#Action=DescribeTags:
    get:
      operationId: GET_DescribeTags
      parameters:
        - {name: Action, in: query, required: true, schema: {type: string, enum: [DescribeTags]}}
      responses:
        "200": {description: ok, content: {text/xml: {schema: {$ref: "#/components/schemas/DescribeTagsResponse"}}}}
    post:
      operationId: POST_DescribeTags
      parameters:
        - {name: Action, in: query, required: true, schema: {type: string, enum: [DescribeTags]}}
        - {name: Version, in: query, required: true, schema: {type: string, enum: ["2020-01-01"]}}
      requestBody: {content: {text/xml: {schema: {type: object, required: [Name], properties: {Name: {type: string}}}}}}
      responses:
        "200": {description: ok, content: {text/xml: {schema: {$ref: "#/components/schemas/DescribeTagsResponse"}}}}
  /#Action=DeleteTags:
    post:
      operationId: POST_DeleteTags
      parameters:
        - {name: Action, in: query, required: true, schema: {type: string, enum: [DeleteTags]}}
      responses:
        "200": {description: ok, content: {text/xml: {schema: {$ref: "#/components/schemas/DeleteTagsResponse"}}}}
components:
  schemas:
    DescribeTagsResponse:
      type: object
      example: {Tags: [{Key: a, Value: "1"}, {Key: b, Value: "2"}], Wrapped: [x]}
      properties:
        Tags: {type: array, items: {type: object, properties: {Key: {type: string}, Value: {type: string}}}}
        Wrapped: {type: array, xml: {wrapped: true}, items: {type: string, xml: {name: W}}}
    DeleteTagsResponse:
      type: object
      example: {Deleted: true}
      properties: {Deleted: {type: boolean}}
`

// AWS's query protocol: the documents declare Action (and Version) in
// the query of a POST, where an AWS SDK sends them, with the input, as
// the fields of a form body; decoy reads them from either and answers as
// the protocol does.
func TestAWSQueryProtocol(t *testing.T) {
	t.Parallel()
	srv := serveDoc(t, queryProtocolSpec)
	form := []string{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}
	const describe = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<DescribeTagsResponse><DescribeTagsResult><Tags><member><Key>a</Key><Value>1</Value></member><member><Key>b</Key><Value>2</Value></member></Tags>` +
		`<Wrapped><W>x</W></Wrapped></DescribeTagsResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></DescribeTagsResponse>`
	runRoutes(t, srv, []routeCase{
		{name: "Action in a form body", method: "POST", path: "/", body: "Action=DescribeTags&Version=2020-01-01&Name=x", headers: form, status: 200, contains: describe},
		{name: "Action in the query", method: "POST", path: "/?Action=DescribeTags&Version=2020-01-01", status: 200, contains: describe},
		{name: "Action in a multipart body", method: "POST", path: "/",
			body:    "--b\r\nContent-Disposition: form-data; name=\"Action\"\r\n\r\nDeleteTags\r\n--b--\r\n",
			headers: []string{"Content-Type", "multipart/form-data; boundary=b"}, status: 200, contains: "<DeleteTagsResult><Deleted>true</Deleted></DeleteTagsResult>"},
		{name: "the declared text/xml body still goes", method: "POST", path: "/?Action=DescribeTags&Version=2020-01-01", body: "<x/>", headers: []string{"Content-Type", "text/xml"}, status: 200, contains: "<DescribeTagsResult>"},
		{name: "another media type", method: "POST", path: "/?Action=DescribeTags&Version=2020-01-01", body: "{}", headers: []string{"Content-Type", "application/json"}, status: 415,
			contains: `is not one of text/xml, application/x-www-form-urlencoded`},
		{name: "Version from the form is checked", method: "POST", path: "/", body: "Action=DescribeTags&Version=1999", headers: form, status: 400, contains: "query.Version"},
		{name: "Version missing", method: "POST", path: "/", body: "Action=DescribeTags", headers: form, status: 400, contains: "query.Version: is required"},
		{name: "unknown Action", method: "POST", path: "/", body: "Action=Nope", headers: form, status: 404, contains: `query parameter (or form field) Action is \"Nope\"`},
		{name: "GET reads the query only", path: "/", body: "Action=DescribeTags", headers: form, status: 404},
		{name: "GET with Action in the query", path: "/?Action=DescribeTags", status: 200, contains: describe},
	})
}

// EC2's variant of the query protocol answers without the ActionResult
// element: the output's members right in <ActionResponse>, after a
// requestId, every list wrapped with <item> items; Action is read from
// a form body as for the others.
func TestEC2QueryProtocol(t *testing.T) {
	t.Parallel()
	doc := strings.Replace(queryProtocolSpec, `info: {title: query protocol, version: "2020-01-01"}`,
		`info: {title: ec2, version: "2020-01-01", x-providerName: amazonaws.com, x-serviceName: ec2}`, 1)
	srv := serveDoc(t, doc)
	form := []string{"Content-Type", "application/x-www-form-urlencoded"}
	const rid = "<requestId>00000000-0000-0000-0000-000000000000</requestId>"
	runRoutes(t, srv, []routeCase{
		{name: "form body", method: "POST", path: "/", body: "Action=DeleteTags", headers: form,
			status: 200, contains: "\n<DeleteTagsResponse>" + rid + "<Deleted>true</Deleted></DeleteTagsResponse>"},
		{name: "lists of items", method: "POST", path: "/", body: "Action=DescribeTags&Version=2020-01-01", headers: form,
			status: 200, contains: "\n<DescribeTagsResponse>" + rid + "<Tags><item><Key>a</Key><Value>1</Value></item><item><Key>b</Key><Value>2</Value></item></Tags><Wrapped><W>x</W></Wrapped></DescribeTagsResponse>"},
		{name: "a refusal is EC2's error", method: "POST", path: "/", body: "Action=DescribeTags", headers: form,
			status: 400, contains: "<Response><Errors><Error><Code>MissingParameter</Code><Message>1 violation: query.Version: is required</Message></Error></Errors><RequestID>"},
	})
}
