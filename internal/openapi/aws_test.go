package openapi

import (
	"strings"
	"testing"
)

// TestEncodeAWS: the success and error answers of AWS's query protocol
// and of EC2's, as the SDKs read them: names from the xml objects of
// allOf members (as AWS's documents write a property), lists wrapped
// (<member>, EC2 <item>) or flattened (wrapped: false), maps as <entry>
// items, the document's namespace on the root.
func TestEncodeAWS(t *testing.T) {
	t.Parallel()
	const comps = `
components:
  schemas:
    Out:
      type: object
      properties:
        Regions: {allOf: [{$ref: '#/components/schemas/RegionList'}, {xml: {name: regionInfo}, description: d}]}
        Flat: {allOf: [{$ref: '#/components/schemas/FlatList'}]}
        Named: {type: array, xml: {name: Things}, items: {type: string}}
        Attrs: {allOf: [{$ref: '#/components/schemas/AttrMap'}, {description: d}]}
        FlatMap: {type: object, additionalProperties: {type: string}, xml: {wrapped: false}}
        Token: {allOf: [{$ref: '#/components/schemas/String'}, {xml: {name: nextToken}}]}
    RegionList: {type: array, items: {allOf: [{$ref: '#/components/schemas/Region'}, {xml: {name: item}}]}}
    Region: {type: object, properties: {Name: {allOf: [{$ref: '#/components/schemas/String'}, {xml: {name: regionName}}]}}}
    FlatList: {type: array, items: {allOf: [{$ref: '#/components/schemas/String'}, {xml: {name: QueueUrl}}]}, xml: {wrapped: false}}
    AttrMap: {type: object, additionalProperties: {$ref: '#/components/schemas/String'}}
    String: {type: string}
    NsOut: {type: object, xml: {namespace: "https://sts.amazonaws.com/doc/2011-06-15/"}, properties: {A: {type: string}}}
    Exception: {}
`
	f, ref := xmlFixture(t, "3.0.3", comps)
	const value = `{"Regions":[{"Name":"eu-west-1"}],"Flat":["a","b"],"Named":["x"],"Attrs":{"b":"2","a":"<1>"},"FlatMap":{"k":"v"},"Token":"t"}`
	const rid = "00000000-0000-0000-0000-000000000000"
	tests := []struct {
		name   string
		op     awsOp
		schema any
		value  string
		want   string // after the XML declaration
	}{
		{"query", awsOp{action: "List"}, ref("Out"), value,
			`<ListResponse><ListResult><Attrs><entry><key>a</key><value>&lt;1&gt;</value></entry><entry><key>b</key><value>2</value></entry></Attrs>` +
				`<QueueUrl>a</QueueUrl><QueueUrl>b</QueueUrl><FlatMap><k>v</k></FlatMap><Things><member>x</member></Things>` +
				`<regionInfo><item><regionName>eu-west-1</regionName></item></regionInfo><nextToken>t</nextToken></ListResult>` +
				`<ResponseMetadata><RequestId>` + rid + `</RequestId></ResponseMetadata></ListResponse>`},
		{"ec2", awsOp{action: "DescribeRegions", ec2: true}, ref("Out"), `{"Regions":[{"Name":"eu-west-1"}],"Named":["x"]}`,
			`<DescribeRegionsResponse><requestId>` + rid + `</requestId><Things><item>x</item></Things>` +
				`<regionInfo><item><regionName>eu-west-1</regionName></item></regionInfo></DescribeRegionsResponse>`},
		{"namespace", awsOp{action: "GetCallerIdentity", ns: "https://sts.amazonaws.com/doc/2011-06-15/"}, ref("NsOut"), `{"A":"1"}`,
			`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><A>1</A></GetCallerIdentityResult>` +
				`<ResponseMetadata><RequestId>` + rid + `</RequestId></ResponseMetadata></GetCallerIdentityResponse>`},
		{"scalar output", awsOp{action: "Get"}, ref("String"), `"a&b"`,
			`<GetResponse><GetResult>a&amp;b</GetResult><ResponseMetadata><RequestId>` + rid + `</RequestId></ResponseMetadata></GetResponse>`},
		{"no output", awsOp{action: "Del", ec2: true}, nil, `null`,
			`<DelResponse><requestId>` + rid + `</requestId></DelResponse>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := jsonValue(tt.value)
			if err != nil {
				t.Fatal(err)
			}
			got := tt.op.encode(f.deref, tt.schema, "/doc.yaml", v)
			wellFormed(t, got)
			if body := strings.TrimPrefix(string(got), xmlDecl); body != tt.want {
				t.Errorf("got  %s\nwant %s", body, tt.want)
			}
		})
	}
}

// TestAWSErrors: error answers, declared (the exception's name as Code,
// unless the value gives one) and decoy's own, in the protocol's shape.
func TestAWSErrors(t *testing.T) {
	t.Parallel()
	const rid = "00000000-0000-0000-0000-000000000000"
	sts := &awsOp{action: "AssumeRole", ns: "urn:sts"}
	ec2 := &awsOp{action: "DescribeRegions", ec2: true, ns: "urn:ec2"}
	tests := []struct {
		name, got, want string
	}{
		{"declared", string(sts.declaredError(480, "MalformedPolicyDocumentException", "delta")),
			`<ErrorResponse xmlns="urn:sts"><Error><Type>Sender</Type><Code>MalformedPolicyDocumentException</Code><Message>the 480 answer the OpenAPI document declares for AssumeRole</Message></Error><RequestId>` + rid + `</RequestId></ErrorResponse>`},
		{"declared, Code and message from the value", string(sts.declaredError(400, "X", map[string]any{"Code": "MalformedPolicyDocument", "message": "a < b"})),
			`<ErrorResponse xmlns="urn:sts"><Error><Type>Sender</Type><Code>MalformedPolicyDocument</Code><Message>a &lt; b</Message></Error><RequestId>` + rid + `</RequestId></ErrorResponse>`},
		{"5xx is the receiver's", string(sts.errorXML(503, "ServiceUnavailable", "m")),
			`<ErrorResponse xmlns="urn:sts"><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>m</Message></Error><RequestId>` + rid + `</RequestId></ErrorResponse>`},
		{"ec2, no namespace", string(ec2.errorXML(400, "InvalidParameterValue", "m")),
			`<Response><Errors><Error><Code>InvalidParameterValue</Code><Message>m</Message></Error></Errors><RequestID>` + rid + `</RequestID></Response>`},
		{"refusal: missing", string(sts.refusal(400, true, "1 violation: query.Version: is required").Body),
			`<ErrorResponse xmlns="urn:sts"><Error><Type>Sender</Type><Code>MissingParameter</Code><Message>1 violation: query.Version: is required</Message></Error><RequestId>` + rid + `</RequestId></ErrorResponse>`},
		{"refusal: credentials (ec2)", string(ec2.refusal(401, false, "s").Body),
			`<Response><Errors><Error><Code>AuthFailure</Code><Message>s</Message></Error></Errors><RequestID>` + rid + `</RequestID></Response>`},
		{"exception: component name", sts.exceptionName(481, map[string]any{"$ref": "#/components/schemas/PackedPolicyTooLargeException"}, "x y"), "PackedPolicyTooLargeException"},
		{"exception: description", sts.exceptionName(481, map[string]any{}, "RegionDisabledException"), "RegionDisabledException"},
		{"exception: neither", sts.exceptionName(403, nil, "Forbidden, really"), "AccessDenied"},
		{"common: 5xx", sts.commonError(502), "InternalFailure"},
		{"common: ec2 5xx", ec2.commonError(500), "InternalError"},
		{"common: other 4xx", ec2.commonError(418), "InvalidRequest"},
		{"common: throttling", sts.commonError(429), "Throttling"},
	}
	for _, tt := range tests {
		if got := strings.TrimPrefix(tt.got, xmlDecl); got != tt.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tt.name, got, tt.want)
		}
		if strings.HasPrefix(tt.got, xmlDecl) {
			wellFormed(t, []byte(tt.got))
		}
	}
}
