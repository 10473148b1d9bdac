package behave

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/decoy-dev/decoy/internal/stub"
)

func dp(d time.Duration) *stub.Duration { v := stub.Duration(d); return &v }
func fp(f float64) *float64             { return &f }

const ms = time.Millisecond

type latencyDoc struct {
	Latency *Latency `json:"latency"`
}

func TestLatencyDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string // "" when the form has no YAML spelling of its own
		json string
		want Latency
	}{
		{"fixed string", `latency: 250ms`, `{"latency":"250ms"}`, Latency{Fixed: dp(250 * ms)}},
		{"fixed number", `latency: 250`, `{"latency":250}`, Latency{Fixed: dp(250 * ms)}},
		{"fixed fraction", `latency: 1.5`, `{"latency":1.5}`, Latency{Fixed: dp(1500 * time.Microsecond)}},
		{"fixed seconds", `latency: 1.5s`, `{"latency":"1.5s"}`, Latency{Fixed: dp(1500 * ms)}},
		{"fixed object with perKB", `latency: {fixed: 20ms, perKB: 2ms}`, `{"latency":{"fixed":"20ms","perKB":"2ms"}}`,
			Latency{Fixed: dp(20 * ms), PerKB: stub.Duration(2 * ms)}},
		{"perKB only", `latency: {perKB: 2ms}`, `{"latency":{"perKB":2}}`, Latency{PerKB: stub.Duration(2 * ms)}},
		{"uniform range", `latency: 10ms..50ms`, `{"latency":"10ms..50ms"}`,
			Latency{Uniform: &Uniform{Min: stub.Duration(10 * ms), Max: stub.Duration(50 * ms)}}},
		{"uniform range of numbers", `latency: 10..50`, `{"latency":"10 .. 50"}`,
			Latency{Uniform: &Uniform{Min: stub.Duration(10 * ms), Max: stub.Duration(50 * ms)}}},
		{"uniform object", `latency: {uniform: {min: 10ms, max: 50ms}}`, `{"latency":{"uniform":{"min":"10ms","max":50}}}`,
			Latency{Uniform: &Uniform{Min: stub.Duration(10 * ms), Max: stub.Duration(50 * ms)}}},
		{"uniform range inside object", `latency: {uniform: 10ms..50ms, perKB: 1ms}`, `{"latency":{"uniform":"10ms..50ms","perKB":"1ms"}}`,
			Latency{Uniform: &Uniform{Min: stub.Duration(10 * ms), Max: stub.Duration(50 * ms)}, PerKB: stub.Duration(ms)}},
		{"normal", "latency:\n  normal:\n    mean: 100ms\n    stddev: 20ms\n", `{"latency":{"normal":{"mean":"100ms","stddev":"20ms"}}}`,
			Latency{Normal: &Normal{Mean: stub.Duration(100 * ms), Stddev: stub.Duration(20 * ms)}}},
		{"normal with max", `latency: {normal: {mean: 100ms, stddev: 20ms, max: 150ms}}`, `{"latency":{"normal":{"mean":100,"stddev":20,"max":150}}}`,
			Latency{Normal: &Normal{Mean: stub.Duration(100 * ms), Stddev: stub.Duration(20 * ms), Max: stub.Duration(150 * ms)}}},
		{"lognormal median p99", `latency: {lognormal: {median: 80ms, p99: 400ms}}`, `{"latency":{"lognormal":{"median":"80ms","p99":"400ms"}}}`,
			Latency{LogNormal: &LogNormal{Median: stub.Duration(80 * ms), P99: stub.Duration(400 * ms)}}},
		{"lognormal mu sigma", `latency: {lognormal: {mu: 4.38, sigma: 0.5}}`, `{"latency":{"lognormal":{"mu":4.38,"sigma":0.5}}}`,
			Latency{LogNormal: &LogNormal{Mu: fp(4.38), Sigma: fp(0.5)}}},
		{"percentiles", "latency:\n  percentiles:\n    p50: 40ms\n    p90: 120ms\n    p99: 400ms\n    max: 2s\n",
			`{"latency":{"percentiles":{"p50":"40ms","p90":"120ms","p99":"400ms","max":"2s"}}}`,
			Latency{Percentiles: Percentiles{"p50": stub.Duration(40 * ms), "p90": stub.Duration(120 * ms), "p99": stub.Duration(400 * ms), "max": stub.Duration(2 * time.Second)}}},
		{"percentiles with min and decimals", `latency: {percentiles: {min: 5, p99.9: 1s}}`, `{"latency":{"percentiles":{"min":5,"p99.9":"1s"}}}`,
			Latency{Percentiles: Percentiles{"min": stub.Duration(5 * ms), "p99.9": stub.Duration(time.Second)}}},
		{"profile object", `latency: {profile: slow-3g}`, `{"latency":{"profile":"slow-3g"}}`, Latency{Profile: "slow-3g"}},
		{"profile object with perKB", "latency:\n  profile: slow-3g\n  perKB: 5ms\n", `{"latency":{"profile":"slow-3g","perKB":"5ms"}}`,
			Latency{Profile: "slow-3g", PerKB: stub.Duration(5 * ms)}},
		{"profile name", `latency: slow-3g`, `{"latency":"slow-3g"}`, Latency{Profile: "slow-3g"}},
		{"a duration is not a profile name", `latency: 1h`, `{"latency":"1h"}`, Latency{Fixed: dp(time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var y, j latencyDoc
			if err := decodeYAML(tt.yaml, &y); err != nil {
				t.Fatalf("YAML %q: %v", tt.yaml, err)
			}
			if y.Latency == nil || !reflect.DeepEqual(*y.Latency, tt.want) {
				t.Errorf("YAML %q = %s, want %s", tt.yaml, show(y.Latency), show(&tt.want))
			}
			if err := json.Unmarshal([]byte(tt.json), &j); err != nil {
				t.Fatalf("JSON %s: %v", tt.json, err)
			}
			if j.Latency == nil || !reflect.DeepEqual(*j.Latency, tt.want) {
				t.Errorf("JSON %s = %s, want %s", tt.json, show(j.Latency), show(&tt.want))
			}
			// What MarshalJSON writes decodes back to the same spec.
			b, err := json.Marshal(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			var back Latency
			if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, tt.want) {
				t.Errorf("round trip through %s = %s, %v", b, show(&back), err)
			}
		})
	}
}

func show(l *Latency) string {
	if l == nil {
		return "nil"
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func TestLatencyDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		json string
		want string // in both errors
		line int    // of the YAML error, when it carries one
	}{
		{"unknown key", `latency: {fixed: 1ms, jitter: 2ms}`, `{"latency":{"fixed":"1ms","jitter":"2ms"}}`, `unknown field "jitter"`, 1},
		{"unknown key inside a form", "latency:\n  uniform: {min: 1ms, max: 2ms, avg: 3}\n", `{"latency":{"uniform":{"min":1,"max":2,"avg":3}}}`, `unknown field "avg"`, 2},
		{"negative", `latency: -5ms`, `{"latency":-5}`, "negative", 1},
		{"bad duration", "x: 1\nlatency: 5 parsecs\n", `{"latency":"5 parsecs"}`, "not a duration", 2},
		{"bad range", `latency: 10ms..x`, `{"latency":"10ms..x"}`, `range "10ms..x"`, 1},
		{"list", `latency: [1, 2]`, `{"latency":[1,2]}`, "a latency is a duration", 1},
		{"bad nested duration", "latency:\n  normal:\n    mean: abc\n    stddev: 1ms\n", `{"latency":{"normal":{"mean":"abc","stddev":"1ms"}}}`, `"abc" is not a duration`, 3},
		{"bool", `latency: true`, `{"latency":true}`, "a latency is", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var y, j latencyDoc
			yerr := decodeYAML(tt.yaml, &y)
			if yerr == nil || !strings.Contains(yerr.Error(), tt.want) {
				t.Errorf("YAML %q: error %v, want one containing %q", tt.yaml, yerr, tt.want)
			}
			if got := errLine(yerr); tt.line != 0 && got != tt.line {
				t.Errorf("YAML %q: error at line %d, want %d (%v)", tt.yaml, got, tt.line, yerr)
			}
			jerr := json.Unmarshal([]byte(tt.json), &j)
			if jerr == nil || !strings.Contains(jerr.Error(), tt.want) {
				t.Errorf("JSON %s: error %v, want one containing %q", tt.json, jerr, tt.want)
			}
		})
	}
}

// errLine is the line a YAML decoding error points at, or 0.
func errLine(err error) int {
	var pe *stub.PosError
	if errors.As(err, &pe) {
		return pe.Line
	}
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		return ye.GetToken().Position.Line
	}
	return 0
}
