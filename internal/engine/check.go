package engine

// RequestCheck is a per-stub check of a request the stub matched, compiled
// at load by whoever made the stub (an OpenAPI document's parameter, body
// and security rules). Front doors call it only when Stub.Check is not nil,
// so stubs without one pay a nil check and nothing more.
type RequestCheck interface {
	// Check returns nil when r passes. Otherwise the verdict says what to
	// do: answer Response instead of the stub's own (when not nil), and
	// add Summary as a header (when not empty).
	Check(r *Request) *Verdict
}

// Verdict is what a RequestCheck found wrong with a request.
type Verdict struct {
	// Response, when not nil, is sent instead of the stub's response.
	Response *Response
	// Summary, when not empty, is sent in the VerdictHeader header.
	Summary string
}

// VerdictHeader is the header a front door adds for Verdict.Summary.
const VerdictHeader = "Decoy-Validation"

// Check returns the stub's request check; nil for none.
func (s *Stub) Check() RequestCheck { return s.check }

// Varier gives a request an answer of its own, made from the request: an
// OpenAPI operation's data generated from its path and query parameters,
// or its answer in the media type the Accept header prefers (another body
// and Content-Type, or a 406). Front doors call it only when Stub.Vary is
// not nil, after the stub's request check passed.
type Varier interface {
	// Vary returns the response to send: base (the stub's response, with
	// any runtime overlay) made for r — its body, and possibly its status
	// and headers — or base itself. The result is read-only and may be
	// shared by later requests with the same key.
	Vary(r *Request, base *Response) *Response
}

// Vary returns the stub's per-request body maker; nil for none.
func (s *Stub) Vary() Varier { return s.vary }

// Exampler is a RequestCheck that can give a request passing it, for the
// examples decoy shows (the "Try:" lines at start).
type Exampler interface {
	// Example fills in a request to a stub whose path template is path:
	// the path with its parameters, and the headers, query parameters,
	// cookies and body the check wants. False when it finds none.
	Example(path string) (Example, bool)
}

// Example is a request that passes a RequestCheck. Headers, Query and
// Cookies are name, value pairs.
type Example struct {
	Path                    string
	Headers, Query, Cookies [][2]string
	Body                    string // with HasBody: sent as ContentType
	HasBody                 bool
	ContentType             string
}
