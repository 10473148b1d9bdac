package behave

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/decoy-dev/decoy/internal/stub"
)

// FaultKind is what a fault does to the exchange. How each kind looks on
// the wire is the front door's business; the package documentation of
// FaultKind's constants says what a client should observe.
type FaultKind uint8

// Fault kinds.
const (
	// FaultReset aborts the connection with a TCP RST (SO_LINGER 0) before
	// any response byte: curl exit 56, Go "connection reset by peer".
	FaultReset FaultKind = iota + 1
	// FaultEmpty closes the connection cleanly without a response:
	// curl exit 52 "Empty reply from server", Go io.EOF.
	FaultEmpty
	// FaultMalformed sends a response that does not parse (a broken status
	// line), then closes.
	FaultMalformed
	// FaultGarbage sends Bytes random bytes (from the seed), then closes.
	FaultGarbage
	// FaultCloseMidBody sends the head and part of the body (Bytes, or half)
	// with the full Content-Length, then closes: curl exit 18.
	FaultCloseMidBody
	// FaultHang reads the request and never answers, until the client gives
	// up, the server shuts down, or After passes (then it closes).
	FaultHang
	// FaultError answers Status (default 503) after waiting After: the
	// "delay then error" of a struggling backend.
	FaultError
)

var faultKindNames = [...]string{
	FaultReset:        "reset",
	FaultEmpty:        "empty",
	FaultMalformed:    "malformed",
	FaultGarbage:      "garbage",
	FaultCloseMidBody: "close-mid-body",
	FaultHang:         "hang",
	FaultError:        "error",
}

// faultKindList is the kinds for error messages.
const faultKindList = "reset, empty, malformed, garbage, close-mid-body, hang, error"

// String is the kind's name as written in config.
func (k FaultKind) String() string {
	if int(k) < len(faultKindNames) && faultKindNames[k] != "" {
		return faultKindNames[k]
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// ParseFaultKind reads a kind name.
func ParseFaultKind(s string) (FaultKind, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for k, name := range faultKindNames {
		if name != "" && name == t {
			return FaultKind(k), nil
		}
	}
	if t == "" {
		return 0, fmt.Errorf("a fault needs a kind: one of %s", faultKindList)
	}
	return 0, fmt.Errorf("unknown fault kind %q: want one of %s", s, faultKindList)
}

// h2Codes are the HTTP/2 error codes (RFC 9113 section 7), by value.
var h2Codes = [...]string{
	"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
	"SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM",
	"CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM",
	"INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
}

// ParseH2ErrorCode reads an HTTP/2 error code name (any case) or number.
func ParseH2ErrorCode(s string) (uint32, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	if n, err := strconv.ParseUint(t, 0, 32); err == nil {
		return uint32(n), nil
	}
	for i, name := range h2Codes {
		if name == t {
			return uint32(i), nil
		}
	}
	return 0, fmt.Errorf("unknown HTTP/2 error code %q: want one of %s, or a number", s, strings.Join(h2Codes[:], ", "))
}

// FaultAction is a compiled fault: what a front door must do when Decide
// picks it. It is read-only.
type FaultAction struct {
	Kind FaultKind
	// Probability is the chance of this fault on a call.
	Probability float64
	// Status is the HTTP status for FaultError (default 503).
	Status int
	// GRPCStatus is the gRPC status code for FaultError.
	GRPCStatus stub.GRPCCode
	// After is waited before the fault; for FaultHang, the hang limit
	// (0: none).
	After time.Duration
	// Bytes: for FaultGarbage, how many bytes; for FaultCloseMidBody, how
	// many body bytes to send (0: half; see CutAt).
	Bytes int64
	// H2 replaces the fault on HTTP/2 connections when set.
	H2 H2Action
}

// H2Action is an HTTP/2-specific fault.
type H2Action struct {
	RSTStream bool   // reset the stream with Code
	GOAWAY    bool   // send GOAWAY with Code and close the connection
	Code      uint32 // the HTTP/2 error code
}

// CutAt is how many bytes of a body of bodyLen bytes a close-mid-body
// fault sends before closing: Bytes when set (at most bodyLen-1), else half.
func (a *FaultAction) CutAt(bodyLen int64) int64 {
	if bodyLen <= 0 {
		return 0
	}
	if a.Bytes > 0 {
		return min(a.Bytes, bodyLen-1)
	}
	return bodyLen / 2
}

// FaultSet is a compiled list of faults. It is immutable and safe for
// concurrent use; a nil *FaultSet never faults.
type FaultSet struct {
	actions []FaultAction
	cum     []float64 // cum[i] is the sum of probabilities 0..i
}

// DefaultGarbageBytes is how many bytes a garbage fault sends by default;
// MaxGarbageBytes the most it may ask for.
const (
	DefaultGarbageBytes = 64
	MaxGarbageBytes     = 1 << 20
)

// CompileFaults validates the faults and builds the set; an empty list compiles
// to nil. Errors name fields relative to the list ("[1].kind").
func CompileFaults(fs stub.Faults) (*FaultSet, []stub.FieldError) {
	var errs []stub.FieldError
	if len(fs) == 0 {
		return nil, nil
	}
	set := &FaultSet{actions: make([]FaultAction, 0, len(fs)), cum: make([]float64, 0, len(fs))}
	given, unset := 0.0, 0
	for i, f := range fs {
		at := "[" + strconv.Itoa(i) + "]"
		a, fe := compileFault(f)
		for _, e := range fe {
			errs = append(errs, stub.FieldError{Field: stub.Join(at, e.Field), Msg: e.Msg})
		}
		if f.Probability == nil {
			unset++
		} else {
			given += a.Probability
		}
		set.actions = append(set.actions, a)
	}
	switch {
	case given > 1+1e-9:
		errs = append(errs, stub.FieldError{Msg: fmt.Sprintf(
			"fault probabilities add up to %g; at most one fault applies per call, so they must add up to 1 or less", given)})
	case unset > 0 && given >= 1-1e-9:
		errs = append(errs, stub.FieldError{Msg: "the fault probabilities given add up to 1, leaving nothing for the faults without one"})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	share := (1 - given) / float64(max(unset, 1))
	total := 0.0
	for i := range set.actions {
		if fs[i].Probability == nil {
			set.actions[i].Probability = share
		}
		total += set.actions[i].Probability
		set.cum = append(set.cum, total)
	}
	return set, nil
}

func compileFault(f stub.Fault) (FaultAction, []stub.FieldError) {
	var errs []stub.FieldError
	fail := func(field, msg string) { errs = append(errs, stub.FieldError{Field: field, Msg: msg}) }
	a := FaultAction{Probability: 1, After: f.After.D(), Bytes: int64(f.Bytes)}
	kind, err := ParseFaultKind(f.Kind)
	if err != nil {
		fail("kind", err.Error())
	}
	a.Kind = kind
	if f.Probability != nil {
		p := *f.Probability
		if math.IsNaN(p) || p < 0 || p > 1 {
			fail("probability", fmt.Sprintf("%g is not a probability (0 to 1, e.g. 0.05 for 5%%)", p))
			p = 0
		}
		a.Probability = p
	}
	if f.After < 0 {
		fail("after", fmt.Sprintf("cannot be negative (%v)", f.After.D()))
	}
	if f.Bytes < 0 {
		fail("bytes", "cannot be negative")
	}
	if f.Status != 0 && kind != FaultError && err == nil {
		fail("status", "applies to kind error only")
	}
	if f.GRPCStatus != nil && kind != FaultError && err == nil {
		fail("grpcStatus", "applies to kind error only")
	}
	switch kind {
	case FaultError:
		a.Status = f.Status
		if a.Status == 0 {
			a.Status = 503
		}
		switch {
		case a.Status < 100 || a.Status > 999:
			fail("status", fmt.Sprintf("%d is not an HTTP status (100-999)", f.Status))
		case a.Status < 200:
			// A 1xx is interim: the client would wait on for an answer.
			fail("status", fmt.Sprintf("%d is an interim (1xx) status, not an answer: give an error status, 400-999", f.Status))
		case a.Status < 400:
			// A problem+json "Injected fault" with a success or a redirect
			// status is a mistake; the stub's own status answers that.
			fail("status", fmt.Sprintf("%d is not an error: an error fault answers 400-999 (a success or redirect is the response's status)", f.Status))
		}
		a.GRPCStatus = grpcFromHTTP(a.Status)
		if f.GRPCStatus != nil {
			a.GRPCStatus = *f.GRPCStatus
			if a.GRPCStatus < 0 || a.GRPCStatus > 16 {
				fail("grpcStatus", fmt.Sprintf("%d is not a gRPC status code (0-16)", int(a.GRPCStatus)))
			}
		}
	case FaultGarbage:
		if a.Bytes == 0 {
			a.Bytes = DefaultGarbageBytes
		}
		if a.Bytes > MaxGarbageBytes {
			fail("bytes", fmt.Sprintf("%d is more than the %d a garbage fault may send", a.Bytes, MaxGarbageBytes))
		}
	case FaultCloseMidBody:
	default:
		if f.Bytes != 0 && err == nil {
			fail("bytes", "applies to kinds garbage and close-mid-body only")
		}
	}
	if h := f.H2; h != nil {
		switch {
		case h.RSTStream != "" && h.GOAWAY != "":
			fail("h2", "give rstStream or goaway, not both")
		case h.RSTStream != "":
			code, err := ParseH2ErrorCode(h.RSTStream)
			if err != nil {
				fail("h2.rstStream", err.Error())
			}
			a.H2 = H2Action{RSTStream: true, Code: code}
		case h.GOAWAY != "":
			code, err := ParseH2ErrorCode(string(h.GOAWAY))
			if err != nil {
				fail("h2.goaway", err.Error())
			}
			a.H2 = H2Action{GOAWAY: true, Code: code}
		default:
			fail("h2", "give rstStream (an error code such as CANCEL) or goaway (true, or an error code such as ENHANCE_YOUR_CALM)")
		}
	}
	return a, errs
}

// grpcFromHTTP maps an HTTP status to the gRPC code a gRPC client reports
// for it (grpc/doc/http-grpc-status-mapping.md).
func grpcFromHTTP(status int) stub.GRPCCode {
	switch status {
	case 400:
		return 13 // INTERNAL
	case 401:
		return 16 // UNAUTHENTICATED
	case 403:
		return 7 // PERMISSION_DENIED
	case 404:
		return 12 // UNIMPLEMENTED
	case 429, 502, 503, 504:
		return 14 // UNAVAILABLE
	}
	return 2 // UNKNOWN
}

// Actions returns the compiled faults, in config order.
func (s *FaultSet) Actions() []FaultAction {
	if s == nil {
		return nil
	}
	return s.actions
}

// Decide says whether call number call of stub stubID under the global
// seed gets a fault, and which. The same arguments always give the same
// answer; the draw is independent of the latency's. It hashes stubID;
// DecideKey takes a precomputed key. The action is shared: do not modify.
func (s *FaultSet) Decide(seed uint64, stubID string, call uint64) (*FaultAction, bool) {
	if s == nil {
		return nil, false
	}
	return s.DecideKey(NewKey(seed, stubID), call)
}

// DecideKey is Decide with the key of (seed, stub) computed once.
func (s *FaultSet) DecideKey(k Key, call uint64) (*FaultAction, bool) {
	if s == nil || len(s.actions) == 0 {
		return nil, false
	}
	r := rngFor(k, streamFault, call)
	u := r.float()
	for i := range s.cum {
		if u < s.cum[i] {
			return &s.actions[i], true
		}
	}
	return nil, false
}

// Garbage fills p with the bytes a garbage fault sends on call number call
// of the stub with key k: random, but the same on every run.
func Garbage(k Key, call uint64, p []byte) {
	r := rngFor(k, streamFault^golden, call)
	for i := 0; i < len(p); i += 8 {
		v := r.next()
		for j := 0; j < 8 && i+j < len(p); j++ {
			p[i+j] = byte(v >> (8 * j))
		}
	}
}
