package stub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// This file holds the behaviour specs of a response as written in config:
// latency (and named latency profiles), faults, throttle and dribble. They
// are decoded here and compiled by package behave.

// Latency is a latency spec as written in config: exactly one of Fixed,
// Uniform, Normal, LogNormal, Percentiles and Profile, plus PerKB. A spec
// with only PerKB waits PerKB per KiB of body and nothing else.
//
// In files it is a duration ("250ms", or a number of milliseconds), a range
// ("10ms..50ms"), the name of a profile ("slow-3g"), or an object with the
// fields below.
type Latency struct {
	// Fixed waits the same time on every call.
	Fixed *Duration `json:"fixed,omitempty"`
	// Uniform waits a time drawn uniformly between Min and Max.
	Uniform *Uniform `json:"uniform,omitempty"`
	// Normal draws from a normal distribution, clamped at 0.
	Normal *Normal `json:"normal,omitempty"`
	// LogNormal draws from a log-normal distribution: the shape of most
	// real service latencies (a long right tail).
	LogNormal *LogNormal `json:"lognormal,omitempty"`
	// Percentiles reproduces measured percentiles.
	Percentiles Percentiles `json:"percentiles,omitempty"`
	// Profile names an entry of the config's latency profiles. PerKB, when
	// set next to it, replaces the profile's own.
	Profile string `json:"profile,omitempty"`
	// PerKB is added per KiB (1024 bytes) of response body, pro rata.
	PerKB Duration `json:"perKB,omitempty"`
}

// Uniform is a uniform distribution between Min and Max. In files it is
// also written "10ms..50ms".
type Uniform struct {
	Min Duration `json:"min"`
	Max Duration `json:"max"`
}

// Normal is a normal distribution; samples below 0 count as 0 and, when Max
// is set, samples above Max count as Max.
type Normal struct {
	Mean   Duration `json:"mean"`
	Stddev Duration `json:"stddev"`
	Max    Duration `json:"max,omitempty"`
}

// LogNormal is a log-normal distribution given either by its Median and
// P99, or by Mu and Sigma, the mean and standard deviation of ln(ms).
// When Max is set, samples above it count as Max.
type LogNormal struct {
	Median Duration `json:"median,omitempty"`
	P99    Duration `json:"p99,omitempty"`
	Mu     *float64 `json:"mu,omitempty"`
	Sigma  *float64 `json:"sigma,omitempty"`
	Max    Duration `json:"max,omitempty"`
}

// Percentiles maps "pN" (0 < N < 100, decimals allowed: p99.9) to the
// latency at that percentile, with optional "min" (the 0th percentile,
// default 0) and "max" (the 100th). Samples are drawn by linear
// interpolation between the points, so their percentiles reproduce the
// ones given. Without max the last segment's slope is extended to the
// 100th percentile.
type Percentiles map[string]Duration

// Profiles are named latency specs, defined once in the config and
// referred to by name.
type Profiles map[string]Latency

// LatencyForms describes the accepted forms of a latency, for error messages.
const LatencyForms = "a latency is a duration (250ms), a range (10ms..50ms), a profile name, or an object with one of fixed, uniform, normal, lognormal, percentiles, profile (and optionally perKB)"

// UnmarshalJSON reads any of the forms in the package documentation.
func (l *Latency) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		return l.setScalar(s)
	case b[0] == '{':
		type plain Latency
		var p plain
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return fmt.Errorf("%s: %w", LatencyForms, err)
		}
		*l = Latency(p)
		return nil
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		if !json.Valid(b) {
			return fmt.Errorf("not valid JSON: %s", b)
		}
		return l.setScalar(string(b))
	}
	return fmt.Errorf("%s, not %s", LatencyForms, b)
}

// UnmarshalYAML reads any of the forms in the package documentation.
// Errors carry the position of the offending node.
func (l *Latency) UnmarshalYAML(node ast.Node) error {
	node = Unwrap(node)
	if _, ok := node.(*ast.NullNode); ok {
		return nil
	}
	if _, ok := node.(*ast.BoolNode); ok {
		return At(node, fmt.Errorf("%s, not a boolean", LatencyForms))
	}
	if text, ok := scalarNode(node); ok {
		return At(node, l.setScalar(text))
	}
	if _, ok := node.(*ast.SequenceNode); ok {
		return At(node, fmt.Errorf("%s, not a list", LatencyForms))
	}
	type plain Latency
	var p plain
	if err := yaml.NodeToValue(node, &p, yaml.DisallowUnknownField()); err != nil {
		return err
	}
	*l = Latency(p)
	return nil
}

// setScalar reads a duration, a range or a profile name.
func (l *Latency) setScalar(s string) error {
	t := strings.TrimSpace(s)
	if strings.Contains(t, "..") {
		var u Uniform
		if err := u.setRange(t); err != nil {
			return err
		}
		*l = Latency{Uniform: &u}
		return nil
	}
	if isName(t) {
		*l = Latency{Profile: t}
		return nil
	}
	d, err := ParseDuration(t)
	if err != nil {
		if strings.HasPrefix(t, "-") {
			return err
		}
		return fmt.Errorf("%w; %s", err, LatencyForms)
	}
	f := Duration(d)
	*l = Latency{Fixed: &f}
	return nil
}

// isName reports whether s reads as a profile name rather than a
// duration: it starts with a letter and is not a duration such as "1h".
func isName(s string) bool {
	if s == "" {
		return false
	}
	c := s[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return false
	}
	_, err := ParseDuration(s)
	return err != nil
}

// MarshalJSON writes a fixed latency as a duration string and anything
// else as an object; both decode back to the same spec.
func (l Latency) MarshalJSON() ([]byte, error) {
	if l.Fixed != nil && l.PerKB == 0 && l.Uniform == nil && l.Normal == nil &&
		l.LogNormal == nil && l.Percentiles == nil && l.Profile == "" {
		return json.Marshal(*l.Fixed)
	}
	type plain Latency
	return json.Marshal(plain(l))
}

// UnmarshalJSON reads {"min": ..., "max": ...} or "10ms..50ms".
func (u *Uniform) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		return u.setRange(s)
	}
	type plain Uniform
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("uniform is {min, max} or a range such as 10ms..50ms: %w", err)
	}
	*u = Uniform(p)
	return nil
}

// UnmarshalYAML reads {min: ..., max: ...} or 10ms..50ms.
func (u *Uniform) UnmarshalYAML(node ast.Node) error {
	node = Unwrap(node)
	if text, ok := scalarNode(node); ok {
		return At(node, u.setRange(text))
	}
	type plain Uniform
	var p plain
	if err := yaml.NodeToValue(node, &p, yaml.DisallowUnknownField()); err != nil {
		return err
	}
	*u = Uniform(p)
	return nil
}

func (u *Uniform) setRange(s string) error {
	lo, hi, ok := strings.Cut(s, "..")
	if !ok {
		return fmt.Errorf("%q is not a range (example: 10ms..50ms)", s)
	}
	a, err := ParseDuration(lo)
	if err != nil {
		return fmt.Errorf("range %q: %w", s, err)
	}
	b, err := ParseDuration(hi)
	if err != nil {
		return fmt.Errorf("range %q: %w", s, err)
	}
	*u = Uniform{Min: Duration(a), Max: Duration(b)}
	return nil
}

// Unwrap skips anchors and tags around a YAML value.
func Unwrap(node ast.Node) ast.Node {
	for {
		switch n := node.(type) {
		case *ast.AnchorNode:
			node = n.Value
		case *ast.TagNode:
			node = n.Value
		default:
			return node
		}
	}
}

// scalarNode returns a YAML scalar's text as written (strings decoded, numbers
// as in the source). ok is false for null, mappings and sequences.
func scalarNode(node ast.Node) (string, bool) {
	switch n := node.(type) {
	case *ast.StringNode:
		return n.Value, true
	case *ast.LiteralNode:
		return n.Value.Value, true
	case *ast.NullNode, *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode:
		return "", false
	case ast.ScalarNode:
		if tk := n.GetToken(); tk != nil {
			return tk.Value, true
		}
		return fmt.Sprint(n.GetValue()), true
	}
	return "", false
}

// Fault is one fault as written in config. In files it is an object with
// the fields below, or a bare kind ("reset") meaning probability 1.
type Fault struct {
	// Kind is one of reset, empty, malformed, garbage, close-mid-body,
	// hang, error.
	Kind string `json:"kind"`
	// Probability that a call gets this fault, 0 to 1. Faults without one
	// share equally what the others leave: a lone fault always fires, and
	// [reset, hang] gives each half the calls.
	Probability *float64 `json:"probability,omitempty"`
	// Status is the HTTP status of an error fault (default 503).
	Status int `json:"status,omitempty"`
	// GRPCStatus is the gRPC status of an error fault answered over gRPC;
	// by default it follows Status (503 → UNAVAILABLE).
	GRPCStatus *GRPCCode `json:"grpcStatus,omitempty"`
	// After is waited before the fault is applied; for hang, how long to
	// hang before closing (0: until the client gives up).
	After Duration `json:"after,omitempty"`
	// Bytes is how many random bytes garbage sends (default 64), or how
	// much of the body close-mid-body sends (default half).
	Bytes Size `json:"bytes,omitempty"`
	// H2, when set, replaces the fault on HTTP/2 connections (and gRPC)
	// with a stream reset or a GOAWAY.
	H2 *H2Fault `json:"h2,omitempty"`
}

// H2Fault is an HTTP/2-specific fault: exactly one of RSTStream and GOAWAY.
type H2Fault struct {
	// RSTStream resets the request's stream with this error code name
	// (RFC 9113 section 7), such as CANCEL or INTERNAL_ERROR.
	RSTStream string `json:"rstStream,omitempty"`
	// GOAWAY sends GOAWAY naming the previous stream as the last
	// processed, so the client must retry this request elsewhere, and
	// closes the connection. In files it is true (error code NO_ERROR) or
	// an error code name such as ENHANCE_YOUR_CALM.
	GOAWAY GoAway `json:"goaway,omitempty"`
}

// GoAway is the error code of an h2 goaway fault: empty when none is
// asked for, GoAwayNoError for `goaway: true`, else the code as written.
type GoAway string

// GoAwayNoError is what `goaway: true` means.
const GoAwayNoError GoAway = "NO_ERROR"

// UnmarshalJSON reads true, false or an error code name.
func (g *GoAway) UnmarshalJSON(b []byte) error {
	switch s := string(bytes.TrimSpace(b)); s {
	case "true":
		*g = GoAwayNoError
		return nil
	case "false", "null":
		*g = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("goaway is true or an HTTP/2 error code name such as ENHANCE_YOUR_CALM")
	}
	*g = GoAway(s)
	return nil
}

// UnmarshalYAML reads true, false or an error code name.
func (g *GoAway) UnmarshalYAML(node ast.Node) error {
	switch n := node.(type) {
	case *ast.NullNode:
		*g = ""
		return nil
	case *ast.BoolNode:
		*g = ""
		if n.Value {
			*g = GoAwayNoError
		}
		return nil
	}
	text, ok, err := scalarText(node)
	if err == nil && !ok {
		err = fmt.Errorf("goaway is true or an HTTP/2 error code name such as ENHANCE_YOUR_CALM")
	}
	if err != nil {
		return At(node, err)
	}
	*g = GoAway(text)
	return nil
}

// MarshalJSON writes true for NO_ERROR, the code name otherwise.
func (g GoAway) MarshalJSON() ([]byte, error) {
	if g == GoAwayNoError {
		return []byte("true"), nil
	}
	return json.Marshal(string(g))
}

// Faults is a stub's list of faults. In files it is a list, one fault
// object, or a bare kind. At most one fault applies per call: with
// probabilities p1, p2, ... a call gets the first with p1, the second with
// p2, and none with 1-(p1+p2+...), so they must add up to at most 1.
// Faults that give no probability share the rest equally.
type Faults []Fault

// UnmarshalJSON reads a fault object or a bare kind.
func (f *Fault) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = Fault{Kind: s}
		return nil
	}
	type plain Fault
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("a fault is a kind or an object with kind, probability, status, grpcStatus, after, bytes, h2: %w", err)
	}
	*f = Fault(p)
	return nil
}

// UnmarshalYAML reads a fault object or a bare kind.
func (f *Fault) UnmarshalYAML(node ast.Node) error {
	node = Unwrap(node)
	if text, ok := scalarNode(node); ok {
		*f = Fault{Kind: text}
		return nil
	}
	if _, ok := node.(*ast.SequenceNode); ok {
		return At(node, fmt.Errorf("a fault is a kind or an object, not a list"))
	}
	type plain Fault
	var p plain
	if err := yaml.NodeToValue(node, &p, yaml.DisallowUnknownField()); err != nil {
		return err
	}
	*f = Fault(p)
	return nil
}

// UnmarshalJSON reads a list of faults, one fault, or a bare kind.
func (fs *Faults) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var l []Fault
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		*fs = l
		return nil
	}
	if string(b) == "null" {
		*fs = nil
		return nil
	}
	var one Fault
	if err := one.UnmarshalJSON(b); err != nil {
		return err
	}
	*fs = Faults{one}
	return nil
}

// UnmarshalYAML reads a list of faults, one fault, or a bare kind.
func (fs *Faults) UnmarshalYAML(node ast.Node) error {
	node = Unwrap(node)
	switch node.(type) {
	case *ast.NullNode:
		*fs = nil
		return nil
	case *ast.SequenceNode:
		var l []Fault
		if err := yaml.NodeToValue(node, &l, yaml.DisallowUnknownField()); err != nil {
			return err
		}
		*fs = l
		return nil
	}
	var one Fault
	if err := one.UnmarshalYAML(node); err != nil {
		return err
	}
	*fs = Faults{one}
	return nil
}

// Rate is a bandwidth in bytes per second. In files it is a number of
// bytes per second or a string with a unit: "256KiB/s", "10MB/s", "8Mbps".
// Zero means not set.
type Rate int64

// MaxRate is the fastest rate accepted: 1 TiB/s.
const MaxRate Rate = 1 << 40

// rateUnits maps a unit to bytes per second per unit. Byte units end in
// "B/s"; bit units in "bps" or "b/s" (8 bits a byte).
var rateUnits = []struct {
	unit string
	mult float64
}{
	{"KiB/s", 1 << 10}, {"MiB/s", 1 << 20}, {"GiB/s", 1 << 30}, {"TiB/s", 1 << 40},
	{"kB/s", 1e3}, {"KB/s", 1e3}, {"MB/s", 1e6}, {"GB/s", 1e9}, {"TB/s", 1e12},
	{"B/s", 1},
	{"Kbps", 1e3 / 8}, {"kbps", 1e3 / 8}, {"Mbps", 1e6 / 8}, {"Gbps", 1e9 / 8},
	{"Kb/s", 1e3 / 8}, {"kb/s", 1e3 / 8}, {"Mb/s", 1e6 / 8}, {"Gb/s", 1e9 / 8},
	{"bps", 1.0 / 8}, {"b/s", 1.0 / 8},
}

const rateExamples = "examples: 256KiB/s, 1MiB/s, 10MB/s, 512kB/s, 8Mbps, 4096"

// ParseRate reads a rate: a number with one of the units B/s, KiB/s,
// MiB/s, GiB/s, TiB/s, kB/s (or KB/s), MB/s, GB/s, TB/s, or bits: bps,
// Kbps (kbps, Kb/s), Mbps (Mb/s), Gbps (Gb/s); a bare number is bytes per
// second. Units are case-sensitive where case tells bytes (B) from bits (b).
// The result is rounded to whole bytes per second and must be between 1 B/s
// and MaxRate.
func ParseRate(s string) (Rate, error) {
	t := strings.TrimSpace(s)
	mult := 1.0
	for _, u := range rateUnits {
		if strings.HasSuffix(t, u.unit) {
			t = strings.TrimSpace(strings.TrimSuffix(t, u.unit))
			mult = u.mult
			break
		}
	}
	if t == "" || !isDecimal(t) {
		return 0, fmt.Errorf("%q is not a rate (%s)", s, rateExamples)
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a rate (%s)", s, rateExamples)
	}
	bps := math.Round(f * mult)
	switch {
	case bps < 1:
		return 0, fmt.Errorf("%q is below 1 B/s", s)
	case bps > float64(MaxRate):
		return 0, fmt.Errorf("%q is above the 1TiB/s limit", s)
	}
	return Rate(bps), nil
}

// isDecimal reports whether s is digits with at most one '.', such as
// "256" or "1.5": no sign, exponent, hex, Inf or NaN.
func isDecimal(s string) bool {
	dots, digits := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			dots++
		case c >= '0' && c <= '9':
			digits++
		default:
			return false
		}
	}
	return dots <= 1 && digits > 0
}

// String writes the rate with the largest binary unit that divides it
// ("256KiB/s"), else in B/s. ParseRate reads it back.
func (r Rate) String() string {
	for _, u := range []struct {
		unit string
		mult int64
	}{{"TiB/s", 1 << 40}, {"GiB/s", 1 << 30}, {"MiB/s", 1 << 20}, {"KiB/s", 1 << 10}} {
		if r != 0 && int64(r)%u.mult == 0 {
			return strconv.FormatInt(int64(r)/u.mult, 10) + u.unit
		}
	}
	return strconv.FormatInt(int64(r), 10) + "B/s"
}

// MarshalJSON writes the rate as a string such as "256KiB/s".
func (r Rate) MarshalJSON() ([]byte, error) { return json.Marshal(r.String()) }

// UnmarshalJSON reads "256KiB/s" or a number of bytes per second.
func (r *Rate) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := ParseRate(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// UnmarshalYAML reads 256KiB/s or a number of bytes per second.
func (r *Rate) UnmarshalYAML(node ast.Node) error {
	node = Unwrap(node)
	if _, ok := node.(*ast.NullNode); ok {
		return nil
	}
	text, ok := scalarNode(node)
	if !ok {
		return At(node, fmt.Errorf("a rate is a string such as 256KiB/s or a number of bytes per second"))
	}
	v, err := ParseRate(text)
	if err != nil {
		return At(node, err)
	}
	*r = v
	return nil
}

// Dribble sends a body Chunk bytes at a time, one chunk every Every: the
// first at once, the last after (chunks-1) × Every.
type Dribble struct {
	Chunk Size     `json:"chunk"`
	Every Duration `json:"every"`
}

// Stream sends a response as a stream of chunks, one every Interval (the
// first at once), each flushed as it goes and with no Content-Length
// (chunked on HTTP/1.1, DATA frames on HTTP/2): a long-poll or
// server-sent events endpoint. The chunks are Chunks in turn, or the
// response body as the one chunk, sent Repeat times in all (default once),
// as gRPC's stream and repeat are.
type Stream struct {
	// Chunks are the chunks' text, sent in turn.
	Chunks []string `json:"chunks,omitempty"`
	// Repeat is how many times the chunks (or the body) are sent.
	Repeat int `json:"repeat,omitempty"`
	// Interval is the time between two chunks.
	Interval Duration `json:"interval,omitempty"`
}

// Upload makes a stub accept request bodies of any size without holding
// them: the body is read as it arrives (at full speed, or at Rate) and
// thrown away, optionally checked against ExpectSize and SHA256. The
// upload's size, duration and throughput are recorded in the journal and
// the metrics.
type Upload struct {
	// Discard must be true: the body is read and thrown away.
	Discard bool `json:"discard"`
	// Rate, when set, reads the body no faster than this.
	Rate Rate `json:"rate,omitempty"`
	// ExpectSize, when set, is the size the body must have (else 422).
	ExpectSize Size `json:"expectSize,omitempty"`
	// SHA256, when set, is the hex SHA-256 the body must have (else 422).
	SHA256 string `json:"sha256,omitempty"`
}
