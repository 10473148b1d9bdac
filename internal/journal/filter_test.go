package journal

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFilter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		query string
		want  Filter
	}{
		{"", Filter{}},
		{"method=get&path=/users/*&stub=get-user&status=404&limit=20",
			Filter{Method: "get", Path: "/users/*", Stub: "get-user", Status: ptr(404), Limit: 20}},
		{"stub=-", Filter{Stub: Unmatched}},
		{"path=*", Filter{Path: "*"}},
		{"method=M-SEARCH", Filter{Method: "M-SEARCH"}},
		{"status=100", Filter{Status: ptr(100)}},
		{"status=599", Filter{Status: ptr(599)}},
		{"status=0", Filter{Status: ptr(0)}},
		{"limit=0", Filter{}},
		{"since=2025-05-31T10:00:00Z", Filter{Since: time.Date(2025, 5, 31, 10, 0, 0, 0, time.UTC)}},
		{"since=2025-05-31T12:00:00.5%2B02:00", Filter{Since: time.Date(2025, 5, 31, 10, 0, 0, 5e8, time.UTC)}},
		{"since=5m", Filter{Since: now.Add(-5 * time.Minute)}},
		{"since=1h30m&until=10s", Filter{Since: now.Add(-90 * time.Minute), Until: now.Add(-10 * time.Second)}},
		{"since=0s", Filter{Since: now}},
		{"until=2025-06-01T00:00:00Z", Filter{Until: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}},
		{"since=2025-06-01T00:00:00Z&until=2025-06-01T00:00:00Z",
			Filter{Since: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}},
		{"status=&method=&limit=", Filter{}},
		{"status=201&status=abc", Filter{Status: ptr(201)}},
		{"grpcStatus=0", Filter{GRPCStatus: ptr(0)}},
		{"grpcStatus=3", Filter{GRPCStatus: ptr(3)}},
		{"grpcStatus=NOT_FOUND", Filter{GRPCStatus: ptr(5)}},
		{"grpcStatus=NotFound&status=200", Filter{GRPCStatus: ptr(5), Status: ptr(200)}},
		{"grpcStatus=unavailable", Filter{GRPCStatus: ptr(14)}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseFilter(q, now)
			if err != nil {
				t.Fatalf("parseFilter: %v", err)
			}
			if !filtersEqual(got, tt.want) {
				t.Errorf("parseFilter = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func filtersEqual(a, b Filter) bool {
	if !sameInt(a.GRPCStatus, b.GRPCStatus) || !sameInt(a.Status, b.Status) {
		return false
	}
	return a.Method == b.Method && a.Path == b.Path && a.Stub == b.Stub &&
		a.Since.Equal(b.Since) && a.Until.Equal(b.Until) && a.Limit == b.Limit
}

// sameInt: both unset, or both set to one value.
func sameInt(a, b *int) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func TestParseFilterErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query string
		param string
		msg   string
	}{
		{"status=abc", "status", "status: must be an integer 100-599, or 0 for requests that got no answer"},
		{"status=99", "status", "status: must be an integer 100-599, or 0 for requests that got no answer"},
		{"status=3", "status", "status: must be an integer 100-599, or 0 for requests that got no answer (a gRPC call's status code is grpcStatus)"},
		{"grpcStatus=17", "grpcStatus", "grpcStatus: must be a gRPC status code, a number 0-16 or a name such as NOT_FOUND"},
		{"grpcStatus=NOPE", "grpcStatus", "grpcStatus: must be a gRPC status code, a number 0-16 or a name such as NOT_FOUND"},
		{"status=600", "status", "status: must be an integer 100-599, or 0 for requests that got no answer"},
		{"status=2.5", "status", "status: must be an integer 100-599, or 0 for requests that got no answer"},
		{"status=99999999999999999999", "status", "status: must be an integer 100-599, or 0 for requests that got no answer"},
		{"limit=-1", "limit", "limit: must be a non-negative integer"},
		{"limit=ten", "limit", "limit: must be a non-negative integer"},
		{"since=yesterday", "since", "since: must be an RFC 3339 time or a duration such as 5m"},
		{"since=-5m", "since", "since: must be an RFC 3339 time or a duration such as 5m"},
		{"since=2025-06-01", "since", "since: must be an RFC 3339 time or a duration such as 5m"},
		{"until=5", "until", "until: must be an RFC 3339 time or a duration such as 5m"},
		{"since=1m&until=5m", "until", "until: must not be before since"},
		{"method=GET%20X", "method", "method: must be an HTTP method such as GET"},
		{"method=G:ET", "method", "method: must be an HTTP method such as GET"},
		{"path=users", "path", "path: must start with '/' (end it with '*' to match a prefix)"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			f, err := ParseFilter(q)
			var pe *ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseFilter = %+v, %v; want a *ParamError", f, err)
			}
			if pe.Param != tt.param || err.Error() != tt.msg {
				t.Errorf("error = %q (param %q), want %q (param %q)", err, pe.Param, tt.msg, tt.param)
			}
			if !filtersEqual(f, Filter{}) {
				t.Errorf("filter = %+v alongside an error, want the zero Filter", f)
			}
		})
	}
}

func TestParseFilterUnknown(t *testing.T) {
	t.Parallel()
	q, _ := url.ParseQuery("stubs=x&limit=1&Status=200")
	_, err := ParseFilter(q)
	var ue *UnknownParamsError
	if !errors.As(err, &ue) || !slices.Equal(ue.Params, []string{"Status", "stubs"}) {
		t.Fatalf("ParseFilter = %v, want an *UnknownParamsError naming Status and stubs", err)
	}
	if want := "unknown query parameter(s) Status, stubs; known: grpcStatus, limit, method, path, since, status, stub, until"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func FuzzParseFilter(f *testing.F) {
	f.Add("GET", "/users/*", "s1", "200", "5m", "", "10")
	f.Add("", "*", "-", "", "2025-01-01T00:00:00Z", "2025-01-02T00:00:00+01:00", "0")
	f.Add("get", "/", "", "99", "-1h", "x", "-3")
	f.Add("M\x00", "users", "", "1e3", "9999999999h", "1ns", "99999999999999999999")
	j := New(8, 16)
	for _, r := range realistic() {
		j.Add(r)
	}
	params := []string{"method", "path", "stub", "status", "since", "until", "limit"}
	f.Fuzz(func(t *testing.T, method, path, stub, status, since, until, limit string) {
		q := url.Values{}
		for i, v := range []string{method, path, stub, status, since, until, limit} {
			q.Set(params[i], v)
		}
		flt, err := ParseFilter(q)
		if err != nil {
			var pe *ParamError
			if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), pe.Param+": ") {
				t.Fatalf("error %v is not a ParamError naming its parameter", err)
			}
			return
		}
		if st := flt.Status; st != nil && *st != 0 && (*st < 100 || *st > 599) {
			t.Errorf("Status = %d accepted", *st)
		}
		if flt.Limit < 0 {
			t.Errorf("Limit = %d accepted", flt.Limit)
		}
		es := j.Find(flt)
		if flt.Limit > 0 && len(es) > flt.Limit {
			t.Errorf("Find returned %d entries, above Limit %d", len(es), flt.Limit)
		}
	})
}

// FuzzRecord feeds arbitrary request parts through Add and Find.
func FuzzRecord(f *testing.F) {
	f.Add("GET", "/a?b#c", "Host: x\r\n  folded\r\n:path: /\r\n", []byte("body\xc3"), "/a*")
	f.Add("", "http://h", ":\r\n\n", []byte{0xff}, "*")
	f.Fuzz(func(t *testing.T, method, uri, headers string, body []byte, path string) {
		j := New(2, 4)
		j.Add(&Record{Method: []byte(method), URI: []byte(uri), Headers: []byte(headers), Body: body})
		es := j.Find(Filter{Method: method, Path: path})
		for _, e := range es {
			kept := body[:min(len(body), 4)]
			switch e.BodyEncoding {
			case "base64":
				if e.Body == "" {
					t.Errorf("empty base64 body")
				}
			case "":
				if !strings.HasPrefix(string(kept), e.Body) {
					t.Errorf("Body %q is not a prefix of %q", e.Body, kept)
				}
			default:
				t.Errorf("BodyEncoding %q", e.BodyEncoding)
			}
			if !strings.HasPrefix(e.URI, e.Path) && !strings.Contains(e.URI, "://") {
				t.Errorf("Path %q not in URI %q", e.Path, e.URI)
			}
		}
	})
}
