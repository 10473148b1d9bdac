package stub

// WebSocket makes a stub answer a WebSocket upgrade (RFC 6455) on the HTTP
// ports: after the handshake decoy sends Messages (Repeat times, Interval
// apart), answers client messages by Script or Echo, and closes with Close.
type WebSocket struct {
	// Echo sends every client message back as it came (text or binary).
	Echo bool `json:"echo,omitempty"`
	// Messages are sent in order once the connection opens.
	Messages []string `json:"messages,omitempty"`
	// Binary sends Messages and replies as binary frames; each is then
	// base64 (standard alphabet), decoded at load.
	Binary bool `json:"binary,omitempty"`
	// Interval is waited before each message after the first: a steady
	// push rate.
	Interval Duration `json:"interval,omitempty"`
	// Repeat is how many times Messages is sent in all: 1 (nil, the
	// default) to MaxWebSocketRepeat; a pointer, so that a 0 given is
	// refused rather than taken for the default.
	Repeat *int `json:"repeat,omitempty"`
	// Script answers client messages: the first entry whose match holds
	// sends its reply, then closes when it has a close.
	Script []WebSocketRule `json:"script,omitempty"`
	// Close ends the connection with a close code once Messages are sent.
	// Without it the connection stays open until the client closes when
	// Echo or Script is set, and otherwise closes with 1000.
	Close *WebSocketClose `json:"close,omitempty"`
}

// MaxWebSocketRepeat is the most times Messages may be repeated.
const MaxWebSocketRepeat = 1_000_000

// WebSocketRule is one entry of a script: when a client message matches,
// send Reply, then close with Close if set. At least one of Reply and
// Close is required.
type WebSocketRule struct {
	// Match is checked against the client message as a request body;
	// without one every message matches.
	Match *BodyMatcher `json:"match,omitempty"`
	// Reply is the message sent back.
	Reply *string `json:"reply,omitempty"`
	// Close ends the connection after Reply.
	Close *WebSocketClose `json:"close,omitempty"`
}

// WebSocketClose is a close frame: a status code (RFC 6455 section 7.4:
// 1000-4999, without the reserved 1004, 1005, 1006 and 1015) and a reason.
type WebSocketClose struct {
	Code   int    `json:"code"`
	Reason string `json:"reason,omitempty"`
}
