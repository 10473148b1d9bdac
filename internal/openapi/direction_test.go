package openapi_test

import "testing"

// TestReadOnlyNotRequiredInRequests: a readOnly property that a schema
// requires is not demanded in a request body (OpenAPI: required applies
// to responses only), at the top level, beside a 3.0 $ref, through a
// $ref'd property schema, across allOf members, in nested objects, in
// arrays of objects and in oneOf alternatives; writeOnly properties stay
// required in requests, and other required properties too.
func TestReadOnlyNotRequiredInRequests(t *testing.T) {
	t.Parallel()
	js := map[string]string{"Content-Type": "application/json"}
	post := func(name, path, body string, status int, contains ...string) reqCase {
		return reqCase{name: name, method: "POST", path: path, headers: js, body: body, status: status, contains: contains}
	}
	pet := `{"name":"Rex","password":"s3cret"}`
	runCases(t, "testdata/readwrite.yaml", []reqCase{
		post("readOnly left out", "/pets", pet, 201),
		post("readOnly sent anyway", "/pets", `{"id":7,"name":"Rex","password":"s3cret","tag":{"label":"a"}}`, 201),
		post("writeOnly still required", "/pets", `{"name":"Rex"}`, 422, "body.password: is required"),
		post("plain required still required", "/pets", `{"password":"s3cret"}`, 422, "body.name: is required"),
		post("readOnly that is sent is checked", "/pets", `{"id":"x","name":"Rex","password":"p"}`, 422, "body.id"),
		post("allOf, $ref'd, nested and array", "/owners",
			`{"name":"Ann","pin":"1","address":{"street":"Main"},"pets":[`+pet+`]}`, 201),
		post("nested required still required", "/owners",
			`{"name":"Ann","pin":"1","address":{},"pets":[]}`, 422, "body.address.street: is required"),
		post("array items' writeOnly still required", "/owners",
			`{"name":"Ann","pin":"1","address":{"street":"Main"},"pets":[{"name":"Rex"}]}`, 422, "body.pets.0.password: is required"),
		post("oneOf alternative", "/shapes", `{"kind":"square","side":2}`, 201),
	})
	runCases(t, "testdata/readonly2.yaml", []reqCase{
		post("swagger 2.0 readOnly", "/pets", `{"name":"Rex"}`, 201),
		post("swagger 2.0 required", "/pets", `{}`, 422, "body.name: is required"),
	})
}
