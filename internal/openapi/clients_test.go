package openapi_test

import (
	"bytes"
	"testing"
)

// TestParamSerializations: query parameters as real clients serialize
// them (qs and axios, URLSearchParams, Python's requests) are accepted,
// and the same requests with a wrong value are still refused.
func TestParamSerializations(t *testing.T) {
	t.Parallel()
	get := func(name, path string, status int, contains ...string) reqCase {
		return reqCase{name: name, method: "GET", path: path, status: status, contains: contains}
	}
	tests := []reqCase{
		// allowEmptyValue (OpenAPI 3.0.3, Parameter Object).
		get("allowEmptyValue integer", "/empty?limit=", 204),
		get("allowEmptyValue boolean without =", "/empty?flag", 204),
		get("allowEmptyValue string under minLength", "/empty?s=", 204),
		get("allowEmptyValue still typed", "/empty?limit=x", 400, `query.limit: expected integer, got string`),
		get("empty without allowEmptyValue", "/empty?n=", 400, `query.n: expected integer, got string`),
		// deepObject: nested values typed by their schema; arrays as qs writes them.
		get("deepObject nested (qs)", "/deep?filter%5Brange%5D%5Bmin%5D=1&filter%5Brange%5D%5Bmax%5D=2.5", 204),
		get("deepObject nested bound", "/deep?filter[range][max]=200", 400, `query.filter.range.max: must be <= 100`),
		get("deepObject nested not integer", "/deep?filter[range][min]=x", 400, `query.filter.range.min: expected integer, got string`),
		get("deepObject qs indices (axios default)", "/deep?filter%5Bids%5D%5B0%5D=1&filter%5Bids%5D%5B1%5D=2&filter%5Btags%5D%5B0%5D=a", 204),
		get("deepObject qs brackets", "/deep?filter[ids][]=1&filter[ids][]=2&filter[n]=3&filter[on]=true", 204),
		get("deepObject qs repeat", "/deep?filter[ids]=1&filter[ids]=2", 204),
		get("deepObject qs comma", "/deep?filter[ids]=1,2", 204),
		get("deepObject array item", "/deep?filter[ids][]=1&filter[ids][]=20", 400, `query.filter.ids.1: must be <= 10`),
		get("deepObject array too long", "/deep?filter[tags][0]=a&filter[tags][1]=b&filter[tags][2]=c", 400, `query.filter.tags`),
		get("deepObject array of objects", "/deep?filter[points][0][lat]=1&filter[points][0][lon]=2&filter[points][1][lat]=3", 204),
		get("deepObject array of objects item", "/deep?filter[points][0][lat]=1&filter[points][1][lat]=91", 400, `query.filter.points.1.lat: must be <= 90`),
		get("deepObject array of objects required", "/deep?filter[points][0][lon]=1", 400, `query.filter.points.0.lat: is required`),
		get("deepObject allOf", "/deep?filter[more][lat]=1&filter[more][alt]=2", 204),
		get("deepObject allOf typed", "/deep?filter[more][lat]=1&filter[more][alt]=x", 400, `query.filter.more.alt: expected integer, got string`),
		get("deepObject unknown", "/deep?filter[x]=1", 400, `query.filter: unexpected x`),
		get("deepObject too deep", "/deep?filter"+deepKey(40)+"=1", 400, `nested deeper than 32`),
	}
	runCases(t, "testdata/clients.yaml", tests)
}

// deepKey is [a][a]... n times.
func deepKey(n int) string {
	var b bytes.Buffer
	for range n {
		b.WriteString("[a]")
	}
	return b.String()
}

// TestCollectionFormatsPathHeader: Swagger 2.0 collectionFormat on path
// and header parameters, and allowEmptyValue.
func TestCollectionFormatsPathHeader(t *testing.T) {
	t.Parallel()
	get := func(name, path string, hdr map[string]string, status int, contains ...string) reqCase {
		return reqCase{name: name, method: "GET", path: path, headers: hdr, status: status, contains: contains}
	}
	tests := []reqCase{
		get("path pipes", "/h/1|2", nil, 204),
		get("path pipes item", "/h/1|20", nil, 400, `path.ids.1: must be <= 10`),
		get("header pipes", "/h/1", map[string]string{"X-Pipes": "1|2"}, 204),
		get("header pipes item", "/h/1", map[string]string{"X-Pipes": "1|20"}, 400, `header.X-Pipes.1: must be <= 10`),
		get("header ssv", "/h/1", map[string]string{"X-Ssv": "1 2"}, 204),
		get("allowEmptyValue", "/h/1?e=", nil, 204),
		get("allowEmptyValue typed", "/h/1?e=x", nil, 400, `query.e: expected integer`),
	}
	runCases(t, "testdata/clients2.yaml", tests)
}
