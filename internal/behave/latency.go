package behave

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/decoy-dev/decoy/internal/stub"
)

// Latency is a latency spec as written in config: exactly one of Fixed,
// Uniform, Normal, LogNormal, Percentiles and Profile, plus PerKB. A spec
// with only PerKB waits PerKB per KiB of body and nothing else.
//
// In files it is a duration ("250ms", or a number of milliseconds), a range
// ("10ms..50ms"), the name of a profile ("slow-3g"), or an object with the
// fields below.
type Latency struct {
	// Fixed waits the same time on every call.
	Fixed *stub.Duration `json:"fixed,omitempty"`
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
	PerKB stub.Duration `json:"perKB,omitempty"`
}

// Uniform is a uniform distribution between Min and Max. In files it is
// also written "10ms..50ms".
type Uniform struct {
	Min stub.Duration `json:"min"`
	Max stub.Duration `json:"max"`
}

// Normal is a normal distribution; samples below 0 count as 0 and, when Max
// is set, samples above Max count as Max.
type Normal struct {
	Mean   stub.Duration `json:"mean"`
	Stddev stub.Duration `json:"stddev"`
	Max    stub.Duration `json:"max,omitempty"`
}

// LogNormal is a log-normal distribution given either by its Median and
// P99, or by Mu and Sigma, the mean and standard deviation of ln(ms).
// When Max is set, samples above it count as Max.
type LogNormal struct {
	Median stub.Duration `json:"median,omitempty"`
	P99    stub.Duration `json:"p99,omitempty"`
	Mu     *float64      `json:"mu,omitempty"`
	Sigma  *float64      `json:"sigma,omitempty"`
	Max    stub.Duration `json:"max,omitempty"`
}

// Percentiles maps "pN" (0 < N < 100, decimals allowed: p99.9) to the
// latency at that percentile, with optional "min" (the 0th percentile,
// default 0) and "max" (the 100th). Samples are drawn by linear
// interpolation between the points, so their percentiles reproduce the
// ones given. Without max the last segment's slope is extended to the
// 100th percentile.
type Percentiles map[string]stub.Duration

// Profiles are named latency specs, defined once in the config and
// referred to by name.
type Profiles map[string]Latency

// latencyForms describes the accepted forms, for error messages.
const latencyForms = "a latency is a duration (250ms), a range (10ms..50ms), a profile name, or an object with one of fixed, uniform, normal, lognormal, percentiles, profile (and optionally perKB)"

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
			return fmt.Errorf("%s: %w", latencyForms, err)
		}
		*l = Latency(p)
		return nil
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		if !json.Valid(b) {
			return fmt.Errorf("not valid JSON: %s", b)
		}
		return l.setScalar(string(b))
	}
	return fmt.Errorf("%s, not %s", latencyForms, b)
}

// UnmarshalYAML reads any of the forms in the package documentation.
// Errors carry the position of the offending node.
func (l *Latency) UnmarshalYAML(node ast.Node) error {
	node = unwrap(node)
	if _, ok := node.(*ast.NullNode); ok {
		return nil
	}
	if _, ok := node.(*ast.BoolNode); ok {
		return stub.At(node, fmt.Errorf("%s, not a boolean", latencyForms))
	}
	if text, ok := scalar(node); ok {
		return stub.At(node, l.setScalar(text))
	}
	if _, ok := node.(*ast.SequenceNode); ok {
		return stub.At(node, fmt.Errorf("%s, not a list", latencyForms))
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
	d, err := stub.ParseDuration(t)
	if err != nil {
		if strings.HasPrefix(t, "-") {
			return err
		}
		return fmt.Errorf("%w; %s", err, latencyForms)
	}
	f := stub.Duration(d)
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
	_, err := stub.ParseDuration(s)
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
	node = unwrap(node)
	if text, ok := scalar(node); ok {
		return stub.At(node, u.setRange(text))
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
	a, err := stub.ParseDuration(lo)
	if err != nil {
		return fmt.Errorf("range %q: %w", s, err)
	}
	b, err := stub.ParseDuration(hi)
	if err != nil {
		return fmt.Errorf("range %q: %w", s, err)
	}
	*u = Uniform{Min: stub.Duration(a), Max: stub.Duration(b)}
	return nil
}

// unwrap skips anchors and tags around a YAML value.
func unwrap(node ast.Node) ast.Node {
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

// scalar returns a YAML scalar's text as written (strings decoded, numbers
// as in the source). ok is false for null, mappings and sequences.
func scalar(node ast.Node) (string, bool) {
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
