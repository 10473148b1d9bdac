package engine

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/decoy-dev/decoy/internal/stub"
)

// Upload is a compiled stub.Upload: how a front door reads and throws away
// the request body of a stub that discards uploads.
type Upload struct {
	// Rate caps the read speed in bytes per second; 0 reads at full speed.
	Rate int64
	// ExpectSize is the size the body must have; -1 for any.
	ExpectSize int64
	// SHA256 is the digest the body must have; nil for any.
	SHA256 []byte
}

func compileUpload(u stub.Upload) (*Upload, []stub.FieldError) {
	var errs []stub.FieldError
	if !u.Discard {
		errs = append(errs, stub.FieldError{Field: "discard", Msg: "must be true: decoy reads uploads and throws them away"})
	}
	out := &Upload{Rate: int64(u.Rate), ExpectSize: -1}
	if u.ExpectSize < 0 {
		errs = append(errs, stub.FieldError{Field: "expectSize", Msg: "must not be negative"})
	} else if u.ExpectSize > 0 {
		out.ExpectSize = int64(u.ExpectSize)
	}
	if u.SHA256 != "" {
		b, err := hex.DecodeString(strings.TrimSpace(u.SHA256))
		if err != nil || len(b) != 32 {
			errs = append(errs, stub.FieldError{Field: "sha256", Msg: fmt.Sprintf("%q is not a SHA-256 digest (64 hex digits)", u.SHA256)})
		}
		out.SHA256 = b
	}
	return out, errs
}

// Upload returns the stub's upload settings, nil when it does not discard
// uploads. A front door may check it before reading the body: such a stub
// never matches on the body.
func (s *Stub) Upload() *Upload { return s.upload }

// Uploads reports whether some stub of the snapshot discards uploads, so
// front doors stream request bodies instead of buffering them.
func (s *Snapshot) Uploads() bool { return s.uploads }
