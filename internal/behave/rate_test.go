package behave

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Rate
		err  string // "" for success
	}{
		{"256KiB/s", 256 << 10, ""},
		{"1MiB/s", 1 << 20, ""},
		{"1.5MiB/s", 3 << 19, ""},
		{"2GiB/s", 2 << 30, ""},
		{"1TiB/s", 1 << 40, ""},
		{"10kB/s", 10000, ""},
		{"10KB/s", 10000, ""},
		{"5MB/s", 5000000, ""},
		{"1GB/s", 1000000000, ""},
		{"100B/s", 100, ""},
		{"4096", 4096, ""},
		{" 64 KiB/s ", 64 << 10, ""},
		{"8Mbps", 1000000, ""},
		{"8 Mbps", 1000000, ""},
		{"100Mb/s", 12500000, ""},
		{"1Kbps", 125, ""},
		{"56kbps", 7000, ""},
		{"1Gbps", 125000000, ""},
		{"800bps", 100, ""},
		{"12b/s", 2, ""}, // 1.5 rounds to 2
		{"", 0, "not a rate"},
		{"fast", 0, "not a rate"},
		{"KiB/s", 0, "not a rate"},
		{"-1KiB/s", 0, "not a rate"},
		{"1e3KiB/s", 0, "not a rate"},
		{"0x10", 0, "not a rate"},
		{"NaN", 0, "not a rate"},
		{"Inf", 0, "not a rate"},
		{"1 KiB", 0, "not a rate"},
		{"1.2.3MB/s", 0, "not a rate"},
		{"0", 0, "below 1 B/s"},
		{"0.4B/s", 0, "below 1 B/s"},
		{"1bps", 0, "below 1 B/s"},
		{"2TiB/s", 0, "above the 1TiB/s limit"},
		{"99999999999999999999", 0, "above the 1TiB/s limit"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseRate(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("ParseRate(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseRate(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
			back, err := ParseRate(got.String())
			if err != nil || back != got {
				t.Errorf("ParseRate(%q.String() = %q) = %d, %v", tt.in, got.String(), back, err)
			}
		})
	}
}

func TestRateString(t *testing.T) {
	t.Parallel()
	for r, want := range map[Rate]string{256 << 10: "256KiB/s", 1 << 20: "1MiB/s", 1000: "1000B/s", 3 << 19: "1536KiB/s", 1: "1B/s", 0: "0B/s"} {
		if got := r.String(); got != want {
			t.Errorf("Rate(%d) = %q, want %q", int64(r), got, want)
		}
	}
}

type deliveryDoc struct {
	Throttle Rate     `json:"throttle,omitempty"`
	Dribble  *Dribble `json:"dribble,omitempty"`
}

func TestDeliveryDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, json string
		want             deliveryDoc
	}{
		{"throttle", `throttle: 256KiB/s`, `{"throttle":"256KiB/s"}`, deliveryDoc{Throttle: 256 << 10}},
		{"throttle bits", `throttle: 8Mbps`, `{"throttle":"8Mbps"}`, deliveryDoc{Throttle: 1000000}},
		{"throttle number", `throttle: 1024`, `{"throttle":1024}`, deliveryDoc{Throttle: 1024}},
		{"dribble", `dribble: {chunk: 1KiB, every: 100ms}`, `{"dribble":{"chunk":"1KiB","every":"100ms"}}`,
			deliveryDoc{Dribble: &Dribble{Chunk: 1024, Every: sd(100 * ms)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var y, j deliveryDoc
			if err := decodeYAML(tt.yaml, &y); err != nil || !reflect.DeepEqual(y, tt.want) {
				t.Errorf("YAML %q = %+v, %v", tt.yaml, y, err)
			}
			if err := json.Unmarshal([]byte(tt.json), &j); err != nil || !reflect.DeepEqual(j, tt.want) {
				t.Errorf("JSON %s = %+v, %v", tt.json, j, err)
			}
			b, _ := json.Marshal(tt.want)
			var back deliveryDoc
			if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, tt.want) {
				t.Errorf("round trip through %s = %+v, %v", b, back, err)
			}
		})
	}
	for _, bad := range []struct{ yaml, json, want string }{
		{`throttle: fast`, `{"throttle":"fast"}`, "not a rate"},
		{`throttle: [1]`, `{"throttle":[1]}`, "rate"},
		{`throttle: 0`, `{"throttle":0}`, "below 1 B/s"},
		{`dribble: {chunk: 1KiB, every: 100ms, jitter: 1ms}`, `{"dribble":{"chunk":1,"every":1,"jitter":1}}`, "jitter"},
	} {
		var y deliveryDoc
		if err := decodeYAML(bad.yaml, &y); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("YAML %q: error %v, want %q", bad.yaml, err, bad.want)
		}
		var j deliveryDoc
		dec := json.NewDecoder(strings.NewReader(bad.json))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&j); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("JSON %s: error %v, want %q", bad.json, err, bad.want)
		}
	}
}

func TestCompilePacer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		throttle Rate
		dribble  *Dribble
		field    string // of the error; "" for none
		msg      string
	}{
		{"neither", 0, nil, "", ""},
		{"throttle", 1 << 20, nil, "", ""},
		{"dribble", 0, &Dribble{Chunk: 1024, Every: sd(100 * ms)}, "", ""},
		{"both", 1 << 20, &Dribble{Chunk: 1024, Every: sd(100 * ms)}, "dribble", "give throttle or dribble, not both"},
		{"negative throttle", -5, nil, "throttle", "outside 1 B/s to 1TiB/s"},
		{"no chunk", 0, &Dribble{Every: sd(100 * ms)}, "dribble.chunk", "1 byte or more"},
		{"no interval", 0, &Dribble{Chunk: 10}, "dribble.every", "above 0"},
		{"long interval", 0, &Dribble{Chunk: 10, Every: sd(2 * time.Hour)}, "dribble.every", "above the 1h0m0s limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, errs := CompilePacer(tt.throttle, tt.dribble)
			if tt.field == "" {
				if len(errs) > 0 {
					t.Fatal(errs)
				}
				if (p == nil) != (tt.throttle == 0 && tt.dribble == nil) {
					t.Errorf("pacer %v", p)
				}
				return
			}
			if p != nil || len(errs) != 1 || errs[0].Field != tt.field || !strings.Contains(errs[0].Msg, tt.msg) {
				t.Errorf("got %v, %v; want one error at %q with %q", p, errs, tt.field, tt.msg)
			}
		})
	}
}
