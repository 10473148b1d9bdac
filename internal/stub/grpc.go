package stub

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// GRPCResponse is what a stub answering a gRPC call adds to its Response.
// The response message itself is Response.Body (JSON or YAML, checked
// against the method's output type at load); Response.Headers are sent as
// response metadata and Response.Delay is waited before the first message.
type GRPCResponse struct {
	// Status is the gRPC status code the call ends with: a name
	// ("NOT_FOUND") or a number (5). OK when not set. With any other
	// status no message is sent unless Stream lists some (an error
	// mid-stream).
	Status GRPCCode `json:"status,omitempty"`
	// Message is the status message.
	Message string `json:"message,omitempty"`
	// Details are sent in the google.rpc.Status of a failed call: each is a
	// message written as JSON with "@type" naming its type, such as
	// type.googleapis.com/google.rpc.BadRequest.
	Details []Value `json:"details,omitempty"`
	// Trailers are sent as trailing metadata when the call ends. A name
	// ending in -bin takes a base64 value.
	Trailers map[string]HeaderValues `json:"trailers,omitempty"`
	// Stream lists the messages of a streaming reply (server streaming,
	// or the reply to one message of a bidirectional stream), each with an
	// optional delay. When set, Body must not be.
	Stream []GRPCMessage `json:"stream,omitempty"`
	// Interval is waited before each streamed message that sets no delay
	// of its own: a steady rate.
	Interval Duration `json:"interval,omitempty"`
	// Echo answers with the request message itself (for a bidirectional
	// stream: each incoming message is sent back).
	Echo bool `json:"echo,omitempty"`
	// AfterMessages, on a client stream, answers as soon as this many
	// messages have arrived (matching them as a JSON array, as at the
	// stream's end), then ends the call: what the client sends after that
	// is not read. A stream that ends sooner is answered at its end.
	AfterMessages int `json:"afterMessages,omitempty"`
	// Push, on a bidirectional stream, sends Stream as soon as the call
	// opens, at Interval, without waiting for incoming messages (which are
	// still read and journaled), then ends the call with Status.
	Push bool `json:"push,omitempty"`
	// Repeat sends Stream this many times in all (default 1, at most
	// MaxGRPCRepeat).
	Repeat int `json:"repeat,omitempty"`
}

// MaxGRPCRepeat is the most times a streamed reply may be repeated.
const MaxGRPCRepeat = 1_000_000

// GRPCMessage is one message of a streamed reply.
type GRPCMessage struct {
	// Body is the message as JSON (protojson field names).
	Body Value `json:"body"`
	// Delay is waited before this message is sent.
	Delay Duration `json:"delay,omitempty"`
}

// GRPCCode is a gRPC status code. In files it is a name (NOT_FOUND,
// not_found, NotFound) or a number from 0 to 16.
type GRPCCode int

// grpcCodes are the names of the codes, indexed by number.
var grpcCodes = [...]string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
	"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
}

// String is the code's name.
func (c GRPCCode) String() string {
	if c >= 0 && int(c) < len(grpcCodes) {
		return grpcCodes[c]
	}
	return "CODE_" + strconv.Itoa(int(c))
}

// ParseGRPCCode reads a code name (in any case, with or without
// underscores) or number.
func ParseGRPCCode(s string) (GRPCCode, error) {
	t := strings.TrimSpace(s)
	if n, err := strconv.Atoi(t); err == nil {
		if n < 0 || n >= len(grpcCodes) {
			return 0, fmt.Errorf("%d is not a gRPC status code (0-16)", n)
		}
		return GRPCCode(n), nil
	}
	key := strings.ToUpper(strings.ReplaceAll(t, "_", ""))
	if key == "CANCELED" {
		key = "CANCELLED"
	}
	for i, name := range grpcCodes {
		if strings.ReplaceAll(name, "_", "") == key {
			return GRPCCode(i), nil
		}
	}
	return 0, fmt.Errorf("%q is not a gRPC status code (OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED, or 0-16)", s)
}

// MarshalJSON writes the code's name.
func (c GRPCCode) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// UnmarshalJSON reads a name or a number.
func (c *GRPCCode) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	return c.set(v)
}

// UnmarshalYAML reads a name or a number; an error carries the value's
// place in the file.
func (c *GRPCCode) UnmarshalYAML(node ast.Node) error {
	text, ok, err := scalarText(node)
	if err == nil && !ok {
		err = errors.New("a gRPC status is a name such as NOT_FOUND or a number")
	}
	if err == nil {
		var code GRPCCode
		if code, err = ParseGRPCCode(text); err == nil {
			*c = code
			return nil
		}
	}
	return At(node, err)
}

func (c *GRPCCode) set(v any) error {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case int, int64, uint64:
		s = fmt.Sprint(x)
	case float64:
		if x != float64(int64(x)) {
			return fmt.Errorf("%v is not a gRPC status code (0-16)", x)
		}
		s = strconv.FormatInt(int64(x), 10)
	default:
		return fmt.Errorf("a gRPC status is a name such as NOT_FOUND or a number, not %T", v)
	}
	code, err := ParseGRPCCode(s)
	if err != nil {
		return err
	}
	*c = code
	return nil
}
