package behave

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/decoy-dev/decoy/internal/stub"
)

type faultsDoc struct {
	Faults Faults `json:"faults"`
}

func TestFaultsDecode(t *testing.T) {
	t.Parallel()
	code := stub.GRPCCode(8)
	tests := []struct {
		name string
		yaml string
		json string
		want Faults
	}{
		{"bare kind", `faults: reset`, `{"faults":"reset"}`, Faults{{Kind: "reset"}}},
		{"one object", `faults: {kind: reset, probability: 0.05}`, `{"faults":{"kind":"reset","probability":0.05}}`,
			Faults{{Kind: "reset", Probability: fp(0.05)}}},
		{"list", "faults:\n  - kind: error\n    status: 503\n    after: 2s\n    probability: 0.1\n  - hang\n",
			`{"faults":[{"kind":"error","status":503,"after":"2s","probability":0.1},"hang"]}`,
			Faults{{Kind: "error", Status: 503, After: sd(2 * time.Second), Probability: fp(0.1)}, {Kind: "hang"}}},
		{"garbage bytes", `faults: [{kind: garbage, bytes: 1KiB}]`, `{"faults":[{"kind":"garbage","bytes":"1KiB"}]}`,
			Faults{{Kind: "garbage", Bytes: 1024}}},
		{"h2 rst", `faults: {kind: reset, h2: {rstStream: CANCEL}}`, `{"faults":{"kind":"reset","h2":{"rstStream":"CANCEL"}}}`,
			Faults{{Kind: "reset", H2: &H2Fault{RSTStream: "CANCEL"}}}},
		{"h2 goaway", `faults: {kind: empty, h2: {goaway: true}}`, `{"faults":{"kind":"empty","h2":{"goaway":true}}}`,
			Faults{{Kind: "empty", H2: &H2Fault{GOAWAY: stub.GoAwayNoError}}}},
		{"h2 goaway code", `faults: {kind: empty, h2: {goaway: ENHANCE_YOUR_CALM}}`, `{"faults":{"kind":"empty","h2":{"goaway":"ENHANCE_YOUR_CALM"}}}`,
			Faults{{Kind: "empty", H2: &H2Fault{GOAWAY: "ENHANCE_YOUR_CALM"}}}},
		{"grpc status", `faults: {kind: error, grpcStatus: RESOURCE_EXHAUSTED}`, `{"faults":{"kind":"error","grpcStatus":"RESOURCE_EXHAUSTED"}}`,
			Faults{{Kind: "error", GRPCStatus: &code}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var y, j faultsDoc
			if err := decodeYAML(tt.yaml, &y); err != nil {
				t.Fatalf("YAML: %v", err)
			}
			if !reflect.DeepEqual(y.Faults, tt.want) {
				t.Errorf("YAML %q = %+v, want %+v", tt.yaml, y.Faults, tt.want)
			}
			if err := json.Unmarshal([]byte(tt.json), &j); err != nil {
				t.Fatalf("JSON: %v", err)
			}
			if !reflect.DeepEqual(j.Faults, tt.want) {
				t.Errorf("JSON %s = %+v, want %+v", tt.json, j.Faults, tt.want)
			}
			b, _ := json.Marshal(tt.want)
			var back Faults
			if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, tt.want) {
				t.Errorf("round trip through %s = %+v, %v", b, back, err)
			}
		})
	}
}

func TestFaultsDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, yaml, json, want string }{
		{"unknown field", `faults: {kind: reset, chance: 0.5}`, `{"faults":{"kind":"reset","chance":0.5}}`, `unknown field "chance"`},
		{"unknown h2 field", `faults: {kind: reset, h2: {rst: CANCEL}}`, `{"faults":{"kind":"reset","h2":{"rst":"CANCEL"}}}`, `unknown field "rst"`},
		{"list of lists", `faults: [[reset]]`, `{"faults":[["reset"]]}`, "a fault is"},
		{"bad grpc status", `faults: {kind: error, grpcStatus: NOPE}`, `{"faults":{"kind":"error","grpcStatus":"NOPE"}}`, "not a gRPC status code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var y, j faultsDoc
			if err := decodeYAML(tt.yaml, &y); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("YAML %q: error %v, want %q", tt.yaml, err, tt.want)
			}
			if err := json.Unmarshal([]byte(tt.json), &j); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("JSON %s: error %v, want %q", tt.json, err, tt.want)
			}
		})
	}
}

func TestFaultsCompileErrors(t *testing.T) {
	t.Parallel()
	bad := stub.GRPCCode(42)
	type want struct{ field, msg string }
	tests := []struct {
		name string
		f    Faults
		want []want
	}{
		{"unknown kind", Faults{{Kind: "explode"}}, []want{{"[0].kind", `unknown fault kind "explode": want one of reset, empty, malformed, garbage, close-mid-body, hang, error`}}},
		{"no kind", Faults{{Probability: fp(0.5)}}, []want{{"[0].kind", "a fault needs a kind: one of reset, empty"}}},
		{"probability above 1", Faults{{Kind: "reset", Probability: fp(1.5)}}, []want{{"[0].probability", "1.5 is not a probability (0 to 1"}}},
		{"negative probability", Faults{{Kind: "reset", Probability: fp(-0.1)}}, []want{{"[0].probability", "not a probability"}}},
		{"NaN probability", Faults{{Kind: "reset", Probability: fp(math.NaN())}}, []want{{"[0].probability", "not a probability"}}},
		{"sum above 1", Faults{{Kind: "reset", Probability: fp(0.7)}, {Kind: "hang", Probability: fp(0.5)}},
			[]want{{"", "fault probabilities add up to 1.2; at most one fault applies per call"}}},
		{"status on reset", Faults{{Kind: "reset", Status: 503}}, []want{{"[0].status", "applies to kind error only"}}},
		{"grpc status on hang", Faults{{Kind: "hang", GRPCStatus: &bad}}, []want{{"[0].grpcStatus", "applies to kind error only"}}},
		{"bad grpc status", Faults{{Kind: "error", GRPCStatus: &bad}}, []want{{"[0].grpcStatus", "42 is not a gRPC status code"}}},
		{"bad status", Faults{{Kind: "error", Status: 42}}, []want{{"[0].status", "42 is not an HTTP status"}}},
		{"success status", Faults{{Kind: "error", Status: 200}}, []want{{"[0].status", "200 is not an error: an error fault answers 400-999"}}},
		{"no content status", Faults{{Kind: "error", Status: 204}}, []want{{"[0].status", "204 is not an error"}}},
		{"redirect status", Faults{{Kind: "error", Status: 302}}, []want{{"[0].status", "302 is not an error"}}},
		{"bytes on hang", Faults{{Kind: "hang", Bytes: 10}}, []want{{"[0].bytes", "applies to kinds garbage and close-mid-body only"}}},
		{"too much garbage", Faults{{Kind: "garbage", Bytes: 2 << 20}}, []want{{"[0].bytes", "more than the 1048576"}}},
		{"negative after", Faults{{Kind: "error", After: sd(-ms)}}, []want{{"[0].after", "cannot be negative"}}},
		{"h2 both", Faults{{Kind: "reset", H2: &H2Fault{RSTStream: "CANCEL", GOAWAY: stub.GoAwayNoError}}}, []want{{"[0].h2", "not both"}}},
		{"h2 empty", Faults{{Kind: "reset", H2: &H2Fault{}}}, []want{{"[0].h2", "give rstStream"}}},
		{"h2 bad code", Faults{{Kind: "reset", H2: &H2Fault{RSTStream: "OOPS"}}}, []want{{"[0].h2.rstStream", `unknown HTTP/2 error code "OOPS": want one of NO_ERROR`}}},
		{"h2 bad goaway code", Faults{{Kind: "reset", H2: &H2Fault{GOAWAY: "CALM"}}}, []want{{"[0].h2.goaway", `unknown HTTP/2 error code "CALM": want one of NO_ERROR`}}},
		{"nothing left for faults without a probability", Faults{{Kind: "reset", Probability: fp(1)}, {Kind: "hang"}},
			[]want{{"", "leaving nothing for the faults without one"}}},
		{"errors in two faults", Faults{{Kind: "reset"}, {Kind: "nope"}, {Kind: "error", Status: 1000}},
			[]want{{"[1].kind", "unknown fault kind"}, {"[2].status", "not an HTTP status"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			set, errs := CompileFaults(tt.f)
			if set != nil {
				t.Error("got a fault set from invalid faults")
			}
			if len(errs) != len(tt.want) {
				t.Fatalf("errors %v, want %v", errs, tt.want)
			}
			for i, w := range tt.want {
				if errs[i].Field != w.field || !strings.Contains(errs[i].Msg, w.msg) {
					t.Errorf("error %d = %q (field %q), want field %q with %q", i, errs[i].Error(), errs[i].Field, w.field, w.msg)
				}
			}
		})
	}
}

func TestFaultsCompile(t *testing.T) {
	t.Parallel()
	one := fp(0.1)
	set, errs := CompileFaults(Faults{
		{Kind: "error"},
		{Kind: "error", Status: 404, After: sd(2 * time.Second), Probability: one},
		{Kind: "garbage", Probability: one},
		{Kind: "reset", H2: &H2Fault{RSTStream: "cancel"}, Probability: one},
		{Kind: "empty", H2: &H2Fault{GOAWAY: "enhance_your_calm"}, Probability: one},
		{Kind: "close-mid-body", Bytes: 100, Probability: one},
		{Kind: "Hang", After: sd(30 * time.Second), Probability: one},
		{Kind: "malformed", H2: &H2Fault{RSTStream: "0xb"}},
	})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	a := set.Actions()
	want := []FaultAction{
		{Kind: FaultError, Probability: 0.2, Status: 503, GRPCStatus: 14},
		{Kind: FaultError, Probability: 0.1, Status: 404, GRPCStatus: 12, After: 2 * time.Second},
		{Kind: FaultGarbage, Probability: 0.1, Bytes: DefaultGarbageBytes},
		{Kind: FaultReset, Probability: 0.1, H2: H2Action{RSTStream: true, Code: 8}},
		{Kind: FaultEmpty, Probability: 0.1, H2: H2Action{GOAWAY: true, Code: 11}},
		{Kind: FaultCloseMidBody, Probability: 0.1, Bytes: 100},
		{Kind: FaultHang, Probability: 0.1, After: 30 * time.Second},
		{Kind: FaultMalformed, Probability: 0.2, H2: H2Action{RSTStream: true, Code: 11}},
	}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("actions\n got %+v\nwant %+v", a, want)
	}
	for k := FaultReset; k <= FaultError; k++ {
		if p, err := ParseFaultKind(k.String()); err != nil || p != k {
			t.Errorf("ParseFaultKind(%q) = %v, %v", k.String(), p, err)
		}
	}
	if s := FaultKind(99).String(); s != "FaultKind(99)" {
		t.Errorf("FaultKind(99) = %q", s)
	}
	if set, errs := CompileFaults(Faults{}); set != nil || errs != nil {
		t.Errorf("empty faults compiled to %v, %v", set, errs)
	}
}

func TestCutAt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		bytes, body, want int64
	}{{0, 1000, 500}, {100, 1000, 100}, {5000, 1000, 999}, {0, 1, 0}, {10, 0, 0}}
	for _, tt := range tests {
		a := FaultAction{Kind: FaultCloseMidBody, Bytes: tt.bytes}
		if got := a.CutAt(tt.body); got != tt.want {
			t.Errorf("bytes %d, body %d: CutAt = %d, want %d", tt.bytes, tt.body, got, tt.want)
		}
	}
}

// TestFaultProbability: over 100,000 calls each fault fires within ±1% of
// its probability, and the sequence is the same on every run.
func TestFaultProbability(t *testing.T) {
	t.Parallel()
	const calls = 100000
	tests := []struct {
		name   string
		faults Faults
	}{
		{"5% resets", Faults{{Kind: "reset", Probability: fp(0.05)}}},
		{"1% hangs", Faults{{Kind: "hang", Probability: fp(0.01)}}},
		{"half errors", Faults{{Kind: "error", Probability: fp(0.5)}}},
		{"three kinds", Faults{{Kind: "reset", Probability: fp(0.05)}, {Kind: "error", Probability: fp(0.10)}, {Kind: "garbage", Probability: fp(0.02)}}},
		{"never", Faults{{Kind: "reset", Probability: fp(0)}}},
		{"always", Faults{{Kind: "reset"}}},
		{"unset probabilities share the rest", Faults{{Kind: "reset", Probability: fp(0.2)}, {Kind: "hang"}, {Kind: "empty"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			set, errs := CompileFaults(tt.faults)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			count := make(map[*FaultAction]int)
			var first, second []bool
			k := NewKey(2024, "faulty")
			for call := range uint64(calls) {
				a, ok := set.DecideKey(k, call)
				if ok {
					count[a]++
				}
				first = append(first, ok)
				_, again := set.Decide(2024, "faulty", call)
				second = append(second, again)
			}
			acts := set.Actions()
			for i := range acts {
				frac := float64(count[&acts[i]]) / calls
				t.Logf("%s p=%g: fired %.4f", acts[i].Kind, acts[i].Probability, frac)
				if math.Abs(frac-acts[i].Probability) > 0.01 {
					t.Errorf("%s with probability %g fired on %.4f of calls", acts[i].Kind, acts[i].Probability, frac)
				}
			}
			if !reflect.DeepEqual(first, second) {
				t.Error("the same calls decided differently")
			}
		})
	}
}

// TestFaultStreamIndependent: faults and latency draw from separate
// streams, so the calls that fault have ordinary delays.
func TestFaultStreamIndependent(t *testing.T) {
	t.Parallel()
	s := uniformSampler(t)
	set, _ := CompileFaults(Faults{{Kind: "reset", Probability: fp(0.2)}})
	var sum time.Duration
	n := 0
	for call := range uint64(50000) {
		if _, ok := set.Decide(3, "ind", call); ok {
			sum += s.Sample(3, "ind", call, 0)
			n++
		}
	}
	m := sum / time.Duration(n)
	if (m - 500*ms).Abs() > 15*ms {
		t.Errorf("mean delay of faulted calls = %v, want about 500ms (uniform 0..1s)", m)
	}
}

func TestGarbage(t *testing.T) {
	t.Parallel()
	k := NewKey(1, "g")
	a, b, c := make([]byte, 61), make([]byte, 61), make([]byte, 61)
	Garbage(k, 3, a)
	Garbage(k, 3, b)
	Garbage(k, 4, c)
	if string(a) != string(b) {
		t.Error("garbage for the same call differs")
	}
	if string(a) == string(c) {
		t.Error("garbage for different calls is the same")
	}
	if strings.Count(string(a), "\x00") > 10 {
		t.Errorf("garbage looks empty: %x", a)
	}
}

func TestParseH2ErrorCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"NO_ERROR", 0, true}, {"cancel", 8, true}, {"ENHANCE_YOUR_CALM", 11, true}, {"HTTP_1_1_REQUIRED", 13, true},
		{"2", 2, true}, {"0xd", 13, true}, {"CANCELLED", 0, false}, {"", 0, false}, {"-1", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseH2ErrorCode(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseH2ErrorCode(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestNilFaultSet(t *testing.T) {
	t.Parallel()
	var s *FaultSet
	if a, ok := s.Decide(1, "x", 1); ok || a != nil {
		t.Error("a nil set faulted")
	}
	if s.Actions() != nil {
		t.Error("a nil set has actions")
	}
}
