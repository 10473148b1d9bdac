package behave

import (
	"testing"
	"time"
)

func TestParseRequestedDelay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		limit   time.Duration
		want    time.Duration
		clamped bool
		ok      bool
	}{
		{"5000ms", 0, 5 * time.Second, false, true},
		{"5000", 0, 5 * time.Second, false, true},
		{" 1.5s ", 0, 1500 * ms, false, true},
		{"0", 0, 0, false, true},
		{"2m", 0, DefaultDelayLimit, true, true},
		{"2s", time.Second, time.Second, true, true},
		{"999999999999999999999", 0, DefaultDelayLimit, true, true},
		{"9999999999999h", time.Second, time.Second, true, true},
		{"1e30", 0, DefaultDelayLimit, true, true},
		{"9999999999999h1m", 0, DefaultDelayLimit, true, true},
		{"Inf", 0, 0, false, false},
		{"9999999999999x", 0, 0, false, false},
		{"9999999999999", 0, DefaultDelayLimit, true, true},
		{"-5", 0, 0, false, false},
		{"-5ms", 0, 0, false, false},
		{"soon", 0, 0, false, false},
		{"", 0, 0, false, false},
	}
	for _, tt := range tests {
		d, clamped, err := ParseRequestedDelay(tt.in, tt.limit)
		if (err == nil) != tt.ok || d != tt.want || clamped != tt.clamped {
			t.Errorf("ParseRequestedDelay(%q, %v) = %v, %v, %v; want %v, %v, ok=%v", tt.in, tt.limit, d, clamped, err, tt.want, tt.clamped, tt.ok)
		}
	}
}

func TestPreferDelay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"delay=5000", "5000", true},
		{"respond-async, delay=250ms", "250ms", true},
		{`Delay = "100"`, "100", true},
		{"delay=5; foo=bar, wait=10", "5", true},
		{"code=500, example=x", "", false},
		{"wait=5", "", false},
		{"delayed=5", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := PreferDelay(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("PreferDelay(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
