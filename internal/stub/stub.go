// Package stub defines decoy's stub model: what a request must look like to be
// answered by a stub (Request) and what decoy answers (Response). It is the
// native file format, decoded from YAML or JSON, and the shape the admin API
// accepts. It imports nothing else of decoy; the engine compiles it.
package stub

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// Stub is one mock: a request matcher and the response (or sequence of
// responses) it answers with.
type Stub struct {
	// ID names the stub in the admin API, the journal and error reports.
	// When empty, the loader derives one from the file name and position.
	ID string `json:"id,omitempty"`
	// Description is free text for humans.
	Description string `json:"description,omitempty"`
	// Priority orders stubs that match the same request: the lowest number
	// wins (1 before 5). Zero means the default, DefaultPriority.
	Priority int `json:"priority,omitempty"`
	// Request says which requests this stub answers.
	Request Request `json:"request"`
	// Response is what it answers. Exactly one of Response and Responses is set.
	Response *Response `json:"response,omitempty"`
	// Responses answer in turn: the first call gets Responses[0], the second
	// Responses[1], and so on; after the last, Sequence decides.
	Responses []Response `json:"responses,omitempty"`
	// Sequence is what happens after the last of Responses: "stick" (default)
	// keeps answering the last one, "repeat" starts again from the first.
	Sequence string `json:"sequence,omitempty"`
	// HTTPOnly keeps the stub from answering gRPC calls even when its path
	// names a gRPC method. Stubs made from an OpenAPI document have it:
	// the HTTP routes of Connect and grpc-gateway APIs are such paths
	// (POST /package.Service/Method), and the .proto files may be served
	// beside them. It is written out (httpOnly) so that such a stub read
	// from the admin API and sent back keeps it.
	HTTPOnly bool `json:"httpOnly,omitempty"`
}

// DefaultPriority is the priority of a stub that sets none.
const DefaultPriority = 5

// Sequence modes.
const (
	SequenceStick  = "stick"
	SequenceRepeat = "repeat"
)

// Request matches a request. Every field that is set must match.
type Request struct {
	// Method is an HTTP method ("GET"), or "" / "ANY" for any method.
	// A GET stub also answers HEAD.
	Method string `json:"method,omitempty"`
	// Path matches the path exactly, or as a template when it holds {name}
	// segments: /users/{id} matches /users/42. A segment {name*} at the end
	// matches the rest of the path.
	Path string `json:"path,omitempty"`
	// PathPrefix matches paths that start with it.
	PathPrefix string `json:"pathPrefix,omitempty"`
	// PathRegex matches paths with a regular expression (RE2 syntax).
	PathRegex string `json:"pathRegex,omitempty"`
	// Query, Headers and Cookies map a name to a matcher. Header names are
	// case-insensitive.
	Query   map[string]StringMatcher `json:"query,omitempty"`
	Headers map[string]StringMatcher `json:"headers,omitempty"`
	Cookies map[string]StringMatcher `json:"cookies,omitempty"`
	// Body matches the request body.
	Body *BodyMatcher `json:"body,omitempty"`
	// QueryOrForm lets each Query matcher read, when the query string
	// lacks the parameter, the field of that name in a form body (its
	// first value), as servers of AWS's query protocol read Action.
	QueryOrForm bool `json:"queryOrForm,omitempty"`
	// ClientCert matches the certificate the client presented over TLS
	// (with client-auth optional or require; checked against client-ca).
	ClientCert *ClientCertMatcher `json:"clientCert,omitempty"`
}

// ClientCertMatcher matches the certificate a TLS client presented. Every
// field that is set must hold; any field but Absent requires a certificate.
type ClientCertMatcher struct {
	// Present requires a client certificate; Absent requires none (a
	// plaintext connection has none).
	Present bool `json:"present,omitempty"`
	Absent  bool `json:"absent,omitempty"`
	// Subject matches the subject's distinguished name as RFC 2253 writes
	// it ("CN=alice,OU=mobile,O=Example"); CommonName its common name.
	Subject    *StringMatcher `json:"subject,omitempty"`
	CommonName *StringMatcher `json:"commonName,omitempty"`
	// SAN matches when any of the subject alternative names matches: DNS
	// names, IP addresses, e-mail addresses, URIs (spiffe://...).
	SAN *StringMatcher `json:"san,omitempty"`
	// Issuer matches the issuer's distinguished name, as Subject.
	Issuer *StringMatcher `json:"issuer,omitempty"`
}

// StringMatcher matches one string value. In files it is either a plain
// string (meaning equals) or an object with one or more of its fields; all
// that are set must hold.
type StringMatcher struct {
	Equals     *string `json:"equals,omitempty"`
	Contains   string  `json:"contains,omitempty"`
	Regex      string  `json:"regex,omitempty"`
	Present    bool    `json:"present,omitempty"`
	Absent     bool    `json:"absent,omitempty"`
	IgnoreCase bool    `json:"ignoreCase,omitempty"`
}

// Eq is a StringMatcher that requires the value v.
func Eq(v string) StringMatcher { return StringMatcher{Equals: &v} }

// UnmarshalJSON accepts a plain string as shorthand for equals.
func (m *StringMatcher) UnmarshalJSON(b []byte) error {
	b = trimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*m = Eq(s)
		return nil
	}
	type plain StringMatcher
	var p plain
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("a matcher is a string or an object with equals, contains, regex, present, absent, ignoreCase: %w", err)
	}
	*m = StringMatcher(p)
	return nil
}

// UnmarshalYAML accepts a plain scalar as shorthand for equals; the value
// is the scalar as written (1.10 stays "1.10").
func (m *StringMatcher) UnmarshalYAML(node ast.Node) error {
	if text, ok, err := scalarText(node); ok || err != nil {
		if err != nil {
			return At(node, err)
		}
		*m = Eq(text)
		return nil
	}
	type plain StringMatcher
	var p plain
	if err := yaml.NodeToValue(node, &p, yaml.DisallowUnknownField()); err != nil {
		return err
	}
	*m = StringMatcher(p)
	return nil
}

// scalarText returns a YAML scalar as written: strings decoded, numbers and
// booleans in their source text. ok is false for mappings and sequences;
// null is an error.
func scalarText(node ast.Node) (string, bool, error) {
	for {
		switch n := node.(type) {
		case *ast.AnchorNode:
			node = n.Value
			continue
		case *ast.TagNode:
			node = n.Value
			continue
		}
		break
	}
	switch n := node.(type) {
	case *ast.StringNode:
		return n.Value, true, nil
	case *ast.LiteralNode:
		return n.Value.Value, true, nil
	case *ast.NullNode:
		return "", false, fmt.Errorf("a value is required here (got null)")
	case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode:
		return "", false, nil
	case ast.ScalarNode:
		if tk := n.GetToken(); tk != nil {
			return tk.Value, true, nil
		}
		return fmt.Sprint(n.GetValue()), true, nil
	}
	return "", false, nil
}

// BodyMatcher matches a request body. Every field that is set must hold.
type BodyMatcher struct {
	Equals   *string `json:"equals,omitempty"`
	Contains string  `json:"contains,omitempty"`
	Regex    string  `json:"regex,omitempty"`
	// JSON is a JSON value the body must equal, ignoring key order and
	// whitespace.
	JSON any `json:"json,omitempty"`
	// JSONPath lists expressions (RFC 9535) that must select a value, and
	// what that value must be.
	JSONPath []JSONPathMatcher `json:"jsonPath,omitempty"`
	// Form maps the name of a field of a form body (Content-Type
	// application/x-www-form-urlencoded, or the text fields of
	// multipart/form-data) to a matcher. A field sent more than once
	// matches when any of its values does.
	Form map[string]StringMatcher `json:"form,omitempty"`
}

// JSONPathMatcher matches the value an RFC 9535 JSONPath expression selects
// in a JSON body. With only Path set, the expression must select something.
type JSONPathMatcher struct {
	Path string `json:"path"`
	// Equals is a JSON value the selected value must equal.
	Equals any `json:"equals,omitempty"`
	// Contains and Regex match the selected value as text (strings as they
	// are, other values as JSON).
	Contains string `json:"contains,omitempty"`
	Regex    string `json:"regex,omitempty"`
	// Absent requires that the expression selects nothing.
	Absent bool `json:"absent,omitempty"`
}

// Response is what a stub answers.
type Response struct {
	// Status is the HTTP status code; 0 means 200.
	Status int `json:"status,omitempty"`
	// Headers are sent as given. A header whose value is a list is sent once
	// per element.
	Headers map[string]HeaderValues `json:"headers,omitempty"`
	// Body, when a string, is sent as it is; any other value (object, list,
	// number) is written out as JSON and Content-Type defaults to
	// application/json.
	Body Value `json:"body,omitzero"`
	// BodyFile names a file (relative to the stub file) read into memory at
	// load.
	BodyFile string `json:"bodyFile,omitempty"`
	// BodyBase64 is a binary body, base64-encoded (standard alphabet).
	BodyBase64 string `json:"bodyBase64,omitempty"`
	// Generate makes a deterministic body of the given size: at load when
	// it is at most 8 MiB, else streamed as it is sent.
	Generate *Generate `json:"generate,omitempty"`
	// Delay is waited before the response is sent: shorthand for a fixed
	// Latency (give one or the other). A zero Delay is a delay too: the
	// stub answers at once, whatever the global latency; nil leaves the
	// global latency in charge.
	Delay *Duration `json:"delay,omitempty"`
	// Latency is a latency distribution or the name of a profile (see
	// behaviour.go); without one (and without Delay) the global latency
	// applies.
	Latency *Latency `json:"latency,omitempty"`
	// LatencyMode says where the latency goes: "ttfb" (default) before the
	// first byte, "spread" over the body (the last byte leaves at the end).
	LatencyMode string `json:"latencyMode,omitempty"`
	// Faults are failures injected with a probability each.
	Faults Faults `json:"faults,omitempty"`
	// Throttle sends the body at this rate.
	Throttle Rate `json:"throttle,omitempty"`
	// Dribble sends the body in chunks at an interval.
	Dribble *Dribble `json:"dribble,omitempty"`
	// Stream sends the body as a stream of chunks at an interval, with no
	// Content-Length: long-poll and server-sent events (see Stream).
	Stream *Stream `json:"stream,omitempty"`
	// Upload reads the request body as it arrives and throws it away, so
	// uploads of any size are accepted without being held (see Upload).
	Upload *Upload `json:"upload,omitempty"`
	// GRPC is what an answer to a gRPC call needs beyond Body and Headers:
	// status, trailers, streamed messages (see grpc.go).
	GRPC *GRPCResponse `json:"grpc,omitempty"`
	// WebSocket answers a WebSocket upgrade on the HTTP ports with a
	// conversation (see websocket.go).
	WebSocket *WebSocket `json:"websocket,omitempty"`
}

// Generate describes a body made by decoy at load: Size bytes of Pattern,
// from Seed. The same settings give the same bytes on every run.
type Generate struct {
	Size    Size   `json:"size"`
	Pattern string `json:"pattern,omitempty"` // random (default), zeros, text
	Seed    uint64 `json:"seed,omitempty"`
}

// HeaderValues is one or more values of a response header. In files it is a
// string or a list of strings.
type HeaderValues []string

// UnmarshalJSON accepts a string, a number or boolean (as written), or a
// list of them; null means no value.
func (h *HeaderValues) UnmarshalJSON(b []byte) error {
	b = trimSpace(b)
	if string(b) == "null" {
		*h = nil
		return nil
	}
	var raws []json.RawMessage
	if len(b) > 0 && b[0] == '[' {
		if err := json.Unmarshal(b, &raws); err != nil {
			return err
		}
	} else {
		raws = []json.RawMessage{b}
	}
	out := make(HeaderValues, 0, len(raws))
	for _, r := range raws {
		r = trimSpace(r)
		switch {
		case len(r) > 0 && r[0] == '"':
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				return err
			}
			out = append(out, s)
		case len(r) > 0 && (r[0] == '{' || r[0] == '[' || string(r) == "null"):
			return fmt.Errorf("a header value is a string or a list of strings, not %s", r)
		default:
			if !json.Valid(r) {
				return fmt.Errorf("not valid JSON: %s", r)
			}
			out = append(out, string(r)) // a number or boolean, as written
		}
	}
	*h = out
	return nil
}

// UnmarshalYAML accepts a scalar or a list of scalars, each as written.
func (h *HeaderValues) UnmarshalYAML(node ast.Node) error {
	if seq, ok := node.(*ast.SequenceNode); ok {
		out := make(HeaderValues, 0, len(seq.Values))
		for _, e := range seq.Values {
			s, ok, err := scalarText(e)
			if err != nil {
				return At(e, err)
			}
			if !ok {
				return At(e, fmt.Errorf("a header value is a string or a list of strings"))
			}
			out = append(out, s)
		}
		*h = out
		return nil
	}
	s, ok, err := scalarText(node)
	if err != nil {
		return At(node, err)
	}
	if !ok {
		return At(node, fmt.Errorf("a header value is a string or a list of strings"))
	}
	*h = HeaderValues{s}
	return nil
}

// MarshalJSON writes a single value as a string.
func (h HeaderValues) MarshalJSON() ([]byte, error) {
	if len(h) == 1 {
		return json.Marshal(h[0])
	}
	return json.Marshal([]string(h))
}

// Duration is a time span written as a Go duration ("250ms", "1.5s") or a
// number of milliseconds.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as a string such as "250ms".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "250ms" or 250.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	return d.set(v)
}

// UnmarshalYAML reads "250ms" or 250.
func (d *Duration) UnmarshalYAML(node ast.Node) error {
	text, ok, err := scalarText(node)
	if _, null := node.(*ast.NullNode); null {
		*d = 0
		return nil
	}
	if err == nil && !ok {
		err = fmt.Errorf("a duration is a string such as \"250ms\" or a number of milliseconds")
	}
	if err == nil {
		var p time.Duration
		if p, err = ParseDuration(text); err == nil {
			*d = Duration(p)
			return nil
		}
	}
	return At(node, err)
}

func (d *Duration) set(v any) error {
	var ms float64
	switch x := v.(type) {
	case nil:
		*d = 0
		return nil
	case string:
		p, err := ParseDuration(x)
		if err != nil {
			return err
		}
		*d = Duration(p)
		return nil
	case int:
		ms = float64(x)
	case int64:
		ms = float64(x)
	case uint64:
		ms = float64(x)
	case float64:
		ms = x
	default:
		return fmt.Errorf("a duration is a string such as \"250ms\" or a number of milliseconds, not %T", v)
	}
	p, err := fromMillis(ms)
	if err != nil {
		return fmt.Errorf("%v: %w", v, err)
	}
	*d = Duration(p)
	return nil
}

// maxMillis is the longest duration, in milliseconds.
const maxMillis = float64(math.MaxInt64) / float64(time.Millisecond)

func fromMillis(ms float64) (time.Duration, error) {
	switch {
	case math.IsNaN(ms) || math.IsInf(ms, 0):
		return 0, fmt.Errorf("not a number of milliseconds")
	case ms < 0:
		return 0, fmt.Errorf("a duration cannot be negative")
	case ms >= maxMillis:
		return 0, fmt.Errorf("too long (more than 292 years)")
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

// ParseDuration reads a Go duration ("250ms") or a bare number of
// milliseconds ("250"). Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		d, err := fromMillis(f)
		if err != nil {
			return 0, fmt.Errorf("%q: %w", s, err)
		}
		return d, nil
	}
	p, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (examples: 250ms, 1.5s, 250)", s)
	}
	if p < 0 {
		return 0, fmt.Errorf("a duration cannot be negative: %q", s)
	}
	return p, nil
}

// Size is a byte count written as a number or with a unit: "512", "64KiB",
// "4MiB", "1GiB", "10kB", "5MB".
type Size int64

// MarshalJSON writes the size as a number of bytes.
func (s Size) MarshalJSON() ([]byte, error) { return json.Marshal(int64(s)) }

// UnmarshalJSON reads 4096 or "4KiB".
func (s *Size) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	return s.set(v)
}

// UnmarshalYAML reads 4096 or "4KiB".
func (s *Size) UnmarshalYAML(node ast.Node) error {
	text, ok, err := scalarText(node)
	if _, null := node.(*ast.NullNode); null {
		*s = 0
		return nil
	}
	if err == nil && !ok {
		err = fmt.Errorf("a size is a number of bytes or a string such as \"4MiB\"")
	}
	if err == nil {
		var n int64
		if n, err = ParseSize(text); err == nil {
			*s = Size(n)
			return nil
		}
	}
	return At(node, err)
}

func (s *Size) set(v any) error {
	switch x := v.(type) {
	case nil:
		*s = 0
		return nil
	case string:
		n, err := ParseSize(x)
		if err != nil {
			return err
		}
		*s = Size(n)
		return nil
	case int:
		if x < 0 {
			return fmt.Errorf("a size cannot be negative: %d", x)
		}
		if uint64(x) > maxSize {
			return fmt.Errorf("a size must be at most 1 PiB: %d", x)
		}
		*s = Size(x)
		return nil
	case int64:
		if x < 0 {
			return fmt.Errorf("a size cannot be negative: %d", x)
		}
		if uint64(x) > maxSize {
			return fmt.Errorf("a size must be at most 1 PiB: %d", x)
		}
		*s = Size(x)
		return nil
	case uint64:
		if x > maxSize {
			return fmt.Errorf("a size of %d bytes is too large", x)
		}
		*s = Size(x)
		return nil
	case float64:
		if x < 0 || x > maxSize || x != math.Trunc(x) {
			return fmt.Errorf("a size is a whole number of bytes up to 1 PiB: %v", x)
		}
		*s = Size(x)
		return nil
	}
	return fmt.Errorf("a size is a number of bytes or a string such as \"4MiB\", not %T", v)
}

// maxSize is the largest size decoy accepts: 1 PiB.
const maxSize = 1 << 50

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"kB", 1000}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
}

// ParseSize reads a byte count such as "512", "64KiB" or "5MB".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t = strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			mult = u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err == nil && f < 0 {
		return 0, fmt.Errorf("%q: a size cannot be negative", s)
	}
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a size (examples: 512, 64KiB, 4MiB, 1GiB)", s)
	}
	n := f * float64(mult)
	if n != math.Trunc(n) {
		return 0, fmt.Errorf("%q is not a whole number of bytes", s)
	}
	if n > maxSize {
		return 0, fmt.Errorf("%q is too large (the limit is 1 PiB)", s)
	}
	return int64(n), nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}
