package httpfront

import (
	"fmt"
	"strings"
	"testing"

	"github.com/decoy-dev/decoy/internal/engine"
	"github.com/decoy-dev/decoy/internal/journal"
	"github.com/decoy-dev/decoy/internal/openapi"
)

// validatedPut is PUT /api/users/42?dry=true with a 1 KB JSON body that
// the document's schema accepts.
func validatedPut() []byte {
	body := `{"name":"Ann","age":40,"address":{"zip":"12345","city":"Oslo"},"bio":"` + strings.Repeat("x", 1024-70) + `"}`
	return []byte(fmt.Sprintf("PUT /api/users/42?dry=true HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
}

// BenchmarkValidatedRequest: a request checked against the document (path
// and query parameters, a 1 KB JSON body) and answered 200.
func BenchmarkValidatedRequest(b *testing.B) {
	for _, mode := range []string{"enforce", "enforce-distinct-bodies", "off"} {
		b.Run(mode, func(b *testing.B) {
			distinct := mode == "enforce-distinct-bodies"
			mode, _, _ = strings.Cut(mode, "-")
			res, err := openapi.Load("../openapi/testdata/validate.yaml", nil, openapi.Options{Seed: 1, Validation: mode})
			if err != nil {
				b.Fatal(err)
			}
			snap, errs := engine.Compile(res.Sources)
			if errs != nil {
				b.Fatal(errs)
			}
			s := New(Options{Engine: engine.New(snap), Journal: journal.New(10000, 1024)})
			ctx, br, bw, r := newBenchCtx()
			raw := validatedPut()
			if err := serveOne(s, ctx, raw, br, r, bw); err != nil {
				b.Fatal(err)
			}
			if st := ctx.Response.StatusCode(); st != 200 {
				b.Fatalf("status %d: %s", st, ctx.Response.Body())
			}
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			n := uint64(0)
			for b.Loop() {
				if distinct { // a body not seen before: validated in full
					n++
					for i, at := 0, len(raw)-3; i < 8; i++ {
						raw[at-i] = "0123456789abcdef"[n>>(4*i)&15]
					}
				}
				if err := serveOne(s, ctx, raw, br, r, bw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
