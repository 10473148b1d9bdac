package cli_test

import (
	"strings"
	"testing"
)

// TestServeIdleTrim: with the idle check every millisecond (it may trim
// between any two requests) decoy answers every request, and serve ends
// cleanly with its checker (the serve helper fails the test on a non-zero
// exit).
func TestServeIdleTrim(t *testing.T) {
	t.Parallel()
	for _, every := range []string{"1ms", "0"} {
		t.Run(every, func(t *testing.T) {
			t.Parallel()
			a, _ := serve(t, map[string]string{"DECOY_IDLE_TRIM": every}, "--quiet")
			for range 20 {
				code, body := fetch(t, "http://"+a.HTTPAddr.String()+"/users")
				if code != 200 || !strings.Contains(body, "Ada Lovelace") {
					t.Fatalf("GET /users: %d %q", code, body)
				}
			}
		})
	}
}
