// Package problem owns decoy's error responses: RFC 9457 problem details
// ("application/problem+json") that name what was wrong, shared by the data
// front doors and the admin API.
package problem

import (
	"encoding/json"
	"net/http"
)

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// Detail is one specific problem inside a Problem, such as one invalid
// field of a stub.
type Detail struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Problem is an RFC 9457 problem document with decoy's extensions.
type Problem struct {
	Type   string `json:"type,omitempty"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Errors lists every problem found, for input with several mistakes.
	Errors []Detail `json:"errors,omitempty"`
	// Closest lists the stubs nearest to matching an unmatched request.
	Closest any `json:"closest,omitempty"`
}

// New returns a problem with the given status, its standard title, and
// detail.
func New(status int, detail string) *Problem {
	return &Problem{Title: http.StatusText(status), Status: status, Detail: detail}
}

// JSON renders p.
func (p *Problem) JSON() []byte {
	b, err := json.Marshal(p)
	if err != nil {
		return []byte(`{"title":"Internal Server Error","status":500}`)
	}
	return b
}

// Write sends p on w.
func (p *Problem) Write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_, _ = w.Write(p.JSON())
}
