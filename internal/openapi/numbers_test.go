package openapi_test

import (
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/openapi"
)

// TestIntegerRanges: format int64 and int32 refuse what does not fit in
// them, a plain integer is any integer, and bounds, multipleOf and
// formats compare exactly, not as float64 (2^53 + 1 is not 2^53).
func TestIntegerRanges(t *testing.T) {
	t.Parallel()
	get := func(name, query string, status int, contains ...string) reqCase {
		return reqCase{name: name, method: "GET", path: "/n?" + query, status: status, contains: contains}
	}
	post := func(name, body string, status int, contains ...string) reqCase {
		return reqCase{name: name, method: "POST", path: "/n", headers: map[string]string{"Content-Type": "application/json"}, body: body, status: status, contains: contains}
	}
	form := func(name, body string, status int, contains ...string) reqCase {
		c := post(name, body, status, contains...)
		c.headers["Content-Type"] = "application/x-www-form-urlencoded"
		return c
	}
	const (
		i64msg = `must fit format int64 (-9223372036854775808 to 9223372036854775807)`
		i32msg = `must fit format int32 (-2147483648 to 2147483647)`
	)
	tests := []reqCase{
		get("int64 largest", "i64=9223372036854775807", 204),
		get("int64 smallest", "i64=-9223372036854775808", 204),
		get("int64 one past", "i64=9223372036854775808", 400, `query.i64: `+i64msg),
		get("int64 one under", "i64=-9223372036854775809", 400, `query.i64: `+i64msg),
		get("int64 far past", "i64=99999999999999999999", 400, `query.i64: `+i64msg),
		get("int64 written with an exponent", "i64=1e3", 204),
		get("int64 exponent past", "i64=1e19", 400, `query.i64: `+i64msg),
		get("int32 largest", "i32=2147483647", 204),
		get("int32 one past", "i32=2147483648", 400, `query.i32: `+i32msg),
		get("int32 one under", "i32=-2147483649", 400, `query.i32: `+i32msg),
		get("int32 with its own minimum", "i32min=2147483648", 400, `query.i32min: `+i32msg),
		get("int32 own minimum still checked", "i32min=-1", 400, `query.i32min: must be >= 0`),
		get("integer without format: any size", "big=99999999999999999999999999999", 204),
		get("integer without format: exponent", "big=1e400", 204),
		get("integer without format: still an integer", "big=1.5", 400, `query.big: expected integer, got number`),
		get("maximum 2^53 exact", "capped=9007199254740992", 204),
		get("maximum 2^53 plus one", "capped=9007199254740993", 400, `query.capped: must be <= 9007199254740992`),
		get("number maximum exact", "x=0.3", 204),
		get("number past its maximum by 1e-17", "x=0.30000000000000001", 400, `query.x: must be <= 0.3`),
		get("number exponent too large to check", "x=1e10000000", 400, `query.x: the number 1e10000000 has an exponent beyond ±1000`),
		get("array items int64", "ids=1&ids=9223372036854775808", 400, `query.ids.1: `+i64msg),
		get("string of format int64 is a string", "sid=abc", 204),
		post("body int64 largest", `{"i64":9223372036854775807}`, 204),
		post("body int64 one past", `{"i64":9223372036854775808}`, 422, `body.i64: `+i64msg),
		post("body int32 one past", `{"i32":2147483648}`, 422, `body.i32: `+i32msg),
		post("body integer without format", `{"big":123456789012345678901234567890}`, 204),
		post("body maximum 2^64-1 exact", `{"max":18446744073709551615}`, 204),
		post("body maximum 2^64-1 plus one", `{"max":18446744073709551616}`, 422, `body.max: must be <= 18446744073709551615`),
		post("body multipleOf exact", `{"mult":100000000000000000010}`, 204),
		post("body multipleOf off by one past 2^53", `{"mult":100000000000000000001}`, 422, `body.mult`),
		post("body exponent too large to check", `{"x":1e10000000}`, 422, `body.x: the number 1e10000000 has an exponent beyond ±1000`),
		post("body exponent too large anywhere", `{"any":[1,{"y":-2E+99999}]}`, 422, `body.any.1.y: the number -2E+99999 has an exponent beyond ±1000`),
		post("body small exponent", `{"x":1e-5,"any":1e300}`, 204),
		form("form int64 one past", "i64=9223372036854775808", 422, `body.i64: `+i64msg),
		form("form integer without format", "big=99999999999999999999", 204),
	}
	runCases(t, "testdata/numbers.yaml", tests)
}

// TestHugeExponentInExample: a document's example holding a number the
// validator cannot read is an example that is not served, with a
// warning that says why, not a path item that fails to build.
func TestHugeExponentInExample(t *testing.T) {
	t.Parallel()
	doc := `{"openapi":"3.0.3","info":{"title":"n","version":"1"},"paths":{"/n":{"get":{"responses":{"200":{"description":"ok",
"content":{"application/json":{"schema":{"type":"object","properties":{"x":{"type":"number","maximum":5}}},"example":{"x":1e10000000}}}}}}}}}`
	res, err := openapi.Load("huge.json", []byte(doc), openapi.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, w := range res.Warnings {
		found = found || strings.Contains(w, "the number 1e10000000 has an exponent beyond ±1000")
	}
	if !found {
		t.Errorf("no warning about the number: %q", res.Warnings)
	}
}
