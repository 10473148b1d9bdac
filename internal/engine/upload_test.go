package engine

import (
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/stub"
)

func TestCompileUpload(t *testing.T) {
	t.Parallel()
	digest := strings.Repeat("ab", 32)
	up := func(u stub.Upload) *stub.Response { return &stub.Response{Upload: &u} }
	tests := []struct {
		name    string
		s       stub.Stub
		field   string // "" means valid
		uploads bool
	}{
		{"discard", stub.Stub{ID: "a", Response: up(stub.Upload{Discard: true})}, "", true},
		{"all checks", stub.Stub{ID: "a", Response: up(stub.Upload{Discard: true, Rate: 1 << 20, ExpectSize: 10, SHA256: digest})}, "", true},
		{"no upload", stub.Stub{ID: "a", Response: &stub.Response{}}, "", false},
		{"discard false", stub.Stub{ID: "a", Response: up(stub.Upload{})}, "response.upload.discard", false},
		{"negative size", stub.Stub{ID: "a", Response: up(stub.Upload{Discard: true, ExpectSize: -1})}, "response.upload.expectSize", false},
		{"bad digest", stub.Stub{ID: "a", Response: up(stub.Upload{Discard: true, SHA256: "abc"})}, "response.upload.sha256", false},
		{"sequence", stub.Stub{ID: "a", Responses: []stub.Response{{}, {Upload: &stub.Upload{Discard: true}}}}, "responses[1].upload", false},
		{"body matcher", stub.Stub{ID: "a", Request: stub.Request{Body: &stub.BodyMatcher{Contains: "x"}}, Response: up(stub.Upload{Discard: true})}, "response.upload", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap, errs := Compile([]Source{{Stub: tt.s}})
			if tt.field == "" {
				if errs != nil {
					t.Fatalf("errors: %v", errs)
				}
				if snap.Uploads() != tt.uploads || (snap.Get("a").Upload() != nil) != tt.uploads {
					t.Errorf("Uploads() = %v, want %v", snap.Uploads(), tt.uploads)
				}
				return
			}
			if len(errs) == 0 || errs[0].Field != tt.field {
				t.Fatalf("errors %v, want one on %s", errs, tt.field)
			}
		})
	}
}
