package engine

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/decoy-dev/decoy/internal/match"
	"github.com/decoy-dev/decoy/internal/problem"
	"github.com/decoy-dev/decoy/internal/stub"
)

// WebSocket is a compiled stub.WebSocket: the conversation a front door
// holds after it upgrades a request to a WebSocket.
type WebSocket struct {
	// Echo sends every client message back.
	Echo bool
	// Binary sends Messages and replies as binary frames.
	Binary bool
	// Messages are sent in order, Repeat times, Interval apart.
	Messages [][]byte
	Interval time.Duration
	Repeat   int
	// Script answers client messages: the first rule that matches wins.
	Script []WSRule
	// Close is sent once Messages are out; nil keeps the connection open
	// until the client closes it.
	Close *WSClose
}

// Reads reports whether the conversation answers client messages.
func (w *WebSocket) Reads() bool { return w.Echo || len(w.Script) > 0 }

// WSRule is one compiled script entry.
type WSRule struct {
	// Match is nil for a rule that takes every message.
	Match *match.Body
	// Reply is sent when HasReply.
	Reply    []byte
	HasReply bool
	// Close, when not nil, ends the connection after Reply.
	Close *WSClose
}

// WSClose is a close frame.
type WSClose struct {
	Code   int
	Reason string
}

// maxCloseReason is the longest close reason: a control frame carries 125
// bytes, two of them the code.
const maxCloseReason = 123

func compileWebSocket(w stub.WebSocket) (*WebSocket, []stub.FieldError) {
	var errs []stub.FieldError
	fail := func(f, msg string) { errs = append(errs, stub.FieldError{Field: f, Msg: msg}) }
	out := &WebSocket{Echo: w.Echo, Binary: w.Binary, Interval: w.Interval.D(), Repeat: 1}
	payload := func(f, s string) []byte {
		if !w.Binary {
			return []byte(s)
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
		if err != nil {
			fail(f, "binary messages are base64: "+err.Error())
		}
		return b
	}
	for i, m := range w.Messages {
		out.Messages = append(out.Messages, payload(fmt.Sprintf("messages[%d]", i), m))
	}
	if out.Interval < 0 {
		fail("interval", "must not be negative")
	}
	if w.Repeat != nil {
		switch n := *w.Repeat; {
		case n < 1 || n > stub.MaxWebSocketRepeat:
			fail("repeat", fmt.Sprintf("%d is out of range (1-%d): give how many times messages are sent in all, or leave repeat out to send them once", n, stub.MaxWebSocketRepeat))
		case len(w.Messages) == 0:
			fail("repeat", "repeats messages: give messages too")
		default:
			out.Repeat = n
		}
	}
	if w.Echo && len(w.Script) > 0 {
		// Both answer every client message; one of them would never run.
		fail("echo", "echo and script both answer client messages: give one of them")
	}
	for i, r := range w.Script {
		f := fmt.Sprintf("script[%d]", i)
		rule := WSRule{HasReply: r.Reply != nil}
		if r.Reply == nil && r.Close == nil {
			fail(f, "needs a reply, a close or both")
		}
		if r.Match != nil {
			if r.Match.Form != nil {
				fail(stub.Join(f, "match", "form"), "a WebSocket message is not a form: match it with equals, contains, regex, json or jsonPath")
			}
			m, fe := match.CompileBody(*r.Match)
			for _, e := range fe {
				fail(stub.Join(f, "match", e.Field), e.Msg)
			}
			rule.Match = m
		}
		if r.Reply != nil {
			rule.Reply = payload(stub.Join(f, "reply"), *r.Reply)
		}
		rule.Close = compileWSClose(r.Close, stub.Join(f, "close"), fail)
		out.Script = append(out.Script, rule)
	}
	out.Close = compileWSClose(w.Close, "close", fail)
	if out.Close == nil && !out.Reads() {
		out.Close = &WSClose{Code: 1000}
	}
	if !out.Reads() && len(out.Messages) == 0 && w.Close == nil {
		fail("", "says nothing: give echo, messages, script or close")
	}
	return out, errs
}

func compileWSClose(c *stub.WebSocketClose, field string, fail func(f, msg string)) *WSClose {
	if c == nil {
		return nil
	}
	if err := CheckCloseCode(c.Code); err != nil {
		fail(stub.Join(field, "code"), err.Error())
	}
	if len(c.Reason) > maxCloseReason {
		fail(stub.Join(field, "reason"), fmt.Sprintf("is %d bytes: a close reason has at most %d", len(c.Reason), maxCloseReason))
	}
	return &WSClose{Code: c.Code, Reason: c.Reason}
}

// CheckCloseCode reports whether code may be sent in a close frame
// (RFC 6455 section 7.4).
func CheckCloseCode(code int) error {
	switch {
	case code < 1000 || code > 4999:
		return fmt.Errorf("%d is not a WebSocket close code (1000-4999)", code)
	case code == 1004 || code == 1005 || code == 1006 || code == 1015:
		return fmt.Errorf("%d is reserved and never sent in a close frame (1004, 1005, 1006, 1015)", code)
	}
	return nil
}

// checkWebSocketResponse reports the fields of r that a WebSocket answer
// cannot have.
func checkWebSocketResponse(r stub.Response) []stub.FieldError {
	var errs []stub.FieldError
	for _, c := range []struct {
		set  bool
		name string
	}{
		{!r.Body.IsZero(), "body"}, {r.BodyFile != "", "bodyFile"}, {r.BodyBase64 != "", "bodyBase64"},
		{r.Generate != nil, "generate"}, {r.Stream != nil, "stream"}, {r.Upload != nil, "upload"},
		{r.GRPC != nil, "grpc"}, {r.Throttle != 0, "throttle"}, {r.Dribble != nil, "dribble"},
		{r.LatencyMode != "" && r.LatencyMode != "ttfb", "latencyMode"},
		{r.Status != 0 && r.Status != 101, "status"},
	} {
		if c.set {
			errs = append(errs, stub.FieldError{Field: c.name, Msg: "a WebSocket answer (websocket) cannot have " + c.name})
		}
	}
	return errs
}

// WebSocket returns the stub's WebSocket conversation, nil when it does
// not answer upgrades.
func (s *Stub) WebSocket() *WebSocket { return s.websocket }

// upgradeRequired is the answer of a WebSocket stub to a request it cannot
// upgrade: 426 problem+json.
func upgradeRequired() (status int, body []byte, contentType string) {
	p := problem.New(426, "this stub answers WebSocket upgrades only (HTTP/1.1 GET with Connection: Upgrade, Upgrade: websocket, Sec-WebSocket-Version: 13 and Sec-WebSocket-Key); WebSocket over HTTP/2 is not served: connect over HTTP/1.1")
	p.Title = "Upgrade Required"
	return 426, p.JSON(), problem.ContentType
}
