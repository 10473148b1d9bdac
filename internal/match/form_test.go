package match

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/stub"
)

const formCT = "application/x-www-form-urlencoded"

func TestParseForm(t *testing.T) {
	t.Parallel()
	const mp = "--XyZ\r\n" +
		"Content-Disposition: form-data; name=\"Action\"\r\n\r\n" +
		"AssumeRole\r\n" +
		"--XyZ\r\n" +
		"Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n" +
		"Content-Type: text/plain\r\n\r\n" +
		"file bytes\r\n" +
		"--XyZ\r\n" +
		"Content-Disposition: form-data; name=\"note\"\r\n\r\n" +
		"two\r\nlines\r\n" +
		"--XyZ--\r\n"
	type F = []FormField
	tests := []struct {
		name, ct, body string
		want           F
		why            string // a substring of Why; "" for a form
	}{
		{"simple", formCT, "Action=AssumeRole&Version=2011-06-15", F{{"Action", "AssumeRole"}, {"Version", "2011-06-15"}}, ""},
		{"charset parameter, any case", "Application/X-WWW-Form-URLEncoded; charset=utf-8", "a=1", F{{"a", "1"}}, ""},
		{"plus is a space", formCT, "q=a+b&c+d=e", F{{"q", "a b"}, {"c d", "e"}}, ""},
		{"percent decoding", formCT, "a=%2B%26%3d%C3%A9&%41=x", F{{"a", "+&=é"}, {"A", "x"}}, ""},
		{"encoded plus is a plus", formCT, "a=1%2B1", F{{"a", "1+1"}}, ""},
		{"bad escapes stay", formCT, "a=%&b=%4&c=%zz&d=100%", F{{"a", "%"}, {"b", "%4"}, {"c", "%zz"}, {"d", "100%"}}, ""},
		{"repeated field", formCT, "t=a&t=b", F{{"t", "a"}, {"t", "b"}}, ""},
		{"no equals sign", formCT, "flag&a=", F{{"flag", ""}, {"a", ""}}, ""},
		{"empty segments skipped", formCT, "&&a=1&&", F{{"a", "1"}}, ""},
		{"value with equals", formCT, "a=b=c", F{{"a", "b=c"}}, ""},
		{"semicolon is not a separator", formCT, "a=1;b=2", F{{"a", "1;b=2"}}, ""},
		{"empty body", formCT, "", nil, ""},
		{"multipart text fields", "multipart/form-data; boundary=XyZ", mp, F{{"Action", "AssumeRole"}, {"note", "two\r\nlines"}}, ""},
		{"multipart without boundary", "multipart/form-data", mp, nil, "no boundary"},
		{"multipart cut short", "multipart/form-data; boundary=XyZ", mp[:60], nil, "decoy can read: unexpected EOF"},
		{"json is not a form", "application/json", "a=1", nil, `Content-Type is "application/json"`},
		{"no content type", "", "a=1", nil, "no Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := ParseForm(tt.ct, []byte(tt.body))
			if got := f.Fields(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("fields = %q, want %q", got, tt.want)
			}
			if why := f.Why(); tt.why == "" && why != "" || !strings.Contains(why, tt.why) {
				t.Errorf("Why() = %q, want it to contain %q", why, tt.why)
			}
		})
	}
}

func TestFormOf(t *testing.T) {
	t.Parallel()
	body := []byte("a=1")
	f := ParseForm(formCT, body)
	if !f.Of(body) {
		t.Error("Of(the same body) = false")
	}
	if f.Of([]byte("a=1")) {
		t.Error("Of(an equal copy) = true: a reused Request would keep the old body's form")
	}
	if f.Of(body[:2]) {
		t.Error("Of(a shorter body) = true")
	}
	if !ParseForm(formCT, nil).Of(nil) {
		t.Error("Of(nil) = false for a form of nil")
	}
}

func TestBodyForm(t *testing.T) {
	t.Parallel()
	eq := stub.Eq
	type M = map[string]stub.StringMatcher
	tests := []struct {
		name string
		m    stub.BodyMatcher
		ct   string
		body string
		want []string // WhyForm's reasons; nil when it matches
	}{
		{"equals", stub.BodyMatcher{Form: M{"Action": eq("AssumeRole")}}, formCT, "Version=1&Action=AssumeRole", nil},
		{"decoded value", stub.BodyMatcher{Form: M{"RoleArn": eq("arn:aws:iam::1:role/a b")}}, formCT, "RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa+b", nil},
		{"wrong value", stub.BodyMatcher{Form: M{"Action": eq("AssumeRole")}}, formCT, "Action=GetCallerIdentity",
			[]string{`form field Action is "GetCallerIdentity", want "AssumeRole"`}},
		{"missing", stub.BodyMatcher{Form: M{"Action": eq("AssumeRole")}}, formCT, "Version=1",
			[]string{"form field Action is missing"}},
		{"not a form", stub.BodyMatcher{Form: M{"Action": eq("AssumeRole")}}, "application/json", `{"Action":"AssumeRole"}`,
			[]string{`form field Action is missing: body is not a form (Content-Type is "application/json")`}},
		{"regex", stub.BodyMatcher{Form: M{"Version": {Regex: "^2011"}}}, formCT, "Version=2011-06-15", nil},
		{"ignoreCase", stub.BodyMatcher{Form: M{"a": {Equals: sp("X"), IgnoreCase: true}}}, formCT, "a=x", nil},
		{"contains", stub.BodyMatcher{Form: M{"a": {Contains: "ell"}}}, formCT, "a=hello", nil},
		{"present with empty value", stub.BodyMatcher{Form: M{"a": {Present: true}}}, formCT, "a=", nil},
		{"absent", stub.BodyMatcher{Form: M{"a": {Absent: true}}}, formCT, "b=1", nil},
		{"absent on a body that is no form", stub.BodyMatcher{Form: M{"a": {Absent: true}}}, "text/plain", "a=1", nil},
		{"absent but there", stub.BodyMatcher{Form: M{"a": {Absent: true}}}, formCT, "a=1&a=2",
			[]string{"form field a is present but must be absent"}},
		{"any value of a repeated field", stub.BodyMatcher{Form: M{"t": eq("b")}}, formCT, "t=a&t=b", nil},
		{"no value of a repeated field", stub.BodyMatcher{Form: M{"t": eq("c")}}, formCT, "t=a&t=b&t=d",
			[]string{`form field t is "a", want "c" (nor do its 2 other values)`}},
		{"names are case-sensitive", stub.BodyMatcher{Form: M{"action": eq("x")}}, formCT, "Action=x",
			[]string{"form field action is missing"}},
		{"every failing field is reported", stub.BodyMatcher{Form: M{"a": eq("1"), "b": eq("2"), "c": eq("3")}}, formCT, "a=0&c=3",
			[]string{`form field a is "0", want "1"`, "form field b is missing"}},
		{"multipart text field", stub.BodyMatcher{Form: M{"n": eq("v")}}, "multipart/form-data; boundary=b",
			"--b\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\nv\r\n--b--\r\n", nil},
		{"multipart file part is not a field", stub.BodyMatcher{Form: M{"n": {Present: true}}}, "multipart/form-data; boundary=b",
			"--b\r\nContent-Disposition: form-data; name=\"n\"; filename=\"n.txt\"\r\n\r\nv\r\n--b--\r\n",
			[]string{"form field n is missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, errs := CompileBody(tt.m)
			if errs != nil {
				t.Fatal(errs)
			}
			if !b.NeedsForm() {
				t.Fatal("NeedsForm() = false")
			}
			f := ParseForm(tt.ct, []byte(tt.body))
			if got := b.MatchForm(f); got != (tt.want == nil) {
				t.Errorf("MatchForm = %v, want %v", got, tt.want == nil)
			}
			if got := b.WhyForm(f); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("WhyForm = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCompileBodyFormErrors(t *testing.T) {
	t.Parallel()
	type M = map[string]stub.StringMatcher
	tests := []struct {
		name string
		m    stub.BodyMatcher
		want []stub.FieldError
	}{
		{"no fields", stub.BodyMatcher{Form: M{}}, []stub.FieldError{{Field: "form", Msg: "no fields: give a matcher for at least one field (e.g. form: {Action: AssumeRole})"}}},
		{"with json", stub.BodyMatcher{Form: M{"a": stub.Eq("1")}, JSON: map[string]any{"a": 1}},
			[]stub.FieldError{{Field: "form", Msg: "a body is a form or JSON, not both: drop form, or json and jsonPath"}}},
		{"with jsonPath", stub.BodyMatcher{Form: M{"a": stub.Eq("1")}, JSONPath: []stub.JSONPathMatcher{{Path: "$.a"}}},
			[]stub.FieldError{{Field: "form", Msg: "a body is a form or JSON, not both: drop form, or json and jsonPath"}}},
		{"bad regex", stub.BodyMatcher{Form: M{"a": {Regex: "("}}},
			[]stub.FieldError{{Field: "form.a.regex", Msg: "bad regular expression: missing closing ): \"(\""}}},
		{"empty matcher", stub.BodyMatcher{Form: M{"a": {}}},
			[]stub.FieldError{{Field: "form.a", Msg: "empty matcher: give a value, or one of equals, contains, regex, present, absent"}}},
		{"with contains is fine", stub.BodyMatcher{Form: M{"a": stub.Eq("1")}, Contains: "a="}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, errs := CompileBody(tt.m)
			if !reflect.DeepEqual(errs, tt.want) {
				t.Errorf("errors = %q, want %q", errs, tt.want)
			}
		})
	}
}

// FuzzParseForm parses fuzzed bodies as both kinds of form. Nothing may
// panic; a urlencoded body that net/url reads without error gives the
// same fields; and MatchForm and WhyForm agree.
func FuzzParseForm(f *testing.F) {
	f.Add("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx", "b")
	f.Add("a=%&b=%4&+=+&&=&%zz", "b")
	f.Add("--b\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\nv\r\n--b--\r\n", "b")
	f.Add("--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=41\r\n--b--", "b")
	f.Fuzz(func(t *testing.T, body, boundary string) {
		if len(body) > 8192 {
			return
		}
		u := ParseForm(formCT, []byte(body))
		if q, err := url.ParseQuery(body); err == nil {
			got := url.Values{}
			for _, fl := range u.Fields() {
				got[fl.Name] = append(got[fl.Name], fl.Value)
			}
			if len(q) == 0 {
				q = url.Values{}
			}
			if !reflect.DeepEqual(got, q) {
				t.Fatalf("fields %v, net/url reads %v", got, q)
			}
		}
		m := ParseForm("multipart/form-data; boundary=\""+strings.ReplaceAll(boundary, `"`, "")+"\"", []byte(body))
		b, errs := CompileBody(stub.BodyMatcher{Form: map[string]stub.StringMatcher{"n": {Present: true}, "a": {Absent: true}}})
		if errs != nil {
			t.Fatal(errs)
		}
		for _, form := range []*Form{u, m} {
			if ok, why := b.MatchForm(form), b.WhyForm(form); ok != (len(why) == 0) {
				t.Fatalf("MatchForm = %v but WhyForm = %q", ok, why)
			}
		}
	})
}
