package engine

import (
	"reflect"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/stub"
)

const formType = "application/x-www-form-urlencoded; charset=utf-8"

// formStub is POST / answering when the form field Action is action.
func formStub(id, action string) stub.Stub {
	return withID(id, stub.Stub{Request: stub.Request{Method: "POST", Path: "/",
		Body: &stub.BodyMatcher{Form: map[string]stub.StringMatcher{"Action": eq(action)}}}})
}

// paramStub is POST / answering when Action, in the query or a form
// body, is action.
func paramStub(id, action string) stub.Stub {
	return withID(id, stub.Stub{Request: stub.Request{Method: "POST", Path: "/",
		Query: map[string]stub.StringMatcher{"Action": eq(action)}, QueryOrForm: true}})
}

func TestMatchFormFields(t *testing.T) {
	t.Parallel()
	type S = map[string]string
	form := S{"Content-Type": formType}
	var forms, params []stub.Stub
	for _, a := range []string{"AssumeRole", "GetCallerIdentity", "GetSessionToken", "DecodeAuthorizationMessage", "GetAccessKeyInfo"} {
		forms = append(forms, formStub("form:"+a, a))
		params = append(params, paramStub("param:"+a, a))
	}
	tests := []struct {
		name  string
		stubs []stub.Stub
		r     rq
		want  string
	}{
		{"form field", forms, rq{method: "POST", header: form, body: "Action=GetSessionToken&Version=2011-06-15"}, "form:GetSessionToken"},
		{"form field, last stub", forms, rq{method: "POST", header: form, body: "Version=2011-06-15&Action=GetAccessKeyInfo"}, "form:GetAccessKeyInfo"},
		{"no such action", forms, rq{method: "POST", header: form, body: "Action=Nope"}, ""},
		{"not a form", forms, rq{method: "POST", header: S{"Content-Type": "text/plain"}, body: "Action=AssumeRole"}, ""},
		{"query does not count for body.form", forms, rq{method: "POST", query: S{"Action": "AssumeRole"}}, ""},
		{"queryOrForm: form body (indexed)", params, rq{method: "POST", header: form, body: "Action=GetCallerIdentity&Version=2011-06-15"}, "param:GetCallerIdentity"},
		{"queryOrForm: query", params, rq{method: "POST", query: S{"Action": "AssumeRole"}}, "param:AssumeRole"},
		{"queryOrForm: the query wins", params, rq{method: "POST", query: S{"Action": "AssumeRole"}, header: form, body: "Action=GetSessionToken"}, "param:AssumeRole"},
		{"queryOrForm: the first form value", params, rq{method: "POST", header: form, body: "Action=GetSessionToken&Action=AssumeRole"}, "param:GetSessionToken"},
		{"queryOrForm: multipart", params, rq{method: "POST", header: S{"Content-Type": "multipart/form-data; boundary=b"},
			body: "--b\r\nContent-Disposition: form-data; name=\"Action\"\r\n\r\nGetSessionToken\r\n--b--\r\n"}, "param:GetSessionToken"},
		{"queryOrForm: neither", params, rq{method: "POST", header: form, body: "Version=1"}, ""},
		{"queryOrForm: one stub (not indexed)", params[:1], rq{method: "POST", header: form, body: "Action=AssumeRole"}, "param:AssumeRole"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := mustCompile(t, srcs(tt.stubs...))
			r := tt.r.req()
			got := snap.Match(r)
			if matchedID(got) != tt.want {
				t.Fatalf("matched %q, want %q", matchedID(got), tt.want)
			}
			if want := scanMatch(snap, tt.r.req()); got != want {
				t.Errorf("the index matched %q, trying every stub matches %q", matchedID(got), matchedID(want))
			}
		})
	}
}

// ctypeCounter counts the Content-Type lookups: the form is parsed
// after one.
type ctypeCounter struct {
	fields
	contentType *int
}

func (f ctypeCounter) Header(name string) (string, bool) {
	if strings.EqualFold(name, "Content-Type") {
		*f.contentType++
	}
	return f.fields.Header(name)
}

func TestFormParsedOncePerRequest(t *testing.T) {
	t.Parallel()
	var stubs []stub.Stub
	for _, a := range []string{"A", "B", "C", "D", "E", "F"} {
		stubs = append(stubs, formStub("f"+a, a))
	}
	// Below the index threshold on their own path, so each is tried.
	stubs = append(stubs, withID("p", stub.Stub{Request: stub.Request{Method: "POST", PathPrefix: "/",
		Query: map[string]stub.StringMatcher{"Action": eq("Z")}, QueryOrForm: true}}))
	snap := mustCompile(t, srcs(stubs...))
	for _, tc := range []struct{ body, want string }{{"Action=F", "fF"}, {"Action=Z", "p"}, {"Action=none", ""}} {
		n := 0
		r := &Request{Method: "POST", Path: "/", Body: []byte(tc.body),
			Fields: ctypeCounter{fields{header: map[string]string{"Content-Type": formType}}, &n}}
		if got := matchedID(snap.Match(r)); got != tc.want {
			t.Errorf("%s: matched %q, want %q", tc.body, got, tc.want)
		}
		if n != 1 {
			t.Errorf("%s: Content-Type looked up %d times, want 1 (the form parsed once)", tc.body, n)
		}
		// A new body in the same Request (a front door that reads the
		// body after a first match) is parsed anew.
		r.Body = []byte("Action=A")
		if got := matchedID(snap.Match(r)); got != "fA" {
			t.Errorf("after a new body: matched %q, want fA", got)
		}
	}
}

func TestExplainFormFields(t *testing.T) {
	t.Parallel()
	type M = map[string]stub.StringMatcher
	s := withID("sts", stub.Stub{Request: stub.Request{Method: "POST", Path: "/",
		Body: &stub.BodyMatcher{Form: M{"Action": eq("AssumeRole"), "Version": {Regex: "^2011"}, "RoleArn": {Present: true}}}}})
	q := withID("q", stub.Stub{Request: stub.Request{Method: "POST", Path: "/",
		Query: M{"Action": eq("AssumeRole")}, QueryOrForm: true}})
	snap := mustCompile(t, srcs(s, q))
	r := rq{method: "POST", header: map[string]string{"Content-Type": formType}, body: "Action=GetCallerIdentity&Version=2012-01-01&RoleArn=x"}.req()
	got := map[string][]string{}
	for _, m := range snap.Explain(r, 5) {
		got[m.Stub] = m.Reasons
	}
	want := map[string][]string{
		"sts": {`form field Action is "GetCallerIdentity", want "AssumeRole"`, `form field Version is "2012-01-01", want it to match /^2011/`},
		"q":   {`query parameter (or form field) Action is "GetCallerIdentity", want "AssumeRole"`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reasons = %q, want %q", got, want)
	}
}

func TestCompileFormErrors(t *testing.T) {
	t.Parallel()
	type M = map[string]stub.StringMatcher
	_, errs := Compile(srcs(
		stub.Stub{Request: stub.Request{Path: "/a", QueryOrForm: true}},
		stub.Stub{Request: stub.Request{Path: "/b", Body: &stub.BodyMatcher{Form: M{"a": eq("1")}, JSON: map[string]any{"a": 1}}}},
	))
	var got []string
	for _, e := range errs {
		got = append(got, e.Field)
	}
	if want := []string{"request.queryOrForm", "request.body.form"}; !reflect.DeepEqual(got, want) {
		t.Errorf("errors at %q, want %q (%v)", got, want, errs)
	}
}

func TestIndexQueryOrForm(t *testing.T) {
	t.Parallel()
	var stubs []stub.Stub
	for _, a := range []string{"A", "B", "C", "D"} {
		stubs = append(stubs, paramStub(a, a))
	}
	snap := mustCompile(t, srcs(stubs...))
	ix := snap.exact["/"].ix
	if ix == nil || ix.field != (field{fieldParam, "Action"}) {
		t.Fatalf("index = %+v, want one of query-or-form field Action", ix)
	}
}
