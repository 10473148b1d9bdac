package stub_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/config"
)

// TestWebSocketLoadErrors: a bad websocket answer is reported at load with
// its file, line and field path.
func TestWebSocketLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ws string
		field    string
		msg      string
	}{
		{"repeat zero", `{messages: [a], repeat: 0}`, "[0].response.websocket.repeat", "0 is out of range (1-1000000): give how many times"},
		{"repeat zero without messages", `{echo: true, repeat: 0}`, "[0].response.websocket.repeat", "out of range"},
		{"repeat negative", `{messages: [a], repeat: -1}`, "[0].response.websocket.repeat", "out of range"},
		{"repeat too many", `{messages: [a], repeat: 1000001}`, "[0].response.websocket.repeat", "out of range"},
		{"repeat without messages", `{echo: true, repeat: 2}`, "[0].response.websocket.repeat", "give messages"},
		{"echo and script", `{echo: true, script: [{reply: x}]}`, "[0].response.websocket.echo", "give one of them"},
		{"interval negative", `{messages: [a], interval: -1s}`, "", "negative"},
		{"close code low", `{messages: [a], close: {code: 999}}`, "[0].response.websocket.close.code", "1000-4999"},
		{"close code high", `{messages: [a], close: {code: 5000}}`, "[0].response.websocket.close.code", "1000-4999"},
		{"close code reserved", `{messages: [a], close: {code: 1006}}`, "[0].response.websocket.close.code", "reserved"},
		{"close code 1015", `{messages: [a], close: {code: 1015}}`, "[0].response.websocket.close.code", "reserved"},
		{"close reason long", `{messages: [a], close: {code: 1000, reason: ` + strings.Repeat("x", 124) + `}}`, "[0].response.websocket.close.reason", "at most 123"},
		{"script entry empty", `{script: [{match: {contains: a}}]}`, "[0].response.websocket.script[0]", "reply, a close"},
		{"script close code", `{script: [{reply: a, close: {code: 1005}}]}`, "[0].response.websocket.script[0].close.code", "reserved"},
		{"script bad regex", `{script: [{match: {regex: "("}, reply: a}]}`, "[0].response.websocket.script[0].match.regex", ""},
		{"binary not base64", `{binary: true, messages: ["%%"]}`, "[0].response.websocket.messages[0]", "base64"},
		{"empty", `{}`, "[0].response.websocket", "says nothing"},
		{"unknown field", `{echo: true, pace: 1}`, "", "pace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := "- request: {path: /ws}\n  response:\n    websocket: " + tc.ws + "\n"
			_, _, err := config.BuildBytes("ws.yaml", []byte(data))
			var probs config.Problems
			if !errors.As(err, &probs) || len(probs) == 0 {
				t.Fatalf("got %v, want problems", err)
			}
			p := probs[0]
			if p.File != "ws.yaml" || p.Line < 1 || p.Line > 3 || (tc.field != "" && p.Field != tc.field) || !strings.Contains(p.Error(), tc.msg) {
				t.Errorf("got %s (file %q line %d field %q), want line 1-3 field %q and %q", p.Error(), p.File, p.Line, p.Field, tc.field, tc.msg)
			}
		})
	}
}

// TestWebSocketRepeatLoads: repeat may be left out (once) or given from 1
// to 1,000,000.
func TestWebSocketRepeatLoads(t *testing.T) {
	t.Parallel()
	for _, ws := range []string{
		`{messages: [a]}`,
		`{messages: [a], repeat: null}`,
		`{messages: [a], repeat: 1}`,
		`{messages: [a], repeat: 1000000}`,
		`{echo: true}`,
	} {
		t.Run(ws, func(t *testing.T) {
			t.Parallel()
			data := "- request: {path: /ws}\n  response:\n    websocket: " + ws + "\n"
			if _, _, err := config.BuildBytes("ws.yaml", []byte(data)); err != nil {
				t.Errorf("%s: %v", ws, err)
			}
		})
	}
}

// TestWebSocketResponseConflicts: a websocket answer has no HTTP body and
// no sequence.
func TestWebSocketResponseConflicts(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, data, field string }{
		{"body", "- request: {path: /ws}\n  response: {body: x, websocket: {echo: true}}\n", "[0].response.body"},
		{"stream", "- request: {path: /ws}\n  response: {stream: {chunks: [a]}, websocket: {echo: true}}\n", "[0].response.stream"},
		{"status", "- request: {path: /ws}\n  response: {status: 200, websocket: {echo: true}}\n", "[0].response.status"},
		{"sequence", "- request: {path: /ws}\n  responses: [{websocket: {echo: true}}, {body: x}]\n", "[0].responses[0].websocket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := config.BuildBytes("ws.yaml", []byte(tc.data))
			var probs config.Problems
			if !errors.As(err, &probs) {
				t.Fatalf("got %v, want problems", err)
			}
			found := false
			for _, p := range probs {
				found = found || (p.Field == tc.field && p.Line > 0)
			}
			if !found {
				t.Errorf("no problem on %s at a line: %v", tc.field, probs)
			}
		})
	}
}

// FuzzWebSocketStub: any websocket answer loads or is refused with
// problems; none panics.
func FuzzWebSocketStub(f *testing.F) {
	for _, s := range []string{
		`{echo: true}`,
		`{messages: ['{"a":1}'], interval: 10ms, repeat: 3, close: {code: 4000, reason: bye}}`,
		`{script: [{match: {jsonPath: [{path: "$.type", equals: sub}]}, reply: ok, close: {code: 1000}}]}`,
		`{binary: true, messages: [AAEC]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ws string) {
		data := "- request: {path: /ws}\n  response:\n    websocket: " + ws + "\n"
		_, store, err := config.BuildBytes("ws.yaml", []byte(data))
		if err == nil && store == nil {
			t.Fatal("no store and no error")
		}
	})
}
