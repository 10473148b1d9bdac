package grpcfront_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/external"
)

// TestGrpcurlStreamsAndFaults: push, afterMessages and a stream reset as
// grpcurl shows them.
func TestGrpcurlStreamsAndFaults(t *testing.T) {
	t.Parallel()
	grpcurl := external.Program(t, "grpcurl")
	s := start(t, `
- request: {path: /shop.v1.Users/Chat}
  response:
    grpc:
      push: true
      repeat: 2
      stream: [{body: {text: tick}}, {body: {text: tock}}]
- request: {path: /shop.v1.Users/ImportUsers}
  response:
    body: {imported: 2}
    grpc: {afterMessages: 2}
- request: {path: /shop.v1.Users/GetUser}
  response:
    faults: {kind: reset, h2: {rstStream: CANCEL}}
`)
	cases := []struct {
		name   string
		data   string
		method string
		want   []string
		fail   bool
	}{
		{"push", ``, "shop.v1.Users/Chat", []string{`"text": "tick"`, `"text": "tock"`}, false},
		{"afterMessages", `{"name": "a"} {"name": "b"} {"name": "c"}`, "shop.v1.Users/ImportUsers", []string{`"imported": 2`}, false},
		{"rstStream", `{"id": 1}`, "shop.v1.Users/GetUser", []string{"Code: Canceled", "RST_STREAM"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command(grpcurl, "-plaintext", "-max-time", "10", "-d", tc.data, s.addr, tc.method).CombinedOutput()
			if (err != nil) != tc.fail {
				t.Errorf("grpcurl: %v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("grpcurl output lacks %q:\n%s", w, out)
				}
			}
			if tc.name == "push" && strings.Count(string(out), `"text"`) != 4 {
				t.Errorf("want 4 messages:\n%s", out)
			}
		})
	}
}
