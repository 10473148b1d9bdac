package loopback

import (
	"strings"
	"testing"
)

func TestParseSources(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    int
		wantErr string
	}{
		{"127.0.0.2,127.0.0.3", 2, ""},
		{" 127.0.0.2 , ,::1", 2, ""},
		{"", 0, ""},
		{"10.0.0.1", 0, `"10.0.0.1" is not a loopback address`},
		{"127.0.0.2,nope", 0, `"nope" is not a loopback address`},
	}
	for _, tt := range tests {
		ips, err := ParseSources(tt.in)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%q: error %v, want %q", tt.in, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || len(ips) != tt.want):
			t.Errorf("%q: %v, %v; want %d addresses", tt.in, ips, err, tt.want)
		}
	}
}
