package openapi

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/decoy-dev/decoy/internal/engine"
)

// AWS's query protocol (STS, SNS, IAM, ...) and its EC2 variant answer
// in XML of their own, which APIs.guru's documents do not describe:
//
//	<AssumeRoleResponse xmlns="..."><AssumeRoleResult>...</AssumeRoleResult>
//	  <ResponseMetadata><RequestId>...</RequestId></ResponseMetadata></AssumeRoleResponse>
//	<ErrorResponse xmlns="..."><Error><Type>Sender</Type><Code>...</Code>
//	  <Message>...</Message></Error><RequestId>...</RequestId></ErrorResponse>
//	<DescribeRegionsResponse xmlns="..."><requestId>...</requestId><regionInfo>...</regionInfo></DescribeRegionsResponse>
//	<Response><Errors><Error><Code>...</Code><Message>...</Message></Error></Errors>
//	  <RequestID>...</RequestID></Response>
//
// decoy writes every XML answer of such an operation so, and its own
// refusals too, so that an AWS SDK reads each one: a success as the
// operation's output, an error as an exception named by its Code.

// awsOp is an operation of AWS's query protocol (or EC2's variant).
type awsOp struct {
	action string // AssumeRole
	ec2    bool
	// ns is the namespace the document gives the operation's success
	// answer (its schema's xml object), written as the root's xmlns;
	// "" when it gives none, as APIs.guru's documents do.
	ns string
}

// queryRequestID is the request id of decoy's answers of AWS's query
// protocol.
const queryRequestID = "00000000-0000-0000-0000-000000000000"

// xmlDecl starts the XML documents decoy writes.
const xmlDecl = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// awsOperation is the operation being built when it is one of AWS's query
// protocol (a path key /#Action=AssumeRole with Action a query
// parameter), else nil.
func (b *builder) awsOperation(op map[string]any, file string) *awsOp {
	if _, ok := b.keyQuery["Action"]; !ok || b.key.sep != '#' {
		return nil
	}
	a := &awsOp{ec2: b.ec2()}
	for _, p := range b.key.parts {
		if p.name == "Action" && p.hasValue {
			a.action = xmlName(p.value)
		}
	}
	if a.action == "" {
		return nil
	}
	a.ns = b.awsNamespace(op, file)
	return a
}

// ec2 reports whether the document is APIs.guru's EC2 one, whose protocol
// (AWS's "ec2", a variant of the query protocol) answers without the
// ActionResult element, its lists of <item> named by the document's xml
// objects.
func (b *builder) ec2() bool {
	info, _ := b.doc["info"].(map[string]any)
	return info["x-providerName"] == "amazonaws.com" && info["x-serviceName"] == "ec2"
}

// awsNamespace is the namespace the schema of op's lowest 2xx XML answer
// gives in its xml object (through $refs and allOf, as AWS's documents
// write them), else "".
func (b *builder) awsNamespace(op map[string]any, file string) string {
	resps, _ := op["responses"].(map[string]any)
	for _, code := range sortedKeys(resps) {
		if c := statusOf(code); c < 200 || c > 299 || code == "default" {
			continue
		}
		r, rfile, err := b.f.deref(resps[code], file)
		if err != nil {
			continue
		}
		content, _ := r["content"].(map[string]any)
		for _, t := range sortedKeys(content) {
			mo, _ := content[t].(map[string]any)
			if !isXML(t) || mo["schema"] == nil {
				continue
			}
			s := (&xmlEncoder{deref: b.f.deref, aws: awsQuery}).schema(mo["schema"], rfile, 0)
			ns, _ := s.xml["namespace"].(string)
			return ns
		}
	}
	return ""
}

// awsMode is how an xmlEncoder writes AWS's answers.
type awsMode uint8

const (
	awsNone  awsMode = iota
	awsQuery         // lists as <member> items, maps as <entry> items
	awsEC2           // lists as <item> items
)

func (a *awsOp) mode() awsMode {
	if a.ec2 {
		return awsEC2
	}
	return awsQuery
}

// encode writes v, a value of schema (in file), as the operation's
// success answer.
func (a *awsOp) encode(deref derefFunc, schema any, file string, v any) []byte {
	e := &xmlEncoder{deref: deref, aws: a.mode()}
	s := e.schema(schema, file, 0)
	root := a.action + "Response"
	e.buf.WriteString(xmlDecl + "<" + root)
	if a.ns != "" {
		e.attr("xmlns", a.ns)
	}
	e.buf.WriteByte('>')
	if a.ec2 {
		// EC2: the output's members right in the root.
		e.buf.WriteString("<requestId>" + queryRequestID + "</requestId>")
		e.content(s, v, 1)
	} else {
		e.buf.WriteString("<" + a.action + "Result>")
		e.content(s, v, 2)
		e.buf.WriteString("</" + a.action + "Result><ResponseMetadata><RequestId>" + queryRequestID + "</RequestId></ResponseMetadata>")
	}
	e.buf.WriteString("</" + root + ">")
	return e.buf.Bytes()
}

// errorXML is an error answer with the status, code and message.
func (a *awsOp) errorXML(status int, code, msg string) []byte {
	e := &xmlEncoder{}
	e.buf.WriteString(xmlDecl)
	if a.ec2 {
		e.buf.WriteString("<Response><Errors><Error><Code>")
		e.escape(code)
		e.buf.WriteString("</Code><Message>")
		e.escape(msg)
		e.buf.WriteString("</Message></Error></Errors><RequestID>" + queryRequestID + "</RequestID></Response>")
		return e.buf.Bytes()
	}
	e.buf.WriteString("<ErrorResponse")
	if a.ns != "" {
		e.attr("xmlns", a.ns)
	}
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	e.buf.WriteString("><Error><Type>" + typ + "</Type><Code>")
	e.escape(code)
	e.buf.WriteString("</Code><Message>")
	e.escape(msg)
	e.buf.WriteString("</Message></Error><RequestId>" + queryRequestID + "</RequestId></ErrorResponse>")
	return e.buf.Bytes()
}

// declaredError is the body of a declared error answer (4xx, 5xx) whose
// value decoy made: the exception's name as the Code, unless the value
// gives a Code, and the value's Message (or message), else a message
// naming the answer.
func (a *awsOp) declaredError(status int, exception string, v any) []byte {
	code, msg := exception, fmt.Sprintf("the %d answer the OpenAPI document declares for %s", status, a.action)
	if m, ok := v.(map[string]any); ok {
		if c, ok := m["Code"].(string); ok && c != "" {
			code = c
		}
		for _, k := range []string{"Message", "message"} {
			if s, ok := m[k].(string); ok && s != "" {
				msg = s
				break
			}
		}
	}
	return a.errorXML(status, code, msg)
}

// exceptionName is the error code of a declared error answer: the name
// of the schema's component (MalformedPolicyDocumentException, as
// APIs.guru's documents name it), else the response's description when
// it is a name, else AWS's common error of the status.
func (a *awsOp) exceptionName(status int, schema any, desc string) string {
	if n := refName(schema); n != "" {
		return n
	}
	if errorName.MatchString(desc) {
		return desc
	}
	return a.commonError(status)
}

var errorName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.]{0,127}$`)

// commonError is AWS's common error code for a status (AWS's "Common
// Errors" for the query protocol, EC2's error codes for EC2).
func (a *awsOp) commonError(status int) string {
	query, ec2 := "", ""
	switch {
	case status == 400:
		query, ec2 = "InvalidParameterValue", "InvalidParameterValue"
	case status == 401:
		query, ec2 = "MissingAuthenticationToken", "AuthFailure"
	case status == 403:
		query, ec2 = "AccessDenied", "UnauthorizedOperation"
	case status == 429:
		query, ec2 = "Throttling", "RequestLimitExceeded"
	case status == 503:
		query, ec2 = "ServiceUnavailable", "Unavailable"
	case status >= 500:
		query, ec2 = "InternalFailure", "InternalError"
	default:
		query, ec2 = "InvalidRequest", "InvalidRequest"
	}
	if a.ec2 {
		return ec2
	}
	return query
}

// refusal is decoy's own refusal of a request (request validation, a
// Prefer that names no answer) as the protocol's error: the status
// decoy chose, a code that says what kind of refusal it is, the
// summary as the message.
func (a *awsOp) refusal(status int, missing bool, summary string) *engine.Response {
	code := "InvalidParameterValue"
	switch {
	case status == 401:
		code = a.commonError(401)
	case missing:
		code = "MissingParameter"
	}
	return &engine.Response{Status: status, ContentType: "text/xml", ContentTypeB: []byte("text/xml"),
		Body: a.errorXML(status, code, summary)}
}

// preferError is the answer to a Prefer: code=N (a status from 400 to
// 599) that no declared answer takes: AWS's common error of that status,
// so that a client can be steered to any error (EC2's documents declare
// none); declared lists what the operation declares.
func (a *awsOp) preferError(status int, declared string) []byte {
	msg := fmt.Sprintf("the answer Prefer: code=%d asks for (%s declares %s)", status, a.action, declared)
	return a.errorXML(status, a.commonError(status), msg)
}

// isMissing reports whether a violation says something required is
// missing.
func isMissing(msg string) bool { return strings.HasSuffix(msg, "is required") }
