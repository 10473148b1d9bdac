package stub

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

func sp(s string) *string { return &s }

func decodeYAML(data string, v any) error {
	return yaml.UnmarshalWithOptions([]byte(data), v, yaml.DisallowUnknownField())
}

func decodeJSON(data string, v any) error {
	dec := json.NewDecoder(strings.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func TestStringMatcherShorthand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		json string // "" when the form has no JSON spelling
		yaml string // "" when the form has no YAML spelling
		want StringMatcher
	}{
		{"plain string", `"abc"`, `abc`, Eq("abc")},
		{"empty string", `""`, `""`, Eq("")},
		{"string with spaces", `"  a b "`, `"  a b "`, Eq("  a b ")},
		{"JSON-looking string", `"{\"a\":1}"`, `'{"a":1}'`, Eq(`{"a":1}`)},
		{"leading whitespace in JSON", " \n\t\"x\"", "", Eq("x")},
		{"equals object", `{"equals":"abc"}`, `{equals: abc}`, Eq("abc")},
		{"contains", `{"contains":"b"}`, `{contains: b}`, StringMatcher{Contains: "b"}},
		{"regex", `{"regex":"^a$"}`, `{regex: ^a$}`, StringMatcher{Regex: "^a$"}},
		{"present", `{"present":true}`, `{present: true}`, StringMatcher{Present: true}},
		{"absent", `{"absent":true}`, `{absent: true}`, StringMatcher{Absent: true}},
		{"ignoreCase", `{"equals":"A","ignoreCase":true}`, "equals: A\nignoreCase: true", StringMatcher{Equals: sp("A"), IgnoreCase: true}},
		{"all", `{"equals":"a","contains":"a","regex":"a","present":true,"ignoreCase":true}`,
			`{equals: a, contains: a, regex: a, present: true, ignoreCase: true}`,
			StringMatcher{Equals: sp("a"), Contains: "a", Regex: "a", Present: true, IgnoreCase: true}},
		{"YAML integer", "", `42`, Eq("42")},
		{"YAML bool", "", `true`, Eq("true")},
		{"YAML quoted number", "", `"42"`, Eq("42")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.json != "" {
				var m StringMatcher
				if err := json.Unmarshal([]byte(tt.json), &m); err != nil {
					t.Fatalf("JSON: %v", err)
				}
				if !reflect.DeepEqual(m, tt.want) {
					t.Errorf("JSON %s = %+v, want %+v", tt.json, m, tt.want)
				}
				// Round trip through JSON.
				b, err := json.Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				var back StringMatcher
				if err := json.Unmarshal(b, &back); err != nil {
					t.Fatalf("JSON round trip of %s: %v", b, err)
				}
				if !reflect.DeepEqual(back, m) {
					t.Errorf("JSON round trip: %s gives %+v, want %+v", b, back, m)
				}
			}
			if tt.yaml != "" {
				var m StringMatcher
				if err := decodeYAML(tt.yaml, &m); err != nil {
					t.Fatalf("YAML: %v", err)
				}
				if !reflect.DeepEqual(m, tt.want) {
					t.Errorf("YAML %s = %+v, want %+v", tt.yaml, m, tt.want)
				}
			}
		})
	}
}

// A YAML scalar used as a matcher or header value means the text that was
// written: "1.10" is not "1.1", "007" is not "7".
func TestYAMLScalarsKeepTheirText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"integer", "42", "42"},
		{"negative", "-3", "-3"},
		{"float", "1.5", "1.5"},
		{"float trailing zero", "1.10", "1.10"},
		{"float integral", "2.0", "2.0"},
		{"leading zeros", "007", "007"},
		{"hex", "0x1F", "0x1F"},
		{"exponent", "1e3", "1e3"},
		{"large integer", "12345678901234567890123", "12345678901234567890123"},
		{"bool", "true", "true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var m StringMatcher
			if err := decodeYAML(tt.yaml, &m); err != nil {
				t.Errorf("matcher: %v", err)
			} else if m.Equals == nil || *m.Equals != tt.want {
				t.Errorf("matcher %s: equals %v, want %q", tt.yaml, deref(m.Equals), tt.want)
			}
			var h HeaderValues
			if err := decodeYAML(tt.yaml, &h); err != nil {
				t.Errorf("header: %v", err)
			} else if len(h) != 1 || h[0] != tt.want {
				t.Errorf("header %s = %q, want [%q]", tt.yaml, h, tt.want)
			}
		})
	}
}

// A JSON number used as a header value means the number as written.
func TestJSONHeaderNumbersKeepTheirText(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"42", "1.5", "1.10", "2.0", "12345678901234567890", "1e3"} {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			var h HeaderValues
			if err := json.Unmarshal([]byte(in), &h); err != nil {
				t.Fatal(err)
			}
			if len(h) != 1 || h[0] != in {
				t.Errorf("header %s = %q, want [%q]", in, h, in)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestStringMatcherErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		json string
		yaml string
	}{
		{"unknown field", `{"equal":"x"}`, `{equal: x}`},
		{"wrong type inside", `{"present":"yes"}`, `{present: [1]}`},
		{"list", `["a"]`, `[a]`},
		{"number", `42`, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.json != "" {
				var m StringMatcher
				if err := json.Unmarshal([]byte(tt.json), &m); err == nil {
					t.Errorf("JSON %s: no error, got %+v", tt.json, m)
				}
			}
			if tt.yaml != "" {
				var m struct {
					M StringMatcher `json:"m"`
				}
				if err := decodeYAML("m: "+tt.yaml, &m); err == nil {
					t.Errorf("YAML %s: no error, got %+v", tt.yaml, m.M)
				}
			}
		})
	}
}

func TestHeaderValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		json string
		yaml string
		want HeaderValues
	}{
		{"string", `"a"`, `a`, HeaderValues{"a"}},
		{"empty string", `""`, `""`, HeaderValues{""}},
		{"list", `["a","b"]`, `[a, b]`, HeaderValues{"a", "b"}},
		{"block list", ``, "- a\n- b\n", HeaderValues{"a", "b"}},
		{"empty list", `[]`, `[]`, HeaderValues{}},
		{"number", `42`, `42`, HeaderValues{"42"}},
		{"bool", `true`, `true`, HeaderValues{"true"}},
		{"mixed list in YAML", ``, `[a, 1, true]`, HeaderValues{"a", "1", "true"}},
		{"JSON leading space", " [\"a\"]", ``, HeaderValues{"a"}},
		{"value with semicolon", `"attachment; filename=\"x\""`, `'attachment; filename="x"'`, HeaderValues{`attachment; filename="x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.json != "" {
				var h HeaderValues
				if err := json.Unmarshal([]byte(tt.json), &h); err != nil {
					t.Fatalf("JSON: %v", err)
				}
				if !reflect.DeepEqual(h, tt.want) {
					t.Errorf("JSON %s = %q, want %q", tt.json, h, tt.want)
				}
				b, err := json.Marshal(h)
				if err != nil {
					t.Fatal(err)
				}
				var back HeaderValues
				if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, h) {
					t.Errorf("round trip %s: %q, %v", b, back, err)
				}
				if len(h) == 1 && b[0] != '"' {
					t.Errorf("a single value marshals as %s, want a string", b)
				}
			}
			if tt.yaml != "" {
				var h HeaderValues
				if err := decodeYAML(tt.yaml, &h); err != nil {
					t.Fatalf("YAML: %v", err)
				}
				if !reflect.DeepEqual(h, tt.want) {
					t.Errorf("YAML %s = %q, want %q", tt.yaml, h, tt.want)
				}
			}
		})
	}
}

func TestHeaderValuesErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, json, yaml string }{
		{"object", `{"a":1}`, `{a: 1}`},
		{"list of lists", `[["a"]]`, `[[a]]`},
		{"list with object", `["a", {"b": 1}]`, `[a, {b: 1}]`},
		{"list with null", ``, `[a, ~]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.json != "" {
				var h HeaderValues
				if err := json.Unmarshal([]byte(tt.json), &h); err == nil {
					t.Errorf("JSON %s: no error, got %q", tt.json, h)
				}
			}
			var h struct {
				H HeaderValues `json:"h"`
			}
			if err := decodeYAML("h: "+tt.yaml, &h); err == nil {
				t.Errorf("YAML %s: no error, got %q", tt.yaml, h.H)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		json string
		yaml string
		want time.Duration
	}{
		{"go duration", `"250ms"`, `250ms`, 250 * time.Millisecond},
		{"seconds", `"1.5s"`, `1.5s`, 1500 * time.Millisecond},
		{"compound", `"1m30s"`, `1m30s`, 90 * time.Second},
		{"number of ms", `250`, `250`, 250 * time.Millisecond},
		{"fractional ms", `1.5`, `1.5`, 1500 * time.Microsecond},
		{"zero", `0`, `0`, 0},
		{"string number is ms", `"250"`, `"250"`, 250 * time.Millisecond},
		{"spaces trimmed", `" 2s "`, `" 2s "`, 2 * time.Second},
		{"micro", `"10us"`, `10us`, 10 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var d Duration
			if err := json.Unmarshal([]byte(tt.json), &d); err != nil {
				t.Fatalf("JSON: %v", err)
			}
			if d.D() != tt.want {
				t.Errorf("JSON %s = %v, want %v", tt.json, d.D(), tt.want)
			}
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := json.Marshal(tt.want.String()); string(b) != string(want) {
				t.Errorf("Marshal = %s, want %s", b, want)
			}
			var back Duration
			if err := json.Unmarshal(b, &back); err != nil || back != d {
				t.Errorf("round trip %s = %v, %v", b, back.D(), err)
			}
			var y Duration
			if err := decodeYAML(tt.yaml, &y); err != nil {
				t.Fatalf("YAML: %v", err)
			}
			if y.D() != tt.want {
				t.Errorf("YAML %s = %v, want %v", tt.yaml, y.D(), tt.want)
			}
		})
	}
}

func TestDurationErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, json, yaml string }{
		{"negative number", `-1`, `-1`},
		{"negative string", `"-1s"`, `-1s`},
		{"negative string number", `"-5"`, `"-5"`},
		{"no unit", `"5 parsecs"`, `5 parsecs`},
		{"bool", `true`, `true`},
		{"list", `[1]`, `[1]`},
		{"object", `{"ms":1}`, `{ms: 1}`},
		{"empty string", `""`, `""`},
		{"NaN", `"NaN"`, `NaN`},
		{"infinity", `"Inf"`, `.inf`},
		{"overflowing number", `1e300`, `1e300`},
		{"overflowing string", `"1e300"`, `"1e300"`},
		{"overflowing go duration", `"3000000h"`, `3000000h`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var d Duration
			if err := json.Unmarshal([]byte(tt.json), &d); err == nil {
				t.Errorf("JSON %s: no error, got %v", tt.json, d.D())
			}
			var y Duration
			if err := decodeYAML(tt.yaml, &y); err == nil {
				t.Errorf("YAML %s: no error, got %v", tt.yaml, y.D())
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"250ms", 250 * time.Millisecond, false},
		{"250", 250 * time.Millisecond, false},
		{" 250 ", 250 * time.Millisecond, false},
		{"0", 0, false},
		{"0.5", 500 * time.Microsecond, false},
		{"1e3", time.Second, false},
		{"2h", 2 * time.Hour, false},
		{"-1", 0, true},
		{"-1ms", 0, true},
		{"", 0, true},
		{"ms", 0, true},
		{"5 s", 0, true},
		{"NaN", 0, true},
		{"nan", 0, true},
		{"Inf", 0, true},
		{"+Inf", 0, true},
		{"1e20", 0, true},
		{"9223372036854.775807", 0, true}, // ms: just over the largest Duration
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDuration(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseDuration(%q) = %v, %v; want error %v", tt.in, got, err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got, tt.want)
			}
			if err == nil && got < 0 {
				t.Errorf("ParseDuration(%q) = %v: negative without an error", tt.in, got)
			}
		})
	}
}

// encoding/json calls UnmarshalJSON with null for a field set to null; by
// convention that is a no-op (clients that write "delay": null mean no
// delay).
func TestJSONNullFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		json string
	}{
		{"delay null", `{"delay": null}`},
		{"size null", `{"generate": {"size": null}}`},
		{"header null", `{"headers": {"X-A": null}}`},
		{"body null", `{"body": null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var r Response
			if err := json.Unmarshal([]byte(tt.json), &r); err != nil {
				t.Errorf("Unmarshal(%s): %v", tt.json, err)
			}
		})
	}
}

func TestSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		json string
		yaml string
		want int64
	}{
		{"bytes", `4096`, `4096`, 4096},
		{"zero", `0`, `0`, 0},
		{"string bytes", `"512"`, `"512"`, 512},
		{"KiB", `"64KiB"`, `64KiB`, 64 << 10},
		{"MiB", `"4MiB"`, `4MiB`, 4 << 20},
		{"GiB", `"1GiB"`, `1GiB`, 1 << 30},
		{"TiB", `"1TiB"`, `1TiB`, 1 << 40},
		{"kB", `"10kB"`, `10kB`, 10000},
		{"KB", `"10KB"`, `10KB`, 10000},
		{"MB", `"5MB"`, `5MB`, 5000000},
		{"GB", `"2GB"`, `2GB`, 2000000000},
		{"K", `"2K"`, `2K`, 2048},
		{"M", `"2M"`, `2M`, 2 << 20},
		{"G", `"1G"`, `1G`, 1 << 30},
		{"B", `"100B"`, `100B`, 100},
		{"space before unit", `"64 KiB"`, `64 KiB`, 64 << 10},
		{"fraction with unit", `"1.5KiB"`, `1.5KiB`, 1536},
		{"float whole number", `1024.0`, `1024.0`, 1024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s Size
			if err := json.Unmarshal([]byte(tt.json), &s); err != nil {
				t.Fatalf("JSON: %v", err)
			}
			if int64(s) != tt.want {
				t.Errorf("JSON %s = %d, want %d", tt.json, s, tt.want)
			}
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			var back Size
			if err := json.Unmarshal(b, &back); err != nil || back != s {
				t.Errorf("round trip %s = %d, %v", b, back, err)
			}
			var y Size
			if err := decodeYAML(tt.yaml, &y); err != nil {
				t.Fatalf("YAML: %v", err)
			}
			if int64(y) != tt.want {
				t.Errorf("YAML %s = %d, want %d", tt.yaml, y, tt.want)
			}
		})
	}
}

func TestSizeErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, json, yaml string }{
		{"negative", `-1`, `-1`},
		{"negative string", `"-1KiB"`, `-1KiB`},
		{"fraction of a byte", `1.5`, `1.5`},
		{"unknown unit", `"5 parsecs"`, `5 parsecs`},
		{"lowercase unit", `"5kib"`, `5kib`},
		{"unit only", `"KiB"`, `KiB`},
		{"empty", `""`, `""`},
		{"bool", `true`, `true`},
		{"list", `[1]`, `[1]`},
		{"too large", `"2PiB"`, `2000TiB`},
		{"too large number", `1e300`, `1e300`},
		{"too large integer", `18446744073709551615`, `18446744073709551615`},
		{"NaN", `"NaN"`, `NaN`},
		{"NaN with unit", `"NaNKiB"`, `NaN KiB`},
		{"infinity", `"Inf"`, `.inf`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s Size
			if err := json.Unmarshal([]byte(tt.json), &s); err == nil {
				t.Errorf("JSON %s: no error, got %d", tt.json, s)
			}
			var y Size
			if err := decodeYAML(tt.yaml, &y); err == nil {
				t.Errorf("YAML %s: no error, got %d", tt.yaml, y)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"0", 0, false},
		{"512", 512, false},
		{" 64KiB ", 64 << 10, false},
		{"0.5KiB", 512, false},
		{"1e3", 1000, false},
		{"1e3KiB", 1000 << 10, false},
		{"1024TiB", 1 << 50, false},
		{"1025TiB", 0, true},
		{"-1", 0, true},
		{"", 0, true},
		{"B", 0, true},
		{"NaN", 0, true},
		{"nan", 0, true},
		{"NaNB", 0, true},
		{"Inf", 0, true},
		{"infinity", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseSize(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseSize(%q) = %d, %v; want error %v", tt.in, got, err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("ParseSize(%q) = %d, want %d", tt.in, got, tt.want)
			}
			if err == nil && got < 0 {
				t.Errorf("ParseSize(%q) = %d: negative without an error", tt.in, got)
			}
		})
	}
}

func TestValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		json     string // "" when only YAML
		yaml     string
		wantJSON string
		str      string
		isStr    bool
		zero     bool
	}{
		{"object keeps order, compact", "{ \"b\": 1,\n \"a\": 2 }", "{b: 1, a: 2}", `{"b":1,"a":2}`, "", false, false},
		{"nested", `{"z":{"y":[1,{"x":null}]}}`, "z:\n  y:\n    - 1\n    - x: null\n", `{"z":{"y":[1,{"x":null}]}}`, "", false, false},
		{"string", `"hi"`, `hi`, `"hi"`, "hi", true, false},
		{"string with escapes", `"a\nb\"c"`, `"a\nb\"c"`, `"a\nb\"c"`, "a\nb\"c", true, false},
		{"number", `42`, `42`, `42`, "", false, false},
		{"bool", `true`, `true`, `true`, "", false, false},
		{"null is zero", `null`, `null`, `null`, "", false, true},
		{"array", `[1, "a"]`, `[1, a]`, `[1,"a"]`, "", false, false},
		{"YAML literal block", "", "|\n  line one\n  line two\n", `"line one\nline two\n"`, "line one\nline two\n", true, false},
		{"YAML quoted number is a string", "", `"42"`, `"42"`, "42", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			check := func(how string, v Value) {
				t.Helper()
				if !tt.zero && string(v.JSON()) != tt.wantJSON {
					t.Errorf("%s: JSON() = %s, want %s", how, v.JSON(), tt.wantJSON)
				}
				s, ok := v.String()
				if ok != tt.isStr || s != tt.str {
					t.Errorf("%s: String() = %q, %v; want %q, %v", how, s, ok, tt.str, tt.isStr)
				}
				if v.IsZero() != tt.zero {
					t.Errorf("%s: IsZero() = %v", how, v.IsZero())
				}
				b, err := json.Marshal(v)
				if err != nil || string(b) != tt.wantJSON {
					t.Errorf("%s: Marshal = %s, %v", how, b, err)
				}
			}
			if tt.json != "" {
				var v Value
				if err := json.Unmarshal([]byte(tt.json), &v); err != nil {
					t.Fatalf("JSON: %v", err)
				}
				check("JSON", v)
			}
			var r struct {
				Body Value `json:"body"`
			}
			y := "body: " + tt.yaml
			if strings.Contains(tt.yaml, "\n") {
				y = "body:\n  " + strings.ReplaceAll(strings.TrimSuffix(tt.yaml, "\n"), "\n", "\n  ") + "\n"
			}
			if err := decodeYAML(y, &r); err != nil {
				t.Fatalf("YAML %q: %v", y, err)
			}
			check("YAML", r.Body)
		})
	}
}

func TestValueHelpers(t *testing.T) {
	t.Parallel()
	var zero Value
	if !zero.IsZero() {
		t.Error("zero Value is not zero")
	}
	if b, _ := json.Marshal(zero); string(b) != "null" {
		t.Errorf("Marshal(zero) = %s", b)
	}
	if _, ok := zero.String(); ok {
		t.Error("zero Value is a string")
	}
	if s, ok := Text("x<y").String(); !ok || s != "x<y" {
		t.Errorf("Text().String() = %q, %v", s, ok)
	}
	if _, err := JSONValue([]byte(`{"a":`)); err == nil {
		t.Error("JSONValue accepted bad JSON")
	}
	if _, err := JSONValue(nil); err == nil {
		t.Error("JSONValue accepted nothing")
	}
	var v Value
	if err := json.Unmarshal([]byte(`{"a":1}`), &v); err != nil || string(v.JSON()) != `{"a":1}` {
		t.Errorf("Unmarshal: %s, %v", v.JSON(), err)
	}
}

// A whole stub in JSON and in YAML, with every shorthand, decodes to the
// same thing, and survives a JSON round trip.
func TestStubRoundTrip(t *testing.T) {
	t.Parallel()
	const js = `{
  "id": "s1",
  "description": "d",
  "priority": 2,
  "request": {
    "method": "POST",
    "path": "/users/{id}",
    "query": {"page": "2", "q": {"contains": "x"}},
    "headers": {"X-Id": {"regex": "^[0-9]+$"}, "Accept": "application/json"},
    "cookies": {"session": {"present": true}},
    "body": {"jsonPath": [{"path": "$.a", "equals": 1}, {"path": "$.b", "absent": true}], "contains": "a"}
  },
  "responses": [
    {"status": 201, "headers": {"Set-Cookie": ["a=1", "b=2"], "X-One": "1"}, "body": {"z": 1, "a": [true]}, "delay": "250ms"},
    {"status": 200, "body": "text", "delay": 100},
    {"generate": {"size": "4KiB", "pattern": "text", "seed": 7}},
    {"bodyBase64": "aGk=", "bodyFile": "x.bin"}
  ],
  "sequence": "repeat"
}`
	const ym = `
id: s1
description: d
priority: 2
request:
  method: POST
  path: /users/{id}
  query: {page: 2, q: {contains: x}}
  headers:
    X-Id: {regex: '^[0-9]+$'}
    Accept: application/json
  cookies:
    session: {present: true}
  body:
    jsonPath:
      - {path: $.a, equals: 1}
      - {path: $.b, absent: true}
    contains: a
responses:
  - status: 201
    headers:
      Set-Cookie: [a=1, b=2]
      X-One: 1
    body: {z: 1, a: [true]}
    delay: 250ms
  - {status: 200, body: text, delay: 100}
  - generate: {size: 4KiB, pattern: text, seed: 7}
  - {bodyBase64: aGk=, bodyFile: x.bin}
sequence: repeat
`
	var fromJSON, fromYAML Stub
	if err := decodeJSON(js, &fromJSON); err != nil {
		t.Fatalf("JSON: %v", err)
	}
	if err := decodeYAML(ym, &fromYAML); err != nil {
		t.Fatalf("YAML: %v", err)
	}
	norm := func(s Stub) string {
		// JSONPath equals come out as float64 from JSON and as uint64 from
		// YAML; compare through JSON.
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if a, b := norm(fromJSON), norm(fromYAML); a != b {
		t.Errorf("JSON and YAML differ:\nJSON %s\nYAML %s", a, b)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"query shorthand", reflect.DeepEqual(fromYAML.Request.Query["page"], Eq("2"))},
		{"header shorthand", reflect.DeepEqual(fromYAML.Request.Headers["Accept"], Eq("application/json"))},
		{"header list", reflect.DeepEqual(fromYAML.Responses[0].Headers["Set-Cookie"], HeaderValues{"a=1", "b=2"})},
		{"header number", reflect.DeepEqual(fromYAML.Responses[0].Headers["X-One"], HeaderValues{"1"})},
		{"delay string", fromYAML.Responses[0].Delay.D() == 250*time.Millisecond},
		{"delay number", fromYAML.Responses[1].Delay.D() == 100*time.Millisecond},
		{"size unit", fromYAML.Responses[2].Generate.Size == 4096},
		{"seed", fromYAML.Responses[2].Generate.Seed == 7},
		{"body order", string(fromYAML.Responses[0].Body.JSON()) == `{"z":1,"a":[true]}`},
		{"body text", func() bool { s, ok := fromYAML.Responses[1].Body.String(); return ok && s == "text" }()},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("YAML: %s wrong", c.name)
		}
	}
	// JSON round trip.
	b, err := json.Marshal(fromJSON)
	if err != nil {
		t.Fatal(err)
	}
	var back Stub
	if err := decodeJSON(string(b), &back); err != nil {
		t.Fatalf("round trip of %s: %v", b, err)
	}
	if !reflect.DeepEqual(back, fromJSON) {
		t.Errorf("round trip differs:\n%+v\n%+v", back, fromJSON)
	}
}

func TestStubUnknownFields(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, json, yaml string }{
		{"top level", `{"reqest": {}}`, `reqest: {}`},
		{"request", `{"request": {"paht": "/"}}`, `request: {paht: /}`},
		{"response", `{"response": {"stauts": 200}}`, `response: {stauts: 200}`},
		{"matcher", `{"request": {"headers": {"X": {"regx": "a"}}}}`, `request: {headers: {X: {regx: a}}}`},
		{"jsonPath", `{"request": {"body": {"jsonPath": [{"pth": "$"}]}}}`, `request: {body: {jsonPath: [{pth: $}]}}`},
		{"generate", `{"response": {"generate": {"size": 1, "sed": 1}}}`, `response: {generate: {size: 1, sed: 1}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s Stub
			if err := decodeJSON(tt.json, &s); err == nil {
				t.Errorf("JSON %s: no error", tt.json)
			}
			if err := decodeYAML(tt.yaml, &s); err == nil {
				t.Errorf("YAML %s: no error", tt.yaml)
			}
		})
	}
}

func TestFieldError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		e    FieldError
		want string
	}{
		{FieldError{Msg: "m"}, "m"},
		{FieldError{Field: "request.path", Msg: "m"}, "request.path: m"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	joins := []struct {
		parts []string
		want  string
	}{
		{nil, ""},
		{[]string{"a"}, "a"},
		{[]string{"a", "b"}, "a.b"},
		{[]string{"", "a", "", "b", ""}, "a.b"},
		{[]string{"responses", "[1]", "status"}, "responses[1].status"},
		{[]string{"[0]", "id"}, "[0].id"},
		{[]string{"request.headers", "X-Id", "regex"}, "request.headers.X-Id.regex"},
	}
	for _, tt := range joins {
		if got := Join(tt.parts...); got != tt.want {
			t.Errorf("Join(%q) = %q, want %q", tt.parts, got, tt.want)
		}
	}
}
