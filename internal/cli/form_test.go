package cli_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/external"
)

const formStubs = `- id: assume
  request:
    method: POST
    path: /
    body:
      form:
        Action: AssumeRole
        Version: {regex: "^2011-"}
        RoleSessionName: s 1+2
  response: {body: assumed}
- id: upload-note
  request:
    method: POST
    path: /notes
    body:
      form: {note: {contains: "two words"}, file: {absent: true}}
  response: {body: noted}
`

// curlOut runs curl with args and returns what it wrote (-s, with the
// status code last, after a newline).
func curlOut(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(external.Program(t, "curl"), append([]string{"-s", "-w", "\n%{http_code}"}, args...)...).Output()
	if err != nil {
		t.Fatalf("curl %q: %v", args, err)
	}
	return string(out)
}

func TestServeFormStubs(t *testing.T) {
	t.Parallel()
	external.Program(t, "curl")
	file := write(t, t.TempDir(), "stubs.yaml", formStubs)
	for _, engine := range []string{"loop", "fasthttp"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			a, _ := serve(t, nil, "--quiet", "--http1-engine", engine, file)
			base := "http://" + a.HTTPAddr.String()
			tests := []struct {
				name string
				args []string
				want []string
			}{
				{"urlencoded, + and %2B decoded", []string{"--data-urlencode", "Action=AssumeRole", "--data-urlencode", "Version=2011-06-15", "--data-urlencode", "RoleSessionName=s 1+2", base + "/"},
					[]string{"assumed\n200"}},
				{"fields in any order, with others", []string{"-d", "RoleSessionName=s+1%2B2&X=y&Version=2011-06-15&Action=AssumeRole", base + "/"},
					[]string{"assumed\n200"}},
				{"HTTP/2", []string{"--http2-prior-knowledge", "-d", "Action=AssumeRole&Version=2011-06-15&RoleSessionName=s+1%2B2", base + "/"},
					[]string{"assumed\n200"}},
				{"multipart text field", []string{"-F", "note=two words here", base + "/notes"},
					[]string{"noted\n200"}},
				{"multipart: a file part is no field", []string{"-F", "note=two words", "-F", "file=@" + file, base + "/notes"},
					[]string{"noted\n200"}},
				{"the 404 names the field", []string{"--data-urlencode", "Action=AssumeRole", "--data-urlencode", "Version=2012-01-01", "--data-urlencode", "RoleSessionName=s 1+2", base + "/"},
					[]string{`form field Version is \"2012-01-01\", want it to match /^2011-/`, "\n404"}},
				{"the 404 says the body is no form", []string{"-H", "Content-Type: application/json", "-d", `{"Action":"AssumeRole"}`, base + "/"},
					[]string{`form field Action is missing: body is not a form (Content-Type is \"application/json\")`, "\n404"}},
			}
			for _, tt := range tests {
				got := curlOut(t, tt.args...)
				for _, w := range tt.want {
					if !strings.Contains(got, w) {
						t.Errorf("%s: got %q, want it to contain %q", tt.name, got, w)
					}
				}
			}
		})
	}
}

// awsQuery holds trimmed AWS documents (APIs.guru, Apache 2.0) and the
// requests the AWS SDK for JavaScript v3 sent for them, byte for byte.
const awsQuery = "../openapi/testdata/awsquery"

// replay sends the raw request in file to addr and returns the answer.
func replay(t *testing.T, addr, file string) (*http.Response, string) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestServeAWSQueryProtocol replays the requests an AWS SDK sent (Action
// and its input in a form body) to decoy serving the services' documents,
// which declare Action in the query: each reaches its operation and gets
// the XML the SDK parsed (as its output, or as the error named by Code).
func TestServeAWSQueryProtocol(t *testing.T) {
	t.Parallel()
	const rid = "<RequestId>00000000-0000-0000-0000-000000000000</RequestId>"
	tests := []struct {
		doc, request string
		status       int
		want         []string
	}{
		{"sts.json", "sts-GetCallerIdentity.http", 200, []string{
			"<GetCallerIdentityResponse><GetCallerIdentityResult><Account>123456789012</Account>",
			"</GetCallerIdentityResult><ResponseMetadata>" + rid + "</ResponseMetadata></GetCallerIdentityResponse>"}},
		{"sts.json", "sts-AssumeRole.http", 200, []string{
			"<AssumeRoleResponse><AssumeRoleResult><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/demo/Bob</Arn>",
			"<PackedPolicySize>8</PackedPolicySize></AssumeRoleResult>"}},
		// A declared error (Prefer: code=480): AWS's ErrorResponse, the
		// exception's name as the Code, which the SDK maps to its class.
		{"sts.json", "sts-AssumeRole-code480.http", 480, []string{
			"<ErrorResponse><Error><Type>Sender</Type><Code>MalformedPolicyDocumentException</Code><Message>the 480 answer the OpenAPI document declares for AssumeRole</Message></Error>" + rid + "</ErrorResponse>"}},
		// decoy's own refusal (no Authorization): the protocol's error too.
		{"sts.json", "sts-GetCallerIdentity-unsigned.http", 401, []string{
			"<ErrorResponse><Error><Type>Sender</Type><Code>MissingAuthenticationToken</Code><Message>1 violation: security: missing credentials"}},
		{"sns.json", "sns-CreateTopic.http", 200, []string{"<CreateTopicResponse><CreateTopicResult><TopicArn>"}},
		{"sns.json", "sns-Publish.http", 200, []string{"<PublishResponse><PublishResult><MessageId>"}},
		{"sns.json", "sns-ListTopics.http", 200, []string{"<Topics><member><TopicArn>"}},
		// A map: <entry> items of <key> and <value>.
		{"sns.json", "sns-GetTopicAttributes.http", 200, []string{"<GetTopicAttributesResult><Attributes><entry><key>"}},
		// EC2: the output's members in <ActionResponse> after requestId,
		// named by the document's xml objects, lists of <item>.
		{"ec2.json", "ec2-DescribeRegions.http", 200, []string{
			"<DescribeRegionsResponse><requestId>00000000-0000-0000-0000-000000000000</requestId><regionInfo><item><regionEndpoint>ec2.ap-south-1.amazonaws.com</regionEndpoint><regionName>ap-south-1</regionName></item>",
			"</regionInfo></DescribeRegionsResponse>"}},
		{"ec2.json", "ec2-DescribeVpcs.http", 200, []string{
			"<vpcSet><item><cidrBlock>10.0.0.0/16</cidrBlock>",
			"<tagSet><item><key>Name</key><value>MyVPC</value></item></tagSet>"}},
		{"ec2.json", "ec2-CreateTags.http", 200, nil},
		// EC2 declares no error: Prefer: code=400 gets EC2's common one.
		{"ec2.json", "ec2-DescribeRegions-code400.http", 400, []string{
			"<Response><Errors><Error><Code>InvalidParameterValue</Code><Message>the answer Prefer: code=400 asks for (DescribeRegions declares 200)</Message></Error></Errors><RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>"}},
	}
	addrs := map[string]string{}
	for _, doc := range []string{"sts.json", "sns.json", "ec2.json"} {
		a, _ := serve(t, nil, "--quiet", filepath.Join(awsQuery, doc))
		addrs[doc] = a.HTTPAddr.String()
	}
	for _, tt := range tests {
		resp, body := replay(t, addrs[tt.doc], filepath.Join(awsQuery, tt.request))
		if resp.StatusCode != tt.status || (len(tt.want) > 0 && resp.Header.Get("Content-Type") != "text/xml") {
			t.Errorf("%s: %d %s, want %d text/xml\n%s", tt.request, resp.StatusCode, resp.Header.Get("Content-Type"), tt.status, body)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: body lacks %q:\n%s", tt.request, w, body)
			}
		}
	}
	// The same by curl, Action in the form body or in the query.
	base := "http://" + addrs["sts.json"] + "/"
	auth := "Authorization: AWS4-HMAC-SHA256 Credential=x"
	for _, args := range [][]string{
		{"-H", auth, "--data-urlencode", "Action=GetCallerIdentity", "--data-urlencode", "Version=2011-06-15", base},
		{"-H", auth, "-X", "POST", base + "?Action=GetCallerIdentity&Version=2011-06-15"},
	} {
		if got := curlOut(t, args...); !strings.Contains(got, "<GetCallerIdentityResult><Account>") || !strings.HasSuffix(got, "\n200") {
			t.Errorf("curl %q: %s", args, got)
		}
	}
	// Version is checked where it is sent; the refusal is the protocol's
	// error.
	if got := curlOut(t, "-H", auth, "-d", "Action=GetCallerIdentity&Version=1999", base); !strings.Contains(got, `<Code>InvalidParameterValue</Code><Message>1 violation: query.Version: value must be &#39;2011-06-15&#39;</Message>`) || !strings.HasSuffix(got, "\n400") {
		t.Errorf("a wrong Version in the form: %s", got)
	}
	// A Prefer: code=N that is not a 4xx or 5xx and is not declared.
	if got := curlOut(t, "-H", auth, "-H", "Prefer: code=201", "-d", "Action=GetCallerIdentity&Version=2011-06-15", base); !strings.Contains(got, `<Code>InvalidParameterValue</Code><Message>Prefer: code=201: POST /#Action=GetCallerIdentity declares the responses 200</Message>`) || !strings.HasSuffix(got, "\n400") {
		t.Errorf("Prefer: code=201: %s", got)
	}
	// 5xx: the Type is Receiver.
	if got := curlOut(t, "-H", auth, "-H", "Prefer: code=503", "-d", "Action=GetCallerIdentity&Version=2011-06-15", base); !strings.Contains(got, `<Type>Receiver</Type><Code>ServiceUnavailable</Code>`) || !strings.HasSuffix(got, "\n503") {
		t.Errorf("Prefer: code=503: %s", got)
	}
	if got := curlOut(t, "-H", auth, "-d", "Action=Nope&Version=2011-06-15", base); !bytes.Contains([]byte(got), []byte(`query parameter (or form field) Action is \"Nope\", want`)) {
		t.Errorf("an unknown Action: %s", got)
	}
}
