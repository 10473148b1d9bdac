package journal

import (
	"bytes"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/decoy-dev/decoy/internal/stub"
)

// Filter selects entries in Find. Zero values mean "any"; an entry must
// match every field that is set.
type Filter struct {
	// Method matches the request method, case-insensitively.
	Method string
	// Path matches the URI's path part (raw, not percent-decoded) exactly,
	// or as a prefix when it ends in '*': "/users/*" matches "/users/42",
	// and "*" alone matches every path.
	Path string
	// Stub matches the id of the stub that answered; the special value "-"
	// matches unmatched requests only.
	Stub string
	// Status, when set, matches the response's HTTP status code (200 for
	// gRPC calls; 0 for a request that got no answer: a fault such as a
	// reset, or a close at shutdown).
	Status *int
	// GRPCStatus, when set, matches gRPC calls that ended with that
	// status code (0 OK, 5 NOT_FOUND, ...).
	GRPCStatus *int
	// Since and Until bound the request's start time: Since inclusive,
	// Until exclusive.
	Since, Until time.Time
	// Limit is the most entries returned, the newest; 0 (or less) means all.
	Limit int
}

// Unmatched is the Filter.Stub value selecting requests no stub answered.
const Unmatched = "-"

// ParamError is a malformed query parameter given to ParseFilter. The admin
// API reports it as a 400.
type ParamError struct {
	Param string // "status", "since", ...
	Msg   string // what the value must be
}

func (e *ParamError) Error() string { return e.Param + ": " + e.Msg }

// UnknownParamsError names the query parameters given to ParseFilter that
// it does not know: a typo such as "stubs" would otherwise select every
// entry. The admin API reports it as a 400.
type UnknownParamsError struct {
	Params []string // the unknown parameters, sorted
}

func (e *UnknownParamsError) Error() string {
	return "unknown query parameter(s) " + strings.Join(e.Params, ", ") + "; known: " + strings.Join(FilterParams, ", ")
}

// FilterParams are the query parameters ParseFilter reads, sorted.
var FilterParams = []string{"grpcStatus", "limit", "method", "path", "since", "status", "stub", "until"}

// ParseFilter reads a Filter from the query parameters method, path, stub,
// status, grpcStatus, since, until and limit (FilterParams); any other parameter is
// an *UnknownParamsError naming them all. Empty values are ignored. Of a repeated parameter only the first value counts. since
// and until are RFC 3339 times, or Go durations such as "5m" meaning "5
// minutes ago". A malformed value returns a *ParamError naming the
// parameter.
func ParseFilter(q url.Values) (Filter, error) {
	return parseFilter(q, time.Now())
}

// parseFilter is ParseFilter with "now" given, for durations.
func parseFilter(q url.Values, now time.Time) (Filter, error) {
	var unknown []string
	for k := range q {
		if _, ok := slices.BinarySearch(FilterParams, k); !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return Filter{}, &UnknownParamsError{Params: unknown}
	}
	var f Filter
	if v := q.Get("method"); v != "" {
		if !isToken(v) {
			return Filter{}, &ParamError{"method", "must be an HTTP method such as GET"}
		}
		f.Method = v
	}
	if v := q.Get("path"); v != "" {
		if v[0] != '/' && v != "*" {
			return Filter{}, &ParamError{"path", "must start with '/' (end it with '*' to match a prefix)"}
		}
		f.Path = v
	}
	f.Stub = q.Get("stub")
	if v := q.Get("status"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || (n != 0 && (n < 100 || n > 599)) {
			msg := "must be an integer 100-599, or 0 for requests that got no answer"
			if err == nil && n > 0 && n <= 16 {
				msg += " (a gRPC call's status code is grpcStatus)"
			}
			return Filter{}, &ParamError{"status", msg}
		}
		f.Status = &n
	}
	if v := q.Get("grpcStatus"); v != "" {
		c, err := stub.ParseGRPCCode(v)
		if err != nil {
			return Filter{}, &ParamError{"grpcStatus", "must be a gRPC status code, a number 0-16 or a name such as NOT_FOUND"}
		}
		n := int(c)
		f.GRPCStatus = &n
	}
	var err error
	if f.Since, err = parseTime("since", q.Get("since"), now); err != nil {
		return Filter{}, err
	}
	if f.Until, err = parseTime("until", q.Get("until"), now); err != nil {
		return Filter{}, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return Filter{}, &ParamError{"until", "must not be before since"}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return Filter{}, &ParamError{"limit", "must be a non-negative integer"}
		}
		f.Limit = n
	}
	return f, nil
}

// parseTime reads an RFC 3339 time, or a non-negative duration d meaning
// now minus d. An empty value is the zero time.
func parseTime(param, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, &ParamError{param, "must be an RFC 3339 time or a duration such as 5m"}
}

// isToken reports whether s is an HTTP token (RFC 9110, section 5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// matcher is a Filter prepared for matching slots under their locks without
// allocating.
type matcher struct {
	f      *Filter
	method []byte
	path   string // without the trailing '*' when prefix
	prefix bool
}

func newMatcher(f *Filter) matcher {
	m := matcher{f: f, path: f.Path}
	if f.Method != "" {
		m.method = []byte(f.Method)
	}
	if strings.HasSuffix(m.path, "*") {
		m.path, m.prefix = m.path[:len(m.path)-1], true
	}
	return m
}

func (m *matcher) match(v *stored) bool {
	f := m.f
	if f.Status != nil && v.status != *f.Status {
		return false
	}
	if f.GRPCStatus != nil && (!v.grpc || v.grpcStat != *f.GRPCStatus) {
		return false
	}
	switch f.Stub {
	case "":
	case Unmatched:
		if v.stub != "" {
			return false
		}
	default:
		if v.stub != f.Stub {
			return false
		}
	}
	if m.method != nil && !bytes.EqualFold(v.method, m.method) {
		return false
	}
	if !f.Since.IsZero() && v.start.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !v.start.Before(f.Until) {
		return false
	}
	if f.Path != "" {
		p := v.uri[pathStart(v.uri):pathEnd(v.uri)]
		if m.prefix {
			return len(p) >= len(m.path) && string(p[:len(m.path)]) == m.path
		}
		return string(p) == m.path
	}
	return true
}
